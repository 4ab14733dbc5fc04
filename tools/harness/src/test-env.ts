import { readdirSync, readFileSync } from 'node:fs';

/**
 * Reads a variable the harness exported for tests. A missing one means the test ran outside the
 * integration tier (or the component is not up): say so instead of failing obscurely.
 */
export function requireEnv(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') {
    throw new Error(
      `${name} is not set: run this test in the integration tier (npm run test:integ), which starts the stack`,
    );
  }
  return v;
}

/**
 * The command line of every process on the machine (arguments joined by spaces), for tests proving
 * that no secret ever appears in a process's arguments. Processes that exit while being read are
 * skipped.
 */
export function processCommandLines(): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      try {
        return [readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ')];
      } catch {
        return [];
      }
    });
}
