import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { requireEnv } from '@deploytag/harness';
import { afterAll, describe, expect, it } from 'vitest';

// Loaded like the commands load them (the CLI imports libraries lazily).
const { databaseName } = await import('@deploytag/context');
const { connectServer, resolveDatabaseConfig } = await import('@deploytag/db');

const bin = resolve(import.meta.dirname, '../bin/deploytag.ts');
/** tsx's loader, by path: `--import tsx` would resolve from the child's folder. */
const tsx = pathToFileURL(
  resolve(import.meta.dirname, '../../../../node_modules/tsx/dist/loader.mjs'),
).href;
const repo = `c${Date.now().toString(36)}${process.pid.toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'deploytag-cli-db-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs the CLI from source in its own process, as CI would run the bin. */
function deploytag(args: string[], env: Record<string, string>, cwd = dir): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@deploytag/source', '--import', tsx, bin, ...args],
      {
        cwd,
        env: { ...process.env, ...env },
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      done({ code, out, err });
    });
  });
}

mkdirSync(join(dir, 'migrations'));
mkdirSync(join(dir, 'seeds'));
writeFileSync(
  join(dir, 'schema.sql'),
  'create table items (id int primary key, label varchar(50));\n',
);
writeFileSync(
  join(dir, 'migrations', '001_kind.cjs'),
  "exports.up = (k) => k.schema.alterTable('items', (t) => { t.string('kind', 10); });\nexports.down = () => undefined;\n",
);
writeFileSync(
  join(dir, 'seeds', '01.cjs'),
  "exports.seed = (k) => k('items').insert({ id: 1, label: 'seeded' });\n",
);
const initArgs = [
  'init-db',
  '--schema',
  'schema.sql',
  '--migrations',
  'migrations',
  '--seeds',
  'seeds',
];

describe.each([
  { engine: 'postgresql' as const, variable: 'DEPLOYTAG_POSTGRES_URL' },
  { engine: 'mysql' as const, variable: 'DEPLOYTAG_MARIADB_URL' },
])('database commands on $engine', ({ engine, variable }) => {
  const url = requireEnv(variable);

  it('two init-db processes on one branch create and migrate exactly once; db-exists says 1 then 0', async () => {
    const name = databaseName(repo, 'feature/two-pipelines', { engine });
    const env = { DATABASE_URL: url, DATABASE: name };
    expect((await deploytag(['db-exists'], env)).code).toBe(1);
    const runs = await Promise.all([deploytag(initArgs, env), deploytag(initArgs, env)]);
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    expect(runs.map((r) => r.out.trim()).sort()).toEqual([
      `database ${name}: created and initialised (1 migration(s))`,
      `database ${name}: migrated`,
    ]);
    // The password never reaches the output.
    const password = decodeURIComponent(new URL(url).password);
    for (const r of runs) expect(r.out + r.err).not.toContain(password);
    expect((await deploytag(['db-exists'], env)).code).toBe(0);

    const server = connectServer(resolveDatabaseConfig({ env }));
    try {
      const db = server.database(name);
      expect(await db('knex_migrations').select('name')).toEqual([{ name: '001_kind.cjs' }]);
      expect(await db('items').select('label')).toEqual([{ label: 'seeded' }]);
    } finally {
      await server.close();
    }
  });

  it('db-wait needs no database name, and --tcp-only no credentials (the original db_wait.sh)', async () => {
    const u = new URL(url);
    const env = { DATABASE_HOST: u.hostname, DATABASE_PORT: u.port, DATABASE_ADAPTER: engine };
    const tcp = await deploytag(['db-wait', '--tcp-only', '--timeout', '5'], env);
    expect(tcp.code).toBe(0);
    expect(tcp.out).toBe(`database server at ${u.hostname}:${u.port} is ready\n`);
    const login = await deploytag(['db-wait', '--timeout', '1'], env);
    expect(login.code).toBe(1);
    expect(login.err).toMatch(/did not accept a login within 1 s .*last error: /);
  });

  it('prints the plan with --dry-run and changes nothing', async () => {
    const name = databaseName(repo, 'feature/dry', { engine });
    const env = { DATABASE_URL: url, DATABASE: name };
    const run = await deploytag([...initArgs, '--dry-run'], env);
    expect(run.code).toBe(0);
    expect(run.out).toContain(
      `database ${name}: create\n  create: create database ${name}\n  schema: load the schema with SQL file schema.sql`,
    );
    expect((await deploytag(['db-exists'], env)).code).toBe(1);
  });
});

describe('bundle', () => {
  it('fails with one clear line when Ruby is not installed', async () => {
    const project = join(dir, 'ruby-app');
    mkdirSync(project);
    writeFileSync(join(project, 'Gemfile'), "source 'https://rubygems.org'\n");
    writeFileSync(join(project, 'Gemfile.lock'), 'GEM\n  specs:\n\nBUNDLED WITH\n   2.5.3\n');
    const dry = await deploytag(['bundle', '--dry-run'], { RAILS_ENV: 'production' }, project);
    expect(dry.out).toBe(
      'gem install bundler -v 2.5.3 --no-document --conservative\nBUNDLE_FROZEN=true BUNDLE_WITHOUT=development:test bundle _2.5.3_ install\n',
    );
    const run = await deploytag(['bundle'], { PATH: '/nonexistent' }, project);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(
      /^error: gem is not installed or not on PATH: bundle needs Ruby with RubyGems/m,
    );
  });
});
