/**
 * The registry client and credential exchanges against real servers: the harness's open
 * registry behind a small node:http proxy that injects faults, the harness's token-auth registry
 * (distribution verifying the tokens of the harness token service), and a local token endpoint
 * for the Google service-account exchange (Google itself cannot be reached here).
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
import {
  EngineClient,
  IDENTITY_TOKEN_USER,
  ImageError,
  ImageErrorCodes,
  RegistryClient,
  engineConnectionFromEnv,
  gcpLogin,
} from './index.js';

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
  const failures = new Map<string, number>();

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

  it('deletes a tag by deleting its manifest, and with it every tag of that manifest', async () => {
    const client = new RegistryClient(faultyHost, { retry: { attempts: 4, baseDelayMs: 5 } });
    expect(await client.deleteTag(repo, 'v2')).toBe(true);
    expect(await client.tagExists(repo, 'v1')).toBe(false);
    expect(await client.deleteTag(repo, 'v2')).toBe(false);
  });
});

describe('registry client against the token-auth registry', () => {
  const host = requireEnv('DEPLOYTAG_TOKEN_REGISTRY');
  const user = requireEnv('DEPLOYTAG_TOKEN_REGISTRY_USER');
  const password = Secret.of(requireEnv('DEPLOYTAG_TOKEN_REGISTRY_PASSWORD'));
  const reader = requireEnv('DEPLOYTAG_TOKEN_REGISTRY_READER');
  const readerPassword = Secret.of(requireEnv('DEPLOYTAG_TOKEN_REGISTRY_READER_PASSWORD'));
  const identityToken = Secret.of(requireEnv('DEPLOYTAG_TOKEN_REGISTRY_REFRESH_TOKEN'));
  const repo = `it-${randomBytes(4).toString('hex')}/token`;
  const engine = new EngineClient(engineConnectionFromEnv(process.env));
  const ref = (tag: string): string => `${host}/${repo}:${tag}`;

  beforeAll(async () => {
    // podman follows the same bearer flow for its own push, with the credentials we hand it.
    await engine.tag(baseImage, ref('v1'));
    await engine.push(ref('v1'), { username: user, password, serveraddress: host });
  });

  it('looks up, lists and re-tags with a token the token service issued for the user', async () => {
    const client = new RegistryClient(host, { credentials: { username: user, password } });
    const digest = await client.manifestDigest(repo, 'v1');
    expect(digest).toMatch(/^sha256:/);
    await client.copyTag(repo, 'v1', 'v2');
    expect(await client.manifestDigest(repo, 'v2')).toBe(digest);
    expect((await client.listTags(repo)).sort()).toEqual(['v1', 'v2']);
    expect(await client.tagExists(repo, 'absent')).toBe(false);
  });

  it('exchanges an identity token (OAuth2 refresh_token grant) for access tokens', async () => {
    const client = new RegistryClient(host, {
      credentials: { username: IDENTITY_TOKEN_USER, password: identityToken },
    });
    await client.copyTag(repo, 'v1', 'by-identity-token');
    expect(await client.tagExists(repo, 'by-identity-token')).toBe(true);
    const stale = new RegistryClient(host, {
      credentials: { username: IDENTITY_TOKEN_USER, password: Secret.of('revoked') },
    });
    await expect(stale.tagExists(repo, 'v1')).rejects.toThrow(
      `registry ${host} refused the identity token to look up ${repo}:v1 (HTTP 401); log in again to renew it`,
    );
  });

  it('lets a pull-only user read but names the refused push, the user and the registry', async () => {
    const client = new RegistryClient(host, {
      credentials: { username: reader, password: readerPassword },
    });
    expect(await client.tagExists(repo, 'v1')).toBe(true);
    // The registry lists the actions in no fixed order.
    const escaped = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await expect(client.copyTag(repo, 'v1', 'by-reader')).rejects.toThrow(
      new RegExp(
        `^registry ${escaped(host)} did not grant user ${reader} the right to tag ${escaped(repo)}:by-reader \\(it asked for repository:${escaped(repo)}:(pull,push|push,pull)\\); use credentials with that access$`,
      ),
    );
    expect(await client.tagExists(repo, 'by-reader')).toBe(false);
  });

  it('names the registry when the credentials are wrong or missing', async () => {
    const wrong = new RegistryClient(host, {
      credentials: { username: user, password: Secret.of('not-the-password') },
    });
    await expect(wrong.tagExists(repo, 'v1')).rejects.toThrow(
      `registry ${host} refused the credentials of user ${user} to look up ${repo}:v1 (HTTP 401); check the user and password`,
    );
    // Anonymous: the token service hands out a token that grants nothing, which the registry refuses.
    const anonymous = new RegistryClient(host);
    await expect(anonymous.tagExists(repo, 'v1')).rejects.toThrow(
      new RegExp(`registry ${host} requires credentials to look up ${repo}:v1`),
    );
  });

  it('refuses an engine push by a pull-only user, naming the registry and the login', async () => {
    await engine.tag(baseImage, ref('pushed-by-reader'));
    const err = await engine
      .push(ref('pushed-by-reader'), {
        username: reader,
        password: readerPassword,
        serveraddress: host,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).code).toBe(ImageErrorCodes.REGISTRY_AUTH);
    expect((err as ImageError).message).toMatch(
      new RegExp(
        `^registry ${host.replace(/\./g, '\\.')} refused the push of ${ref('pushed-by-reader').replace(/\./g, '\\.')}: .*denied[^\n]*$`,
      ),
    );
    expect((err as ImageError).message).not.toContain(readerPassword.reveal());
    const client = new RegistryClient(host, { credentials: { username: user, password } });
    expect(await client.tagExists(repo, 'pushed-by-reader')).toBe(false);
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
