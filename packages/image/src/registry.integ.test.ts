/**
 * The registry client and credential exchanges against real servers: the harness's open
 * registry behind small node:http proxies that inject faults or demand bearer tokens, and a local
 * token endpoint for the Google service-account exchange (Google itself cannot be reached here).
 */
import { createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Secret } from '@deploytag/core';
import { requireEnv } from '@deploytag/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineClient, RegistryClient, engineConnectionFromEnv, gcpLogin } from './index.js';

const registry = requireEnv('DEPLOYTAG_REGISTRY');
const baseImage = requireEnv('DEPLOYTAG_BASE_IMAGE');
const servers: Server[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Forwards a request to the real registry, as it is. */
function forward(req: IncomingMessage, res: ServerResponse): void {
  const [host, port] = registry.split(':');
  const headers = { ...req.headers, host: registry };
  delete headers['authorization'];
  const up = request(
    { host, port: Number(port), method: req.method, path: req.url, headers },
    (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    },
  );
  up.on('error', () => res.writeHead(502).end());
  req.pipe(up);
}

describe('registry client against the real registry', () => {
  const repo = `it-${randomBytes(4).toString('hex')}/faulty`;
  let faultyHost = '';
  let bearerHost = '';
  const failures = new Map<string, number>();
  const token = randomBytes(8).toString('hex');

  beforeAll(async () => {
    // Push one small image straight to the registry, so there is a manifest to read and copy.
    const engine = new EngineClient(engineConnectionFromEnv(process.env));
    await engine.tag(baseImage, `${registry}/${repo}:v1`);
    await engine.push(`${registry}/${repo}:v1`);

    // Answers 500 to the first two attempts of every distinct request, then forwards.
    faultyHost = await listen((req, res) => {
      const key = `${req.method ?? ''} ${req.url ?? ''}`;
      const n = failures.get(key) ?? 0;
      failures.set(key, n + 1);
      if (n < 2) {
        req.resume();
        res.writeHead(500).end('injected failure');
        return;
      }
      forward(req, res);
    });

    // Demands a bearer token from its own token endpoint, which wants basic credentials.
    bearerHost = await listen((req, res) => {
      if (req.url?.startsWith('/token') === true) {
        const url = new URL(req.url, 'http://x');
        const basic = `Basic ${Buffer.from('bob:pw').toString('base64')}`;
        if (
          req.headers.authorization !== basic ||
          url.searchParams.get('service') !== 'test-registry' ||
          !url.searchParams.get('scope')?.startsWith(`repository:${repo}:`)
        ) {
          res.writeHead(401).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
        return;
      }
      if (req.headers.authorization !== `Bearer ${token}`) {
        req.resume();
        res
          .writeHead(401, {
            'www-authenticate': `Bearer realm="http://${bearerHost}/token",service="test-registry"`,
          })
          .end();
        return;
      }
      forward(req, res);
    });
  });

  it('reads and writes through a registry that answers 500 twice, then succeeds', async () => {
    const client = new RegistryClient(faultyHost, { retry: { attempts: 4, baseDelayMs: 5 } });
    const digest = await client.manifestDigest(repo, 'v1');
    expect(digest).toMatch(/^sha256:/);
    await client.copyTag(repo, 'v1', 'v2');
    expect(await client.manifestDigest(repo, 'v2')).toBe(digest);
    expect((await client.listTags(repo)).sort()).toEqual(['v1', 'v2']);
    expect(failures.get(`HEAD /v2/${repo}/manifests/v1`)).toBe(3);
    expect(failures.get(`PUT /v2/${repo}/manifests/v2`)).toBe(3);
  });

  it('gives up naming the registry when it keeps failing', async () => {
    const client = new RegistryClient(faultyHost, { retry: { attempts: 2, baseDelayMs: 5 } });
    await expect(client.tagExists(repo, 'never')).rejects.toThrow(
      new RegExp(`registry ${faultyHost} answered HTTP 500`),
    );
  });

  it('follows the bearer-token flow, and names the registry when the token is refused', async () => {
    const client = new RegistryClient(bearerHost, {
      credentials: { username: 'bob', password: Secret.of('pw') },
    });
    expect(await client.tagExists(repo, 'v1')).toBe(true);
    expect(await client.listTags(repo)).toContain('v1');
    const wrong = new RegistryClient(bearerHost, {
      credentials: { username: 'bob', password: Secret.of('nope') },
    });
    await expect(wrong.tagExists(repo, 'v1')).rejects.toThrow(
      new RegExp(`registry ${bearerHost} refused the credentials of user bob`),
    );
    // Deleting a tag deletes its manifest, and with it every tag of that manifest (v1 and v2).
    expect(await client.deleteTag(repo, 'v2')).toBe(true);
    expect(await client.tagExists(repo, 'v1')).toBe(false);
    expect(await client.deleteTag(repo, 'v2')).toBe(false);
  });
});

describe('GCP service-account login', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = {
    type: 'service_account',
    client_email: 'deployer@proj.iam.gserviceaccount.com',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    private_key_id: 'k1',
  };
  let tokenUri = '';

  beforeAll(async () => {
    const host = await listen((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const [h, c, s] = (form.get('assertion') ?? '').split('.');
        const valid =
          form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer' &&
          h !== undefined &&
          c !== undefined &&
          s !== undefined &&
          createVerify('RSA-SHA256')
            .update(`${h}.${c}`)
            .verify(publicKey, Buffer.from(s, 'base64url'));
        const claims = valid
          ? (JSON.parse(Buffer.from(c, 'base64url').toString()) as { aud: string; iss: string })
          : undefined;
        if (claims?.aud !== tokenUri || claims.iss !== key.client_email) {
          res.writeHead(400, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              error: 'invalid_grant',
              error_description: 'Invalid JWT Signature.',
            }),
          );
          return;
        }
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ access_token: 'ya29.test', expires_in: 3599, token_type: 'Bearer' }),
          );
      });
    });
    tokenUri = `http://${host}/token`;
  });

  it('exchanges a signed JWT for an access token', async () => {
    const cred = await gcpLogin(Secret.of(JSON.stringify(key)), { tokenUri });
    expect(cred.username).toBe('oauth2accesstoken');
    expect(cred.password.reveal()).toBe('ya29.test');
  });

  it('reports a refused key with its service account and the reason', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const b64 = Buffer.from(JSON.stringify({ ...key, private_key: other })).toString('base64');
    await expect(gcpLogin(Secret.of(b64), { tokenUri })).rejects.toThrow(
      /Google refused the service account deployer@proj\.iam\.gserviceaccount\.com \(HTTP 400: invalid_grant: Invalid JWT Signature\.\)/,
    );
  });
});
