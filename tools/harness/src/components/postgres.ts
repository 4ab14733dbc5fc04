import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import knex from 'knex';
import type { Component } from '../component.js';
import { isAlive, startDaemon, stopDaemons, type DaemonRecord } from '../daemon.js';
import { HarnessError, run } from '../exec.js';
import { asAccount, ownedFolder, privateHome, serviceAccount } from '../accounts.js';
import { freePort } from '../ports.js';
import { ensureApt } from '../provision.js';

/**
 * Folder holding the newest installed PostgreSQL's programs (`/usr/lib/postgresql/<major>/bin`),
 * or undefined when none is installed.
 */
export function findPostgresBin(root = '/usr/lib/postgresql'): string | undefined {
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, 'bin', 'postgres')))
    .map(Number)
    .sort((a, b) => b - a);
  return majors[0] === undefined ? undefined : join(root, String(majors[0]), 'bin');
}

function requirePostgresBin(): string {
  const bin = findPostgresBin();
  if (!bin) {
    throw new HarnessError(
      'PostgreSQL is not installed under /usr/lib/postgresql: run npm run stack -- provision postgres',
    );
  }
  return bin;
}

/** Options of {@link startPostgresInstance}. */
export interface PostgresInstanceOptions {
  /**
   * Folder of this instance: `data/` (the cluster), `run/` (its unix socket) and `postgres.log`.
   * When `data/` already holds a cluster (a restart), it is reused and `password` is required.
   */
  dir: string;
  /** TCP port on 127.0.0.1; a free one by default. Pass the old port to restart in place. */
  port?: number;
  /** Superuser name; `admin` by default. */
  user?: string;
  /** Superuser password; random for a new cluster, required to restart an existing one. */
  password?: string;
  /** Folder of the PostgreSQL programs; the newest installed major by default. */
  binDir?: string;
  /** Daemon name in messages and the stack file; `postgres` by default. */
  name?: string;
  /** Extra server settings, passed as `-c key=value`. */
  settings?: Readonly<Record<string, string>>;
  /** How long to wait for a real login; 60 s by default. */
  readyTimeoutMs?: number;
}

/** A running private PostgreSQL server started by {@link startPostgresInstance}. */
export interface PostgresInstance {
  daemon: DaemonRecord;
  /** `postgres://USER:PASSWORD@127.0.0.1:PORT/postgres`, the password URL-encoded. */
  url: string;
  port: number;
  user: string;
  password: string;
  binDir: string;
  dataDir: string;
  /** Folder of the unix socket (`.s.PGSQL.<port>`). */
  socketDir: string;
  /** Fast shutdown (open sessions are ended); resolves when the server is gone. */
  stop(): Promise<void>;
}

/** Builds the URL clients use, with the credentials URL-encoded. */
export function postgresUrl(user: string, password: string, port: number, db = 'postgres'): string {
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;
}

/** True once `url` accepts a login and answers `SELECT 1`. */
export async function postgresAnswers(url: string): Promise<boolean> {
  const db = knex({
    client: 'pg',
    connection: { connectionString: url, connectionTimeoutMillis: 2_000 },
    pool: { min: 0, max: 1 },
    acquireConnectionTimeout: 3_000,
    // Refused or failed logins are expected while polling: the caller reports them, not knex.
    log: { warn: () => undefined, error: () => undefined },
  });
  try {
    const result = await db.raw<{ rows: { ok: number }[] }>('select 1 as ok');
    return result.rows[0]?.ok === 1;
  } finally {
    await db.destroy();
  }
}

function signalServer(daemon: DaemonRecord, signal: NodeJS.Signals): void {
  if (!isAlive(daemon)) return;
  try {
    process.kill(daemon.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts a private PostgreSQL server (not the system service) on 127.0.0.1, running as the
 * `postgres` system user. On first use it creates a cluster in `<dir>/data` with a superuser whose
 * password goes through a 0600 file deleted right after `initdb` (never through argv). Durability
 * is traded for speed (`fsync=off`). Resolves once a real login succeeds.
 *
 * Tests use it for an extra instance that comes up late, goes away, or restarts on the same port
 * with the same data: call it again with the same `dir`, `port` and `password`.
 */
export async function startPostgresInstance(
  options: PostgresInstanceOptions,
): Promise<PostgresInstance> {
  const binDir = options.binDir ?? requirePostgresBin();
  const account = await serviceAccount('postgres');
  const dir = privateHome(options.dir, account);
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'run');
  const user = options.user ?? 'admin';
  const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
  if (!fresh && options.password === undefined) {
    throw new HarnessError(
      `${dataDir} already holds a cluster: pass the password it was created with to restart it`,
    );
  }
  const password = options.password ?? randomBytes(18).toString('base64');
  ownedFolder(dataDir, account);
  ownedFolder(socketDir, account);
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C', HOME: dataDir };
  if (fresh) {
    const pwfile = join(socketDir, `.pwfile-${randomBytes(6).toString('hex')}`);
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    chownSync(pwfile, account.uid, account.gid);
    try {
      await run(
        'setpriv',
        asAccount(account, join(binDir, 'initdb'), [
          `--pgdata=${dataDir}`,
          `--username=${user}`,
          `--pwfile=${pwfile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--no-locale',
          '--no-sync',
          '--no-instructions',
        ]),
        { env, logFile: join(dir, 'initdb.log'), cwd: dir },
      );
    } finally {
      rmSync(pwfile, { force: true });
    }
  }
  const port = options.port ?? (await freePort());
  const url = postgresUrl(user, password, port);
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: socketDir,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    ...options.settings,
  };
  const daemon = await startDaemon({
    name: options.name ?? 'postgres',
    cmd: 'setpriv',
    args: asAccount(account, join(binDir, 'postgres'), [
      '-D',
      dataDir,
      '-p',
      String(port),
      ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ]),
    logFile: join(dir, 'postgres.log'),
    cwd: dir,
    env,
    ready: () => postgresAnswers(url),
    readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
  });
  return {
    daemon,
    url,
    port,
    user,
    password,
    binDir,
    dataDir,
    socketDir,
    async stop() {
      // SIGTERM would be a "smart" shutdown that waits for every client to leave; SIGINT is fast.
      signalServer(daemon, 'SIGINT');
      await stopDaemons([daemon]);
    },
  };
}

/**
 * A private PostgreSQL server for the stack. Exports `DEPLOYTAG_POSTGRES_URL` (superuser `admin`,
 * random password) and `DEPLOYTAG_POSTGRES_BIN` (the folder of `psql`, `pg_dump`, …).
 */
export const postgres: Component = {
  name: 'postgres',
  description: 'private PostgreSQL server on 127.0.0.1 (superuser admin)',
  async provision() {
    await ensureApt(['postgresql', 'util-linux']);
    requirePostgresBin();
  },
  async start(ctx) {
    const instance = await startPostgresInstance({ dir: ctx.dir });
    return {
      daemons: [instance.daemon],
      env: { DEPLOYTAG_POSTGRES_URL: instance.url, DEPLOYTAG_POSTGRES_BIN: instance.binDir },
    };
  },
};
