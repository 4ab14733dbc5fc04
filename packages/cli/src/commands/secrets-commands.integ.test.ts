import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureStream } from '../test-support.js';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { Redactor } from '@deploytag/core';
import { requireEnv } from '@deploytag/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';

const run = randomUUID().slice(0, 8);
const id = (name: string): string => `deploytag/integ/${run}/${name}`;

/** Values that break naive shells and parsers. */
const HOSTILE: Record<string, string> = {
  H_SPACE: 'two  words ',
  H_QUOTES: `it's "quoted" '\\''`,
  H_DOLLAR: '$HOME ${PATH} $(id) `id` $$',
  H_NEWLINES: 'line1\nline2\r\n\n',
  H_UNICODE: 'Zürich ☃ 😀 \u2028 \u00a0',
  H_BACKSLASH: '\\n\\t\\\\',
  H_EMPTY: '',
  H_EQUALS: 'a=b=c#d',
};

async function cli(argv: string[], env: NodeJS.ProcessEnv, cwd = tmpdir()) {
  const stdout = captureStream();
  const stderr = captureStream();
  const code = await main(argv, { stdout, stderr, env, cwd, redactor: new Redactor() });
  return { code, out: stdout.text(), err: stderr.text() };
}

/** Evaluates shell output in bash and returns each variable's bytes. */
function evalInBash(text: string, names: readonly string[], env: NodeJS.ProcessEnv = {}): string[] {
  const script = 'eval "$(cat)"; for n in "$@"; do eval "printf \'%s\\0\' \\"\\${$n}\\""; done';
  const r = spawnSync('bash', ['-c', script, 'oracle', ...names], {
    input: text,
    env: { PATH: process.env.PATH, ...env },
  });
  expect(r.status).toBe(0);
  return r.stdout.toString('utf8').split('\0').slice(0, -1);
}

/**
 * moto's IAM enforcement is server-wide, so tests that turn it on and tests that need it off must
 * not overlap across test files: both hold this lock (an atomic mkdir, per moto endpoint).
 */
async function motoAuthLock(): Promise<() => void> {
  const dir = join(
    tmpdir(),
    `deploytag-moto-auth-${new URL(requireEnv('AWS_ENDPOINT_URL')).port}.lock`,
  );
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(dir);
      return () => rmSync(dir, { recursive: true, force: true });
    } catch {
      if (Date.now() - started > 120_000) rmSync(dir, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The library, loaded the way the commands load it (lazily). */
const { createAwsSecretsSource, createSecretsManagerClient, SecretsError } =
  await import('@deploytag/secrets');

describe('secrets commands against moto (in process)', () => {
  requireEnv('AWS_ENDPOINT_URL');
  const admin = new SecretsManagerClient({});
  let client: Awaited<ReturnType<typeof createSecretsManagerClient>>;
  const lines = `A=from-lines\nSHARED=lines\nURL=postgres://u:p@db:5432/app?ssl=true\n`;
  const json = JSON.stringify({ B: 'from-json', SHARED: 'json', PORT: 5432, ON: true, ...HOSTILE });

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
    AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION,
    ...extra,
  });

  const setEnvVars = {
    CIRCLE_BRANCH: 'feature/login',
    CIRCLE_SHA1: 'abc1234',
    CIRCLE_PROJECT_REPONAME: 'shop',
    CHART_NAME: './charts/web',
    DOMAIN: 'example.com',
    CONTAINER_REGISTRY: 'registry.local',
  };

  beforeAll(async () => {
    client = await createSecretsManagerClient(process.env);
    const create = (name: string, value: { SecretString?: string; SecretBinary?: Uint8Array }) =>
      admin.send(new CreateSecretCommand({ Name: id(name), ...value }));
    await Promise.all([
      create('lines', { SecretString: lines }),
      create('json', { SecretString: json }),
      create('binary-text', { SecretBinary: new TextEncoder().encode('BIN=ok\n') }),
      create('binary-bytes', { SecretBinary: Uint8Array.from([0xff, 0x00, 0xfe]) }),
      create('bad-name', { SecretString: 'GOOD=1\nbad-name=hunter2\n' }),
      create('deleted', { SecretString: 'X=1' }),
      ...Array.from({ length: 25 }, (_, i) =>
        create(`many/${i}`, { SecretString: `N_${i}=${i}\nLAST=${i}` }),
      ),
    ]);
    await admin.send(new DeleteSecretCommand({ SecretId: id('deleted'), RecoveryWindowInDays: 7 }));
  });
  afterAll(() => {
    admin.destroy();
    client.destroy();
  });

  describe('deploytag aws-secrets and set-env (in process)', () => {
    it('aws-secrets merges ids in order (later wins), reports collisions by name, and bash reproduces every value', async () => {
      const r = await cli(['aws-secrets', id('lines'), id('json')], env());
      expect(r.code).toBe(0);
      const names = ['A', 'B', 'SHARED', 'PORT', ...Object.keys(HOSTILE)];
      const values = evalInBash(r.out, names);
      expect(values).toEqual([
        'from-lines',
        'from-json',
        'json',
        '5432',
        ...Object.values(HOSTILE),
      ]);
      expect(r.err).toContain(`SHARED is set by ${id('lines')}, ${id('json')}; the last one wins`);
      expect(r.err).not.toContain('from-json');
    });

    it('a variable already set wins, as ${KEY:-VALUE}, unless --override', async () => {
      const kept = await cli(['aws-secrets', id('lines')], env({ A: 'mine', AWS_SECRETS: 'x' }));
      expect(evalInBash(kept.out, ['A'])).toEqual(['mine']);
      const over = await cli(
        ['aws-secrets', '--override'],
        env({ A: 'mine', AWS_SECRETS: id('lines') }),
      );
      expect(evalInBash(over.out, ['A'])).toEqual(['from-lines']);
    });

    it('renders JSON, dotenv and a Kubernetes Secret', async () => {
      const json = await cli(['aws-secrets', '--format', 'json', id('json')], env());
      expect(JSON.parse(json.out)).toMatchObject(HOSTILE);
      const k8s = await cli(
        ['aws-secrets', '--format', 'kubernetes', '--name', 'web-env', id('lines')],
        env(),
      );
      const manifest = JSON.parse(k8s.out) as { kind: string; data: Record<string, string> };
      expect(manifest.kind).toBe('Secret');
      expect(Buffer.from(manifest.data.A ?? '', 'base64').toString()).toBe('from-lines');
      const dotenv = await cli(['aws-secrets', '--format', 'dotenv', id('lines')], env());
      expect(dotenv.out).toContain('A=from-lines\n');
    });

    it('a missing or unreadable secret prints nothing on stdout and one clear line on stderr', async () => {
      for (const bad of [id('missing'), id('deleted')]) {
        const r = await cli(['aws-secrets', id('lines'), bad], env());
        expect(r.code).toBe(1);
        expect(r.out).toBe('');
        expect(r.err).toContain(bad);
        expect(r.err.trim().split('\n')).toHaveLength(1);
        const s = await cli(
          ['set-env'],
          env({ ...setEnvVars, AWS_SECRETS: `${id('lines')},${bad}` }),
        );
        expect(s).toMatchObject({ code: 1, out: '' });
      }
    });

    it('eval "$(deploytag set-env)" reproduces context and secrets exactly, with the reset hook', async () => {
      const project = mkdtempSync(join(tmpdir(), 'deploytag-set-env-'));
      mkdirSync(join(project, 'scripts'));
      writeFileSync(
        join(project, 'scripts/reset_env_vars.sh'),
        'unset A\nunset STALE\nexport FROM_HOOK="hook value"\n',
      );
      const r = await cli(
        ['set-env'],
        env({
          ...setEnvVars,
          A: 'old',
          B: 'old',
          STALE: 'x',
          AWS_SECRETS: `${id('lines')} ${id('json')}`,
        }),
        project,
      );
      expect(r.code).toBe(0);
      expect(r.err).toContain('SHARED is set by');
      expect(r.err).not.toContain('from-lines');
      const names = [
        'DATABASE',
        'HELM_NAME',
        'HOST',
        'URL_HOST',
        'A',
        'B',
        'FROM_HOOK',
        'K8S_DEPLOY_ENV_SET',
        ...Object.keys(HOSTILE),
      ];
      expect(evalInBash(r.out, names, { STALE: 'x', A: 'old', B: 'old' })).toEqual([
        'shop-feature-login',
        'feature-login-web',
        'feature-login-web.example.com',
        'https://feature-login-web.example.com',
        'from-lines', // the hook unset A, so the secret fills it
        'old', // B was set and the hook left it: the environment wins
        'hook value',
        'true',
        ...Object.values(HOSTILE),
      ]);
      expect(r.out).toContain('unset STALE\n');
      const explain = await cli(
        ['set-env', '--explain'],
        env({ ...setEnvVars, AWS_SECRETS: id('lines') }),
        project,
      );
      expect(explain.out).toContain(`A=***  # secret:${id('lines')}`);
      expect(explain.out).toContain('FROM_HOOK=***  # hook:./scripts/reset_env_vars.sh');
      expect(explain.out).not.toContain('from-lines');
    });
  });

  describe('credentials that may not read secrets (moto with IAM enforcement on)', () => {
    const endpoint = requireEnv('AWS_ENDPOINT_URL');
    /** IAM's query API, called while moto does not check signatures (no IAM client is installed). */
    async function iam(params: Record<string, string>): Promise<string> {
      const res = await fetch(`${endpoint}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `AWS4-HMAC-SHA256 Credential=${requireEnv('AWS_ACCESS_KEY_ID')}/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0`,
        },
        body: new URLSearchParams({ Version: '2010-05-08', ...params }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`IAM ${params.Action}: ${text}`);
      return text;
    }
    const setAuth = async (count: string): Promise<void> => {
      const res = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: count });
      expect(res.ok).toBe(true);
    };

    it('fails with a clear forbidden error naming the id, printing nothing', async () => {
      const user = `deploytag-reader-${run}`;
      await iam({ Action: 'CreateUser', UserName: user });
      const key = await iam({ Action: 'CreateAccessKey', UserName: user });
      const accessKeyId = /<AccessKeyId>(.*?)<\/AccessKeyId>/.exec(key)?.[1] ?? '';
      const secretAccessKey = /<SecretAccessKey>(.*?)<\/SecretAccessKey>/.exec(key)?.[1] ?? '';
      const limited = {
        ...env(),
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
      };
      const unlock = await motoAuthLock();
      await setAuth('0');
      try {
        const forbidden = await createSecretsManagerClient(limited);
        const err = (await createAwsSecretsSource({ client: forbidden })
          .fetch([id('lines'), id('json')])
          .catch((e: unknown) => e)) as InstanceType<typeof SecretsError>;
        forbidden.destroy();
        expect(err).toBeInstanceOf(SecretsError);
        expect(err.code).toBe('E_SECRET_FORBIDDEN');
        expect(err.message).toContain(
          `not allowed to read secret "${id('lines')}" (AccessDeniedException)`,
        );
        const r = await cli(['aws-secrets', id('lines')], limited);
        expect(r).toMatchObject({ code: 1, out: '' });
        expect(r.err).toContain(`not allowed to read secret "${id('lines')}"`);
        const s = await cli(['set-env'], { ...limited, ...setEnvVars, AWS_SECRETS: id('lines') });
        expect(s).toMatchObject({ code: 1, out: '' });
      } finally {
        await setAuth('inf');
        unlock();
      }
    });
  });

  describe('deploytag auth (AWS STS on moto)', () => {
    it('prints the account and ARN', async () => {
      const r = await cli(['auth'], { ...process.env, CLOUD_PROVIDER: 'aws' });
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^AWS account \d{12} as arn:aws:\S+\n$/);
      const json = await cli(['auth', '--json'], process.env);
      expect(JSON.parse(json.out)).toMatchObject({
        provider: 'aws',
        account: expect.stringMatching(/^\d{12}$/) as string,
      });
    });

    it('shows what AWS answered when it cannot be reached', async () => {
      const r = await cli(['auth'], {
        ...process.env,
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        AWS_MAX_ATTEMPTS: '1',
      });
      expect(r).toMatchObject({ code: 1, out: '' });
      expect(r.err).toContain('AWS STS GetCallerIdentity failed');
    });
  });
});

describe('deploytag set-env outside CI (the git checkout)', () => {
  it('reads branch, sha and repository name from the checkout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploytag-set-env-git-'));
    const git = (...args: string[]): string => {
      const r = spawnSync('git', args, {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@example.com',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@example.com',
        },
      });
      expect(r.status).toBe(0);
      return r.stdout.toString().trim();
    };
    git('init', '-q', '-b', 'feature/from-git');
    writeFileSync(
      join(dir, 'deploytag.config.json'),
      '{"chart":"./charts/web","domain":"example.com"}',
    );
    git('add', '.');
    git('commit', '-q', '-m', 'first');
    git('remote', 'add', 'origin', 'https://github.com/acme/shop.git');
    const sha = git('rev-parse', 'HEAD');
    const env = { PATH: process.env.PATH, CONTAINER_REGISTRY: 'registry.local' };
    const r = await cli(['set-env', '--format', 'json'], env, dir);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toMatchObject({
      DATABASE: 'shop-feature-from-git',
      HELM_NAME: 'feature-from-git-web',
      DEPLOYTAG_ENVIRONMENT: 'preview',
    });
    const explain = await cli(['set-env', '--explain'], env, dir);
    expect(explain.out).toContain('CHART_NAME=./charts/web  # config:deploytag.config.json');
    expect(explain.out).toContain('# branch: feature/from-git  # git');
    expect(explain.out).toContain(`# sha: ${sha}  # git`);
    expect(explain.out).toContain('# repo: shop  # git');
    const noGit = await cli(['set-env', '--no-git'], env, dir);
    expect(noGit.code).toBe(2);
    expect(noGit.err).toContain('CIRCLE_PROJECT_REPONAME');
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
  });
});
