/**
 * Database faults against private PostgreSQL servers started by the harness: a server that comes
 * up late while `init-db` waits, a server that restarts while a migration runs, and a migration
 * that fails on a database that already holds data. Each ends with the database complete and
 * nothing dropped.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@deploytag/core';
import type { LogRecord, Logger } from '@deploytag/core';
import { startPostgresInstance } from '@deploytag/harness';
import type { Knex } from 'knex';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DatabaseStepError,
  INIT_STATE_TABLE,
  connectServer,
  initDatabase,
  resolveDatabaseConfig,
} from './index.js';
import type { DatabaseConfig, InitSteps } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'deploytag-db-faults-'));
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops) await stop();
  rmSync(root, { recursive: true, force: true });
});

function capture(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  return {
    records,
    logger: createLogger({ level: 'debug', reporter: { write: (r) => void records.push(r) } }),
  };
}

/** A port nothing listens on now (the kernel hands it out, then it is released). */
async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });
}

/**
 * A project with a schema, migrations (CommonJS, loaded by knex) and a seed. `slow` makes the
 * second migration sleep in the database first, so a test can act while it runs.
 */
function project(
  name: string,
  options: { slowSeconds?: number } = {},
): {
  dir: string;
  steps: InitSteps;
} {
  const dir = join(root, name);
  mkdirSync(join(dir, 'migrations'), { recursive: true });
  mkdirSync(join(dir, 'seeds'), { recursive: true });
  writeFileSync(
    join(dir, 'schema.sql'),
    'create table accounts (id int primary key, label varchar(100));\n' +
      "insert into accounts (id, label) values (1, 'from schema');\n",
  );
  writeFileSync(
    join(dir, 'migrations', '001_items.cjs'),
    `exports.up = (knex) => knex.schema.createTable('items', (t) => { t.integer('id').primary(); t.string('label', 50); });
     exports.down = (knex) => knex.schema.dropTable('items');\n`,
  );
  writeFileSync(
    join(dir, 'migrations', '002_slow_row.cjs'),
    `exports.up = async (knex) => {
       ${options.slowSeconds === undefined ? '' : `await knex.raw('select pg_sleep(${options.slowSeconds})');`}
       await knex('items').insert({ id: 100, label: 'from migration 2' });
     };
     exports.down = (knex) => knex('items').where({ id: 100 }).del();\n`,
  );
  writeFileSync(
    join(dir, 'migrations', '003_note.cjs'),
    `exports.up = (knex) => knex.schema.alterTable('items', (t) => { t.string('note', 20); });
     exports.down = (knex) => knex.schema.alterTable('items', (t) => { t.dropColumn('note'); });\n`,
  );
  writeFileSync(
    join(dir, 'seeds', '01_items.cjs'),
    `exports.seed = (knex) => knex('items').insert({ id: 1, label: 'seeded' });\n`,
  );
  return {
    dir,
    steps: {
      schema: { type: 'sql-file', path: 'schema.sql' },
      migrate: { type: 'knex-migrations', directory: 'migrations' },
      seed: { type: 'knex-seeds', directory: 'seeds' },
    },
  };
}

async function rows(db: Knex, table: string): Promise<unknown[]> {
  return (await db(table).orderBy('id').select()) as unknown[];
}

function configFor(url: string, database: string): DatabaseConfig {
  return resolveDatabaseConfig({ env: { DATABASE_URL: url, DATABASE: database } });
}

/** What a complete database of {@link project} holds. */
async function expectComplete(config: DatabaseConfig, name: string): Promise<void> {
  const server = connectServer(config);
  try {
    const db = server.database(name);
    expect(await rows(db, 'accounts')).toEqual([{ id: 1, label: 'from schema' }]);
    expect(await rows(db, 'items')).toEqual([
      { id: 1, label: 'seeded', note: null },
      { id: 100, label: 'from migration 2', note: null },
    ]);
    const migrated: unknown = await db('knex_migrations').orderBy('id').pluck('name');
    expect(migrated).toEqual(['001_items.cjs', '002_slow_row.cjs', '003_note.cjs']);
    expect(await db.schema.hasTable(INIT_STATE_TABLE)).toBe(false);
  } finally {
    await server.close();
  }
}

describe('init-db against a PostgreSQL server that misbehaves', () => {
  it('waits for a server that comes up late, then creates, migrates and seeds', async () => {
    const port = await freePort();
    const password = 'late-init-password';
    const url = `postgres://admin:${password}@127.0.0.1:${port}/postgres`;
    const { dir, steps } = project('late');
    const { logger, records } = capture();
    const running = initDatabase(configFor(url, 'shop-late'), {
      steps,
      cwd: dir,
      waitTimeoutMs: 120_000,
      logger,
    });
    await sleep(3_000);
    const instance = await startPostgresInstance({
      dir: join(root, 'pg-late'),
      port,
      password,
      name: 'postgres-late-init',
    });
    stops.push(instance.stop);
    const result = await running;
    expect(result.plan.mode).toBe('create');
    expect(result.migrations).toEqual(['001_items.cjs', '002_slow_row.cjs', '003_note.cjs']);
    expect(
      records.filter((r) => r.level === 'debug' && r.message.includes('not ready')).length,
    ).toBeGreaterThan(1);
    await expectComplete(configFor(url, 'shop-late'), 'shop-late');
  });

  it(
    'a server restart during a migration fails the run clearly; the next run completes, nothing dropped',
    { timeout: 240_000 },
    async () => {
      const pgDir = join(root, 'pg-restart');
      let instance = await startPostgresInstance({ dir: pgDir, name: 'postgres-restart' });
      stops.push(() => instance.stop());
      const config = configFor(instance.url, 'shop-restart');
      const { dir, steps } = project('restart', { slowSeconds: 30 });
      const { logger, records } = capture();
      const running = initDatabase(config, { steps, cwd: dir, logger }).catch((e: unknown) => e);

      // Restart the server while migration 002 sleeps inside its transaction.
      for (
        let i = 0;
        i < 600 && !records.some((r) => r.message === 'migration 002_slow_row.cjs');
        i++
      )
        await sleep(50);
      await sleep(500);
      await instance.stop();
      // Down for longer than a pool waits for a connection (11 s), as a failover can be: knex's
      // own migration lock must not be left taken.
      await sleep(13_000);
      instance = await startPostgresInstance({
        dir: pgDir,
        port: instance.port,
        password: instance.password,
        name: 'postgres-restart',
      });

      const error = await running;
      expect(error).toBeInstanceOf(DatabaseStepError);
      expect(error).toMatchObject({ step: 'migrate', item: '002_slow_row.cjs' });
      expect((error as Error).message).toMatch(
        /^database shop-restart: step "migrate" at 002_slow_row\.cjs failed: .* \(the connection to the database server was lost: it stopped or restarted during the step\); nothing was dropped and finished steps stay done: fix the cause and run init-db again to continue$/,
      );
      expect((error as Error).message).not.toContain('\n');

      // The fixed project (no sleep) in a fresh folder: Node caches the modules it loaded.
      const fixed = join(root, 'restart-fixed');
      cpSync(project('restart-fixed-src').dir, fixed, { recursive: true });
      const { logger: rerunLogger, records: rerunRecords } = capture();
      const rerun = await initDatabase(config, { steps, cwd: fixed, logger: rerunLogger });
      expect(rerun.plan.mode).toBe('resume');
      expect(rerun.migrations).toEqual(['002_slow_row.cjs', '003_note.cjs']);
      expect(rerun.steps.map((s) => s.name)).toEqual(['migrate', 'seed', 'finish']);
      await expectComplete(config, 'shop-restart');
      expect(rerunRecords.filter((r) => r.level === 'error')).toEqual([]);
    },
  );

  it('a migration failing on a database that holds data stops there and keeps everything before it', async () => {
    const instance = await startPostgresInstance({ dir: join(root, 'pg-failing') });
    stops.push(instance.stop);
    const config = configFor(instance.url, 'shop-failing');
    const { dir, steps } = project('failing');
    // A first push: migrations 001 and 002 only.
    rmSync(join(dir, 'migrations', '003_note.cjs'));
    await initDatabase(config, { steps, cwd: dir });
    const server = connectServer(config);
    stops.push(() => server.close());
    const db = server.database('shop-failing');
    await db('items').insert({ id: 7, label: 'written by the app' });

    // The next push brings a migration that changes the table, then fails.
    const broken = join(root, 'failing-broken');
    cpSync(dir, broken, { recursive: true });
    writeFileSync(
      join(broken, 'migrations', '003_note.cjs'),
      `exports.up = async (knex) => {
         await knex.schema.alterTable('items', (t) => { t.string('note', 20); });
         await knex('items').insert({ id: 7, label: 'duplicate key' });
       };
       exports.down = () => undefined;\n`,
    );
    const error = await initDatabase(config, { steps, cwd: broken }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseStepError);
    expect(error).toMatchObject({ step: 'migrate', item: '003_note.cjs' });
    expect((error as Error).message).toMatch(/at 003_note\.cjs failed: .*duplicate key/);
    // The failed migration left nothing behind (its transaction rolled back); the rest is kept.
    expect(await db.schema.hasColumn('items', 'note')).toBe(false);
    expect(await rows(db, 'items')).toEqual([
      { id: 1, label: 'seeded' },
      { id: 7, label: 'written by the app' },
      { id: 100, label: 'from migration 2' },
    ]);
    expect(await db('knex_migrations').count({ n: '*' })).toEqual([{ n: '2' }]);

    // The fix: the next run applies 003 only.
    const fixed = join(root, 'failing-fixed');
    cpSync(project('failing-fixed-src').dir, fixed, { recursive: true });
    const rerun = await initDatabase(config, { steps, cwd: fixed });
    expect(rerun.plan.mode).toBe('migrate');
    expect(rerun.migrations).toEqual(['003_note.cjs']);
    expect(await rows(db, 'items')).toEqual([
      { id: 1, label: 'seeded', note: null },
      { id: 7, label: 'written by the app', note: null },
      { id: 100, label: 'from migration 2', note: null },
    ]);
  });
});
