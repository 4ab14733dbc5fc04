/**
 * Integration tests of `@deploytag/image` against podman's Docker-compatible Engine API, the
 * harness registries (open and htpasswd) and moto (ECR). A git repository is made per test run;
 * its files are digested by `@deploytag/git`.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECRClient } from '@aws-sdk/client-ecr';
import { Secret } from '@deploytag/core';
import { requireEnv } from '@deploytag/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EngineClient,
  ImageError,
  RegistryClient,
  applyBuild,
  clientsFromEnv,
  ecrLogin,
  engineConnectionFromEnv,
  prepareBaseImage,
  prepareBuild,
  registryCredentialsFromEnv,
  type BuildOptions,
} from './index.js';

const scratch = mkdtempSync(join(tmpdir(), 'deploytag-image-integ-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@t',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@t',
    },
  }).trim();
}

function commit(dir: string, files: Record<string, string>, message: string): string {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

const baseImage = requireEnv('DEPLOYTAG_BASE_IMAGE');
const registry = requireEnv('DEPLOYTAG_REGISTRY');
const authRegistry = requireEnv('DEPLOYTAG_AUTH_REGISTRY');
const authUser = requireEnv('DEPLOYTAG_AUTH_REGISTRY_USER');
const authPassword = requireEnv('DEPLOYTAG_AUTH_REGISTRY_PASSWORD');
const dockerConfig = mkdtempSync(join(scratch, 'docker-config-'));
const env = { DOCKER_HOST: requireEnv('DOCKER_HOST'), DOCKER_CONFIG: dockerConfig };
const run = randomBytes(4).toString('hex');

describe('base and app images built only when their inputs changed', () => {
  const dir = mkdtempSync(join(scratch, 'repo-'));
  const repository = `${registry}/it-${run}/web`;
  const baseRepository = `${repository}_base`;
  const clients = clientsFromEnv(env);
  const reg = new RegistryClient(registry);

  beforeAll(() => {
    git(dir, 'init', '-q', '-b', 'feature/x');
  });

  const options = (sha: string): BuildOptions => ({
    dir,
    sha,
    original: { sha, branch: 'feature-x', latest: false },
    repository,
    base: { repository: baseRepository },
    env: { PROJECT_ID: 'shop' },
    runHook: true,
  });

  async function build(sha: string): Promise<{ base: string; app: string; pushed: string[] }> {
    const plan = await prepareBuild(options(sha), clients);
    return await applyBuild(plan, options(sha), clients);
  }

  it('first build pushes base and app; a re-run of the same commit builds nothing', async () => {
    const sha = commit(
      dir,
      {
        'Dockerfile.base': `FROM ${baseImage}\nCOPY deps/ /deps/\nRUN cat /deps/list.txt > /base-built.txt\n`,
        'deps/list.txt': 'dep-1\n',
        Dockerfile:
          'FROM ${BASE_IMAGE_REF}\nCOPY app/ /app/\nRUN cat /base-built.txt /app/main.txt > /app/both.txt\n',
        'app/main.txt': 'app-1\n',
        '.dockerignore': 'secret.txt\n',
        'README.md': 'hello\n',
      },
      'first',
    );
    const first = await build(sha);
    expect(first.base).toBe('build');
    expect(first.app).toBe('build');
    expect(first.pushed).toContain(`${baseRepository}:feature-x`);
    expect(first.pushed).toContain(`${repository}:${sha}`);
    expect(await reg.listTags(`it-${run}/web_base`)).toEqual(
      expect.arrayContaining([sha, 'feature-x']),
    );
    expect(await reg.listTags(`it-${run}/web`)).toEqual(expect.arrayContaining([sha, 'feature-x']));

    const again = await prepareBuild(options(sha), clients);
    expect(again.base.action).toBe('up-to-date');
    expect(again.app.action).toBe('up-to-date');
    expect(again.baseImageRef).toBe(`${baseRepository}:feature-x`);
    expect((await applyBuild(again, options(sha), clients)).pushed).toEqual([]);
  });

  it('changing only app code rebuilds only the app', async () => {
    const sha = commit(dir, { 'app/main.txt': 'app-2\n' }, 'app only');
    const r = await build(sha);
    expect(r.base).toBe('retag');
    expect(r.app).toBe('build');
    expect(r.pushed).toContain(`${baseRepository}:${sha}`);
  });

  it('changing a file the base copies rebuilds the base and the app', async () => {
    const sha = commit(dir, { 'deps/list.txt': 'dep-2\n' }, 'deps');
    expect((await prepareBaseImage(options(sha), clients)).action).toBe('build');
    const r = await build(sha);
    expect(r.base).toBe('build');
    expect(r.app).toBe('build');
    const engine = new EngineClient(engineConnectionFromEnv(env));
    const history = await engine.history(`${repository}:${sha}`);
    expect(history.length).toBeGreaterThan(1);
  });

  it('a push of several commits where the base changed in an older one still rebuilds the base', async () => {
    commit(dir, { 'deps/list.txt': 'dep-3\n' }, 'older: deps');
    const newest = commit(dir, { 'app/main.txt': 'app-3\n' }, 'newest: app');
    const r = await build(newest);
    expect(r.base).toBe('build');
    expect(r.app).toBe('build');
  });

  it('FORCE_BASE_BUILD and the project hook force a base build', async () => {
    const sha = git(dir, 'rev-parse', 'HEAD');
    expect((await prepareBaseImage({ ...options(sha), forceBase: true }, clients)).action).toBe(
      'build',
    );
    commit(dir, { 'scripts/should_build_base.sh': '#!/bin/sh\nexit 1\n' }, 'hook says no');
    execFileSync('chmod', ['+x', join(dir, 'scripts/should_build_base.sh')]);
    const no = git(dir, 'rev-parse', 'HEAD');
    const noPlan = await prepareBaseImage(options(no), clients);
    expect(noPlan.action).not.toBe('build');
    writeFileSync(join(dir, 'scripts/should_build_base.sh'), '#!/bin/sh\nexit 0\n');
    const yes = await prepareBaseImage(options(no), clients);
    expect(yes.action).toBe('build');
    expect(yes.reasons.join()).toMatch(/should_build_base\.sh exited 0/);
    rmSync(join(dir, 'scripts'), { recursive: true });
  });
});

describe('failures and secrets', () => {
  const engine = new EngineClient(engineConnectionFromEnv(env));

  it('a failing RUN gives one clear error with the step', async () => {
    const dir = mkdtempSync(join(scratch, 'fail-'));
    git(dir, 'init', '-q', '-b', 'main');
    const sha = commit(
      dir,
      { Dockerfile: `FROM ${baseImage}\nRUN echo ok\nRUN echo about to fail && exit 7\n` },
      'failing',
    );
    const opts: BuildOptions = {
      dir,
      sha,
      original: { sha, branch: 'main', latest: true },
      repository: `${registry}/it-${run}/failing`,
      base: false,
      env: {},
    };
    const clients = clientsFromEnv(env);
    const err = await applyBuild(await prepareBuild(opts, clients), opts, clients).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ImageError);
    const e = err as ImageError;
    expect(e.code).toBe('E_IMAGE_BUILD_FAILED');
    expect(e.message).toMatch(/failed at step 3\/\d+ \(RUN echo about to fail && exit 7\)/);
    expect(e.message).toMatch(/exit status 7|exit code 7|exited with 7/);
    expect(e.message).toContain('about to fail');
  });

  it('image history shows no secret value, and secret build args are refused', async () => {
    const dir = mkdtempSync(join(scratch, 'secret-'));
    git(dir, 'init', '-q', '-b', 'main');
    const secretValue = `s3cr3t-${randomBytes(6).toString('hex')}`;
    const sha = commit(
      dir,
      {
        Dockerfile: `FROM ${baseImage}\nARG STAGE=x\nRUN echo "pw=$DB_PASSWORD stage=$STAGE project=$PROJECT_ID" > /info.txt\n`,
      },
      'secret',
    );
    const opts: BuildOptions = {
      dir,
      sha,
      original: { sha, latest: false },
      repository: `${registry}/it-${run}/secret`,
      base: false,
      env: { DB_PASSWORD: secretValue, PROJECT_ID: 'shop' },
      buildArgs: { STAGE: 'prod' },
    };
    const clients = clientsFromEnv(env);
    const plan = await prepareBuild(opts, clients);
    expect(plan.warnings.join()).toMatch(/not substituting secret variable\(s\) DB_PASSWORD/);
    await applyBuild(plan, opts, clients);
    const history = await engine.history(`${opts.repository}:${sha}`);
    const inspect = await engine.inspect(`${opts.repository}:${sha}`);
    const text = JSON.stringify(history) + JSON.stringify(inspect);
    expect(text).toContain('project=shop');
    expect(text).not.toContain(secretValue);

    await expect(
      prepareBuild({ ...opts, buildArgs: { DB_PASSWORD: secretValue } }, clients),
    ).rejects.toThrow(/DB_PASSWORD look like secrets/);
  });

  it('auth failures name the registry (registry API and engine push); good credentials push', async () => {
    const wrong = new RegistryClient(authRegistry, {
      credentials: {
        username: authUser,
        password: Secret.of(`${authPassword}-wrong`),
      },
    });
    await expect(wrong.tagExists('x/y', 'z')).rejects.toThrow(
      new RegExp(`registry ${authRegistry} refused the credentials of user ${authUser}`),
    );
    await expect(new RegistryClient(authRegistry).listTags('x/y')).rejects.toThrow(
      new RegExp(`registry ${authRegistry} requires credentials`),
    );

    const dir = mkdtempSync(join(scratch, 'auth-'));
    git(dir, 'init', '-q', '-b', 'main');
    const sha = commit(
      dir,
      { Dockerfile: `FROM ${baseImage}\nRUN echo auth > /auth.txt\n` },
      'auth',
    );
    const opts: BuildOptions = {
      dir,
      sha,
      original: { sha, latest: false },
      repository: `${authRegistry}/it-${run}/auth`,
      base: false,
      env: {},
    };
    const badClients = clientsFromEnv({
      ...env,
      DEPLOYTAG_REGISTRY_USER: authUser,
      DEPLOYTAG_REGISTRY_PASSWORD: `${authPassword}-wrong`,
    });
    await expect(prepareBuild(opts, badClients)).rejects.toThrow(
      new RegExp(`registry ${authRegistry} refused`),
    );

    const good = clientsFromEnv({
      ...env,
      DEPLOYTAG_REGISTRY_USER: authUser,
      DEPLOYTAG_REGISTRY_PASSWORD: authPassword,
    });
    const result = await applyBuild(await prepareBuild(opts, good), opts, good);
    expect(result.app).toBe('build');
    expect(await good.registry(authRegistry).tagExists(`it-${run}/auth`, sha)).toBe(true);
    // The engine's own push with wrong credentials names the registry too.
    const engine = new EngineClient(engineConnectionFromEnv(env));
    const pushErr = await engine
      .push(`${authRegistry}/it-${run}/auth:${sha}`, {
        username: authUser,
        password: Secret.of('nope'),
        serveraddress: authRegistry,
      })
      .catch((e: unknown) => e as ImageError);
    expect(pushErr).toBeInstanceOf(ImageError);
    expect((pushErr as ImageError).message).toContain(`registry ${authRegistry}`);
  });

  it('ECR hosts get their credentials from GetAuthorizationToken', async () => {
    const cred = await registryCredentialsFromEnv('123456789012.dkr.ecr.us-east-1.amazonaws.com', {
      ...process.env,
      DOCKER_CONFIG: dockerConfig,
    });
    expect(cred?.username).toBe('AWS');
    expect(cred?.password.reveal().length).toBeGreaterThan(0);
  });

  it('ECR login works against moto', async () => {
    const client = new ECRClient({});
    try {
      const login = await ecrLogin(client);
      expect(login.username).toBe('AWS');
      expect(login.password.reveal().length).toBeGreaterThan(0);
      expect(String(login.password)).toBe('***');
      expect(login.registry).toMatch(/dkr\.ecr\.us-east-1\.amazonaws\.com$/);
    } finally {
      client.destroy();
    }
  });
});
