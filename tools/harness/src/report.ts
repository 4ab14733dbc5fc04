/**
 * The harness's own progress output: one line per step on stderr, so `stack env` keeps stdout clean
 * for `eval`. Long steps print a heartbeat with the elapsed time.
 */
const started = Date.now();

function stamp(): string {
  const s = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  return `[stack ${s}s]`;
}

/** Prints one progress line. */
export function say(message: string): void {
  if (process.env['DEPLOYTAG_STACK_QUIET'] === '1') return;
  process.stderr.write(`${stamp()} ${message}\n`);
}

/**
 * Runs `work`, printing `label` first and, every `everyMs`, a heartbeat line with the elapsed time
 * and whatever `detail()` returns (for example the last line of a build log).
 */
export async function withHeartbeat<T>(
  label: string,
  work: () => Promise<T>,
  detail: () => string = () => '',
  everyMs = 15_000,
): Promise<T> {
  const t0 = Date.now();
  say(`${label} …`);
  const timer = setInterval(() => {
    const extra = detail();
    say(`  still ${label} (${Math.round((Date.now() - t0) / 1000)}s)${extra ? `: ${extra}` : ''}`);
  }, everyMs);
  timer.unref();
  try {
    const result = await work();
    say(`${label}: done in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return result;
  } finally {
    clearInterval(timer);
  }
}
