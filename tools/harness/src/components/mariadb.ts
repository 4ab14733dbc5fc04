import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2';
import { createConnection } from 'mysql2/promise';
import type { Component } from '../component.js';
import { startDaemon, stopDaemons, type DaemonRecord } from '../daemon.js';
import { HarnessError, which, run } from '../exec.js';
import { freePort } from '../ports.js';
import { ensureApt } from '../provision.js';
// Shared with the PostgreSQL component: both servers run as their own system user.
import { ownedFolder, privateHome, serviceAccount } from '../accounts.js';

function program(...names: string[]): string {
  for (const n of names) {
    const found = which(n) ?? which(`/usr/sbin/${n}`);
    if (found) return found;
  }
  throw new HarnessError(
    `${names.join(' / ')} not found: run npm run stack -- provision mariadb (Debian mariadb-server)`,
  );
}

/** Options of {@link startMariadbInstance}. */
export interface MariadbInstanceOptions {
  /**
   * Folder of this instance: `data/` (the data directory), `run/` (socket, pid file) and
   * `mariadbd.log`. When `data/` already holds a data directory (a restart), it is reused.
   */
  dir: string;
  /** TCP port on 127.0.0.1; a free one by default. Pass the old port to restart in place. */
  port?: number;
  /** Password of `admin`; random by default. It is (re)applied on every start. */
  password?: string;
  /** Daemon name in messages and the stack file; `mariadbd` by default. */
  name?: string;
  /** Extra server options, e.g. `['--max-connections=20']`. */
  args?: readonly string[];
  /** How long to wait for a real login; 60 s by default. */
  readyTimeoutMs?: number;
}

/** A running private MariaDB server started by {@link startMariadbInstance}. */
export interface MariadbInstance {
  daemon: DaemonRecord;
  /** `mysql://admin:PASSWORD@127.0.0.1:PORT/`, the password URL-encoded. */
  url: string;
  port: number;
  user: string;
  password: string;
  dataDir: string;
  socket: string;
  /** Clean shutdown; resolves when the server is gone. */
  stop(): Promise<void>;
}

/** Builds the URL clients use, with the credentials URL-encoded. */
export function mariadbUrl(user: string, password: string, port: number): string {
  return `mysql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/`;
}

/** True once `url` accepts a login and answers `SELECT 1`. */
export async function mariadbAnswers(url: string): Promise<boolean> {
  const conn = await createConnection({ uri: url, connectTimeout: 2_000 });
  try {
    const [rows] = await conn.query<({ ok: number } & RowDataPacket)[]>('SELECT 1 AS ok');
    return rows[0]?.ok === 1;
  } finally {
    await conn.end();
  }
}

function sqlString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/** SQL that creates or updates the admin accounts; safe to run on every start. */
function adminSql(user: string, password: string): string {
  const lines: string[] = [];
  // 'localhost' matches unix-socket logins (names are not resolved, so TCP logins come from IPs).
  for (const host of ['%', '127.0.0.1', 'localhost']) {
    const account = `${sqlString(user)}@${sqlString(host)}`;
    lines.push(
      `CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY ${sqlString(password)};`,
      `ALTER USER ${account} IDENTIFIED BY ${sqlString(password)};`,
      `GRANT ALL PRIVILEGES ON *.* TO ${account} WITH GRANT OPTION;`,
    );
  }
  lines.push('FLUSH PRIVILEGES;');
  return `${lines.join('\n')}\n`;
}

/** Options both `mariadb-install-db` and the server get: small, fast, not durable. */
const FAST = [
  '--innodb-log-file-size=16M',
  '--innodb-buffer-pool-size=64M',
  '--innodb-flush-log-at-trx-commit=0',
  '--innodb-doublewrite=0',
  '--skip-name-resolve',
];

/**
 * Starts a private MariaDB server (not the system service) on 127.0.0.1 only, with its data
 * directory, socket and pid file inside `dir`. The server starts as root and switches to the
 * `mysql` system user (`--user=mysql`), as the packaged service does. The `admin` account (any
 * host, all privileges with grant option) is created through an `--init-file` written 0600 and
 * deleted once the server serves, so the password never appears in argv. Resolves once a real login
 * succeeds.
 *
 * Tests use it for an extra instance that comes up late or restarts: call it again with the same
 * `dir` and `port` to restart on the same data.
 */
export async function startMariadbInstance(
  options: MariadbInstanceOptions,
): Promise<MariadbInstance> {
  const installDb = program('mariadb-install-db', 'mysql_install_db');
  const server = program('mariadbd', 'mysqld');
  const account = await serviceAccount('mysql');
  const dir = privateHome(options.dir, account);
  const dataDir = ownedFolder(join(dir, 'data'), account);
  const runDir = ownedFolder(join(dir, 'run'), account);
  const socket = join(runDir, 'mariadbd.sock');
  const user = 'admin';
  const password = options.password ?? randomBytes(18).toString('base64');
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C', HOME: dir };
  if (!existsSync(join(dataDir, 'mysql'))) {
    await run(
      installDb,
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        '--user=mysql',
        '--auth-root-authentication-method=socket',
        '--skip-test-db',
        ...FAST,
      ],
      { env, cwd: dir, logFile: join(dir, 'install-db.log') },
    );
  }
  const initFile = join(runDir, `init-${randomBytes(6).toString('hex')}.sql`);
  writeFileSync(initFile, adminSql(user, password), { mode: 0o600 });
  chownSync(initFile, account.uid, account.gid);
  const port = options.port ?? (await freePort());
  const url = mariadbUrl(user, password, port);
  let daemon: DaemonRecord;
  try {
    daemon = await startDaemon({
      name: options.name ?? 'mariadbd',
      cmd: server,
      args: [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--socket=${socket}`,
        `--pid-file=${join(runDir, 'mariadbd.pid')}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        '--skip-networking=0',
        '--user=mysql',
        `--init-file=${initFile}`,
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_unicode_ci',
        ...FAST,
        ...(options.args ?? []),
      ],
      logFile: join(dir, 'mariadbd.log'),
      cwd: dir,
      env,
      ready: () => mariadbAnswers(url),
      readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
    });
  } finally {
    // The server runs the init file before it accepts connections: once it serves it is done.
    rmSync(initFile, { force: true });
  }
  return {
    daemon,
    url,
    port,
    user,
    password,
    dataDir,
    socket,
    async stop() {
      await stopDaemons([daemon]);
    },
  };
}

/**
 * A private MariaDB server for the stack. Exports `DEPLOYTAG_MARIADB_URL` (account `admin` with all
 * privileges and grant option, random password).
 */
export const mariadb: Component = {
  name: 'mariadb',
  description: 'private MariaDB server on 127.0.0.1 (account admin)',
  async provision() {
    await ensureApt(['mariadb-server']);
    program('mariadb-install-db', 'mysql_install_db');
    program('mariadbd', 'mysqld');
  },
  async start(ctx) {
    const instance = await startMariadbInstance({ dir: ctx.dir });
    return { daemons: [instance.daemon], env: { DEPLOYTAG_MARIADB_URL: instance.url } };
  },
};
