import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { requireEnv } from '@deploytag/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAwsSecretsSource,
  createDotenvSource,
  createSecretsManagerClient,
  runResetHook,
  SecretsError,
} from './index.js';

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

describe('AWS Secrets Manager against moto', () => {
  requireEnv('AWS_ENDPOINT_URL');
  const admin = new SecretsManagerClient({});
  let client: Awaited<ReturnType<typeof createSecretsManagerClient>>;
  const lines = `A=from-lines\nSHARED=lines\nURL=postgres://u:p@db:5432/app?ssl=true\n`;
  const json = JSON.stringify({ B: 'from-json', SHARED: 'json', PORT: 5432, ON: true, ...HOSTILE });

  let unlock: (() => void) | undefined;
  beforeAll(async () => {
    client = await createSecretsManagerClient(process.env);
    unlock = await motoAuthLock();
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
    unlock?.();
    admin.destroy();
    client.destroy();
  });

  for (const batch of [true, false]) {
    describe(batch ? 'batched (BatchGetSecretValue)' : 'one GetSecretValue per id', () => {
      const source = () => createAwsSecretsSource({ client, batch });

      it('reads both shapes and binary text, in the order asked', async () => {
        const got = await source().fetch([id('json'), id('lines'), id('binary-text')]);
        expect(got.map((s) => s.id)).toEqual([id('json'), id('lines'), id('binary-text')]);
        const plain = (i: number) =>
          Object.fromEntries((got[i]?.entries ?? []).map((e) => [e.name, e.value.reveal()]));
        expect(plain(0)).toEqual({
          B: 'from-json',
          SHARED: 'json',
          PORT: '5432',
          ON: 'true',
          ...HOSTILE,
        });
        expect(plain(1)).toEqual({
          A: 'from-lines',
          SHARED: 'lines',
          URL: 'postgres://u:p@db:5432/app?ssl=true',
        });
        expect(plain(2)).toEqual({ BIN: 'ok' });
      });

      it('reads 25 ids (more than one batch) in order', async () => {
        const ids = Array.from({ length: 25 }, (_, i) => id(`many/${i}`));
        const got = await source().fetch(ids);
        expect(got.map((s) => s.id)).toEqual(ids);
        expect(got[24]?.entries.map((e) => e.name)).toEqual(['N_24', 'LAST']);
      });

      it('fails naming every bad id and what AWS said, never a partial result', async () => {
        const err = await source()
          .fetch([id('lines'), id('missing'), id('deleted'), id('binary-bytes'), id('bad-name')])
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SecretsError);
        const e = err as SecretsError;
        expect(e.code).toBe('E_SECRET_FETCH');
        expect(e.ids).toEqual([id('missing'), id('deleted'), id('binary-bytes'), id('bad-name')]);
        expect(e.message).toContain(`4 of 5 secrets could not be read`);
        expect(e.message).toContain(`secret "${id('missing')}" does not exist`);
        expect(e.message).toContain(
          `cannot read secret "${id('deleted')}" (InvalidRequestException)`,
        );
        expect(e.message).toContain("a secret that's currently marked deleted");
        expect(e.message).toContain('binary secret that is not UTF-8 text');
        expect(e.message).toContain('"bad-name" (line 2) is not a valid environment variable name');
        expect(e.message).not.toContain('hunter2');
      });

      it('a single missing id gets the not-found code', async () => {
        const err = (await source()
          .fetch([id('nope')])
          .catch((e: unknown) => e)) as SecretsError;
        expect(err.code).toBe('E_SECRET_NOT_FOUND');
      });
    });
  }

  it('reports a service that cannot be reached with every id', async () => {
    const dead = await createSecretsManagerClient({
      ...process.env,
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_MAX_ATTEMPTS: '1',
    });
    const err = (await createAwsSecretsSource({ client: dead })
      .fetch([id('a'), id('b')])
      .catch((e: unknown) => e)) as SecretsError;
    dead.destroy();
    expect(err).toBeInstanceOf(SecretsError);
    expect(err.message).toContain(`cannot read secrets "${id('a')}", "${id('b')}"`);
  });
});

describe('the reset hook (bash)', () => {
  const project = (hook: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'deploytag-hook-'));
    mkdirSync(join(dir, 'scripts'));
    writeFileSync(join(dir, 'scripts/reset_env_vars.sh'), hook);
    return dir;
  };
  const env = { PATH: process.env.PATH, KEEP: 'k', DROP: 'd', CHANGE: 'before\nx' };

  it('reports unset and set names; values stay Secrets', async () => {
    const result = await runResetHook({
      cwd: project('unset DROP\nexport CHANGE="after"\nexport NEW=$KEEP-new\necho noise\n'),
      env,
    });
    expect(result?.unset).toEqual(['DROP']);
    expect([...(result?.set.keys() ?? [])].sort()).toEqual(['CHANGE', 'NEW']);
    expect(result?.set.get('NEW')?.reveal()).toBe('k-new');
    expect(String(result?.set.get('NEW'))).toBe('***');
  });

  it('is skipped when absent, refuses exit, reports failure', async () => {
    expect(await runResetHook({ cwd: tmpdir(), env, hook: `./no-such-${run}.sh` })).toBeUndefined();
    await expect(runResetHook({ cwd: project('exit 0\n'), env })).rejects.toThrow(
      /use return|return instead/,
    );
    await expect(
      runResetHook({ cwd: project('echo oops >&2; false\n'), env }),
    ).rejects.toMatchObject({
      code: 'E_COMMAND_FAILED',
    });
  });
});

describe('dotenv source', () => {
  it('reads files concurrently and names a missing one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploytag-dotenv-'));
    writeFileSync(join(dir, 'a.env'), 'A=1\n');
    writeFileSync(join(dir, 'b.env'), 'B="two words"\n');
    const source = createDotenvSource({ cwd: dir });
    const got = await source.fetch(['a.env', 'b.env']);
    expect(got.map((s) => s.entries.map((e) => [e.name, e.value.reveal()]))).toEqual([
      [['A', '1']],
      [['B', 'two words']],
    ]);
    await expect(source.fetch(['a.env', 'c.env'])).rejects.toThrow(/c\.env: no such file/);
  });
});
