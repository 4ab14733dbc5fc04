import { createVerify, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret } from '@deploytag/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  dockerConfigCredentials,
  parseServiceAccountKey,
  serviceAccountJwt,
} from './credentials.js';
import { engineConnectionFromEnv, registryHostOf, splitReference } from './engine.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const key = {
  client_email: 'sa@p.iam.gserviceaccount.com',
  private_key: pem,
  private_key_id: 'kid1',
};

describe('serviceAccountJwt', () => {
  it('is an RS256 JWT with the claims Google expects, verifiable with the public key', () => {
    const jwt = serviceAccountJwt(key, {
      audience: 'https://oauth2.googleapis.com/token',
      now: 1_700_000_000,
    });
    expect(String(jwt)).toBe('***');
    const [h, c, s] = jwt.reveal().split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString()) as Record<string, string>;
    const claims = JSON.parse(Buffer.from(c!, 'base64url').toString()) as Record<string, unknown>;
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'kid1' });
    expect(claims).toEqual({
      iss: 'sa@p.iam.gserviceaccount.com',
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      aud: 'https://oauth2.googleapis.com/token',
      iat: 1_700_000_000,
      exp: 1_700_003_600,
    });
    expect(
      createVerify('RSA-SHA256')
        .update(`${h}.${c}`)
        .verify(publicKey, Buffer.from(s!, 'base64url')),
    ).toBe(true);
  });

  it('parses keys given as JSON or base64 and rejects other text', () => {
    const json = JSON.stringify(key);
    expect(parseServiceAccountKey(Secret.of(json)).client_email).toBe(key.client_email);
    expect(
      parseServiceAccountKey(Secret.of(Buffer.from(json).toString('base64'))).client_email,
    ).toBe(key.client_email);
    expect(() => parseServiceAccountKey(Secret.of('{"a":1}'))).toThrow(/client_email/);
  });
});

const scratch = mkdtempSync(join(tmpdir(), 'deploytag-image-cred-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('dockerConfigCredentials', () => {
  it('reads auths entries (auth, or username/password; with or without scheme)', async () => {
    writeFileSync(
      join(scratch, 'config.json'),
      JSON.stringify({
        auths: {
          'r.io': { auth: Buffer.from('u:p:w').toString('base64') },
          'https://other.io/v1/': { username: 'o', password: 'q' },
        },
      }),
    );
    const env = { DOCKER_CONFIG: scratch };
    const a = await dockerConfigCredentials('r.io', env);
    expect(a?.username).toBe('u');
    expect(a?.password.reveal()).toBe('p:w');
    expect((await dockerConfigCredentials('other.io', env))?.username).toBe('o');
    expect(await dockerConfigCredentials('none.io', env)).toBeUndefined();
    expect(
      await dockerConfigCredentials('r.io', { DOCKER_CONFIG: join(scratch, 'missing') }),
    ).toBeUndefined();
  });
});

describe('engine connection and references', () => {
  it('reads DOCKER_HOST like the Docker CLI', () => {
    expect(engineConnectionFromEnv({})).toEqual({
      socketPath: '/var/run/docker.sock',
      label: 'unix:///var/run/docker.sock',
    });
    expect(engineConnectionFromEnv({ DOCKER_HOST: 'unix:///tmp/p.sock' }).socketPath).toBe(
      '/tmp/p.sock',
    );
    expect(engineConnectionFromEnv({ DOCKER_HOST: 'tcp://10.0.0.1:2375' })).toMatchObject({
      host: '10.0.0.1',
      port: 2375,
    });
    const tls = engineConnectionFromEnv({
      DOCKER_HOST: 'tcp://h',
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: scratch,
    });
    expect(tls).toMatchObject({ host: 'h', port: 2376, tls: { verify: true } });
    expect(() => engineConnectionFromEnv({ DOCKER_HOST: 'npipe:////./pipe/docker' })).toThrow(
      /DOCKER_HOST/,
    );
  });
  it('splits references and finds registry hosts', () => {
    expect(splitReference('127.0.0.1:5000/a/b:t')).toEqual({
      repository: '127.0.0.1:5000/a/b',
      tag: 't',
    });
    expect(splitReference('127.0.0.1:5000/a/b')).toEqual({
      repository: '127.0.0.1:5000/a/b',
      tag: 'latest',
    });
    expect(registryHostOf('127.0.0.1:5000/a/b')).toBe('127.0.0.1:5000');
    expect(registryHostOf('localhost/busybox')).toBe('localhost');
    expect(registryHostOf('library/busybox')).toBe('docker.io');
  });
});

describe('registryCredentialsFromEnv', () => {
  it('prefers explicit credentials, then the Docker config, else none', async () => {
    const { registryCredentialsFromEnv } = await import('./clients.js');
    const explicit = await registryCredentialsFromEnv('r.io', {
      DEPLOYTAG_REGISTRY_USER: 'me',
      DEPLOYTAG_REGISTRY_PASSWORD: 'pw',
      DOCKER_CONFIG: scratch,
    });
    expect(explicit?.username).toBe('me');
    expect(String(explicit?.password)).toBe('***');
    expect((await registryCredentialsFromEnv('r.io', { DOCKER_CONFIG: scratch }))?.username).toBe(
      'u',
    );
    expect(
      await registryCredentialsFromEnv('elsewhere.io', { DOCKER_CONFIG: scratch }),
    ).toBeUndefined();
  });
});
