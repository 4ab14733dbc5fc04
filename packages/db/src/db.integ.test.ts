import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, Redactor } from '@deploytag/core';
import type { LogRecord, Logger } from '@deploytag/core';
import { databaseName } from '@deploytag/context';
import type { DatabaseEngine } from '@deploytag/context';
import { requireEnv } from '@deploytag/harness';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DatabaseStepError,
  INIT_STATE_TABLE,
  addExtensions,
  alterOwner,
  connectServer,
  createDatabase,
  databaseExists,
  dropDatabase,
  initDatabase,
  loadDatabaseConfig,
  quoteIdentifier,
  resolveDatabaseConfig,
} from './index.js';
import type { DatabaseConfig, DatabaseServer, InitSteps } from './index.js';

/** A unique repository name per run, so the tests can run again against the same stack. */
const repo = `t${Date.now().toString(36)}${process.pid.toString(36)}`;
const root = mkdtempSync(join(tmpdir(), 'deploytag-db-integ-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function capture(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  return {
    records,
    logger: createLogger({ level: 'debug', reporter: { write: (r) => void records.push(r) } }),
  };
}

/** A project folder with a schema, migrations and seeds (CommonJS files, loaded by knex). */
function project(name: string): { dir: string; steps: InitSteps } {
  const dir = join(root, name);
  mkdirSync(join(dir, 'migrations'), { recursive: true });
  mkdirSync(join(dir, 'seeds'), { recursive: true });
  // A '?' in a literal and a ';' in a comment: the script reaches the server unchanged.
  writeFileSync(
    join(dir, 'schema.sql'),
    `create table accounts (id int primary key, label varchar(100));
     -- a comment; with a semicolon
     insert into accounts (id, label) values (1, 'who? me;');
     create table items (id int primary key, label varchar(100));\n`,
  );
  writeFileSync(
    join(dir, 'migrations', '001_add_kind.cjs'),
    `exports.up = (knex) => knex.schema.alterTable('items', (t) => { t.string('kind', 20); });
     exports.down = (knex) => knex.schema.alterTable('items', (t) => { t.dropColumn('kind'); });\n`,
  );
  writeFileSync(
    join(dir, 'migrations', '002_migrated_row.cjs'),
    `exports.up = (knex) => knex('items').insert({ id: 100, label: 'from migration', kind: 'm' });
     exports.down = (knex) => knex('items').where({ id: 100 }).del();\n`,
  );
  writeFileSync(
    join(dir, 'seeds', '01_items.cjs'),
    `exports.seed = (knex) => knex('items').insert({ id: 1, label: 'seeded', kind: 's' });\n`,
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

async function count(
  db: Knex,
  table: string,
  where: Record<string, unknown> = {},
): Promise<number> {
  const result: unknown = await db(table).where(where).count({ n: '*' });
  return Number((result as { n: number | string }[])[0]?.n ?? 0);
}

const engines: { engine: DatabaseEngine; variable: string }[] = [
  { engine: 'postgresql', variable: 'DEPLOYTAG_POSTGRES_URL' },
  { engine: 'mysql', variable: 'DEPLOYTAG_MARIADB_URL' },
];

describe.each(engines)('on $engine', ({ engine, variable }) => {
  const url = requireEnv(variable);
  const configFor = (database: string): DatabaseConfig =>
    resolveDatabaseConfig({ env: { DATABASE_URL: url, DATABASE: database } });
  let server: DatabaseServer;
  beforeAll(() => {
    server = connectServer(configFor('unused'));
  });
  afterAll(async () => {
    await server.close();
  });

  it('creates, loads the schema, migrates and seeds a new branch; a second run only migrates', async () => {
    const name = databaseName(repo, 'feature/new-thing', { engine });
    expect(name).toBe(`${repo}-feature-new-thing`);
    const { dir, steps } = project(`${engine}-new`);
    const config = configFor(name);
    expect(await databaseExists(server, name)).toBe(false);

    const first = await initDatabase(config, { steps, cwd: dir });
    expect(first.plan.mode).toBe('create');
    expect(first.steps.map((s) => s.name)).toEqual([
      'create',
      'schema',
      'migrate',
      'seed',
      'finish',
    ]);
    expect(first.migrations).toEqual(['001_add_kind.cjs', '002_migrated_row.cjs']);
    expect(first.seeds).toEqual(['01_items.cjs']);
    expect(await databaseExists(server, name)).toBe(true);
    const db = server.database(name);
    expect(await db('accounts').select('label')).toEqual([{ label: 'who? me;' }]);
    expect(await db('items').orderBy('id').select('id', 'label', 'kind')).toEqual([
      { id: 1, label: 'seeded', kind: 's' },
      { id: 100, label: 'from migration', kind: 'm' },
    ]);
    expect(await db.schema.hasTable(INIT_STATE_TABLE)).toBe(false);

    // A new migration arrives with the next push.
    writeFileSync(
      join(dir, 'migrations', '003_add_note.cjs'),
      `exports.up = (knex) => knex.schema.alterTable('items', (t) => { t.string('note', 20); });
       exports.down = () => undefined;\n`,
    );
    const { logger, records } = capture();
    const second = await initDatabase(config, { steps, cwd: dir, logger });
    expect(second.plan.mode).toBe('migrate');
    expect(second.steps.map((s) => s.name)).toEqual(['migrate']);
    expect(second.migrations).toEqual(['003_add_note.cjs']);
    expect(await count(db, 'items')).toBe(2);
    expect(await count(db, 'knex_migrations')).toBe(3);
    expect(records.some((r) => r.message === 'migration 003_add_note.cjs')).toBe(true);

    const third = await initDatabase(config, { steps, cwd: dir });
    expect(third.migrations).toEqual([]);
    expect(await count(db, 'knex_migrations')).toBe(3);
  });

  it('gives hostile branch names safe, distinct databases that SQL cannot escape', async () => {
    const branches = [
      `feature/x"; drop database postgres; --`,
      'feature/x`; drop database mysql; --',
      'Feature/X',
      'feature/x',
    ];
    const names = branches.map((b) => databaseName(repo, b, { engine }));
    expect(new Set(names).size).toBe(branches.length);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9-]+$/);
    const { dir, steps } = project(`${engine}-hostile`);
    for (const name of names.slice(0, 2)) {
      const result = await initDatabase(configFor(name), {
        steps: { migrate: steps.migrate!, schema: steps.schema! },
        cwd: dir,
      });
      expect(result.plan.mode).toBe('create');
      expect(await databaseExists(server, name)).toBe(true);
    }
    // The server's own databases are untouched.
    expect(await databaseExists(server, engine === 'postgresql' ? 'postgres' : 'mysql')).toBe(true);

    // A raw name with quotes and semicolons (a DATABASE override) is one quoted identifier.
    const raw = `${repo}-q"u\`o'te; drop`;
    await createDatabase(server, raw);
    expect(await databaseExists(server, raw)).toBe(true);
    expect(await databaseExists(server, `${repo}-q"u\`o'te`)).toBe(false);
    await dropDatabase(server, raw, { kind: 'preview', force: true });
    expect(await databaseExists(server, raw)).toBe(false);

    // A 100-character name is refused before anything reaches the server: never truncated into
    // the database of a branch that shares its first 63 characters.
    const long = `${repo}-${'a'.repeat(100 - repo.length - 1)}`;
    const cut = long.slice(0, 63);
    await expect(initDatabase(configFor(long), { steps })).rejects.toMatchObject({
      code: 'E_DB_NAME',
    });
    await expect(createDatabase(server, long)).rejects.toThrow(/100 (bytes|characters) long/);
    expect(await databaseExists(server, cut)).toBe(false);
    // databaseName shortens it safely instead.
    const safe = databaseName(repo, 'a'.repeat(100), { engine });
    expect(safe.length).toBeLessThanOrEqual(engine === 'postgresql' ? 63 : 64);
    expect(safe).toMatch(/--[0-9a-f]{8}$/);
  });

  it('two concurrent runs on one branch create and migrate exactly once', async () => {
    const name = databaseName(repo, 'feature/race', { engine });
    const { dir, steps } = project(`${engine}-race`);
    const a = capture();
    const b = capture();
    const results = await Promise.all([
      initDatabase(configFor(name), { steps, cwd: dir, logger: a.logger }),
      initDatabase(configFor(name), { steps, cwd: dir, logger: b.logger }),
    ]);
    expect(results.map((r) => r.plan.mode).sort()).toEqual(['create', 'migrate']);
    expect(results.flatMap((r) => r.migrations).sort()).toEqual([
      '001_add_kind.cjs',
      '002_migrated_row.cjs',
    ]);
    expect(results.flatMap((r) => r.seeds)).toEqual(['01_items.cjs']);
    const db = server.database(name);
    expect(await count(db, 'knex_migrations')).toBe(2);
    expect(await count(db, 'items')).toBe(2);
    // The run that waited said who held the lock.
    const waited = [...a.records, ...b.records].filter((r) =>
      r.message.includes('waiting for the init lock'),
    );
    expect(waited.length).toBeGreaterThan(0);
    expect(waited[0]?.message).toMatch(
      engine === 'postgresql'
        ? /held by PostgreSQL session pid \d+ \(user admin, deploytag/
        : /held by MySQL connection \d+ \(user admin/,
    );
  });

  it('stops a failing migration with the step named, drops nothing, and a re-run after the fix completes', async () => {
    const name = databaseName(repo, 'bug/broken-migration', { engine });
    const { dir, steps } = project(`${engine}-failing`);
    writeFileSync(
      join(dir, 'migrations', '002_migrated_row.cjs'),
      `exports.up = (knex) => knex.raw('select * from no_such_table');
       exports.down = () => undefined;\n`,
    );
    const error = await initDatabase(configFor(name), { steps, cwd: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseStepError);
    expect(error).toMatchObject({ step: 'migrate', item: '002_migrated_row.cjs', exitCode: 1 });
    expect((error as Error).message).toMatch(
      /step "migrate" at 002_migrated_row.cjs failed: .*no_such_table/,
    );
    expect((error as Error).message).toMatch(/nothing was dropped/);
    expect(await databaseExists(server, name)).toBe(true);
    const db = server.database(name);
    expect(await count(db, 'knex_migrations')).toBe(1);
    expect(await count(db, 'accounts')).toBe(1);
    expect(await db.schema.hasTable(INIT_STATE_TABLE)).toBe(true);

    // The fix (in a fresh folder: Node caches the modules it already loaded).
    const fixed = join(root, `${engine}-fixed`);
    cpSync(dir, fixed, { recursive: true });
    writeFileSync(
      join(fixed, 'migrations', '002_migrated_row.cjs'),
      `exports.up = (knex) => knex('items').insert({ id: 100, label: 'from migration', kind: 'm' });
       exports.down = () => undefined;\n`,
    );
    const rerun = await initDatabase(configFor(name), { steps, cwd: fixed });
    expect(rerun.plan.mode).toBe('resume');
    expect(rerun.steps.map((s) => s.name)).toEqual(['migrate', 'seed', 'finish']);
    expect(rerun.migrations).toEqual(['002_migrated_row.cjs']);
    expect(await count(db, 'items')).toBe(2);
    expect(await count(db, 'accounts')).toBe(1);
    expect(await db.schema.hasTable(INIT_STATE_TABLE)).toBe(false);
  });

  it('honours a Rails database.yml with ${VAR} substitutions', async () => {
    const parsed = new URL(url);
    const dir = join(root, `${engine}-rails`);
    mkdirSync(join(dir, 'config'), { recursive: true });
    writeFileSync(
      join(dir, 'config', 'database.yml'),
      `default: &default
  adapter: ${engine === 'postgresql' ? 'postgresql' : 'mysql2'}
  host: \${DB_HOST}
  port: \${DB_PORT:-1}
  username: <%= ENV['DB_USER'] %>
  password: <%= ENV.fetch('DB_PASSWORD') %>

development:
  <<: *default
  database: never_used

production:
  <<: *default
  database: \${DATABASE}
`,
    );
    const name = databaseName(repo, 'feature/rails', { engine });
    const config = loadDatabaseConfig({
      cwd: dir,
      env: {
        RAILS_ENV: 'production',
        DB_HOST: parsed.hostname,
        DB_PORT: parsed.port,
        DB_USER: decodeURIComponent(parsed.username),
        DB_PASSWORD: decodeURIComponent(parsed.password),
        DATABASE: name,
      },
    });
    expect(config.source).toBe(`${join(dir, 'config', 'database.yml')} (production)`);
    const { steps } = project(`${engine}-rails-steps`);
    const result = await initDatabase(config, { steps, cwd: join(root, `${engine}-rails-steps`) });
    expect(result.plan.mode).toBe('create');
    expect(await count(server.database(name), 'items')).toBe(2);
  });

  it('runs the project’s own command with the database variables, streaming redacted output', async () => {
    const name = databaseName(repo, 'feature/own-command', { engine });
    const password = decodeURIComponent(new URL(url).password);
    const redactor = new Redactor();
    const records: LogRecord[] = [];
    const logger = createLogger({
      level: 'debug',
      redactor,
      reporter: { write: (r) => void records.push(r) },
    });
    const script = [
      'console.log("db=" + process.env.DATABASE);',
      'console.log("url=" + process.env.DATABASE_URL);',
      'console.log("path=" + new URL(process.env.DATABASE_URL).pathname);',
      'console.error("password set: " + (process.env.DATABASE_PASSWORD === new URL(process.env.DATABASE_URL).password || decodeURIComponent(new URL(process.env.DATABASE_URL).password) === process.env.DATABASE_PASSWORD));',
    ].join('\n');
    const result = await initDatabase(configFor(name), {
      steps: { migrate: { type: 'command', command: process.execPath, args: ['-e', script] } },
      logger,
    });
    expect(result.steps.map((s) => s.name)).toEqual(['create', 'migrate', 'finish']);
    const lines = records.map((r) => r.message);
    expect(lines).toContain(`db=${name}`);
    expect(lines).toContain('password set: true');
    // The whole URL is a secret (it holds the password): its line is redacted.
    expect(lines).toContain('url=***');
    expect(lines).toContain(`path=/${encodeURIComponent(name)}`);
    expect(lines.join('\n')).not.toContain(password);
    expect(lines.join('\n')).not.toContain(encodeURIComponent(password));

    // A failing command names the step and keeps the child's exit code.
    const failing = await initDatabase(configFor(name), {
      steps: {
        migrate: {
          type: 'command',
          command: process.execPath,
          args: ['-e', 'console.error("rake aborted!"); process.exit(3)'],
        },
      },
    }).catch((e: unknown) => e);
    expect(failing).toMatchObject({ code: 'E_DB_STEP', step: 'migrate', exitCode: 3 });
    expect((failing as Error).message).toMatch(/rake aborted!/);
  });

  it('alters the owner, refuses to drop shared or foreign databases, and drops a preview one', async () => {
    const name = databaseName(repo, 'feature/owned', { engine });
    await createDatabase(
      server,
      name,
      engine === 'postgresql'
        ? { encoding: 'UTF8', collation: 'C' }
        : { encoding: 'utf8mb4', collation: 'utf8mb4_bin' },
    );
    const owner = `${repo}_own"er`;
    if (engine === 'postgresql') {
      await server.admin.raw(`create role ${quoteIdentifier(owner, 'postgresql', 'role')}`);
      await alterOwner(server, name, owner);
      const rows = await server.admin.raw<{
        rows: { owner: string; enc: string; datcollate: string }[];
      }>(
        'select pg_get_userbyid(datdba) as owner, pg_encoding_to_char(encoding) as enc, datcollate from pg_database where datname = ?',
        [name],
      );
      expect(rows.rows[0]).toEqual({ owner, enc: 'UTF8', datcollate: 'C' });
    } else {
      await server.admin.raw("create user ?@'%' identified by 'x'", [owner]);
      await alterOwner(server, name, owner);
      const [grants] = (await server.admin.raw("show grants for ?@'%'", [owner])) as [
        Record<string, string>[],
      ];
      const text = grants.map((g) => Object.values(g)[0]).join('\n');
      expect(text).toContain(`GRANT ALL PRIVILEGES ON \`${name.replaceAll('_', '\\_')}\`.*`);
      const [rows] = (await server.admin.raw(
        'select default_character_set_name as cs, default_collation_name as co from information_schema.schemata where schema_name = ?',
        [name],
      )) as [{ cs: string; co: string }[]];
      expect(rows[0]).toEqual({ cs: 'utf8mb4', co: 'utf8mb4_bin' });
    }

    await expect(
      dropDatabase(server, name, { kind: 'staging', force: true }),
    ).rejects.toMatchObject({ code: 'E_DB_DROP_REFUSED' });
    await expect(
      dropDatabase(server, name, { kind: 'preview', repo, branch: 'feature/other' }),
    ).rejects.toThrow(/branch feature\/other .* uses .*, not /);
    await expect(dropDatabase(server, name, { kind: 'preview' })).rejects.toThrow(
      /give the repository and branch/,
    );
    expect(await databaseExists(server, name)).toBe(true);
    expect(
      await dropDatabase(server, name, { kind: 'preview', repo, branch: 'feature/owned' }),
    ).toBe(true);
    expect(await databaseExists(server, name)).toBe(false);
    expect(
      await dropDatabase(server, name, { kind: 'preview', repo, branch: 'feature/owned' }),
    ).toBe(false);
  });
});

describe('PostgreSQL only', () => {
  const url = requireEnv('DEPLOYTAG_POSTGRES_URL');
  const configFor = (database: string): DatabaseConfig =>
    resolveDatabaseConfig({ env: { DATABASE_URL: url, DATABASE: database } });
  let server: DatabaseServer;
  beforeAll(() => {
    server = connectServer(configFor('unused'));
  });
  afterAll(async () => {
    await server.close();
  });

  it('copies a template with its rows, waiting for or ending its other sessions', async () => {
    const staging = databaseName(repo, undefined);
    const { dir, steps } = project('pg-template');
    await initDatabase(configFor(staging), { steps, cwd: dir });

    // An app still connected to staging blocks the copy; the error says who.
    const app = connectServer(configFor(staging));
    await app.database(staging).raw('select 1');
    const clone = databaseName(repo, 'feature/with-staging-data');
    const busy = await createDatabase(server, clone, {
      template: staging,
      templateWaitMs: 300,
    }).catch((e: unknown) => e);
    expect(busy).toMatchObject({ code: 'E_DB_TEMPLATE_BUSY' });
    expect((busy as Error).message).toMatch(
      /1 session\(s\) still are: pid \d+ \(user admin, deploytag/,
    );
    expect(await databaseExists(server, clone)).toBe(false);

    // initDatabase with a template: create (copy) and migrate; no schema load or seeds.
    const result = await initDatabase(configFor(clone), {
      steps,
      cwd: dir,
      create: { template: staging, terminateTemplateSessions: true, templateWaitMs: 300 },
    });
    await app.close();
    expect(result.steps.map((s) => s.name)).toEqual(['create', 'migrate', 'finish']);
    expect(result.migrations).toEqual([]);
    const db = server.database(clone);
    expect(await db('items').orderBy('id').select('label')).toEqual([
      { label: 'seeded' },
      { label: 'from migration' },
    ]);
    expect(await count(db, 'knex_migrations')).toBe(2);
  });

  it('adds extensions idempotently', async () => {
    const name = databaseName(repo, 'feature/ext');
    await createDatabase(server, name);
    await addExtensions(server, name, ['citext', 'citext']);
    await addExtensions(server, name, ['citext']);
    const rows = await server
      .database(name)
      .raw<{ rows: { n: number }[] }>(
        "select count(*)::int as n from pg_extension where extname = 'citext'",
      );
    expect(rows.rows[0]?.n).toBe(1);
    await expect(addExtensions(server, name, ['no_such_extension_x'])).rejects.toThrow(
      /no_such_extension_x/,
    );
  });
});

describe('MySQL only', () => {
  it('refuses extensions and templates with a clear message', async () => {
    const server = connectServer(
      resolveDatabaseConfig({
        env: { DATABASE_URL: requireEnv('DEPLOYTAG_MARIADB_URL'), DATABASE: 'x' },
      }),
    );
    try {
      await expect(addExtensions(server, 'x', ['citext'])).rejects.toThrow(/PostgreSQL feature/);
      await expect(createDatabase(server, `${repo}-tpl`, { template: 'x' })).rejects.toThrow(
        /TEMPLATE/,
      );
      expect(await databaseExists(server, `${repo}-tpl`)).toBe(false);
    } finally {
      await server.close();
    }
  });
});
