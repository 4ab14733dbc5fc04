/**
 * Cloudflare specifics against the harness's test server: the schema check really refuses bad
 * requests, every request this client sends passes it, and auth, retries and zone lookup behave.
 */
import { randomUUID } from 'node:crypto';
import { Secret } from '@deploytag/core';
import { startCloudflareApi, type CloudflareApiServer } from '@deploytag/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCloudflareProvider, removeDns, upsertDns, type DnsError } from './index.js';

describe('Cloudflare provider against the test server', () => {
  let server: CloudflareApiServer;
  beforeAll(async () => {
    server = await startCloudflareApi();
  });
  afterAll(async () => {
    await server.stop();
  });
  const newZone = () => {
    const zone = `cf-${randomUUID().slice(0, 8)}.deploytag.test`;
    return { zone, zoneId: server.api.addZone(zone) };
  };
  const connect = (zone: string, token = server.token) =>
    createCloudflareProvider({
      token: Secret.of(token),
      zone,
      baseUrl: server.url,
      retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
    });

  it('refuses a request body that breaks the published schema, with the error envelope', async () => {
    const { zone, zoneId } = newZone();
    const post = async (body: unknown) => {
      const res = await fetch(`${server.url}/zones/${zoneId}/dns_records`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const typo = await post({ type: 'A', name: `a.${zone}`, contnet: '192.0.2.1', ttl: 300 });
    expect(typo.status).toBe(400);
    expect(typo.body).toMatchObject({ success: false, result: null });
    expect(JSON.stringify(typo.body['errors'])).toContain('/contnet is not allowed');
    expect((await post({ type: 'A', name: `a.${zone}`, content: '192.0.2.1' })).status).toBe(400);
    expect(
      (await post({ type: 'A', name: `a.${zone}`, content: '192.0.2.1', ttl: 300, proxied: 'no' }))
        .status,
    ).toBe(400);
    expect(
      (await post({ type: 'A', name: `a.${zone}`, content: '192.0.2.1', ttl: 300 })).status,
    ).toBe(200);
  });

  it('sends only requests that pass the schema, through a whole life cycle', async () => {
    const { zone } = newZone();
    const provider = await connect(zone);
    const from = server.api.requests.length;
    const name = `app.${zone}`;
    const owner = 'deploytag/shop/feature-x';
    await upsertDns({ provider, owner, records: [{ name, target: '203.0.113.5' }] });
    await upsertDns({ provider, owner, records: [{ name, target: '203.0.113.6' }], ttl: 60 });
    await upsertDns({ provider, owner, records: [{ name, target: 'lb.example.net' }] });
    await upsertDns({ provider, owner, records: [{ name, target: '2001:db8::5' }] });
    await removeDns({ provider, owner });
    const requests = server.api.requests.slice(from);
    expect(requests.map((r) => r.method).sort()).toEqual(
      expect.arrayContaining(['DELETE', 'GET', 'POST', 'PUT']),
    );
    expect(requests.filter((r) => r.status !== 200)).toEqual([]);
  });

  it('maps a refused token to E_DNS_AUTH and never shows the token', async () => {
    const { zone } = newZone();
    const wrong = `wrong-${randomUUID()}`;
    const error = (await connect(zone, wrong).catch((e: unknown) => e)) as DnsError;
    expect(error.code).toBe('E_DNS_AUTH');
    expect(error.message).toContain('403');
    expect(JSON.stringify(error.toJSON())).not.toContain(wrong);
    expect(error.message).not.toContain(wrong);
  });

  it('retries when rate-limited, and finishes the job', async () => {
    const { zone, zoneId } = newZone();
    const provider = await connect(zone);
    server.api.failNext(2, 429, { retryAfterSeconds: 0 });
    const from = server.api.requests.length;
    const name = `app.${zone}`;
    await upsertDns({ provider, owner: 'o/1', records: [{ name, target: '203.0.113.7' }] });
    expect(server.api.requests.slice(from, from + 3).map((r) => r.status)).toEqual([429, 429, 200]);
    expect(server.api.records(zoneId).map((r) => r.type)).toEqual(['TXT', 'A']);
  });

  it('does not repeat a create that failed with a 5xx; the next run completes', async () => {
    const { zone, zoneId } = newZone();
    const provider = await connect(zone);
    const name = `app.${zone}`;
    const run = () =>
      upsertDns({ provider, owner: 'o/2', records: [{ name, target: '203.0.113.8' }] });
    const from = server.api.requests.length;
    server.api.failNext(1, 503, { method: 'POST' });
    await expect(run()).rejects.toThrow('Cloudflare refused POST');
    const posts = server.api.requests.slice(from).filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.status)).toEqual([503]);
    expect(server.api.records(zoneId)).toEqual([]);
    await run();
    expect(server.api.records(zoneId).map((r) => r.type)).toEqual(['TXT', 'A']);
  });

  it('says which zone it cannot find', async () => {
    const error = (await connect(`missing-${randomUUID().slice(0, 8)}.test`).catch(
      (e: unknown) => e,
    )) as DnsError;
    expect(error.code).toBe('E_DNS_ZONE_NOT_FOUND');
    expect(error.message).toContain('DNS_ZONE_ID');
  });
});
