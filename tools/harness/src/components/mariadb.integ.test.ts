import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RowDataPacket } from 'mysql2';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../daemon.js';
import { freePort, tcpOpen } from '../ports.js';
import { processCommandLines, requireEnv } from '../test-env.js';
import { mariadbAnswers, startMariadbInstance } from './mariadb.js';

const exec = promisify(execFile);

async function scalar(conn: Connection, sql: string, params: unknown[] = []): Promise<unknown> {
  const [rows] = await conn.query<RowDataPacket[]>(sql, params);
  return Object.values(rows[0] ?? {})[0];
}

/** Command lines of every process on the machine (to prove a secret never reached argv). */
describe('mariadb component', () => {
  const url = requireEnv('DEPLOYTAG_MARIADB_URL');
  let conn: Connection;
  beforeAll(async () => {
    conn = await createConnection({ uri: url, multipleStatements: false });
  });
  afterAll(async () => {
    await conn.end();
  });

  it('logs in as admin over loopback TCP', async () => {
    const u = new URL(url);
    expect(u.protocol).toBe('mysql:');
    expect(u.hostname).toBe('127.0.0.1');
    expect(u.username).toBe('admin');
    expect(await scalar(conn, 'SELECT CURRENT_USER()')).toMatch(/^admin@(%|127\.0\.0\.1)$/);
    expect(String(await scalar(conn, 'SELECT VERSION()'))).toContain('MariaDB');
    expect(await scalar(conn, 'SELECT @@bind_address')).toBe('127.0.0.1');
    expect(await scalar(conn, 'SELECT @@skip_networking')).toBe(0);
  });

  it('grants admin every privilege with grant option', async () => {
    const [rows] = await conn.query<RowDataPacket[]>('SHOW GRANTS');
    const grants = rows.map((r) => String(Object.values(r)[0]));
    expect(
      grants.some((g) => /^GRANT ALL PRIVILEGES ON \*\.\* TO .*WITH GRANT OPTION$/.test(g)),
    ).toBe(true);
  });

  it('keeps its data in a folder owned by the mysql user, and runs as that user', async () => {
    const dataDir = String(await scalar(conn, 'SELECT @@datadir'));
    const { stdout } = await exec('id', ['-u', 'mysql']);
    const mysqlUid = Number(stdout.trim());
    expect(statSync(dataDir).uid).toBe(mysqlUid);
    const pidFile = String(await scalar(conn, 'SELECT @@pid_file'));
    const pid = readFileSync(pidFile, 'utf8').trim();
    expect(statSync(`/proc/${pid}`).uid).toBe(mysqlUid);
  });

  it('never shows the password in a command line and leaves no init file', async () => {
    const password = decodeURIComponent(new URL(url).password);
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(processCommandLines().filter((c) => c.includes(password))).toEqual([]);
    const runDir = join(String(await scalar(conn, 'SELECT @@datadir')), '..', 'run');
    expect(readdirSync(runDir).filter((f) => f.endsWith('.sql'))).toEqual([]);
  });

  it('creates a database with a user that can use it, and drops them', async () => {
    const name = `deploytag_t_${process.pid}_${Date.now()}`;
    await conn.query('CREATE DATABASE ??', [name]);
    await conn.query("CREATE USER ?@'%' IDENTIFIED BY 'app-pass'", [name.slice(0, 32)]);
    await conn.query("GRANT ALL ON ??.* TO ?@'%'", [name, name.slice(0, 32)]);
    const app = await createConnection({
      host: '127.0.0.1',
      port: Number(new URL(url).port),
      user: name.slice(0, 32),
      password: 'app-pass',
      database: name,
    });
    try {
      await app.query('CREATE TABLE items (id INT PRIMARY KEY AUTO_INCREMENT, label TEXT)');
      await app.query('INSERT INTO items (label) VALUES (?), (?)', ['a', 'ü']);
      expect(await scalar(app, 'SELECT GROUP_CONCAT(label ORDER BY id) FROM items')).toBe('a,ü');
    } finally {
      await app.end();
    }
    await conn.query('DROP DATABASE ??', [name]);
    await conn.query("DROP USER ?@'%'", [name.slice(0, 32)]);
    expect(
      await scalar(conn, 'SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?', [
        name,
      ]),
    ).toBe(0);
  });

  it('refuses a wrong password', async () => {
    const u = new URL(url);
    u.password = 'wrong-password';
    await expect(mariadbAnswers(u.toString())).rejects.toThrow(/Access denied/);
  });
});

describe('startMariadbInstance', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deploytag-maria-extra-'));
  const stops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const stop of stops) await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('comes up on a port chosen in advance, stops, and restarts on the same data', async () => {
    const port = await freePort();
    expect(await tcpOpen(port)).toBe(false);

    const first = await startMariadbInstance({ dir, port, name: 'mariadbd-extra' });
    stops.push(first.stop);
    expect(first.port).toBe(port);
    const c1 = await createConnection({ uri: first.url });
    try {
      await c1.query('CREATE DATABASE kept');
      await c1.query('CREATE TABLE kept.t (v TEXT)');
      await c1.query("INSERT INTO kept.t VALUES ('survives a restart')");
    } finally {
      await c1.end();
    }
    await first.stop();
    expect(isAlive(first.daemon)).toBe(false);
    expect(await tcpOpen(port)).toBe(false);

    // A restart may also change the admin password: the init file re-applies it.
    const second = await startMariadbInstance({ dir, port, password: 'a-new-password+/=' });
    stops.push(second.stop);
    expect(second.url).toContain(encodeURIComponent('a-new-password+/='));
    const c2 = await createConnection({ uri: second.url });
    try {
      expect(await scalar(c2, 'SELECT v FROM kept.t')).toBe('survives a restart');
    } finally {
      await c2.end();
    }
    await expect(mariadbAnswers(first.url)).rejects.toThrow(/Access denied/);
    await second.stop();
    expect(await tcpOpen(port)).toBe(false);
  });
});
