import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { withChartLock } from './chart-lock.js';
import { HelmError } from './errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'deploytag-chart-lock-unit-'));
const locks = mkdtempSync(join(tmpdir(), 'deploytag-chart-lock-files-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(locks, { recursive: true, force: true });
});

describe('withChartLock', () => {
  it('lets one caller in at a time and removes its file afterwards', async () => {
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      [0, 1, 2, 3].map((n) =>
        withChartLock(
          scratch,
          async () => {
            inside++;
            most = Math.max(most, inside);
            await sleep(30);
            order.push(n);
            inside--;
          },
          { timeoutMs: 5_000, pollMs: 5, dir: locks },
        ),
      ),
    );
    expect(most).toBe(1);
    expect(order.sort()).toEqual([0, 1, 2, 3]);
    expect(readdirSync(locks)).toEqual([]);
  });

  it('releases the lock when the work fails', async () => {
    await expect(
      withChartLock(scratch, () => Promise.reject(new Error('boom')), {
        timeoutMs: 1_000,
        dir: locks,
      }),
    ).rejects.toThrow('boom');
    expect(readdirSync(locks)).toEqual([]);
  });

  it('takes over a lock left by a process that is gone', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const key = createHash('sha256').update(realpathSync(scratch)).digest('hex').slice(0, 24);
    writeFileSync(join(locks, `deploytag-chart-${key}.lock`), gone.stdout);
    let ran = false;
    await withChartLock(
      scratch,
      () => {
        ran = true;
        return Promise.resolve();
      },
      { timeoutMs: 1_000, dir: locks },
    );
    expect(ran).toBe(true);
    expect(readdirSync(locks)).toEqual([]);
  });

  it('gives up after the time limit on a live holder, naming it and the file', async () => {
    const holding = withChartLock(scratch, () => sleep(500), { timeoutMs: 5_000, dir: locks });
    await sleep(20);
    const err = await withChartLock(scratch, () => Promise.resolve(), {
      timeoutMs: 100,
      pollMs: 10,
      dir: locks,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HelmError);
    expect((err as HelmError).message).toMatch(
      new RegExp(`^another deploy \\(process ${process.pid}\\) kept the chart ${scratch} locked`),
    );
    await holding;
  });
});
