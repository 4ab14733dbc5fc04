import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import knex, { type Knex } from 'knex';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../daemon.js';
import { freePort, tcpOpen } from '../ports.js';
import { processCommandLines, requireEnv } from '../test-env.js';
import { postgresAnswers, postgresUrl, startPostgresInstance } from './postgres.js';

const exec = promisify(execFile);

function connect(url: string): Knex {
  return knex({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
}

async function scalar(db: Knex, sql: string): Promise<unknown> {
  const r = await db.raw<{ rows: Record<string, unknown>[] }>(sql);
  return Object.values(r.rows[0] ?? {})[0];
}

/** Command lines of every process on the machine (to prove a secret never reached argv). */
describe('postgres component', () => {
  const url = requireEnv('DEPLOYTAG_POSTGRES_URL');
  const bin = requireEnv('DEPLOYTAG_POSTGRES_BIN');
  const db = connect(url);
  afterAll(async () => {
    await db.destroy();
  });

  it('logs in as the admin superuser over loopback TCP', async () => {
    const u = new URL(url);
    expect(u.protocol).toBe('postgres:');
    expect(u.hostname).toBe('127.0.0.1');
    expect(u.username).toBe('admin');
    expect(await scalar(db, 'select current_user')).toBe('admin');
    expect(await scalar(db, "select rolsuper from pg_roles where rolname = 'admin'")).toBe(true);
  });

  it('runs the installed major from DEPLOYTAG_POSTGRES_BIN, tuned for tests', async () => {
    const { stdout } = await exec(join(bin, 'postgres'), ['--version']);
    const major = /(\d+)\.\d+/.exec(stdout)?.[1];
    expect(major).toBeDefined();
    expect(String(await scalar(db, 'show server_version'))).toMatch(new RegExp(`^${major}\\.`));
    expect(await scalar(db, 'show listen_addresses')).toBe('127.0.0.1');
    expect(await scalar(db, 'show fsync')).toBe('off');
  });

  it('keeps its cluster in a folder owned by the postgres user, not root', async () => {
    const dataDir = String(await scalar(db, 'show data_directory'));
    const { stdout } = await exec('id', ['-u', 'postgres']);
    expect(statSync(dataDir).uid).toBe(Number(stdout.trim()));
    expect(statSync(dataDir).mode & 0o077).toBe(0);
  });

  it('never shows the password in a process command line', () => {
    const password = decodeURIComponent(new URL(url).password);
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(processCommandLines().filter((c) => c.includes(password))).toEqual([]);
  });

  it('creates a database and a table, and drops them', async () => {
    const name = `deploytag_t_${process.pid}_${Date.now()}`;
    await db.raw('create database ??', [name]);
    const other = connect(url.replace(/\/postgres$/, `/${name}`));
    try {
      await other.schema.createTable('items', (t) => {
        t.increments('id');
        t.text('label').notNullable();
      });
      await other('items').insert([{ label: 'a' }, { label: 'b' }]);
      expect(await other('items').count({ n: '*' })).toEqual([{ n: '2' }]);
    } finally {
      await other.destroy();
    }
    await db.raw('drop database ??', [name]);
    expect(
      await scalar(db, `select count(*)::int from pg_database where datname = '${name}'`),
    ).toBe(0);
  });

  it('refuses a wrong password', async () => {
    const u = new URL(url);
    u.password = 'wrong-password';
    await expect(postgresAnswers(u.toString())).rejects.toThrow(/password authentication failed/);
  });
});

describe('startPostgresInstance', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deploytag-pg-extra-'));
  const stops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const stop of stops) await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a client that started waiting before it, stops, and restarts on the same data', async () => {
    const port = await freePort();
    // A client polls an address where nothing listens yet, as a deploy step would.
    const expected = postgresUrl('admin', 'not-yet-known', port);
    expect(await tcpOpen(port)).toBe(false);
    await expect(postgresAnswers(expected)).rejects.toThrow(/ECONNREFUSED/);

    const first = await startPostgresInstance({ dir, port, name: 'postgres-extra' });
    stops.push(first.stop);
    expect(first.port).toBe(port);
    expect(await postgresAnswers(first.url)).toBe(true);
    const db = connect(first.url);
    try {
      await db.schema.createTable('kept', (t) => t.text('v'));
      await db('kept').insert({ v: 'survives a restart' });
    } finally {
      await db.destroy();
    }
    // No password file is left behind.
    expect(readdirSync(first.socketDir).filter((f) => f.startsWith('.pwfile'))).toEqual([]);

    await first.stop();
    expect(isAlive(first.daemon)).toBe(false);
    expect(await tcpOpen(port)).toBe(false);

    await expect(startPostgresInstance({ dir, port })).rejects.toThrow(/pass the password/);

    const second = await startPostgresInstance({ dir, port, password: first.password });
    stops.push(second.stop);
    expect(second.url).toBe(first.url);
    expect(second.daemon.pid).not.toBe(first.daemon.pid);
    const again = connect(second.url);
    try {
      expect(await again('kept').select('v')).toEqual([{ v: 'survives a restart' }]);
    } finally {
      await again.destroy();
    }
    await second.stop();
    expect(await tcpOpen(port)).toBe(false);
  });
});
