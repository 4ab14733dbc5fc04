import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { CloudflareDnsApi, type CloudflareApiRequest } from './cloudflare-api.js';

const TOKEN = 'test-token-123';

function installedSdkVersion(): string {
  let dir = dirname(createRequire(import.meta.url).resolve('cloudflare'));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version: string;
      };
      if (pkg.name === 'cloudflare') return pkg.version;
    } catch {
      // keep going up
    }
    dir = dirname(dir);
  }
}

interface Envelope {
  success: boolean;
  errors: { code: number; message: string; error_chain?: { message: string }[] }[];
  result: unknown;
  result_info?: { page: number; per_page: number; total_count: number; total_pages: number };
}

describe('the Cloudflare DNS API stand-in (handler, no network)', () => {
  let api: CloudflareDnsApi;
  let zoneId: string;
  const call = (
    method: string,
    path: string,
    body?: unknown,
    headers: Partial<CloudflareApiRequest> = {},
  ): { status: number; body: Envelope; headers: Record<string, string> } => {
    const response = api.handle({
      method,
      url: `/client/v4${path}`,
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined
        ? {}
        : { contentType: 'application/json', body: JSON.stringify(body) }),
      ...headers,
    });
    return { status: response.status, body: response.body as Envelope, headers: response.headers };
  };
  const messages = (e: Envelope): string =>
    e.errors
      .flatMap((x) => [x.message, ...(x.error_chain ?? []).map((c) => c.message)])
      .join(' | ');
  const records = () => `/zones/${zoneId}/dns_records`;

  beforeEach(() => {
    api = new CloudflareDnsApi(TOKEN);
    zoneId = api.addZone('example.test');
  });

  it('uses schemas generated from the installed cloudflare SDK (regenerate them if this fails)', () => {
    expect(api.sdkVersion).toBe(installedSdkVersion());
  });

  it('checks the bearer token', () => {
    const missing = call('GET', '/zones', undefined, { authorization: undefined });
    expect(missing.status).toBe(400);
    expect(missing.body.success).toBe(false);
    expect(call('GET', '/zones', undefined, { authorization: `Basic ${TOKEN}` }).status).toBe(400);
    const wrong = call('GET', '/zones', undefined, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(403);
    expect(wrong.body.errors[0]!.code).toBe(10000);
  });

  it('finds a zone by name and validates the query string', () => {
    const found = call('GET', '/zones?name=example.test&per_page=50');
    expect(found.status).toBe(200);
    expect(found.body.result).toEqual([
      expect.objectContaining({ id: zoneId, name: 'example.test' }),
    ]);
    expect(call('GET', '/zones?name=other.test').body.result).toEqual([]);
    const bad = call('GET', '/zones?nmae=example.test');
    expect(bad.status).toBe(400);
    expect(messages(bad.body)).toContain('/nmae is not allowed');
    expect(call('GET', '/zones?per_page=ten').status).toBe(400);
    expect(call('GET', '/zones?per_page=500').status).toBe(400);
  });

  it('creates, lists, overwrites and deletes a record', () => {
    const created = call('POST', records(), {
      type: 'A',
      name: 'app.example.test',
      content: '203.0.113.10',
      ttl: 300,
    });
    expect(created.status).toBe(200);
    const id = (created.body.result as { id: string }).id;
    const listed = call('GET', `${records()}?name.exact=app.example.test&per_page=5&page=1`);
    expect(listed.body.result).toEqual([
      expect.objectContaining({ id, type: 'A', content: '203.0.113.10', ttl: 300 }),
    ]);
    expect(listed.body.result_info).toMatchObject({ page: 1, per_page: 5, total_count: 1 });
    const put = call('PUT', `${records()}/${id}`, {
      type: 'A',
      name: 'app.example.test',
      content: '203.0.113.11',
      ttl: 120,
    });
    expect(put.status).toBe(200);
    expect(api.records(zoneId)).toEqual([
      expect.objectContaining({ id, content: '203.0.113.11', ttl: 120 }),
    ]);
    expect(call('DELETE', `${records()}/${id}`).body.result).toEqual({ id });
    expect(api.records(zoneId)).toEqual([]);
    expect(call('DELETE', `${records()}/${id}`).status).toBe(404);
  });

  it('refuses bodies that do not match the published schema', () => {
    const typo = call('POST', records(), {
      type: 'A',
      name: 'app.example.test',
      contnet: '203.0.113.10',
      ttl: 300,
    });
    expect(typo.status).toBe(400);
    expect(typo.body.success).toBe(false);
    expect(messages(typo.body)).toContain('/contnet is not allowed');
    expect(
      call('POST', records(), { type: 'A', name: 'a.example.test', content: '1.2.3.4' }).status,
    ).toBe(400); // ttl is required
    expect(
      call('POST', records(), { type: 'A', name: 'a.example.test', content: '1.2.3.4', ttl: '300' })
        .status,
    ).toBe(400);
    // zone_id is a path parameter, not a body field.
    expect(
      call('POST', records(), {
        type: 'A',
        name: 'a.example.test',
        content: '1.2.3.4',
        ttl: 300,
        zone_id: zoneId,
      }).status,
    ).toBe(400);
    expect(
      call('POST', records(), undefined, { contentType: 'application/json', body: '{' }).status,
    ).toBe(400);
    expect(call('GET', `${records()}?name=app.example.test`).status).toBe(400); // name is an object of filters
    expect(api.records(zoneId)).toEqual([]);
  });

  it('enforces the DNS rules the schema cannot express', () => {
    const post = (body: object) => call('POST', records(), { ttl: 300, ...body });
    expect(post({ type: 'A', name: 'a.example.test', content: 'lb.example.net' }).status).toBe(400);
    expect(post({ type: 'AAAA', name: 'a.example.test', content: '1.2.3.4' }).status).toBe(400);
    expect(post({ type: 'CNAME', name: 'a.example.test', content: 'a.example.test' }).status).toBe(
      400,
    );
    expect(post({ type: 'A', name: 'a.other.test', content: '1.2.3.4' }).status).toBe(400);
    expect(post({ type: 'A', name: 'a', content: '1.2.3.4' }).status).toBe(400);
    expect(post({ type: 'A', name: 'a.example.test', content: '1.2.3.4', ttl: 30 }).status).toBe(
      400,
    );
    expect(post({ type: 'TXT', name: 'a.example.test', content: 'x', proxied: true }).status).toBe(
      400,
    );
    expect(post({ type: 'A', name: 'a.example.test', content: '1.2.3.4' }).status).toBe(200);
    const cname = post({ type: 'CNAME', name: 'a.example.test', content: 'lb.example.net' });
    expect(cname.status).toBe(400);
    expect(cname.body.errors[0]!.code).toBe(81053);
    expect(
      post({ type: 'A', name: 'a.example.test', content: '1.2.3.4' }).body.errors[0]!.code,
    ).toBe(81058);
    expect(post({ type: 'CNAME', name: 'c.example.test', content: 'lb.example.net' }).status).toBe(
      200,
    );
    expect(post({ type: 'TXT', name: 'c.example.test', content: '"x"' }).body.errors[0]!.code).toBe(
      81054,
    );
  });

  it('pages through records', () => {
    for (let i = 0; i < 12; i++) {
      api.addRecord(zoneId, { name: `r${i}.example.test`, type: 'TXT', content: `"${i}"` });
    }
    const page3 = call('GET', `${records()}?per_page=5&page=3`);
    expect(page3.body.result).toHaveLength(2);
    expect(page3.body.result_info).toMatchObject({ page: 3, total_count: 12, total_pages: 3 });
    expect(call('GET', `${records()}?per_page=4`).status).toBe(400);
  });

  it('answers injected failures with the envelope and Retry-After', () => {
    api.failNext(1, 429, { retryAfterSeconds: 2 });
    api.failNext(1, 503, { method: 'DELETE' });
    const limited = call('GET', '/zones');
    expect(limited.status).toBe(429);
    expect(limited.headers['Retry-After']).toBe('2');
    expect(limited.body.success).toBe(false);
    expect(call('GET', '/zones').status).toBe(200);
    expect(call('DELETE', `${records()}/nope`).status).toBe(503);
    expect(api.requests.map((r) => r.status)).toEqual([429, 200, 503]);
  });

  it('refuses what it does not implement instead of ignoring it', () => {
    expect(call('GET', `${records()}?search=app`).status).toBe(501);
    expect(call('GET', `${records()}?name.contains=app`).status).toBe(200);
    expect(call('GET', '/zones?order=status').status).toBe(501);
    expect(call('PATCH', `${records()}/x`, { type: 'A' }).status).toBe(501);
    expect(call('GET', '/accounts').status).toBe(404);
  });
});
