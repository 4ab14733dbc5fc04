import type {
  Change,
  ListHostedZonesByNameCommandOutput,
  ResourceRecordSet,
  Route53Client,
  RRType,
} from '@aws-sdk/client-route-53';
import { awsClientConfig } from '@deploytag/context';
import { ConfigError, silentLogger, type Logger } from '@deploytag/core';
import { DnsError, DnsErrorCodes } from './errors.js';
import type { DnsChange } from './plan.js';
import type { DnsProvider } from './provider.js';
import { isHostName, normalizeName, normalizeValue, type DnsRecordSet } from './records.js';
import { quoteTxt, unquoteTxt } from './txt.js';

type EnvLike = Readonly<Record<string, string | undefined>>;

/**
 * A Route 53 client configured from the usual AWS variables of `env` (`awsClientConfig` of
 * `@deploytag/context`; the region defaults to `us-east-1`, as Route 53 is a global service;
 * `AWS_ENDPOINT_URL_ROUTE_53`, then `AWS_ENDPOINT_URL`, is how tests reach moto). The SDK is
 * loaded only here.
 *
 * @param env - the environment
 */
export async function createRoute53Client(env: EnvLike): Promise<Route53Client> {
  const config = awsClientConfig(env, 'ROUTE_53', { defaultRegion: 'us-east-1' });
  const { Route53Client: Client } = await import('@aws-sdk/client-route-53');
  return new Client(config);
}

/** Options of {@link createRoute53Provider}. */
export interface Route53ProviderOptions {
  /** The client (region, endpoint and credentials are its business). */
  client: Route53Client;
  /** The hosted zone's domain, such as `example.com`. */
  zone: string;
  /** The hosted zone's id; found from `zone` when not given. */
  zoneId?: string;
  /** Record sets per `ListResourceRecordSets` page (1 to 300); 300 unless given. */
  pageSize?: number;
  /** Debug events (requests and counts). */
  logger?: Logger;
}

/** Route 53 writes `*` and other special characters of names as `\` + three octal digits. */
function decodeRoute53Name(name: string): string {
  return normalizeName(
    name.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8))),
  );
}

function failure(what: string, error: unknown): DnsError {
  if (error instanceof DnsError) return error;
  const e = error as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number } };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(error);
  const status = e.$metadata?.httpStatusCode;
  const auth =
    status === 403 ||
    /AccessDenied|InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClient/.test(name);
  return new DnsError(
    auth ? DnsErrorCodes.AUTH : DnsErrorCodes.PROVIDER,
    auth
      ? `Route 53 refused the AWS credentials while ${what} (${name}: ${message}); use credentials allowed route53:ListHostedZonesByName, ListResourceRecordSets and ChangeResourceRecordSets on the zone`
      : `Route 53 failed while ${what}: ${name}: ${message}`,
    { cause: error, details: { awsError: name, ...(status === undefined ? {} : { status }) } },
  );
}

/**
 * Route 53 as a {@link DnsProvider}. The hosted zone is looked up by name (`ListHostedZonesByName`,
 * every page) unless its id is given; when a public and a private zone share the name, the public
 * one is used, and two zones of the same kind need `zoneId`.
 *
 * Listing reads `ListResourceRecordSets` page by page, from each name for as long as the name
 * lasts, or the whole zone. All changes of a plan go in one `ChangeResourceRecordSets` batch,
 * which Route 53 applies atomically: `CREATE` for new record sets (so the batch fails, changing
 * nothing, if someone else created the record since it was listed), `UPSERT` for updates, `DELETE`
 * with the record set exactly as listed. TXT values are written quoted and escaped as Route 53
 * requires (see `quoteTxt`) and read back unquoted.
 *
 * @param options - client, zone, zone id, page size, logger
 * @throws DnsError `E_DNS_ZONE_NOT_FOUND` / `E_DNS_ZONE_AMBIGUOUS` / `E_DNS_AUTH` /
 *   `E_DNS_PROVIDER`
 */
export async function createRoute53Provider(options: Route53ProviderOptions): Promise<DnsProvider> {
  const sdk = await import('@aws-sdk/client-route-53');
  const { client } = options;
  const logger = options.logger ?? silentLogger;
  const zone = normalizeName(options.zone);
  if (!isHostName(zone)) {
    throw new ConfigError(
      `the DNS zone ${JSON.stringify(options.zone)} is not a domain name; set DNS_ZONE (or DOMAIN) to the hosted zone's domain`,
      { key: 'DNS_ZONE' },
    );
  }
  const pageSize = options.pageSize ?? 300;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 300) {
    throw new RangeError(`pageSize must be 1 to 300, got ${pageSize}`);
  }

  async function findZoneId(): Promise<string> {
    const found: { id: string; private: boolean }[] = [];
    let dnsName: string | undefined = zone;
    let hostedZoneId: string | undefined;
    for (;;) {
      const page: ListHostedZonesByNameCommandOutput = await client
        .send(
          new sdk.ListHostedZonesByNameCommand({
            DNSName: dnsName,
            ...(hostedZoneId === undefined ? {} : { HostedZoneId: hostedZoneId }),
            MaxItems: 100,
          }),
        )
        .catch((error: unknown) => {
          throw failure(`looking up the hosted zone ${zone}`, error);
        });
      let past = false;
      for (const hz of page.HostedZones ?? []) {
        if (decodeRoute53Name(hz.Name ?? '') !== zone) {
          past = true;
          break;
        }
        found.push({
          id: (hz.Id ?? '').replace(/^\/hostedzone\//, ''),
          private: hz.Config?.PrivateZone === true,
        });
      }
      if (past || page.IsTruncated !== true || page.NextDNSName === undefined) break;
      dnsName = page.NextDNSName;
      hostedZoneId = page.NextHostedZoneId;
    }
    const publicZones = found.filter((z) => !z.private);
    const candidates = publicZones.length > 0 ? publicZones : found;
    if (candidates.length === 0) {
      throw new DnsError(
        DnsErrorCodes.ZONE_NOT_FOUND,
        `no Route 53 hosted zone named ${zone} is visible to these AWS credentials; check DNS_ZONE (or DOMAIN), or set DNS_ZONE_ID`,
        { details: { zone } },
      );
    }
    if (candidates.length > 1) {
      throw new DnsError(
        DnsErrorCodes.ZONE_AMBIGUOUS,
        `${candidates.length} Route 53 hosted zones are named ${zone} (${candidates.map((c) => c.id).join(', ')}); set DNS_ZONE_ID to the one to use`,
        { details: { zone, zoneIds: candidates.map((c) => c.id) } },
      );
    }
    return candidates[0]!.id;
  }

  const zoneId = options.zoneId?.replace(/^\/hostedzone\//, '') ?? (await findZoneId());
  logger.debug(`Route 53 hosted zone ${zoneId} for ${zone}`);
  /** The raw record sets of the last listing, for exact `DELETE`s (alias records included). */
  const listed = new Map<string, ResourceRecordSet>();

  function toRecordSet(raw: ResourceRecordSet): DnsRecordSet {
    const name = decodeRoute53Name(raw.Name ?? '');
    const type = raw.Type ?? 'UNKNOWN';
    listed.set(`${name} ${type}`, raw);
    const values =
      raw.AliasTarget !== undefined
        ? [`alias ${normalizeName(raw.AliasTarget.DNSName ?? '')}`]
        : (raw.ResourceRecords ?? []).map((r) => {
            const value = r.Value ?? '';
            return normalizeValue(type, type === 'TXT' ? unquoteTxt(value) : value);
          });
    return { name, type, values, ...(raw.TTL === undefined ? {} : { ttl: raw.TTL }) };
  }

  async function list(start: string | undefined): Promise<DnsRecordSet[]> {
    const out: DnsRecordSet[] = [];
    let next: { name: string; type?: RRType; identifier?: string } | undefined =
      start === undefined ? undefined : { name: start };
    let pages = 0;
    for (;;) {
      const page = await client
        .send(
          new sdk.ListResourceRecordSetsCommand({
            HostedZoneId: zoneId,
            MaxItems: pageSize,
            ...(next === undefined
              ? {}
              : {
                  StartRecordName: next.name,
                  ...(next.type === undefined ? {} : { StartRecordType: next.type }),
                  ...(next.identifier === undefined
                    ? {}
                    : { StartRecordIdentifier: next.identifier }),
                }),
          }),
        )
        .catch((error: unknown) => {
          throw failure(`listing the records of ${zone}`, error);
        });
      pages++;
      for (const raw of page.ResourceRecordSets ?? []) {
        const set = toRecordSet(raw);
        if (start !== undefined && set.name !== start) {
          logger.debug(`Route 53: ${out.length} record set(s) at ${start} (${pages} page(s))`);
          return out;
        }
        out.push(set);
      }
      if (page.IsTruncated !== true || page.NextRecordName === undefined) break;
      next = {
        name: page.NextRecordName,
        ...(page.NextRecordType === undefined ? {} : { type: page.NextRecordType }),
        ...(page.NextRecordIdentifier === undefined
          ? {}
          : { identifier: page.NextRecordIdentifier }),
      };
    }
    logger.debug(
      `Route 53: ${out.length} record set(s) ${start === undefined ? `in ${zone}` : `at ${start}`} (${pages} page(s))`,
    );
    return out;
  }

  function toRaw(set: DnsRecordSet): ResourceRecordSet {
    return {
      Name: set.name,
      Type: set.type as RRType,
      TTL: set.ttl ?? 300,
      ResourceRecords: set.values.map((v) => ({ Value: set.type === 'TXT' ? quoteTxt(v) : v })),
    };
  }

  function toChange(change: DnsChange): Change {
    switch (change.action) {
      case 'create':
        return { Action: 'CREATE', ResourceRecordSet: toRaw(change.record) };
      case 'update':
        return { Action: 'UPSERT', ResourceRecordSet: toRaw(change.record) };
      case 'delete':
        return {
          Action: 'DELETE',
          ResourceRecordSet:
            listed.get(`${change.record.name} ${change.record.type}`) ?? toRaw(change.record),
        };
    }
  }

  return {
    kind: 'route53',
    zone,
    zoneId,
    async listRecords(names) {
      listed.clear();
      if (names === undefined) return await list(undefined);
      const out: DnsRecordSet[] = [];
      for (const name of new Set(names.map(normalizeName))) out.push(...(await list(name)));
      return out;
    },
    async applyChanges(changes) {
      if (changes.length === 0) return;
      if (changes.length > 1000) {
        throw new DnsError(
          DnsErrorCodes.PROVIDER,
          `${changes.length} changes exceed Route 53's 1000 per batch; apply fewer names at once`,
        );
      }
      const result = await client
        .send(
          new sdk.ChangeResourceRecordSetsCommand({
            HostedZoneId: zoneId,
            ChangeBatch: { Comment: 'deploytag dns', Changes: changes.map(toChange) },
          }),
        )
        .catch((error: unknown) => {
          throw failure(`changing records in ${zone}`, error);
        });
      logger.debug(
        `Route 53 change ${result.ChangeInfo?.Id ?? '?'} is ${result.ChangeInfo?.Status ?? '?'}`,
      );
    },
  };
}
