/**
 * Integration tests of the `registry` component: the real distribution registries, reached over
 * HTTP with their exported addresses and credentials.
 */
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { requireEnv } from '../test-env.js';

const SCHEMA2 = 'application/vnd.docker.distribution.manifest.v2+json';

function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Uploads one blob monolithically (POST then PUT with its digest) and returns its digest. */
async function pushBlob(
  base: string,
  repo: string,
  data: Buffer,
  headers: Record<string, string>,
): Promise<string> {
  const digest = sha256(data);
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
  expect(start.status).toBe(202);
  const location = start.headers.get('location');
  expect(location).toBeTruthy();
  const url = new URL(location!, base);
  url.searchParams.set('digest', digest);
  const put = await fetch(url, {
    method: 'PUT',
    headers: { ...headers, 'Content-Type': 'application/octet-stream' },
    body: data,
  });
  expect(put.status).toBe(201);
  expect(put.headers.get('docker-content-digest')).toBe(digest);
  const head = await fetch(`${base}/v2/${repo}/blobs/${digest}`, { method: 'HEAD', headers });
  expect(head.status).toBe(200);
  expect(Number(head.headers.get('content-length'))).toBe(data.length);
  return digest;
}

async function tagsOf(
  base: string,
  repo: string,
  headers: Record<string, string>,
): Promise<string[]> {
  const res = await fetch(`${base}/v2/${repo}/tags/list`, { headers });
  if (res.status === 404) return [];
  expect(res.status).toBe(200);
  const body = (await res.json()) as { tags?: string[] | null };
  return body.tags ?? [];
}

/**
 * Pushes a small image (config + one layer + schema 2 manifest) straight through the registry
 * HTTP API, checks the tag is listed, then deletes the manifest and checks the tag is gone.
 */
async function pushAndDelete(hostPort: string, headers: Record<string, string>): Promise<void> {
  const base = `http://${hostPort}`;
  const repo = 'deploytag-harness/registry-test';
  const tag = `t-${randomBytes(4).toString('hex')}`;
  const layerTar = Buffer.from(`layer content ${tag}\n`);
  const layer = gzipSync(layerTar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
    }),
  );
  const configDigest = await pushBlob(base, repo, config, headers);
  const layerDigest = await pushBlob(base, repo, layer, headers);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: SCHEMA2,
    config: {
      mediaType: 'application/vnd.docker.container.image.v1+json',
      size: config.length,
      digest: configDigest,
    },
    layers: [
      {
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        size: layer.length,
        digest: layerDigest,
      },
    ],
  });
  const put = await fetch(`${base}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { ...headers, 'Content-Type': SCHEMA2 },
    body: manifest,
  });
  expect(put.status).toBe(201);
  const digest = put.headers.get('docker-content-digest');
  expect(digest).toBe(sha256(manifest));
  expect(await tagsOf(base, repo, headers)).toContain(tag);
  const got = await fetch(`${base}/v2/${repo}/manifests/${tag}`, {
    headers: { ...headers, Accept: SCHEMA2 },
  });
  expect(got.status).toBe(200);
  expect(await got.text()).toBe(manifest);

  // Deletion is enabled (a later feature prunes tags): deleting the manifest removes its tag.
  const del = await fetch(`${base}/v2/${repo}/manifests/${digest!}`, { method: 'DELETE', headers });
  expect(del.status).toBe(202);
  const gone = await fetch(`${base}/v2/${repo}/manifests/${tag}`, {
    headers: { ...headers, Accept: SCHEMA2 },
  });
  expect(gone.status).toBe(404);
  expect(await tagsOf(base, repo, headers)).not.toContain(tag);
}

describe('registry component', () => {
  const open = requireEnv('DEPLOYTAG_REGISTRY');
  const auth = requireEnv('DEPLOYTAG_AUTH_REGISTRY');
  const user = requireEnv('DEPLOYTAG_AUTH_REGISTRY_USER');
  const password = requireEnv('DEPLOYTAG_AUTH_REGISTRY_PASSWORD');

  it('exports three distinct loopback registries', () => {
    const token = requireEnv('DEPLOYTAG_TOKEN_REGISTRY');
    for (const r of [open, auth, token]) expect(r).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(new Set([open, auth, token]).size).toBe(3);
  });

  it('serves the open registry anonymously', async () => {
    const res = await fetch(`http://${open}/v2/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('asks for basic auth on the auth registry and accepts only the exported credentials', async () => {
    const anonymous = await fetch(`http://${auth}/v2/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const wrong = await fetch(`http://${auth}/v2/`, {
      headers: { Authorization: basicAuth(user, `${password}x`) },
    });
    expect(wrong.status).toBe(401);
    const right = await fetch(`http://${auth}/v2/`, {
      headers: { Authorization: basicAuth(user, password) },
    });
    expect(right.status).toBe(200);
  });

  it('stores, lists and deletes an image pushed over the HTTP API (open registry)', async () => {
    await pushAndDelete(open, {});
  });

  it('refuses an anonymous upload and stores one with credentials (auth registry)', async () => {
    const refused = await fetch(
      `http://${auth}/v2/deploytag-harness/registry-test/blobs/uploads/`,
      { method: 'POST' },
    );
    expect(refused.status).toBe(401);
    await pushAndDelete(auth, { Authorization: basicAuth(user, password) });
  });
});

describe('token-auth registry', () => {
  const host = requireEnv('DEPLOYTAG_TOKEN_REGISTRY');
  const user = requireEnv('DEPLOYTAG_TOKEN_REGISTRY_USER');
  const password = requireEnv('DEPLOYTAG_TOKEN_REGISTRY_PASSWORD');
  const reader = requireEnv('DEPLOYTAG_TOKEN_REGISTRY_READER');
  const readerPassword = requireEnv('DEPLOYTAG_TOKEN_REGISTRY_READER_PASSWORD');
  const repo = 'deploytag-harness/registry-test';

  /** The challenge's realm and service, from an anonymous `GET /v2/`. */
  async function challenge(): Promise<{ realm: string; service: string }> {
    const res = await fetch(`http://${host}/v2/`);
    expect(res.status).toBe(401);
    const header = res.headers.get('www-authenticate') ?? '';
    const realm = /realm="([^"]+)"/.exec(header)?.[1];
    const service = /service="([^"]+)"/.exec(header)?.[1];
    expect(header).toMatch(/^Bearer /);
    return { realm: realm ?? '', service: service ?? '' };
  }

  async function token(scope: string, u?: string, p?: string): Promise<Response> {
    const { realm, service } = await challenge();
    const url = new URL(realm);
    url.searchParams.set('service', service);
    url.searchParams.set('scope', scope);
    return await fetch(url, {
      headers: u === undefined ? {} : { Authorization: basicAuth(u, p ?? '') },
    });
  }

  async function bearer(scope: string, u: string, p: string): Promise<Record<string, string>> {
    const res = await token(scope, u, p);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string };
    return { Authorization: `Bearer ${body.token}` };
  }

  it('sends clients to the token service, which refuses a wrong password', async () => {
    const { realm } = await challenge();
    expect(realm).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/token$/);
    expect((await token(`repository:${repo}:pull`, user, `${password}x`)).status).toBe(401);
  });

  it('stores, lists and deletes an image with a token granting pull, push and delete', async () => {
    await pushAndDelete(host, await bearer(`repository:${repo}:pull,push,delete`, user, password));
  });

  it('enforces the granted actions: a pull-only token cannot start an upload', async () => {
    const headers = await bearer(`repository:${repo}:pull,push`, reader, readerPassword);
    const res = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, {
      method: 'POST',
      headers,
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
  });

  it('verifies the signature: a token altered after signing is refused', async () => {
    const headers = await bearer(`repository:${repo}:pull,push`, user, password);
    const [head, claims, signature] = (headers['Authorization'] ?? '').slice(7).split('.');
    const widened = JSON.parse(Buffer.from(claims ?? '', 'base64url').toString()) as {
      access: { name: string }[];
    };
    for (const a of widened.access) a.name = 'someone-else/repo';
    const forged = `${head}.${Buffer.from(JSON.stringify(widened)).toString('base64url')}.${signature}`;
    const res = await fetch(`http://${host}/v2/someone-else/repo/tags/list`, {
      headers: { Authorization: `Bearer ${forged}` },
    });
    expect(res.status).toBe(401);
  });
});
