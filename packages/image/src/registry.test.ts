import { Secret } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import { RegistryClient, parseAuthChallenge } from './registry.js';

type Handler = (url: string, init: RequestInit) => Response;

/** A fetch that answers from a list of handlers in order and records the calls. */
function scripted(...handlers: Handler[]): {
  fetch: typeof fetch;
  calls: { url: string; init: RequestInit }[];
} {
  const calls: { url: string; init: RequestInit }[] = [];
  const f = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    calls.push({ url, init });
    const h = handlers[calls.length - 1];
    if (h === undefined) throw new Error(`unexpected request ${url}`);
    return Promise.resolve(h(url, init));
  };
  return { fetch: f, calls };
}

const ok = (headers: Record<string, string> = {}, body = ''): Response =>
  new Response(body === '' ? null : body, { status: 200, headers });
const status = (s: number, headers: Record<string, string> = {}): Response =>
  new Response(null, { status: s, headers });
const auth = (init: RequestInit): string | undefined =>
  (init.headers as Record<string, string> | undefined)?.['Authorization'];
const fast = { attempts: 4, baseDelayMs: 1 };

describe('parseAuthChallenge', () => {
  it('reads bearer and basic challenges', () => {
    expect(
      parseAuthChallenge(
        'Bearer realm="https://auth.io/token",service="registry.io",scope="repository:a/b:pull,push"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.io/token',
        service: 'registry.io',
        scope: 'repository:a/b:pull,push',
      },
    });
    expect(parseAuthChallenge('Basic realm="x"')).toEqual({
      scheme: 'basic',
      params: { realm: 'x' },
    });
    expect(parseAuthChallenge(null)).toBeUndefined();
  });
});

describe('RegistryClient', () => {
  it('uses http for loopback and asks manifests with Docker and OCI media types', async () => {
    const s = scripted(() => ok({ 'docker-content-digest': 'sha256:d' }));
    const r = new RegistryClient('127.0.0.1:5000', { fetch: s.fetch, retry: fast });
    expect(await r.manifestDigest('a/b', 't')).toBe('sha256:d');
    expect(s.calls[0]?.url).toBe('http://127.0.0.1:5000/v2/a/b/manifests/t');
    const accept = (s.calls[0]?.init.headers as Record<string, string>)['Accept'];
    expect(accept).toContain('application/vnd.oci.image.manifest.v1+json');
    expect(accept).toContain('application/vnd.docker.distribution.manifest.v2+json');
    expect(accept).toContain('application/vnd.oci.image.index.v1+json');
  });

  it('answers false for a missing tag', async () => {
    const s = scripted(() => status(404));
    expect(await new RegistryClient('r.io', { fetch: s.fetch }).tagExists('a', 'b')).toBe(false);
    expect(s.calls[0]?.url).toBe('https://r.io/v2/a/manifests/b');
  });

  it('retries 5xx with backoff and then succeeds', async () => {
    const s = scripted(
      () => status(500),
      () => status(503),
      () => ok({ 'docker-content-digest': 'sha256:d' }),
    );
    expect(
      await new RegistryClient('r.io', { fetch: s.fetch, retry: fast }).manifestDigest('a', 'b'),
    ).toBe('sha256:d');
    expect(s.calls).toHaveLength(3);
  });

  it('retries timeouts and network errors', async () => {
    let n = 0;
    const f = ((): Promise<Response> => {
      n++;
      if (n === 1)
        return Promise.reject(
          Object.assign(new Error('The operation was aborted due to timeout'), {
            name: 'TimeoutError',
          }),
        );
      if (n === 2)
        return Promise.reject(new TypeError('fetch failed', { cause: new Error('ECONNRESET') }));
      return Promise.resolve(status(404));
    }) as typeof fetch;
    expect(await new RegistryClient('r.io', { fetch: f, retry: fast }).tagExists('a', 'b')).toBe(
      false,
    );
    expect(n).toBe(3);
  });

  it('gives up after the last attempt with the registry named', async () => {
    const s = scripted(
      () => status(500),
      () => status(500),
    );
    await expect(
      new RegistryClient('r.io', {
        fetch: s.fetch,
        retry: { attempts: 2, baseDelayMs: 1 },
      }).listTags('a'),
    ).rejects.toThrow(/registry r\.io answered HTTP 500/);
  });

  it('stops at its deadline with one line naming the registry, the deadline and the last error', async () => {
    let n = 0;
    const hangs = ((_url: string, init: RequestInit = {}): Promise<Response> => {
      n++;
      return new Promise((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error), {
          once: true,
        });
      });
    }) as typeof fetch;
    const error = await new RegistryClient('r.io', {
      fetch: hangs,
      retry: { attempts: 1000, baseDelayMs: 1, timeoutMs: 20, deadlineMs: 60 },
    })
      .tagExists('a', 'b')
      .catch((e: unknown) => e);
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThan(1000);
    expect((error as Error).message).toMatch(
      /^registry r\.io did not answer within the 60 ms deadline to look up a:b \(\d+ attempts? in \d+ ms; last: .*timeout.*\); check that it is up and reachable$/,
    );
  });

  it('quotes an error page on one line', async () => {
    const s = scripted(
      () =>
        new Response('<html>\n<body>\n<h1>503 Service Unavailable</h1>\n</body>\n</html>\n', {
          status: 503,
        }),
    );
    const error = await new RegistryClient('r.io', { fetch: s.fetch, retry: { attempts: 1 } })
      .listTags('a')
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /^registry r\.io answered HTTP 503 to list the tags of a \(<html> <body> <h1>503 Service Unavailable<\/h1> <\/body> <\/html>\) after 1 attempt in \d+ ms; it may be down or overloaded: try again later$/,
    );
  });

  it('never retries 4xx', async () => {
    const s = scripted(() => status(400));
    await expect(
      new RegistryClient('r.io', { fetch: s.fetch, retry: fast }).manifestDigest('a', 'b'),
    ).rejects.toThrow(/HTTP 400/);
    expect(s.calls).toHaveLength(1);
  });

  it('follows the basic challenge with the credentials, and caches them', async () => {
    const s = scripted(
      () => status(401, { 'www-authenticate': 'Basic realm="r"' }),
      () => ok({ 'docker-content-digest': 'sha256:d' }),
      () => status(404),
    );
    const r = new RegistryClient('r.io', {
      fetch: s.fetch,
      credentials: { username: 'u', password: Secret.of('p') },
    });
    await r.manifestDigest('a', 'b');
    await r.manifestDigest('a', 'c');
    expect(auth(s.calls[0]!.init)).toBeUndefined();
    expect(auth(s.calls[1]!.init)).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(auth(s.calls[2]!.init)).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });

  it('fetches a bearer token from the realm with service and scope', async () => {
    const s = scripted(
      () =>
        status(401, {
          'www-authenticate': 'Bearer realm="https://auth.r.io/token",service="r.io"',
        }),
      () => ok({ 'content-type': 'application/json' }, JSON.stringify({ token: 'tok' })),
      () => ok({}, JSON.stringify({ tags: ['a'] })),
    );
    const r = new RegistryClient('r.io', {
      fetch: s.fetch,
      credentials: () => Promise.resolve({ username: 'u', password: Secret.of('p') }),
    });
    expect(await r.listTags('x/y')).toEqual(['a']);
    const tokenUrl = new URL(s.calls[1]!.url);
    expect(tokenUrl.origin + tokenUrl.pathname).toBe('https://auth.r.io/token');
    expect(tokenUrl.searchParams.get('service')).toBe('r.io');
    expect(tokenUrl.searchParams.get('scope')).toBe('repository:x/y:pull');
    expect(auth(s.calls[1]!.init)).toMatch(/^Basic /);
    expect(auth(s.calls[2]!.init)).toBe('Bearer tok');
  });

  it('fetches an anonymous bearer token (access_token form) without credentials', async () => {
    const s = scripted(
      () =>
        status(401, {
          'www-authenticate':
            'Bearer realm="https://auth.r.io/token",service="r.io",scope="repository:x:pull"',
        }),
      () => ok({}, JSON.stringify({ access_token: 'anon' })),
      () => status(404),
    );
    expect(await new RegistryClient('r.io', { fetch: s.fetch }).tagExists('x', 't')).toBe(false);
    expect(auth(s.calls[1]!.init)).toBeUndefined();
    expect(auth(s.calls[2]!.init)).toBe('Bearer anon');
  });

  it('names the registry when credentials are missing or refused', async () => {
    const missing = scripted(() => status(401, { 'www-authenticate': 'Basic realm="r"' }));
    await expect(
      new RegistryClient('r.io', { fetch: missing.fetch }).tagExists('a', 'b'),
    ).rejects.toThrow(/registry r\.io requires credentials/);
    const refused = scripted(
      () => status(401, { 'www-authenticate': 'Basic realm="r"' }),
      () => status(401),
    );
    const err = await new RegistryClient('r.io', {
      fetch: refused.fetch,
      credentials: { username: 'bob', password: Secret.of('bad') },
    })
      .tagExists('a', 'b')
      .catch((e: unknown) => e as Error);
    expect(String(err)).toMatch(/registry r\.io refused the credentials of user bob/);
    expect(String(err)).not.toContain('bad');
  });

  it('follows pagination links when listing tags', async () => {
    const s = scripted(
      () =>
        ok({ link: '</v2/a/tags/list?n=1&last=x>; rel="next"' }, JSON.stringify({ tags: ['x'] })),
      () => ok({}, JSON.stringify({ tags: ['y'] })),
    );
    expect(await new RegistryClient('r.io', { fetch: s.fetch }).listTags('a')).toEqual(['x', 'y']);
    expect(s.calls[1]?.url).toBe('https://r.io/v2/a/tags/list?n=1&last=x');
  });

  it('deletes a tag by its digest', async () => {
    const s = scripted(
      () => ok({ 'docker-content-digest': 'sha256:d' }),
      () => status(202),
    );
    expect(await new RegistryClient('r.io', { fetch: s.fetch }).deleteTag('a', 't')).toBe(true);
    expect(s.calls[1]?.url).toBe('https://r.io/v2/a/manifests/sha256:d');
    expect(s.calls[1]?.init.method).toBe('DELETE');
  });
});
