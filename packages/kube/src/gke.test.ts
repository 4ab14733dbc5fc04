import { createVerify, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Secret } from '@deploytag/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gkeKubeConfig, parseServiceAccountKey } from './gke.js';

// A local HTTP server plays Google's token endpoint and the GKE API: it checks the RS256 JWT with
// the account's public key, as Google does, and serves the cluster.
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyJson = JSON.stringify({
  type: 'service_account',
  project_id: 'proj',
  client_email: 'deployer@proj.iam.gserviceaccount.com',
  private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
  token_uri: 'https://oauth2.googleapis.com/token',
});
const seen: { assertion?: Record<string, unknown>; auth?: string; path?: string } = {};
let base = '';
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    if (req.url === '/token' && req.method === 'POST') {
      const form = new URLSearchParams(body);
      const [h, p, s] = (form.get('assertion') ?? '').split('.');
      const valid =
        form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer' &&
        createVerify('RSA-SHA256')
          .update(`${h}.${p}`)
          .verify(publicKey, Buffer.from(s ?? '', 'base64url'));
      if (!valid) {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'invalid_grant', error_description: 'bad signature' }));
        return;
      }
      seen.assertion = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<
        string,
        unknown
      >;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          JSON.stringify({ access_token: 'ya29.token', expires_in: 3599, token_type: 'Bearer' }),
        );
      return;
    }
    seen.auth = req.headers.authorization;
    seen.path = req.url;
    if (req.headers.authorization !== 'Bearer ya29.token') {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: 'unauthenticated' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        endpoint: '34.1.2.3',
        masterAuth: { clusterCaCertificate: Buffer.from('CA PEM').toString('base64') },
      }),
    );
  });
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('GKE kubeconfig from a service-account key', () => {
  it('signs a JWT Google accepts, exchanges it, and reads the cluster', async () => {
    const key = parseServiceAccountKey(Secret.of(Buffer.from(keyJson).toString('base64')));
    const now = new Date('2026-03-04T05:06:07Z');
    const { kc, expiresAt } = await gkeKubeConfig(
      { project: 'proj', location: 'europe-west1-b', cluster: 'main', key },
      { tokenUri: `${base}/token`, containerApi: base, now },
    );
    expect(seen.assertion).toEqual({
      iss: 'deployer@proj.iam.gserviceaccount.com',
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      aud: `${base}/token`,
      iat: now.getTime() / 1000,
      exp: now.getTime() / 1000 + 3600,
    });
    expect(seen.path).toBe('/v1/projects/proj/locations/europe-west1-b/clusters/main');
    expect(kc.getCurrentCluster()).toMatchObject({
      server: 'https://34.1.2.3',
      caData: Buffer.from('CA PEM').toString('base64'),
    });
    expect(kc.getCurrentUser()?.token).toBe('ya29.token');
    expect(expiresAt.getTime()).toBe(now.getTime() + 3599_000);
  });

  it('says clearly when Google refuses the key', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    const key = parseServiceAccountKey(
      Secret.of(JSON.stringify({ ...JSON.parse(keyJson), private_key: other })),
    );
    await expect(
      gkeKubeConfig(
        { project: 'proj', location: 'z', cluster: 'c', key },
        { tokenUri: `${base}/token`, containerApi: base },
      ),
    ).rejects.toThrow(/refused the service account .*bad signature/);
  });

  it('rejects a key that is not a service-account key', () => {
    expect(() => parseServiceAccountKey(Secret.of('{"type":"authorized_user"}'))).toThrow(
      /client_email/,
    );
    expect(() => parseServiceAccountKey(Secret.of('not json'))).toThrow(/not JSON/);
  });
});
