import { ConfigError, isDeploytagError, silentLogger, type Logger } from '@deploytag/core';

/** Where a step stands. */
export type StepStatus = 'pending' | 'running' | 'done' | 'skipped' | 'failed' | 'cancelled';

/** What a running step gets. */
export interface StepContext {
  /** Aborted when the run is cancelled (a signal, or fail-fast after another step failed). */
  signal: AbortSignal;
  /** The step's own logger (tagged with its id). */
  logger: Logger;
  /** Outputs of a step this one needs (undefined for a skipped one). */
  outputsOf(stepId: string): Readonly<Record<string, string>> | undefined;
}

/** What a step returns: named outputs (an image ref, a URL) and an optional one-line summary. */
export interface StepResult {
  outputs?: Record<string, string>;
  /** Shown next to the step: what it did ("built base-3f2a…", "up to date"). */
  summary?: string;
}

/** One step of a plan. */
export interface Step {
  /** Stable id used by `needs`, `--only` and `--skip` (e.g. `base-image`). */
  id: string;
  /** Human title ("Build the base image"). */
  title: string;
  /** Ids of the steps that must finish first. */
  needs?: readonly string[];
  /** What the step would do and why, for `--dry-run` ("base image up to date: tag base-3f2a exists"). */
  plan: string;
  /** Does the work. */
  run(ctx: StepContext): Promise<StepResult>;
}

/** The outcome of one step in a run. */
export interface StepReport {
  id: string;
  title: string;
  needs: string[];
  status: StepStatus;
  plan: string;
  summary?: string;
  /** Why it was skipped or cancelled. */
  reason?: string;
  startedAt?: string;
  durationMs?: number;
  outputs?: Record<string, string>;
  error?: { code: string; message: string };
}

/** The outcome of a run. */
export interface RunReport {
  ok: boolean;
  durationMs: number;
  steps: StepReport[];
}

/** A step changing status, for live progress (a TTY task list, CI lines, NDJSON). */
export interface StepEvent {
  step: StepReport;
}

export interface RunStepsOptions {
  /** Run only these steps (others are skipped); their needs must be satisfiable. */
  only?: readonly string[];
  /** Skip these steps; steps that need them still run (with no outputs from them). */
  skip?: readonly string[];
  /** Why a skipped step is skipped (default: "skipped by --skip"), by step id. */
  skipReasons?: Readonly<Record<string, string>>;
  /** Cancels the run: running steps see their signal abort, pending ones are cancelled. */
  signal?: AbortSignal;
  /** When a step fails, cancel the rest (default true). */
  failFast?: boolean;
  /** Most steps running at once (default: no limit); 1 runs them one after another. */
  concurrency?: number;
  logger?: Logger;
  /** Called whenever a step changes status. */
  onEvent?: (event: StepEvent) => void;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * Checks a plan: ids unique, every `needs` names a step, no cycles, and `only`/`skip` name steps.
 * Returns the steps in a dependency order. Throws a {@link ConfigError} naming the problem.
 */
export function orderSteps(
  steps: readonly Step[],
  options: Pick<RunStepsOptions, 'only' | 'skip'> = {},
): Step[] {
  const byId = new Map<string, Step>();
  for (const s of steps) {
    if (byId.has(s.id))
      throw new ConfigError(`two steps are named "${s.id}": step ids must be unique`);
    byId.set(s.id, s);
  }
  for (const s of steps) {
    for (const n of s.needs ?? []) {
      if (!byId.has(n))
        throw new ConfigError(`step "${s.id}" needs "${n}", which is not a step of this plan`);
    }
  }
  for (const [flag, list] of [
    ['--only', options.only],
    ['--skip', options.skip],
  ] as const) {
    for (const id of list ?? []) {
      if (!byId.has(id))
        throw new ConfigError(
          `${flag} ${id}: no such step; the steps are ${[...byId.keys()].join(', ')}`,
        );
    }
  }
  const ordered: Step[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: Step, path: string[]): void => {
    const st = state.get(s.id);
    if (st === 'done') return;
    if (st === 'visiting')
      throw new ConfigError(
        `steps depend on each other in a cycle: ${[...path, s.id].join(' → ')}`,
      );
    state.set(s.id, 'visiting');
    for (const n of s.needs ?? []) visit(byId.get(n)!, [...path, s.id]);
    state.set(s.id, 'done');
    ordered.push(s);
  };
  for (const s of steps) visit(s, []);
  return ordered;
}

/**
 * Runs a plan: each step starts as soon as every step it needs is done (or skipped), so
 * independent steps run concurrently. A failed step cancels the rest (unless `failFast: false`,
 * in which case only the steps depending on it are cancelled). Never throws for a step's failure:
 * the report says what happened; it throws only for an invalid plan.
 */
export async function runSteps(
  steps: readonly Step[],
  options: RunStepsOptions = {},
): Promise<RunReport> {
  const ordered = orderSteps(steps, options);
  const now = options.now ?? Date.now;
  const logger = options.logger ?? silentLogger;
  const failFast = options.failFast ?? true;
  const limit = Math.max(1, options.concurrency ?? Number.POSITIVE_INFINITY);
  const t0 = now();
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) controller.abort(options.signal.reason);
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const reports = new Map<string, StepReport>(
    ordered.map((s) => [
      s.id,
      { id: s.id, title: s.title, needs: [...(s.needs ?? [])], status: 'pending', plan: s.plan },
    ]),
  );
  const emit = (r: StepReport) => options.onEvent?.({ step: { ...r } });
  const only = options.only ? new Set(options.only) : undefined;
  const skip = new Set(options.skip ?? []);
  for (const s of ordered) {
    const r = reports.get(s.id)!;
    if (skip.has(s.id))
      Object.assign(r, {
        status: 'skipped',
        reason: options.skipReasons?.[s.id] ?? 'skipped by --skip',
      });
    else if (only && !only.has(s.id))
      Object.assign(r, { status: 'skipped', reason: 'not in --only' });
    if (r.status === 'skipped') emit(r);
  }

  const settled = (id: string) => {
    const st = reports.get(id)!.status;
    return st === 'done' || st === 'skipped';
  };
  const running = new Map<string, Promise<void>>();
  // Set when a failure cancelled the run (fail-fast), as opposed to the caller's signal.
  const cancelledBy = { failure: false };
  const cancelReason = () =>
    cancelledBy.failure ? 'another step failed' : 'the run was cancelled';

  const start = (s: Step) => {
    const r = reports.get(s.id)!;
    r.status = 'running';
    r.startedAt = new Date(now()).toISOString();
    const began = now();
    emit(r);
    const ctx: StepContext = {
      signal: controller.signal,
      logger: logger.child(s.id),
      outputsOf: (id) => reports.get(id)?.outputs,
    };
    const p = (async () => {
      try {
        const result = await s.run(ctx);
        // A step that finished its work is done, even if the run was cancelled meanwhile.
        r.status = 'done';
        if (result.outputs) r.outputs = { ...result.outputs };
        if (result.summary !== undefined) r.summary = result.summary;
      } catch (err) {
        if (controller.signal.aborted) {
          // It stopped because the run was cancelled (by a signal, or because another step failed).
          r.status = 'cancelled';
          r.reason = cancelReason();
        } else {
          r.status = 'failed';
          r.error = isDeploytagError(err)
            ? { code: err.code, message: err.message }
            : { code: 'E_INTERNAL', message: err instanceof Error ? err.message : String(err) };
          if (failFast) {
            cancelledBy.failure = true;
            controller.abort(new Error(`step ${s.id} failed`));
          }
        }
      } finally {
        r.durationMs = now() - began;
        running.delete(s.id);
        emit(r);
      }
    })();
    running.set(s.id, p);
  };

  for (;;) {
    let progressed = false;
    for (const s of ordered) {
      const r = reports.get(s.id)!;
      if (r.status !== 'pending') continue;
      const needs = s.needs ?? [];
      const blocker = needs.find((n) => ['failed', 'cancelled'].includes(reports.get(n)!.status));
      if (controller.signal.aborted || blocker !== undefined) {
        r.status = 'cancelled';
        r.reason = controller.signal.aborted
          ? cancelReason()
          : `${blocker ?? 'a needed step'} did not complete`;
        emit(r);
        progressed = true;
        continue;
      }
      if (needs.every(settled) && running.size < limit) {
        start(s);
        progressed = true;
      }
    }
    if (running.size === 0 && !progressed) break;
    if (running.size > 0) await Promise.race(running.values());
  }
  options.signal?.removeEventListener('abort', onAbort);
  const list = ordered.map((s) => reports.get(s.id)!);
  return {
    ok: list.every((r) => r.status === 'done' || r.status === 'skipped'),
    durationMs: now() - t0,
    steps: list,
  };
}
