import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TimeoutError } from '@deploytag/core';
import { requireEnv, startMariadbInstance, startPostgresInstance } from '@deploytag/harness';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveDatabaseConfig, waitForDatabase } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'deploytag-db-wait-'));
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops) await stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A port nothing listens on (the kernel hands it out, then it is released). */
async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });
}

describe('waitForDatabase', () => {
  it('returns at once for a running server', async () => {
    for (const variable of ['DEPLOYTAG_POSTGRES_URL', 'DEPLOYTAG_MARIADB_URL']) {
      const config = resolveDatabaseConfig({
        env: { DATABASE_URL: requireEnv(variable), DATABASE: 'x' },
      });
      const result = await waitForDatabase(config);
      expect(result.attempts).toBe(1);
    }
  });

  it('waits for a PostgreSQL server that comes up 3 s late', async () => {
    const port = await freePort();
    const password = 'late-pg-password';
    const config = resolveDatabaseConfig({
      env: {
        DATABASE_URL: `postgres://admin:${password}@127.0.0.1:${port}/postgres`,
        DATABASE: 'x',
      },
    });
    const waiting = waitForDatabase(config, { timeoutMs: 60_000 });
    await sleep(3_000);
    const instance = await startPostgresInstance({
      dir: join(dir, 'pg'),
      port,
      password,
      name: 'postgres-late',
    });
    stops.push(instance.stop);
    const result = await waiting;
    expect(result.attempts).toBeGreaterThan(3);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(3_000);
  });

  it('waits for a MariaDB server that comes up 3 s late', async () => {
    const port = await freePort();
    const password = 'late-maria-password';
    const config = resolveDatabaseConfig({
      env: { DATABASE_URL: `mysql2://admin:${password}@127.0.0.1:${port}/`, DATABASE: 'x' },
    });
    const waiting = waitForDatabase(config, { timeoutMs: 60_000 });
    await sleep(3_000);
    const instance = await startMariadbInstance({
      dir: join(dir, 'maria'),
      port,
      password,
      name: 'mariadbd-late',
    });
    stops.push(instance.stop);
    const result = await waiting;
    expect(result.attempts).toBeGreaterThan(3);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(3_000);
  });

  it('fails within its deadline, naming the host, the port and the last error', async () => {
    const port = await freePort();
    const config = resolveDatabaseConfig({
      env: { DATABASE_URL: `postgres://admin:pw@127.0.0.1:${port}/postgres`, DATABASE: 'x' },
    });
    const started = performance.now();
    const error = await waitForDatabase(config, { timeoutMs: 1_500 }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'E_TIMEOUT', timeoutMs: 1_500 });
    expect((error as Error).message).toMatch(
      new RegExp(
        `the database server at 127\\.0\\.0\\.1:${port} did not accept a login within 1\\.5 s .*last error: .*ECONNREFUSED`,
      ),
    );
    // It kept trying until its deadline (a lower bound: no upper-bound timing assertion, which a
    // loaded machine would break).
    expect(elapsed).toBeGreaterThanOrEqual(1_400);
  });

  it('reports a refused login as the last error when the server is up but the password is wrong', async () => {
    const url = new URL(requireEnv('DEPLOYTAG_POSTGRES_URL'));
    url.password = 'wrong';
    const config = resolveDatabaseConfig({ env: { DATABASE_URL: url.toString(), DATABASE: 'x' } });
    await expect(waitForDatabase(config, { timeoutMs: 3_000 })).rejects.toThrow(
      /last error: password authentication failed/,
    );
    // The original db_wait.sh only waited for the port: still available, no credentials needed.
    const result = await waitForDatabase(config, { tcpOnly: true, timeoutMs: 3_000 });
    expect(result.attempts).toBe(1);
  });
});
