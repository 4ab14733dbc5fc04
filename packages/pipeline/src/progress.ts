import type { RunReport, StepEvent, StepReport, StepStatus } from './steps.js';

/** How progress is shown: a live task list, plain CI lines, GitHub Actions lines, or nothing. */
export type ProgressMode = 'tty' | 'plain' | 'github' | 'silent';

/** Picks the mode: GitHub Actions when it runs us, a live list on a terminal, plain lines otherwise. */
export function detectProgressMode(
  env: Record<string, string | undefined>,
  isTTY: boolean,
): ProgressMode {
  if (env['GITHUB_ACTIONS'] === 'true') return 'github';
  if (isTTY && env['CI'] === undefined && env['TERM'] !== 'dumb') return 'tty';
  return 'plain';
}

/** `850ms`, `12.3s`, `2m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m${String(s).padStart(2, '0')}s`;
}

const MARK: Record<StepStatus, string> = {
  pending: '·',
  running: '▸',
  done: '✓',
  skipped: '-',
  failed: '✗',
  cancelled: '○',
};

function detail(step: StepReport): string {
  if (step.status === 'failed') return step.error?.message ?? 'failed';
  if (step.status === 'skipped' || step.status === 'cancelled') return step.reason ?? step.status;
  if (step.status === 'running') return step.title;
  return step.summary ?? step.title;
}

/** One line for a step's change of status, as CI logs show it (timestamped, no colour). */
export function renderPlainEvent(event: StepEvent, at: Date): string {
  const s = event.step;
  const took =
    s.durationMs !== undefined && s.status !== 'running' ? ` ${formatDuration(s.durationMs)}` : '';
  return `${at.toISOString()} ${MARK[s.status]} ${s.id}${took}  ${detail(s)}`;
}

/** GitHub Actions workflow commands for an event: plain line, plus an error annotation on failure. */
export function renderGithubEvent(event: StepEvent, at: Date): string[] {
  const lines = [renderPlainEvent(event, at)];
  const s = event.step;
  if (s.status === 'failed') {
    const escape = (v: string) =>
      v.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
    lines.push(
      `::error title=${escape(`deploytag: ${s.title}`).replaceAll(',', '%2C').replaceAll(':', '%3A')}::${escape(detail(s))}`,
    );
  }
  return lines;
}

/** The plan as text for `--dry-run`: each step, what it waits for, and what it would do. */
export function renderPlan(
  steps: readonly Pick<StepReport, 'id' | 'title' | 'needs' | 'plan'>[],
): string[] {
  const width = Math.max(...steps.map((s) => s.id.length), 4);
  return steps.map(
    (s) =>
      `${s.id.padEnd(width)}  ${s.plan}${s.needs.length > 0 ? `  (after ${s.needs.join(', ')})` : ''}`,
  );
}

/**
 * A text table summarising a run: step, status, duration, and what it did, one line per step (a
 * failure shows the first line of its message; the progress lines had the rest, such as a build
 * log's tail).
 */
export function renderSummary(report: RunReport): string[] {
  const rows = report.steps.map(
    (s) =>
      [
        s.id,
        `${MARK[s.status]} ${s.status}`,
        s.durationMs === undefined ? '' : formatDuration(s.durationMs),
        detail(s).split('\n')[0] ?? '',
      ] as const,
  );
  const head = ['step', 'status', 'time', ''] as const;
  const widths = [0, 1, 2].map((i) =>
    Math.max(head[i]!.length, ...rows.map((r) => (r[i] ?? '').length)),
  );
  const fmt = (r: readonly string[]) =>
    r
      .map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c))
      .join('  ')
      .trimEnd();
  return [
    fmt(head),
    ...rows.map(fmt),
    `${report.ok ? 'done' : 'FAILED'} in ${formatDuration(report.durationMs)}`,
  ];
}

/** The summary as a Markdown table (for `$GITHUB_STEP_SUMMARY`). */
export function renderMarkdownSummary(report: RunReport, title = 'DeployTag'): string {
  const cell = (v: string) => v.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const rows = report.steps.map(
    (s) =>
      `| ${s.id} | ${MARK[s.status]} ${s.status} | ${s.durationMs === undefined ? '' : formatDuration(s.durationMs)} | ${cell(detail(s))} |`,
  );
  return [
    `### ${title}: ${report.ok ? 'done' : 'failed'} in ${formatDuration(report.durationMs)}`,
    '',
    '| step | status | time | |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** Where the task list draws: a terminal stream. */
export interface TaskListStream {
  write(text: string): unknown;
}

/**
 * A live task list for terminals: one line per step, redrawn in place on every event (cursor up,
 * clear line), with running steps' elapsed time refreshed by `tick()`.
 */
export class TaskList {
  readonly #stream: TaskListStream;
  readonly #steps = new Map<string, StepReport>();
  readonly #started = new Map<string, number>();
  #drawn = 0;
  readonly #now: () => number;

  constructor(
    stream: TaskListStream,
    steps: readonly Pick<StepReport, 'id' | 'title' | 'needs' | 'plan'>[],
    now: () => number = Date.now,
  ) {
    this.#stream = stream;
    this.#now = now;
    for (const s of steps) this.#steps.set(s.id, { ...s, needs: [...s.needs], status: 'pending' });
  }

  /** Records an event and redraws. */
  update(event: StepEvent): void {
    if (event.step.status === 'running') this.#started.set(event.step.id, this.#now());
    this.#steps.set(event.step.id, event.step);
    this.draw();
  }

  /**
   * Prints a log line above the list and redraws the list under it, so that logs and the live
   * list never overwrite each other.
   */
  log(line: string): void {
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A\x1b[0J` : '';
    this.#stream.write(`${up}${line}\n`);
    this.#drawn = 0;
    this.draw();
  }

  /** Redraws (call on a timer to advance running steps' clocks). */
  draw(): void {
    const width = Math.max(...[...this.#steps.keys()].map((k) => k.length), 4);
    const lines = [...this.#steps.values()].map((s) => {
      const elapsed =
        s.status === 'running'
          ? this.#now() - (this.#started.get(s.id) ?? this.#now())
          : s.durationMs;
      const took = elapsed === undefined ? '' : formatDuration(elapsed);
      return `${MARK[s.status]} ${s.id.padEnd(width)} ${took.padStart(6)}  ${detail(s)}`;
    });
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : '';
    this.#stream.write(`${up}${lines.map((l) => `\x1b[2K${l}\n`).join('')}`);
    this.#drawn = lines.length;
  }
}
