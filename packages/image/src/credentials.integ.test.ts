/**
 * Docker config credentials through real credential helpers: Docker's `docker-credential-pass`
 * over a private `pass` store (the harness builds the helper from the Go module proxy), used
 * against the harness's token-auth registry, and end to end by a build that pushes through the
 * engine with what the helper returned.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  commitFiles,
  createPassCredentialStore,
  gitIn,
  processCommandLines,
  requireEnv,
  type PassCredentialStore,
} from '@deploytag/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IDENTITY_TOKEN_USER,
  ImageError,
  ImageErrorCodes,
  RegistryClient,
  applyBuild,
  clientsFromEnv,
  dockerConfigCredentials,
  prepareBuild,
  type BuildOptions,
} from './index.js';

const host = requireEnv('DEPLOYTAG_TOKEN_REGISTRY');
const user = requireEnv('DEPLOYTAG_TOKEN_REGISTRY_USER');
const password = requireEnv('DEPLOYTAG_TOKEN_REGISTRY_PASSWORD');
const identityToken = requireEnv('DEPLOYTAG_TOKEN_REGISTRY_REFRESH_TOKEN');
const baseImage = requireEnv('DEPLOYTAG_BASE_IMAGE');
const openRegistry = requireEnv('DEPLOYTAG_REGISTRY');
const run = randomBytes(4).toString('hex');
const scratch = mkdtempSync(join(tmpdir(), 'deploytag-cred-integ-'));

let store: PassCredentialStore;

beforeAll(async () => {
  store = await createPassCredentialStore();
}, 60_000);

afterAll(async () => {
  await store.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Writes a Docker config into a fresh folder and returns the environment that points at it. */
function withConfig(config: unknown): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(scratch, 'docker-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return { ...store.env, DOCKER_CONFIG: dir };
}

function basic(u: string, p: string): string {
  return Buffer.from(`${u}:${p}`).toString('base64');
}

describe('Docker credential helpers (docker-credential-pass)', () => {
  it('credsStore: the helper answers, and its credentials pass the token registry', async () => {
    await store.store(host, user, password);
    const env = withConfig({ auths: { [host]: {} }, credsStore: 'pass' });
    const cred = await dockerConfigCredentials(host, env);
    expect(cred?.username).toBe(user);
    expect(cred?.password.reveal()).toBe(password);
    expect(String(cred?.password)).not.toContain(password);
    const client = new RegistryClient(host, { credentials: cred });
    expect(await client.listTags(`it-${run}/nothing-yet`)).toEqual([]);
  });

  it('credHelpers wins over credsStore and over a stale auths entry, per host', async () => {
    await store.store(host, user, password);
    const env = withConfig({
      auths: {
        [host]: { auth: basic(user, 'stale-password') },
        [openRegistry]: { auth: basic('file-user', 'file-password') },
      },
      credsStore: 'not-installed',
      credHelpers: { [host]: 'pass', [openRegistry]: '' },
    });
    expect((await dockerConfigCredentials(host, env))?.password.reveal()).toBe(password);
    // An empty helper name means "no helper" for that host; its auths entry is used.
    expect((await dockerConfigCredentials(openRegistry, env))?.username).toBe('file-user');
  });

  it('falls back to the auths entry when the helper has nothing for the host', async () => {
    const other = '127.0.0.1:1';
    const env = withConfig({
      auths: { [other]: { auth: basic('file-user', 'file-password') } },
      credsStore: 'pass',
    });
    const cred = await dockerConfigCredentials(other, env);
    expect(cred?.username).toBe('file-user');
    expect(await dockerConfigCredentials('127.0.0.1:2', env)).toBeUndefined();
  });

  it('an identity token from the helper is exchanged at the token service', async () => {
    const tokenHost = `localhost:${host.split(':')[1] ?? ''}`;
    await store.store(tokenHost, IDENTITY_TOKEN_USER, identityToken);
    const env = withConfig({ credHelpers: { [tokenHost]: 'pass' } });
    const cred = await dockerConfigCredentials(tokenHost, env);
    expect(cred?.username).toBe(IDENTITY_TOKEN_USER);
    const client = new RegistryClient(tokenHost, { credentials: cred });
    expect(await client.listTags(`it-${run}/nothing-yet`)).toEqual([]);
  });

  it('a helper that is not installed: one line naming the file, the key and the helper', async () => {
    const env = withConfig({ credHelpers: { [host]: 'secretservice-missing' } });
    const err = await dockerConfigCredentials(host, env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).code).toBe(ImageErrorCodes.REGISTRY_AUTH);
    expect((err as ImageError).message).toBe(
      `${join(env['DOCKER_CONFIG'] ?? '', 'config.json')} names the credential helper docker-credential-secretservice-missing (credHelpers["${host}"]) for ${host}, but it is not installed or not on PATH; install it, or remove credHelpers["${host}"] from the file`,
    );
  });

  it('a helper that fails: its own reason, the helper and the registry, on one line', async () => {
    await store.store(host, user, password);
    // The store is there, but the key that decrypts it is not.
    const env = {
      ...withConfig({ credsStore: 'pass' }),
      GNUPGHOME: mkdtempSync(join(tmpdir(), 'dt-nokey-')),
    };
    try {
      const err = await dockerConfigCredentials(host, env).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageError);
      const message = (err as ImageError).message;
      expect(message).toMatch(
        new RegExp(
          `^the credential helper docker-credential-pass failed for ${host.replace(/\./g, '\\.')} \\(exit 1: .+\\); fix the helper`,
        ),
      );
      expect(message).not.toContain('\n');
      expect(message).not.toContain(password);
    } finally {
      rmSync(env.GNUPGHOME, { recursive: true, force: true });
    }
  });

  it('a build pushes through the engine with the helper credentials; none reach an argv', async () => {
    await store.store(host, user, password);
    const env = withConfig({ credsStore: 'pass' });
    const dir = mkdtempSync(join(scratch, 'repo-'));
    gitIn(dir, ['init', '-q', '-b', 'main']);
    const sha = commitFiles(
      dir,
      { Dockerfile: `FROM ${baseImage}\nRUN echo helper > /helper.txt\n` },
      'helper build',
    );
    const opts: BuildOptions = {
      dir,
      sha,
      original: { sha, latest: false },
      repository: `${host}/it-${run}/helper`,
      base: false,
      env: {},
    };
    const clients = clientsFromEnv({ ...env, DOCKER_HOST: requireEnv('DOCKER_HOST') });
    const seen = new Set<string>();
    const sampler = setInterval(() => {
      for (const line of processCommandLines()) seen.add(line);
    }, 20);
    try {
      const result = await applyBuild(await prepareBuild(opts, clients), opts, clients);
      expect(result.app).toBe('build');
    } finally {
      clearInterval(sampler);
    }
    const check = new RegistryClient(host, {
      credentials: await dockerConfigCredentials(host, env),
    });
    expect(await check.tagExists(`it-${run}/helper`, sha)).toBe(true);
    expect(seen.size).toBeGreaterThan(0);
    expect([...seen].filter((l) => l.includes(password))).toEqual([]);
  });
});
