/**
 * Cancelling `initDatabase` while a knex migration runs a long statement, on the real PostgreSQL
 * and MariaDB of the stack: the statement is cancelled on the server (not left running after the
 * caller gave up), the migration is not recorded, the init lock and knex's migration lock are
 * free, and the next run completes.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@deploytag/core';
import type { LogRecord } from '@deploytag/core';
import type { DatabaseEngine } from '@deploytag/context';
import { requireEnv } from '@deploytag/harness';
import { afterAll, describe, expect, it } from 'vitest';
import {
  connectServer,
  dropDatabase,
  initDatabase,
  resolveDatabaseConfig,
  withDatabaseLock,
} from './index.js';
import type { DatabaseServer, InitSteps } from './index.js';
import { rowsOf } from './server.js';

const run = `c${Date.now().toString(36)}${process.pid.toString(36)}`;
const root = mkdtempSync(join(tmpdir(), 'deploytag-db-cancel-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const engines: { engine: DatabaseEngine; variable: string; sleep: string }[] = [
  { engine: 'postgresql', variable: 'DEPLOYTAG_POSTGRES_URL', sleep: 'select pg_sleep(600)' },
  { engine: 'mysql', variable: 'DEPLOYTAG_MARIADB_URL', sleep: 'select sleep(600)' },
];

/** Statements on the server whose text carries `marker` (from another session). */
async function statementsWith(server: DatabaseServer, marker: string): Promise<number> {
  const sql =
    server.engine === 'postgresql'
      ? `select count(*) as n from pg_stat_activity where state = 'active' and query like ? and pid <> pg_backend_pid()`
      : `select count(*) as n from information_schema.processlist where info like ? and id <> connection_id()`;
  const rows = rowsOf(server.engine, await server.admin.raw(sql, [`%${marker}%`]));
  return Number(rows[0]?.['n'] ?? 0);
}

describe.each(engines)(
  'cancelling initDatabase on $engine',
  ({ engine, variable, sleep: slow }) => {
    const url = requireEnv(variable);
    const name = `${run}-${engine}`;
    const marker = `deploytag-cancel-${name}`;
    const config = resolveDatabaseConfig({ env: { DATABASE_URL: url, DATABASE: name } });
    const dir = join(root, engine);
    const steps: InitSteps = { migrate: { type: 'knex-migrations', directory: 'migrations' } };

    afterAll(async () => {
      const server = connectServer(config);
      try {
        await dropDatabase(server, name, {
          kind: 'preview',
          force: true,
          terminateSessions: true,
        }).catch(() => undefined);
      } finally {
        await server.close();
      }
    });

    it(
      'cancels the running migration statement and frees every lock; the next run completes',
      { timeout: 300_000 },
      async () => {
        mkdirSync(join(dir, 'migrations'), { recursive: true });
        writeFileSync(
          join(dir, 'migrations', '001_table.cjs'),
          `exports.up = (knex) => knex.schema.createTable('visits', (t) => { t.increments('id'); });
         exports.down = (knex) => knex.schema.dropTable('visits');\n`,
        );
        // Slow while the variable says so (knex keeps a migration module once loaded).
        const slowVariable = `DEPLOYTAG_SLOW_${engine.toUpperCase()}_${run}`;
        writeFileSync(
          join(dir, 'migrations', '002_slow.cjs'),
          `exports.up = (knex) =>
           knex.raw(process.env[${JSON.stringify(slowVariable)}] === '1' ? ${JSON.stringify(`${slow} /* ${marker} */`)} : 'select 1');
         exports.down = () => undefined;\n`,
        );
        process.env[slowVariable] = '1';
        const records: LogRecord[] = [];
        const logger = createLogger({
          level: 'debug',
          reporter: { write: (r) => records.push(r) },
        });
        const server = connectServer(config);
        try {
          const controller = new AbortController();
          const init = initDatabase(config, {
            steps,
            cwd: dir,
            logger,
            signal: controller.signal,
          }).then(
            () => undefined,
            (error: unknown) => error,
          );
          // Abort once the slow statement is running on the server.
          for (let i = 0; (await statementsWith(server, marker)) === 0; i++) {
            if (i > 600) throw new Error('the slow migration never started');
            await sleep(200);
          }
          controller.abort(new Error('stop'));
          const error = await init;
          expect(error).toMatchObject({ code: 'E_DB_STEP', details: { step: 'migrate' } });
          expect(records.map((r) => r.message)).toContain(
            `cancelling the statement running on database ${name}`,
          );
          // Nothing of ours runs on the server any more.
          expect(await statementsWith(server, marker)).toBe(0);
          const db = server.database(name);
          const recorded: { name: string }[] = await db('knex_migrations').select('name');
          expect(recorded.map((r) => r.name)).toEqual(['001_table.cjs']);
          expect(await db('knex_migrations_lock').select('is_locked')).toEqual([{ is_locked: 0 }]);
          // The init lock is free: taking it does not wait.
          expect(
            await withDatabaseLock(server, name, () => Promise.resolve('free'), {
              timeoutMs: 1,
              pollMs: 1,
            }),
          ).toBe('free');
        } finally {
          await server.close();
        }

        // The next run, without the wait, runs the migration.
        process.env[slowVariable] = '0';
        const next = await initDatabase(config, { steps, cwd: dir });
        expect(next.migrations).toEqual(['002_slow.cjs']);
      },
    );
  },
);
