import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeploytagError, silentLogger } from '@deploytag/core';
import type { Logger } from '@deploytag/core';
import type { Knex } from 'knex';
import { DbErrorCodes } from './errors.js';
import { asText, rowsOf } from './server.js';
import type { DatabaseServer } from './server.js';

/** Options of {@link withDatabaseLock}. */
export interface DatabaseLockOptions {
  /** How long to wait for another run to finish; 15 minutes unless given. */
  timeoutMs?: number;
  /** How often to try again while another run holds the lock; 500 ms unless given. */
  pollMs?: number;
  /** Waiting is reported at info level, at most every 5 s, naming the holder. */
  logger?: Logger;
  /** Stops waiting. */
  signal?: AbortSignal;
}

/** The two 32-bit halves of the advisory-lock key of a database, and the MySQL lock name. */
export interface LockKey {
  /** High 32 bits (pg_locks.classid), unsigned. */
  high: number;
  /** Low 32 bits (pg_locks.objid), unsigned. */
  low: number;
  /** The same key as a signed 64-bit integer, as text (for `pg_try_advisory_lock(bigint)`). */
  bigint: string;
  /** The MySQL `GET_LOCK` name (at most 64 characters). */
  name: string;
}

/**
 * The lock key for initialising database `name`: derived from SHA-256 of `deploytag:init:<name>`,
 * so every DeployTag run (any process, any machine) computes the same key for the same database.
 *
 * @param name - the database name
 */
export function lockKey(name: string): LockKey {
  const digest = createHash('sha256').update(`deploytag:init:${name}`).digest();
  const high = digest.readUInt32BE(0);
  const low = digest.readUInt32BE(4);
  const bigint = digest.readBigInt64BE(0).toString();
  return { high, low, bigint, name: `deploytag:init:${digest.toString('hex').slice(0, 40)}` };
}

/** A connection taken out of knex's pool, so that a session-level lock stays on one session. */
interface Pinned {
  raw(sql: string, bindings?: readonly Knex.Value[]): Promise<unknown>;
  release(): Promise<void>;
}

interface PoolClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
}

async function pin(db: Knex): Promise<Pinned> {
  const client = db.client as PoolClient;
  const connection = await client.acquireConnection();
  return {
    raw: async (sql, bindings = []) =>
      (await db.raw(sql, bindings).connection(connection)) as unknown,
    release: () => client.releaseConnection(connection),
  };
}

async function holderOf(server: DatabaseServer, key: LockKey, own: Pinned): Promise<string> {
  try {
    if (server.engine === 'postgresql') {
      const rows = rowsOf(
        server.engine,
        await own.raw(
          `select a.pid, a.usename, a.application_name, coalesce(a.client_addr::text, 'local') as client,
                  a.backend_start
             from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where l.locktype = 'advisory' and l.granted and l.objsubid = 1
              and l.classid::bigint = ? and l.objid::bigint = ?`,
          [key.high, key.low],
        ),
      );
      const row = rows[0];
      if (row === undefined) return 'a session that just let go';
      return `PostgreSQL session pid ${asText(row['pid'])} (user ${asText(row['usename'])}, ${asText(row['application_name']) || 'no application name'}, from ${asText(row['client'])}, connected since ${new Date(asText(row['backend_start'])).toISOString()})`;
    }
    const used = rowsOf(
      server.engine,
      await own.raw('select is_used_lock(?) as holder', [key.name]),
    );
    const id = used[0]?.['holder'];
    if (id === null || id === undefined) return 'a session that just let go';
    const rows = rowsOf(
      server.engine,
      await own.raw(
        'select id, user, host, db, command, time from information_schema.processlist where id = ?',
        [Number(id)],
      ),
    );
    const row = rows[0];
    if (row === undefined) return `MySQL connection ${asText(id)}`;
    return `MySQL connection ${asText(id)} (user ${asText(row['user'])}, from ${asText(row['host'])}, ${asText(row['command'])} for ${asText(row['time'])} s)`;
  } catch (error) {
    return `another session (could not read who: ${(error as Error).message})`;
  }
}

/**
 * Runs `fn` while holding the server-wide init lock of database `name`, so that two pipelines
 * initialising the same database at once do not both create it or run migrations twice: the
 * second waits, then finds the work done.
 *
 * @remarks
 * The lock is a PostgreSQL session advisory lock (`pg_try_advisory_lock`) or a MySQL/MariaDB
 * `GET_LOCK`, held on one pinned connection to the administrative database (the database being
 * initialised may not exist yet, and a lock cannot be taken inside it). While waiting, the holder
 * is reported from `pg_locks` + `pg_stat_activity` (or `IS_USED_LOCK` + the process list). The
 * lock is released when `fn` settles, and by the server if this process dies.
 *
 * @param server - an open server
 * @param name - the database being initialised
 * @param fn - the work to do under the lock
 * @param options - time limit, poll interval, logger, abort signal
 * @throws DeploytagError `E_DB_LOCK_TIMEOUT` naming the holder when the lock is not free in time
 */
export async function withDatabaseLock<T>(
  server: DatabaseServer,
  name: string,
  fn: () => Promise<T>,
  options: DatabaseLockOptions = {},
): Promise<T> {
  const logger = options.logger ?? silentLogger;
  const timeoutMs = options.timeoutMs ?? 15 * 60_000;
  const pollMs = options.pollMs ?? 500;
  const key = lockKey(name);
  const own = await pin(server.admin);
  try {
    const started = performance.now();
    let lastReport = -Infinity;
    for (;;) {
      const got =
        server.engine === 'postgresql'
          ? rowsOf(
              server.engine,
              await own.raw('select pg_try_advisory_lock(?::bigint) as got', [key.bigint]),
            )[0]?.['got'] === true
          : Number(
              rowsOf(server.engine, await own.raw('select get_lock(?, 0) as got', [key.name]))[0]?.[
                'got'
              ],
            ) === 1;
      if (got) break;
      const waited = performance.now() - started;
      const holder =
        waited - lastReport >= 5_000 || waited >= timeoutMs
          ? await holderOf(server, key, own)
          : undefined;
      if (waited >= timeoutMs) {
        throw new DeploytagError(
          DbErrorCodes.LOCK_TIMEOUT,
          `another run has been initialising database ${name} for over ${Math.round(timeoutMs / 1000)} s and still holds its lock: ${holder ?? 'unknown'}. ` +
            'Wait for it to finish, or end that session if it is stuck, then run init-db again',
          { details: { database: name, holder } },
        );
      }
      if (holder !== undefined) {
        lastReport = waited;
        logger.info(`waiting for the init lock of database ${name}, held by ${holder}`);
      }
      await sleep(pollMs, undefined, options.signal ? { signal: options.signal } : {});
    }
    logger.debug(`holding the init lock of database ${name}`);
    try {
      return await fn();
    } finally {
      const sql =
        server.engine === 'postgresql'
          ? 'select pg_advisory_unlock(?::bigint)'
          : 'select release_lock(?)';
      await own
        .raw(sql, [server.engine === 'postgresql' ? key.bigint : key.name])
        .catch((error: unknown) => {
          logger.warn(
            `could not release the init lock of database ${name} (${(error as Error).message}); it is freed when the session ends`,
          );
        });
    }
  } finally {
    await own.release();
  }
}
