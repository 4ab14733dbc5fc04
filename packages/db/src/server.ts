import { silentLogger } from '@deploytag/core';
import type { Logger } from '@deploytag/core';
import type { DatabaseEngine } from '@deploytag/context';
import knex from 'knex';
import type { Knex } from 'knex';
import type { DatabaseConfig } from './config.js';

/**
 * An open connection to a database server: a knex instance on the administrative database, and
 * knex instances on other databases opened on demand. Create it with {@link connectServer}; close
 * it with {@link DatabaseServer.close}.
 */
export interface DatabaseServer {
  /** The settings it was opened with. */
  readonly config: DatabaseConfig;
  /** The server kind. */
  readonly engine: DatabaseEngine;
  /** Connected to the administrative database (`postgres`; none on MySQL). */
  readonly admin: Knex;
  /**
   * A knex instance connected to database `name` (kept and reused until {@link close}).
   *
   * @param name - the database
   */
  database(name: string): Knex;
  /**
   * Closes the connections to database `name`, if open (for example before it is dropped or used
   * as a template).
   *
   * @param name - the database
   */
  release(name: string): Promise<void>;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** Options of {@link connectServer} and {@link knexConfig}. */
export interface ConnectOptions {
  /** Receives knex's own warnings (at debug level). */
  logger?: Logger;
  /** How long one connection attempt may take; 10 s unless given. */
  connectTimeoutMs?: number;
  /** Most connections per database; 4 unless given. */
  poolMax?: number;
}

/**
 * The knex configuration for one database of `config`'s server. The password is handed to the
 * driver in-process only (never to a program's arguments or environment).
 *
 * @param config - the connection settings
 * @param database - the database to connect to; none (MySQL) or the server default when undefined
 * @param options - timeouts, pool size, logger
 */
export function knexConfig(
  config: DatabaseConfig,
  database: string | undefined,
  options: ConnectOptions = {},
): Knex.Config {
  const logger = options.logger ?? silentLogger;
  // The pool (tarn) accepts whole milliseconds only.
  const timeout = Math.max(1, Math.round(options.connectTimeoutMs ?? 10_000));
  const ssl =
    config.ssl === undefined ? undefined : { rejectUnauthorized: config.ssl === 'verify' };
  const common = {
    host: config.host,
    port: config.port,
    ...(config.user === undefined ? {} : { user: config.user }),
    ...(config.password === undefined ? {} : { password: config.password.reveal() }),
    ...(database === undefined ? {} : { database }),
    ...(ssl === undefined ? {} : { ssl }),
  };
  const connection =
    config.engine === 'postgresql'
      ? { ...common, connectionTimeoutMillis: timeout, application_name: 'deploytag' }
      : { ...common, connectTimeout: timeout, charset: 'utf8mb4' };
  return {
    client: config.engine === 'postgresql' ? 'pg' : 'mysql2',
    connection,
    pool: { min: 0, max: options.poolMax ?? 4, idleTimeoutMillis: 5_000 },
    acquireConnectionTimeout: timeout + 1_000,
    log: {
      warn: (message: unknown) => {
        logger.debug(`knex: ${String(message)}`);
      },
      error: (message: unknown) => {
        logger.debug(`knex: ${String(message)}`);
      },
      deprecate: (message: unknown) => {
        logger.debug(`knex: ${String(message)}`);
      },
      debug: () => undefined,
    },
  };
}

/**
 * Opens a {@link DatabaseServer} for `config` (lazily: nothing connects until the first query).
 *
 * @param config - the connection settings
 * @param options - timeouts, pool size, logger
 */
export function connectServer(
  config: DatabaseConfig,
  options: ConnectOptions = {},
): DatabaseServer {
  const admin = knex(knexConfig(config, config.adminDatabase, options));
  const others = new Map<string, Knex>();
  return {
    config,
    engine: config.engine,
    admin,
    database(name) {
      let db = others.get(name);
      if (db === undefined) {
        const base = knexConfig(config, name, options);
        const ids = new Set<number>();
        db = knex({
          ...base,
          pool: {
            ...base.pool,
            // Remember each connection's server session, so its statement can be cancelled.
            afterCreate: (connection: unknown, done: (error: null, c: unknown) => void) => {
              const id = sessionIdOf(connection);
              if (id !== undefined) ids.add(id);
              done(null, connection);
            },
          },
        });
        sessions.set(db, ids);
        others.set(name, db);
      }
      return db;
    },
    async release(name) {
      const db = others.get(name);
      if (db === undefined) return;
      others.delete(name);
      await db.destroy();
    },
    async close() {
      const all = [admin, ...others.values()];
      others.clear();
      await Promise.all(all.map((db) => db.destroy()));
    },
  };
}

/** Server session ids (PostgreSQL backend pids, MySQL connection ids) of each database pool. */
const sessions = new WeakMap<Knex, Set<number>>();

function sessionIdOf(connection: unknown): number | undefined {
  const c = connection as { processID?: unknown; threadId?: unknown } | null;
  const id = c?.processID ?? c?.threadId;
  return typeof id === 'number' && Number.isInteger(id) ? id : undefined;
}

/**
 * Cancels the statements running on this server's connections to database `name` (opened with
 * {@link DatabaseServer.database}), from the administrative connection: `pg_cancel_backend` on
 * PostgreSQL, `KILL QUERY` on MySQL/MariaDB. The sessions stay open; the statement fails with
 * the server's "cancelled" error and a transaction around it rolls back. Other clients' sessions
 * are never touched: only sessions this process opened and that are running a statement now.
 *
 * @param server - an open server
 * @param name - the database
 * @returns how many statements were cancelled
 */
export async function cancelRunningStatements(
  server: DatabaseServer,
  name: string,
): Promise<number> {
  const ids = [...(sessions.get(server.database(name)) ?? [])];
  if (ids.length === 0) return 0;
  if (server.engine === 'postgresql') {
    const rows = rowsOf(
      server.engine,
      await server.admin.raw(
        `select pg_cancel_backend(pid) as cancelled from pg_stat_activity
          where pid = any(?::int[]) and datname = ? and state = 'active' and pid <> pg_backend_pid()`,
        [`{${ids.join(',')}}`, name],
      ),
    );
    return rows.filter((r) => r['cancelled'] === true).length;
  }
  const rows = rowsOf(
    server.engine,
    await server.admin.raw(
      `select id from information_schema.processlist where db = ? and command = 'Query' and id in (${ids.map(() => '?').join(',')})`,
      [name, ...ids],
    ),
  );
  let cancelled = 0;
  for (const row of rows) {
    const id = Number(row['id']);
    if (!Number.isInteger(id)) continue;
    // KILL takes no placeholder; the id is an integer read from the server.
    await server.admin.raw(`kill query ${id}`);
    cancelled++;
  }
  return cancelled;
}

/** A value read from a result row, as text (empty for null). */
export function asText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/** The rows of a `knex.raw` result, whichever the driver (`{ rows }` for pg, `[rows]` for mysql2). */
export function rowsOf(engine: DatabaseEngine, result: unknown): Record<string, unknown>[] {
  if (engine === 'postgresql') {
    return (result as { rows: Record<string, unknown>[] }).rows;
  }
  return (result as [Record<string, unknown>[], unknown])[0];
}
