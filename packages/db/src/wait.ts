import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeploytagError, ErrorCodes, TimeoutError, silentLogger } from '@deploytag/core';
import type { Logger } from '@deploytag/core';
import knex from 'knex';
import type { DatabaseConfig } from './config.js';
import { describe } from './errors.js';
import { knexConfig } from './server.js';

/** Options of {@link waitForDatabase}. */
export interface WaitForDatabaseOptions {
  /** How long to keep trying, in milliseconds; 10 000 (the original's 10 s) unless given. */
  timeoutMs?: number;
  /**
   * Database to log in to; the administrative one unless given (the deployment's own database may
   * not exist yet).
   */
  database?: string;
  /** Progress: one debug line per failed attempt, one info line when the server answers. */
  logger?: Logger;
  /**
   * Only wait for the TCP port to accept connections, as the original `db_wait.sh` did (no
   * credentials needed).
   */
  tcpOnly?: boolean;
  /** Stops waiting (rejects with `E_ABORTED`). */
  signal?: AbortSignal;
}

/** What {@link waitForDatabase} saw. */
export interface WaitResult {
  /** Attempts made, the successful one included. */
  attempts: number;
  /** Time from the first attempt to the successful login, in milliseconds. */
  elapsedMs: number;
}

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 1_000;
const MAX_ATTEMPT_MS = 3_000;
const MIN_ATTEMPT_MS = 250;

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP connect to ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

async function login(
  config: DatabaseConfig,
  database: string | undefined,
  timeoutMs: number,
): Promise<void> {
  const db = knex(knexConfig(config, database, { connectTimeoutMs: timeoutMs, poolMax: 1 }));
  try {
    await db.raw('select 1');
  } finally {
    await db.destroy();
  }
}

/**
 * Waits until the database server accepts a real login (the original `db_wait.sh` only waited for
 * the TCP port): each attempt opens a TCP connection, then logs in and runs `SELECT 1`. Attempts
 * back off from 100 ms to 1 s between tries, and none runs past the deadline.
 *
 * @param config - the connection settings
 * @param options - deadline (10 s unless given), database, logger, abort signal
 * @returns the number of attempts and the time it took
 * @throws TimeoutError (`E_TIMEOUT`) naming the host, the port and the last error seen
 */
export async function waitForDatabase(
  config: DatabaseConfig,
  options: WaitForDatabaseOptions = {},
): Promise<WaitResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const logger = options.logger ?? silentLogger;
  const database = options.database ?? config.adminDatabase;
  const started = performance.now();
  const deadline = started + timeoutMs;
  const where = `${config.host}:${config.port}`;
  let delay = FIRST_DELAY_MS;
  let attempts = 0;
  let lastError = 'no attempt finished';
  logger.debug(`waiting up to ${timeoutMs} ms for the database server at ${where}`);
  for (;;) {
    if (options.signal?.aborted === true) {
      throw new DeploytagError(ErrorCodes.ABORTED, `stopped waiting for the database at ${where}`, {
        cause: options.signal.reason,
      });
    }
    attempts += 1;
    const left = deadline - performance.now();
    const budget = Math.max(100, Math.min(MAX_ATTEMPT_MS, left));
    try {
      await tcpProbe(config.host, config.port, budget);
      if (options.tcpOnly !== true) {
        await login(
          config,
          database,
          Math.max(100, Math.min(MAX_ATTEMPT_MS, deadline - performance.now())),
        );
      }
      const elapsedMs = Math.round(performance.now() - started);
      logger.info(
        `database server at ${where} accepts ${options.tcpOnly === true ? 'connections' : 'logins'} (after ${attempts} attempt(s), ${elapsedMs} ms)`,
      );
      return { attempts, elapsedMs };
    } catch (error) {
      lastError = describe(error);
      logger.debug(`database at ${where} not ready (attempt ${attempts}): ${lastError}`);
    }
    const remaining = deadline - performance.now();
    if (remaining <= 0) break;
    await sleep(
      Math.min(delay, remaining),
      undefined,
      options.signal ? { signal: options.signal } : {},
    ).catch(() => undefined);
    delay = Math.min(delay * 2, MAX_DELAY_MS);
    // An attempt with almost no time left could only time out, hiding the real last error.
    if (deadline - performance.now() < MIN_ATTEMPT_MS) break;
  }
  throw new TimeoutError(
    `the database server at ${where} did not accept ${options.tcpOnly === true ? 'a connection' : 'a login'} within ${timeoutMs / 1000} s ` +
      `(${attempts} attempt(s)); last error: ${lastError}. Check that it is running and that ` +
      `${config.source} points at it, or wait longer with --timeout`,
    timeoutMs,
    { details: { host: config.host, port: config.port, attempts, lastError } },
  );
}
