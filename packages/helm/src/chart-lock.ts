import { createHash } from 'node:crypto';
import { openSync, readFileSync, realpathSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HelmError, HelmErrorCodes } from './errors.js';

/** Options of {@link withChartLock}. */
export interface ChartLockOptions {
  /** Longest wait for another holder. */
  timeoutMs: number;
  /** How often the lock is tried again; 100 ms by default. */
  pollMs?: number;
  /** Stops the wait. */
  signal?: AbortSignal;
  /** The lock files' folder; the system's temporary folder by default. */
  dir?: string;
}

/** True when a process with this id runs on this machine. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holderOf(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `fn` while holding an exclusive lock on a chart folder, shared by every process of this
 * machine (and every caller in this one): `helm dependency build` rewrites the folder's `charts/`
 * and removes what it did not write, so two deploys from one checkout must not run it at once.
 *
 * @remarks
 * The lock is a file in the temporary folder named after the chart's real path, created
 * exclusively and holding the holder's process id; a file whose process is gone (a killed deploy)
 * is taken over. Each caller waits its turn, polling, up to `timeoutMs`.
 *
 * @param chartDir - the chart folder
 * @param fn - what to do under the lock
 * @param options - time limit, polling, cancellation
 * @throws HelmError `E_HELM_UPGRADE` when another holder keeps it past `timeoutMs`
 */
export async function withChartLock<T>(
  chartDir: string,
  fn: () => Promise<T>,
  options: ChartLockOptions,
): Promise<T> {
  const key = createHash('sha256').update(realpathSync(chartDir)).digest('hex').slice(0, 24);
  const file = join(options.dir ?? tmpdir(), `deploytag-chart-${key}.lock`);
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, String(process.pid));
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = holderOf(file);
    if (holder !== undefined && !alive(holder)) {
      // Left by a deploy that was killed: nobody holds it.
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new HelmError(
        HelmErrorCodes.UPGRADE,
        `another deploy (process ${holder ?? '?'}) kept the chart ${chartDir} locked for more than ${Math.round(options.timeoutMs / 1000)} s while building its dependencies; wait for it, or remove ${file} if no deploy runs`,
      );
    }
    await sleep(options.pollMs ?? 100, undefined, options.signal ? { signal: options.signal } : {});
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
