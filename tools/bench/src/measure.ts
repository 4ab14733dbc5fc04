import { spawnSync } from 'node:child_process';

/** Summary of repeated timings, in milliseconds. */
export interface Timing {
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
}

/** One benchmark figure: a subject measured against a baseline in the same run. */
export interface BenchResult {
  /** Short id, e.g. `cli-start`. */
  name: string;
  /** What the figure means, one line. */
  description: string;
  baseline: { label: string; timing: Timing };
  subject: { label: string; timing: Timing };
  /** subject median / baseline median: the number to read. */
  ratio: number;
  /** Extra figures (peak memory, counts), already in their units. */
  extra?: Record<string, number | string>;
}

/** What a benchmark module receives. */
export interface BenchContext {
  /** Environment of the running stack (same variables the integration tests get). */
  env: Record<string, string>;
  /** A scratch folder removed after the run. */
  tmp: string;
  /** Scale factor: 1 by default, lower with `--quick` for a smoke run. */
  scale: number;
  log(line: string): void;
}

/** A benchmark module's default export. */
export type Benchmark = (ctx: BenchContext) => Promise<BenchResult[]>;

/** Median, minimum and maximum of samples taken by hand (such as alternating runs). */
export function summarise(samples: number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return {
    runs: sorted.length,
    medianMs: median,
    minMs: sorted[0]!,
    maxMs: sorted[sorted.length - 1]!,
  };
}

/** Times an async function `runs` times (after `warmup` untimed runs). */
export async function time(fn: () => Promise<unknown>, runs = 5, warmup = 1): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return summarise(samples);
}

/** Times a whole command (spawned, not through a shell), interleaving nothing else. */
export async function timeCommand(
  cmd: string,
  args: readonly string[],
  runs = 5,
  env?: NodeJS.ProcessEnv,
): Promise<Timing> {
  return await time(() => {
    const r = spawnSync(cmd, args, { env: env ?? process.env, stdio: 'ignore' });
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
    return Promise.resolve();
  }, runs);
}

/** Builds a result from two timings. */
export function compare(
  name: string,
  description: string,
  baseline: { label: string; timing: Timing },
  subject: { label: string; timing: Timing },
  extra?: Record<string, number | string>,
): BenchResult {
  return {
    name,
    description,
    baseline,
    subject,
    ratio: subject.timing.medianMs / baseline.timing.medianMs,
    ...(extra ? { extra } : {}),
  };
}
