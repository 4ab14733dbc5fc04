import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, silentLogger, type Logger, type Secret } from '@deploytag/core';
import { DnsError, DnsErrorCodes } from './errors.js';
import type { DnsChange } from './plan.js';
import type { DnsProvider } from './provider.js';
import { isHostName, normalizeName, normalizeValue, type DnsRecordSet } from './records.js';
import { quoteTxt, unquoteTxt } from './txt.js';

/** Cloudflare's API v4 endpoint. */
export const CLOUDFLARE_API_URL = 'https://api.cloudflare.com/client/v4';

/** How the Cloudflare client retries a rate-limited or failed request. */
export interface CloudflareRetryOptions {
  /** Attempts in all, the first included; 5 unless given. */
  attempts?: number;
  /** Delay before the first retry, doubled for each further one; 500 ms unless given. */
  baseDelayMs?: number;
  /** Longest delay, also the cap on a `Retry-After` header; 30 s unless given. */
  maxDelayMs?: number;
}

/** Options of {@link createCloudflareProvider}. */
export interface CloudflareProviderOptions {
  /** An API token allowed to read the zone and edit its DNS records (`Zone.DNS:Edit`). */
  token: Secret;
  /** The zone's name, such as `example.com`. */
  zone: string;
  /** The zone's id; found from `zone` when not given. */
  zoneId?: string;
  /** The API's base URL; {@link CLOUDFLARE_API_URL} unless given (tests use a local server). */
  baseUrl?: string;
  /** Records per page when listing (5 to 5000000); 100 unless given. */
  pageSize?: number;
  /** Retries on 429 and 5xx answers. */
  retry?: CloudflareRetryOptions;
  /** The fetch function; the global `fetch` unless given. */
  fetch?: typeof fetch;
  /** Time limit of one request; 30 s unless given. */
  requestTimeoutMs?: number;
  /** Debug events (requests, retries). Never receives the token. */
  logger?: Logger;
}

/** A DNS record as the API returns it (the fields this client reads). */
interface ApiRecord {
  id: string;
  name: string;
  type: string;
  content?: string;
  ttl?: number;
}

interface ApiMessage {
  code?: number;
  message?: string;
  error_chain?: ApiMessage[];
}

interface Envelope {
  success?: boolean;
  errors?: ApiMessage[];
  result?: unknown;
  result_info?: { page?: number; per_page?: number; total_pages?: number; count?: number };
}

const IDEMPOTENT = new Set(['GET', 'PUT', 'DELETE']);

function apiMessages(errors: readonly ApiMessage[] | undefined): string {
  const parts: string[] = [];
  const walk = (list: readonly ApiMessage[] | undefined): void => {
    for (const e of list ?? []) {
      parts.push(`${e.code ?? '?'} ${e.message ?? ''}`.trim());
      walk(e.error_chain);
    }
  };
  walk(errors);
  return parts.length > 0 ? parts.join('; ') : 'no error given';
}

/** The seconds of a `Retry-After` header (a number; dates are ignored), in ms. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\d+(\.\d+)?$/.test(header.trim())) return undefined;
  return Number(header) * 1000;
}

/**
 * Cloudflare as a {@link DnsProvider}, over its HTTP API v4 with `fetch`: the zone is looked up by
 * name (`GET /zones?name=`) unless its id is given; records are listed per name
 * (`GET /zones/:id/dns_records?name.exact=`) or for the whole zone, page by page; changes are
 * applied one request at a time, in order (`POST`, `PUT`, `DELETE /zones/:id/dns_records[/:rid]`).
 * Cloudflare keeps one record per value, so an update pairs the listed ids with the new values.
 * TXT content is written quoted (`"…"`) and read either way.
 *
 * The token goes into the `Authorization: Bearer` header only. A `429`, and a `5xx` or a network
 * failure of an idempotent request (`GET`, `PUT`, `DELETE`), is retried with exponential backoff
 * (honouring `Retry-After`); a `POST` is not retried after a `5xx`, since it may have been done.
 * An answer with `success: false` raises a {@link DnsError} naming the API's error codes and
 * messages.
 *
 * @param options - token, zone, zone id, base URL, paging, retries, fetch, logger
 * @throws DnsError `E_DNS_ZONE_NOT_FOUND` / `E_DNS_ZONE_AMBIGUOUS` / `E_DNS_AUTH` /
 *   `E_DNS_PROVIDER`
 */
export async function createCloudflareProvider(
  options: CloudflareProviderOptions,
): Promise<DnsProvider> {
  const logger = options.logger ?? silentLogger;
  const zone = normalizeName(options.zone);
  if (!isHostName(zone)) {
    throw new ConfigError(
      `the DNS zone ${JSON.stringify(options.zone)} is not a domain name; set DNS_ZONE (or DOMAIN) to the Cloudflare zone's name`,
      { key: 'DNS_ZONE' },
    );
  }
  const baseUrl = (options.baseUrl ?? CLOUDFLARE_API_URL).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(baseUrl)) {
    throw new ConfigError(
      `the Cloudflare API URL ${JSON.stringify(baseUrl)} is not an http(s) URL; fix CLOUDFLARE_API_URL or unset it`,
      { key: 'CLOUDFLARE_API_URL' },
    );
  }
  const pageSize = options.pageSize ?? 100;
  if (!Number.isInteger(pageSize) || pageSize < 5) {
    throw new RangeError(`pageSize must be a whole number of at least 5, got ${pageSize}`);
  }
  const doFetch = options.fetch ?? fetch;
  const attempts = Math.max(1, options.retry?.attempts ?? 5);
  const baseDelayMs = options.retry?.baseDelayMs ?? 500;
  const maxDelayMs = options.retry?.maxDelayMs ?? 30_000;
  const timeoutMs = options.requestTimeoutMs ?? 30_000;

  async function request(
    method: string,
    path: string,
    query?: URLSearchParams,
    body?: unknown,
  ): Promise<Envelope> {
    const url = `${baseUrl}${path}${query && [...query].length > 0 ? `?${query.toString()}` : ''}`;
    const what = `${method} ${path}`;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await doFetch(url, {
          method,
          headers: {
            Authorization: `Bearer ${options.token.reveal()}`,
            Accept: 'application/json',
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        if (IDEMPOTENT.has(method) && attempt < attempts) {
          const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
          logger.debug(`Cloudflare ${what} failed (${String(error)}); retry in ${delay} ms`);
          await sleep(delay);
          continue;
        }
        throw new DnsError(
          DnsErrorCodes.PROVIDER,
          `cannot reach the Cloudflare API at ${baseUrl} for ${what}: ${error instanceof Error ? error.message : String(error)}; check the network and CLOUDFLARE_API_URL`,
          { cause: error },
        );
      }
      const retryable =
        response.status === 429 || (response.status >= 500 && IDEMPOTENT.has(method));
      if (retryable && attempt < attempts) {
        const delay = Math.min(
          maxDelayMs,
          retryAfterMs(response.headers.get('retry-after')) ?? baseDelayMs * 2 ** (attempt - 1),
        );
        await response.body?.cancel();
        logger.debug(`Cloudflare ${what} answered ${response.status}; retry in ${delay} ms`);
        await sleep(delay);
        continue;
      }
      const text = await response.text();
      let envelope: Envelope;
      try {
        envelope = JSON.parse(text) as Envelope;
      } catch {
        throw new DnsError(
          DnsErrorCodes.PROVIDER,
          `Cloudflare answered ${what} with ${response.status} and a body that is not JSON (${text.slice(0, 120)}); check CLOUDFLARE_API_URL`,
          { details: { status: response.status } },
        );
      }
      if (response.ok && envelope.success === true) return envelope;
      const detail = apiMessages(envelope.errors);
      if (response.status === 401 || response.status === 403) {
        throw new DnsError(
          DnsErrorCodes.AUTH,
          `Cloudflare refused the API token for ${what} (${response.status}: ${detail}); give CLOUDFLARE_API_TOKEN a token with DNS edit permission on ${zone}`,
          { details: { status: response.status, errors: envelope.errors } },
        );
      }
      throw new DnsError(
        DnsErrorCodes.PROVIDER,
        `Cloudflare refused ${what} (${response.status}: ${detail})${response.status === 429 ? `; still rate-limited after ${attempts} attempts, try again later` : ''}`,
        { details: { status: response.status, errors: envelope.errors } },
      );
    }
  }

  async function pages<T>(path: string, query: URLSearchParams, perPage: number): Promise<T[]> {
    const out: T[] = [];
    for (let page = 1; ; page++) {
      const q = new URLSearchParams(query);
      q.set('page', String(page));
      q.set('per_page', String(perPage));
      const envelope = await request('GET', path, q);
      const items = Array.isArray(envelope.result) ? (envelope.result as T[]) : [];
      out.push(...items);
      const total = envelope.result_info?.total_pages;
      if (items.length === 0 || (total !== undefined ? page >= total : items.length < perPage)) {
        return out;
      }
    }
  }

  async function findZoneId(): Promise<string> {
    const zones = await pages<{ id: string; name: string }>(
      '/zones',
      new URLSearchParams({ name: zone }),
      50,
    );
    const matching = zones.filter((z) => normalizeName(z.name) === zone);
    if (matching.length === 0) {
      throw new DnsError(
        DnsErrorCodes.ZONE_NOT_FOUND,
        `no Cloudflare zone named ${zone} is visible to this API token; check DNS_ZONE (or DOMAIN) and the token's zone permissions, or set DNS_ZONE_ID`,
        { details: { zone } },
      );
    }
    if (matching.length > 1) {
      throw new DnsError(
        DnsErrorCodes.ZONE_AMBIGUOUS,
        `${matching.length} Cloudflare zones are named ${zone} (${matching.map((z) => z.id).join(', ')}); set DNS_ZONE_ID to the one to use`,
        { details: { zone, zoneIds: matching.map((z) => z.id) } },
      );
    }
    return matching[0]!.id;
  }

  const zoneId = options.zoneId ?? (await findZoneId());
  const recordsPath = `/zones/${encodeURIComponent(zoneId)}/dns_records`;
  logger.debug(`Cloudflare zone ${zoneId} for ${zone}`);

  function toRecordSet(r: ApiRecord): DnsRecordSet {
    const type = r.type.toUpperCase();
    const content = r.content ?? '';
    return {
      name: normalizeName(r.name),
      type,
      values: [normalizeValue(type, type === 'TXT' ? unquoteTxt(content) : content)],
      ...(r.ttl === undefined ? {} : { ttl: r.ttl }),
      ids: [r.id],
    };
  }

  function body(set: DnsRecordSet, value: string): Record<string, unknown> {
    return {
      type: set.type,
      name: set.name,
      content: set.type === 'TXT' ? quoteTxt(value) : value,
      ttl: set.ttl ?? 300,
    };
  }

  async function create(set: DnsRecordSet, value: string): Promise<void> {
    await request('POST', recordsPath, undefined, body(set, value));
  }

  async function remove(id: string): Promise<void> {
    await request('DELETE', `${recordsPath}/${encodeURIComponent(id)}`);
  }

  function idsOf(set: DnsRecordSet): string[] {
    if (set.ids === undefined || set.ids.length !== set.values.length) {
      throw new TypeError(
        `the record set ${set.type} ${set.name} has no Cloudflare ids; pass record sets as listRecords returned them`,
      );
    }
    return set.ids;
  }

  return {
    kind: 'cloudflare',
    zone,
    zoneId,
    async listRecords(names) {
      const records: ApiRecord[] = [];
      if (names === undefined) {
        records.push(...(await pages<ApiRecord>(recordsPath, new URLSearchParams(), pageSize)));
      } else {
        for (const name of new Set(names.map(normalizeName))) {
          records.push(
            ...(await pages<ApiRecord>(
              recordsPath,
              new URLSearchParams({ 'name.exact': name }),
              pageSize,
            )),
          );
        }
      }
      logger.debug(`Cloudflare: ${records.length} record(s) listed in ${zone}`);
      return records.map(toRecordSet);
    },
    async applyChanges(changes: readonly DnsChange[]) {
      for (const change of changes) {
        switch (change.action) {
          case 'create':
            for (const value of change.record.values) await create(change.record, value);
            break;
          case 'update': {
            const ids = idsOf(change.previous);
            const values = change.record.values;
            for (let i = 0; i < Math.max(ids.length, values.length); i++) {
              const id = ids[i];
              const value = values[i];
              if (id !== undefined && value !== undefined) {
                await request(
                  'PUT',
                  `${recordsPath}/${encodeURIComponent(id)}`,
                  undefined,
                  body(change.record, value),
                );
              } else if (value !== undefined) {
                await create(change.record, value);
              } else if (id !== undefined) {
                await remove(id);
              }
            }
            break;
          }
          case 'delete':
            for (const id of idsOf(change.record)) await remove(id);
            break;
        }
      }
    },
  };
}
