import { Secret } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import { createCloudflareProvider } from './cloudflare.js';
import { DnsError } from './errors.js';

const TOKEN = 'cf-token-abcdef123456';

interface Call {
  method: string;
  url: string;
  authorization: string | null;
  body: string | undefined;
}

/** A scripted fetch: answers each call with the next response, recording the calls. */
function scripted(...responses: (Response | Error)[]) {
  const calls: Call[] = [];
  const fetchFn = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    calls.push({
      method: init?.method ?? 'GET',
      url: input instanceof Request ? input.url : input.toString(),
      authorization: headers.get('authorization'),
      body: typeof init?.body === 'string' ? init.body : undefined,
    });
    const next = responses.shift();
    if (next === undefined) throw new Error('no more scripted responses');
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  return { calls, fetch: fetchFn };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
const ok = (result: unknown, info?: object) =>
  json(200, {
    success: true,
    errors: [],
    messages: [],
    result,
    ...(info ? { result_info: info } : {}),
  });
const failure = (status: number, code: number, message: string) =>
  json(status, { success: false, errors: [{ code, message }], messages: [], result: null });

const fast = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };
const provider = (f: typeof fetch, zoneId: string | null = 'z1') =>
  createCloudflareProvider({
    token: Secret.of(TOKEN),
    zone: 'Example.com',
    ...(zoneId === null ? {} : { zoneId }),
    baseUrl: 'http://cf.test/client/v4/',
    fetch: f,
    retry: fast,
    pageSize: 5,
  });

describe('the Cloudflare provider (scripted fetch)', () => {
  it('finds the zone by name and sends the token as a bearer header only', async () => {
    const s = scripted(ok([{ id: 'z9', name: 'example.com' }], { page: 1, total_pages: 1 }));
    const p = await provider(s.fetch, null);
    expect(p.zoneId).toBe('z9');
    expect(s.calls[0]!.url).toBe(
      'http://cf.test/client/v4/zones?name=example.com&page=1&per_page=50',
    );
    expect(s.calls[0]!.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('says clearly when the zone is missing or ambiguous', async () => {
    await expect(provider(scripted(ok([], { total_pages: 1 })).fetch, null)).rejects.toMatchObject({
      code: 'E_DNS_ZONE_NOT_FOUND',
    });
    const two = ok(
      [
        { id: 'a', name: 'example.com' },
        { id: 'b', name: 'example.com' },
      ],
      { total_pages: 1 },
    );
    await expect(provider(scripted(two).fetch, null)).rejects.toMatchObject({
      code: 'E_DNS_ZONE_AMBIGUOUS',
    });
  });

  it('reads every page, grouping nothing and unquoting TXT', async () => {
    const rec = (i: number) => ({
      id: `r${i}`,
      name: `A${i}.example.com`,
      type: 'TXT',
      content: `"v${i}"`,
      ttl: 1,
    });
    const s = scripted(
      ok([0, 1, 2, 3, 4].map(rec), { page: 1, total_pages: 2 }),
      ok([5].map(rec), { page: 2, total_pages: 2 }),
    );
    const sets = await (await provider(s.fetch)).listRecords();
    expect(sets).toHaveLength(6);
    expect(sets[5]).toEqual({
      name: 'a5.example.com',
      type: 'TXT',
      values: ['v5'],
      ttl: 1,
      ids: ['r5'],
    });
    expect(s.calls.map((c) => new URL(c.url).searchParams.get('page'))).toEqual(['1', '2']);
  });

  it('lists by exact name', async () => {
    const s = scripted(ok([], { total_pages: 1 }), ok([], { total_pages: 1 }));
    await (
      await provider(s.fetch)
    ).listRecords(['a.example.com', 'A.example.com.', '_deploytag.a.example.com']);
    expect(s.calls.map((c) => new URL(c.url).searchParams.get('name.exact'))).toEqual([
      'a.example.com',
      '_deploytag.a.example.com',
    ]);
  });

  it('retries 429 and 5xx on reads, honouring Retry-After', async () => {
    const s = scripted(
      failure(429, 971, 'slow down'),
      json(503, { success: false, errors: [], messages: [], result: null }, { 'retry-after': '0' }),
      ok([], { total_pages: 1 }),
    );
    await (await provider(s.fetch)).listRecords(['a.example.com']);
    expect(s.calls).toHaveLength(3);
  });

  it('retries a network failure of a read, but not of a create', async () => {
    const read = scripted(new TypeError('fetch failed'), ok([], { total_pages: 1 }));
    await (await provider(read.fetch)).listRecords(['a.example.com']);
    expect(read.calls).toHaveLength(2);
    const write = scripted(new TypeError('fetch failed'));
    const p = await provider(write.fetch);
    await expect(
      p.applyChanges([
        {
          action: 'create',
          record: { name: 'a.example.com', type: 'A', values: ['1.1.1.1'] },
          reason: '',
        },
      ]),
    ).rejects.toThrow('cannot reach the Cloudflare API at http://cf.test/client/v4');
    expect(write.calls).toHaveLength(1);
  });

  it('retries a rate-limited create, but not one that failed with a 5xx', async () => {
    const change = {
      action: 'create' as const,
      record: { name: 'a.example.com', type: 'TXT', values: ['x "y"'], ttl: 60 },
      reason: '',
    };
    const limited = scripted(failure(429, 971, 'slow down'), ok({ id: 'n1' }));
    await (await provider(limited.fetch)).applyChanges([change]);
    expect(limited.calls.map((c) => c.method)).toEqual(['POST', 'POST']);
    expect(JSON.parse(limited.calls[1]!.body!)).toEqual({
      type: 'TXT',
      name: 'a.example.com',
      content: '"x \\"y\\""',
      ttl: 60,
    });
    const broken = scripted(failure(502, 1000, 'bad gateway'));
    await expect((await provider(broken.fetch)).applyChanges([change])).rejects.toThrow(
      'Cloudflare refused POST /zones/z1/dns_records (502: 1000 bad gateway)',
    );
    expect(broken.calls).toHaveLength(1);
  });

  it('gives up after the last attempt', async () => {
    const s = scripted(failure(429, 971, 'a'), failure(429, 971, 'b'), failure(429, 971, 'c'));
    await expect((await provider(s.fetch)).listRecords(['a.example.com'])).rejects.toThrow(
      'still rate-limited after 3 attempts',
    );
    expect(s.calls).toHaveLength(3);
  });

  it('names the API error, and maps refused tokens to E_DNS_AUTH without showing the token', async () => {
    const s = scripted(
      json(400, {
        success: false,
        errors: [
          {
            code: 1004,
            message: 'DNS Validation Error',
            error_chain: [{ code: 9005, message: 'bad content' }],
          },
        ],
        messages: [],
        result: null,
      }),
    );
    const error = await (
      await provider(s.fetch)
    )
      .listRecords(['a.example.com'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DnsError);
    expect((error as DnsError).message).toContain('1004 DNS Validation Error; 9005 bad content');
    const auth = scripted(failure(403, 10000, 'Authentication error'));
    const refused = await (
      await provider(auth.fetch)
    )
      .listRecords(['a.example.com'])
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'E_DNS_AUTH' });
    expect(JSON.stringify(refused)).not.toContain(TOKEN);
    expect((refused as Error).message).not.toContain(TOKEN);
  });

  it('refuses a body that is not JSON', async () => {
    const s = scripted(new Response('<html>proxy</html>', { status: 200 }));
    await expect((await provider(s.fetch)).listRecords(['a.example.com'])).rejects.toThrow(
      'not JSON',
    );
  });

  it('applies updates by pairing ids with values, and deletes by id', async () => {
    const s = scripted(ok({ id: 'a1' }), ok({ id: 'n' }), ok({ id: 'a3' }), ok({ id: 'd1' }));
    const p = await provider(s.fetch);
    await p.applyChanges([
      {
        action: 'update',
        record: { name: 'a.example.com', type: 'A', values: ['1.1.1.1', '2.2.2.2'], ttl: 300 },
        previous: { name: 'a.example.com', type: 'A', values: ['9.9.9.9'], ids: ['a1'] },
        reason: '',
      },
      {
        action: 'update',
        record: { name: 'b.example.com', type: 'A', values: [], ttl: 300 },
        previous: { name: 'b.example.com', type: 'A', values: ['9.9.9.9'], ids: ['a3'] },
        reason: '',
      },
      {
        action: 'delete',
        record: { name: 'c.example.com', type: 'A', values: ['1.1.1.1'], ids: ['d1'] },
        reason: '',
      },
    ]);
    expect(s.calls.map((c) => `${c.method} ${new URL(c.url).pathname}`)).toEqual([
      'PUT /client/v4/zones/z1/dns_records/a1',
      'POST /client/v4/zones/z1/dns_records',
      'DELETE /client/v4/zones/z1/dns_records/a3',
      'DELETE /client/v4/zones/z1/dns_records/d1',
    ]);
    await expect(
      p.applyChanges([
        {
          action: 'delete',
          record: { name: 'x.example.com', type: 'A', values: ['1.1.1.1'] },
          reason: '',
        },
      ]),
    ).rejects.toThrow('has no Cloudflare ids');
  });
});
