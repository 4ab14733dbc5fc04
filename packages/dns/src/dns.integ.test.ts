/**
 * The same scenarios against both real providers of the stack: Route 53 as moto serves it, and
 * the Cloudflare test server of the harness (which validates every request against the schemas
 * of Cloudflare's published API). Each test gets its own zone with a unique domain.
 */
import { randomUUID } from 'node:crypto';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  DeleteHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { Secret } from '@deploytag/core';
import { requireEnv, startCloudflareApi, type CloudflareApiServer } from '@deploytag/harness';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createCloudflareProvider,
  createRoute53Client,
  createRoute53Provider,
  ownershipText,
  removeDns,
  upsertDns,
  type DnsProvider,
} from './index.js';

/** A record as the provider holds it, read without going through this package. */
interface RawRecord {
  name: string;
  type: string;
  value: string;
}

/** One provider's zone for one test, with a way to add and read records behind our back. */
interface Fixture {
  zone: string;
  provider: DnsProvider;
  /** Adds a record as someone else would (not through this package). */
  seed(name: string, type: string, value: string): Promise<void>;
  /** Every record of the zone except the apex's NS and SOA, sorted. */
  dump(): Promise<RawRecord[]>;
  close(): Promise<void>;
}

interface Backend {
  label: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  fixture(pageSize?: number): Promise<Fixture>;
}

const sortRecords = (records: RawRecord[]) =>
  records.sort((a, b) =>
    `${a.name} ${a.type} ${a.value}`.localeCompare(`${b.name} ${b.type} ${b.value}`),
  );

const route53: Backend & { client?: Route53Client } = {
  label: 'Route 53 (moto)',
  async start() {
    requireEnv('AWS_ENDPOINT_URL');
    this.client = await createRoute53Client(process.env);
  },
  stop() {
    this.client?.destroy();
    return Promise.resolve();
  },
  async fixture(pageSize) {
    const client = this.client!;
    const zone = `dns-${randomUUID().slice(0, 8)}.deploytag.test`;
    const created = await client.send(
      new CreateHostedZoneCommand({ Name: zone, CallerReference: randomUUID() }),
    );
    const zoneId = created.HostedZone!.Id!;
    const listAll = async (): Promise<ResourceRecordSet[]> => {
      const out: ResourceRecordSet[] = [];
      let start: { name: string; type: ResourceRecordSet['Type'] } | undefined;
      for (;;) {
        const page = await client.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: zoneId,
            ...(start ? { StartRecordName: start.name, StartRecordType: start.type } : {}),
          }),
        );
        out.push(...(page.ResourceRecordSets ?? []));
        if (!page.IsTruncated) return out;
        start = { name: page.NextRecordName!, type: page.NextRecordType };
      }
    };
    return {
      zone,
      provider: await createRoute53Provider({
        client,
        zone,
        ...(pageSize === undefined ? {} : { pageSize }),
      }),
      async seed(name, type, value) {
        await client.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: zoneId,
            ChangeBatch: {
              Changes: [
                {
                  Action: 'CREATE',
                  ResourceRecordSet: {
                    Name: name,
                    Type: type as ResourceRecordSet['Type'],
                    TTL: 60,
                    ResourceRecords: [{ Value: value }],
                  },
                },
              ],
            },
          }),
        );
      },
      async dump() {
        return sortRecords(
          (await listAll())
            .filter((s) => !(s.Name === `${zone}.` && (s.Type === 'NS' || s.Type === 'SOA')))
            .flatMap((s) =>
              (s.ResourceRecords ?? []).map((r) => ({
                name: s.Name!.replace(/\.$/, ''),
                type: s.Type!,
                value: r.Value!.replace(/\.$/, ''),
              })),
            ),
        );
      },
      async close() {
        const leftovers = (await listAll()).filter((s) => s.Type !== 'NS' && s.Type !== 'SOA');
        if (leftovers.length > 0) {
          await client.send(
            new ChangeResourceRecordSetsCommand({
              HostedZoneId: zoneId,
              ChangeBatch: {
                Changes: leftovers.map((s) => ({ Action: 'DELETE', ResourceRecordSet: s })),
              },
            }),
          );
        }
        await client.send(new DeleteHostedZoneCommand({ Id: zoneId }));
      },
    };
  },
};

const cloudflare: Backend & { server?: CloudflareApiServer } = {
  label: 'Cloudflare (harness test server)',
  async start() {
    this.server = await startCloudflareApi();
  },
  async stop() {
    await this.server?.stop();
  },
  async fixture(pageSize) {
    const server = this.server!;
    const zone = `dns-${randomUUID().slice(0, 8)}.deploytag.test`;
    const zoneId = server.api.addZone(zone);
    return {
      zone,
      provider: await createCloudflareProvider({
        token: Secret.of(server.token),
        zone,
        baseUrl: server.url,
        ...(pageSize === undefined ? {} : { pageSize }),
      }),
      seed(name, type, value) {
        server.api.addRecord(zoneId, { name, type, content: value });
        return Promise.resolve();
      },
      dump() {
        return Promise.resolve(
          sortRecords(
            server.api
              .records(zoneId)
              .map((r) => ({ name: r.name, type: r.type, value: r.content })),
          ),
        );
      },
      close: () => Promise.resolve(),
    };
  },
};

const OWNER = 'deploytag/shop/feature-login';
const OTHER = 'deploytag/shop/feature-other';
const quoted = (owner: string) => `"${ownershipText(owner)}"`;

describe.each([route53, cloudflare])('DNS records in $label', (backend) => {
  let f: Fixture;
  beforeAll(async () => {
    await backend.start();
  });
  afterAll(async () => {
    await backend.stop();
  });
  beforeEach(async () => {
    f = await backend.fixture();
  });
  afterEach(async () => {
    await f.close();
  });
  const name = (label: string) => `${label}.${f.zone}`;
  const upsert = (records: { name: string; target: string }[], owner = OWNER) =>
    upsertDns({ provider: f.provider, owner, records });

  it('creates an A record and its ownership record, and a re-run changes nothing', async () => {
    const app = name('feature-login-app');
    const first = await upsert([{ name: app, target: '203.0.113.10' }]);
    expect(first.applied).toBe(true);
    const after = await f.dump();
    expect(after).toEqual([
      { name: `_deploytag.${app}`, type: 'TXT', value: quoted(OWNER) },
      { name: app, type: 'A', value: '203.0.113.10' },
    ]);
    const again = await upsert([{ name: app, target: '203.0.113.10' }]);
    expect(again.plan.changes).toEqual([]);
    expect(again.plan.unchanged).toEqual([app]);
    expect(again.applied).toBe(false);
    expect(await f.dump()).toEqual(after);
  });

  it('updates the record when the address changes', async () => {
    const app = name('app');
    await upsert([{ name: app, target: '203.0.113.10' }]);
    const moved = await upsert([{ name: app, target: '203.0.113.11' }]);
    expect(moved.plan.changes.map((c) => c.action)).toEqual(['update']);
    expect((await f.dump()).filter((r) => r.type === 'A')).toEqual([
      { name: app, type: 'A', value: '203.0.113.11' },
    ]);
  });

  it('writes a CNAME for a host name and an AAAA for IPv6, and changes type both ways', async () => {
    const app = name('app');
    const v6 = name('v6');
    await upsert([
      { name: app, target: 'lb-1.elb.example.net' },
      { name: v6, target: '2001:db8::10' },
    ]);
    const address = async () =>
      (await f.dump()).filter((r) => r.type !== 'TXT').map((r) => `${r.type} ${r.name} ${r.value}`);
    expect(await address()).toEqual([
      `CNAME ${app} lb-1.elb.example.net`,
      `AAAA ${v6} 2001:db8::10`,
    ]);
    await upsert([{ name: app, target: '198.51.100.7' }]);
    expect(await address()).toEqual([`A ${app} 198.51.100.7`, `AAAA ${v6} 2001:db8::10`]);
    await upsert([{ name: app, target: 'lb-2.elb.example.net' }]);
    expect(await address()).toEqual([
      `CNAME ${app} lb-2.elb.example.net`,
      `AAAA ${v6} 2001:db8::10`,
    ]);
    expect((await f.dump()).filter((r) => r.type === 'TXT')).toHaveLength(2);
  });

  it("leaves another environment's record alone", async () => {
    const app = name('shared');
    await upsert([{ name: app, target: '192.0.2.1' }], OTHER);
    const before = await f.dump();
    const result = await upsert([{ name: app, target: '203.0.113.10' }]);
    expect(result.plan.changes).toEqual([]);
    expect(result.plan.refused).toEqual([expect.objectContaining({ name: app, owner: OTHER })]);
    expect(await f.dump()).toEqual(before);
  });

  it('leaves a record without an ownership record alone', async () => {
    const app = name('handmade');
    await f.seed(app, 'CNAME', 'somewhere.example.org');
    const before = await f.dump();
    const result = await upsert([{ name: app, target: '203.0.113.10' }]);
    expect(result.plan.refused.map((r) => r.name)).toEqual([app]);
    expect(result.applied).toBe(false);
    expect(await f.dump()).toEqual(before);
  });

  it('removes exactly its own records; foreign ones survive', async () => {
    const mine = [name('a'), name('b')];
    await upsert([
      { name: mine[0]!, target: '203.0.113.1' },
      { name: mine[1]!, target: 'lb.example.net' },
    ]);
    await upsert([{ name: name('theirs'), target: '192.0.2.9' }], OTHER);
    await f.seed(name('handmade'), 'A', '192.0.2.10');
    await f.seed(name('a'), 'MX', '10 mail.example.org');
    const foreign = (await f.dump()).filter(
      (r) => !mine.some((m) => r.name === m || r.name === `_deploytag.${m}`) || r.type === 'MX',
    );
    const removed = await removeDns({ provider: f.provider, owner: OWNER });
    expect(removed.plan.changes).toHaveLength(4);
    expect(await f.dump()).toEqual(foreign);
    const again = await removeDns({ provider: f.provider, owner: OWNER });
    expect(again.plan.changes).toEqual([]);
  });

  it('removes by name, reporting names it leaves alone', async () => {
    const app = name('app');
    await upsert([{ name: app, target: '203.0.113.1' }]);
    await f.seed(name('handmade'), 'A', '192.0.2.10');
    const result = await removeDns({
      provider: f.provider,
      owner: OWNER,
      names: [app, name('handmade'), name('nothing')],
    });
    expect(result.plan.changes.map((c) => `${c.action} ${c.record.type}`)).toEqual([
      'delete A',
      'delete TXT',
    ]);
    expect(result.plan.refused.map((r) => r.name)).toEqual([name('handmade')]);
    expect(result.plan.unchanged).toEqual([name('nothing')]);
    expect(await f.dump()).toEqual([{ name: name('handmade'), type: 'A', value: '192.0.2.10' }]);
  });
});

describe.each([route53, cloudflare])('paging through a zone in $label', (backend) => {
  beforeAll(async () => {
    await backend.start();
  });
  afterAll(async () => {
    await backend.stop();
  });

  it('lists and removes more records than fit one page', async () => {
    // The smallest page each API allows: Route 53 takes 1, Cloudflare 5.
    const f = await backend.fixture(backend === route53 ? 2 : 5);
    try {
      const names = Array.from({ length: 7 }, (_, i) => `host-${i}.${f.zone}`);
      await upsertDns({
        provider: f.provider,
        owner: OWNER,
        records: names.map((n, i) => ({ name: n, target: `203.0.113.${i + 1}` })),
      });
      await f.seed(`keep.${f.zone}`, 'A', '192.0.2.1');
      expect(await f.dump()).toHaveLength(15);
      const all = await f.provider.listRecords();
      expect(all.filter((s) => s.name.startsWith('host-'))).toHaveLength(7);
      const removed = await removeDns({ provider: f.provider, owner: OWNER });
      expect(removed.plan.changes).toHaveLength(14);
      expect(await f.dump()).toEqual([{ name: `keep.${f.zone}`, type: 'A', value: '192.0.2.1' }]);
    } finally {
      await f.close();
    }
  });
});
