/**
 * `init-db` on an existing, migrated database (what every push does) against a bare `SELECT 1`
 * round trip on the same server, on PostgreSQL and MariaDB. Run: `npm run bench -- init-db`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compare, time } from '@deploytag/bench';
import type { BenchContext, BenchResult } from '@deploytag/bench';
import knex from 'knex';
import { initDatabase, knexConfig, resolveDatabaseConfig } from '../src/index.js';
import type { InitSteps } from '../src/index.js';

const MIGRATIONS = 10;

function project(dir: string): InitSteps {
  mkdirSync(join(dir, 'migrations'), { recursive: true });
  for (let i = 1; i <= MIGRATIONS; i++) {
    const n = String(i).padStart(3, '0');
    writeFileSync(
      join(dir, 'migrations', `${n}_table_${n}.cjs`),
      `exports.up = (k) => k.schema.createTable('t${n}', (t) => { t.increments('id'); t.string('v'); });\nexports.down = () => undefined;\n`,
    );
  }
  return { migrate: { type: 'knex-migrations', directory: join(dir, 'migrations') } };
}

export default async function bench(ctx: BenchContext): Promise<BenchResult[]> {
  const runs = Math.max(3, Math.round(30 * ctx.scale));
  const results: BenchResult[] = [];
  for (const [engine, variable] of [
    ['postgresql', 'DEPLOYTAG_POSTGRES_URL'],
    ['mariadb', 'DEPLOYTAG_MARIADB_URL'],
  ] as const) {
    const url = ctx.env[variable];
    if (url === undefined) {
      ctx.log(`${variable} is not set: skipping ${engine}`);
      continue;
    }
    const database = `bench-init-db-${Date.now().toString(36)}`;
    const config = resolveDatabaseConfig({ env: { DATABASE_URL: url, DATABASE: database } });
    const steps = project(join(ctx.tmp, engine));
    const created = await initDatabase(config, { steps });
    ctx.log(`${engine}: created ${database} with ${created.migrations.length} migrations`);

    // Baseline: what any client pays to ask the server anything from a standing start.
    const selectOne = await time(async () => {
      const db = knex(knexConfig(config, config.adminDatabase, { poolMax: 1 }));
      try {
        await db.raw('select 1');
      } finally {
        await db.destroy();
      }
    }, runs);
    // For reference: the round trip alone, on an open connection.
    const pooled = knex(knexConfig(config, config.adminDatabase, { poolMax: 1 }));
    const warm = await time(async () => pooled.raw('select 1'), runs);
    await pooled.destroy();

    const subject = await time(async () => {
      const result = await initDatabase(config, { steps });
      if (result.plan.mode !== 'migrate' || result.migrations.length !== 0) {
        throw new Error(`expected a migrate-only run, got ${result.plan.mode}`);
      }
    }, runs);

    const admin = knex(knexConfig(config, config.adminDatabase, { poolMax: 1 }));
    await admin.raw(
      `drop database ${engine === 'postgresql' ? `"${database}"` : `\`${database}\``}`,
    );
    await admin.destroy();

    results.push(
      compare(
        `init-db-existing-${engine}`,
        `init-db on an existing database with ${MIGRATIONS} applied migrations (wait, lock, checks, migrate) vs connect + SELECT 1 + disconnect, ${engine}`,
        { label: 'connect + SELECT 1', timing: selectOne },
        { label: 'init-db (nothing to do)', timing: subject },
        {
          warmSelect1Ms: Number(warm.medianMs.toFixed(2)),
          ratioToWarmSelect1: Number((subject.medianMs / warm.medianMs).toFixed(1)),
        },
      ),
    );
  }
  return results;
}
