import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { HarnessError, tail } from './exec.js';

/** A background process started by the harness, as recorded in the stack file. */
export interface DaemonRecord {
  name: string;
  pid: number;
  /** Kernel start time of the process (from /proc), so a recycled pid is never signalled. */
  startTicks: string;
  logFile: string;
}

export interface DaemonSpec {
  /** Short name used in messages, e.g. `kube-apiserver`. */
  name: string;
  cmd: string;
  args: readonly string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolves true once the daemon serves; polled until `readyTimeoutMs`. */
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
}

function startTicksOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime) counted after the parenthesised command name, which may contain spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

/** True while the recorded process (same pid and start time) is alive. */
export function isAlive(rec: Pick<DaemonRecord, 'pid' | 'startTicks'>): boolean {
  const ticks = startTicksOf(rec.pid);
  if (ticks === undefined || ticks !== rec.startTicks) return false;
  try {
    const state = readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
    return state.slice(state.lastIndexOf(')') + 2, state.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Starts a daemon in its own process group, detached from the caller (so `stack up` can exit and
 * leave it running), logging to `logFile`. Waits until `ready()` is true; if the process exits or
 * the deadline passes first, kills it and throws with the log's tail.
 */
export async function startDaemon(spec: DaemonSpec): Promise<DaemonRecord> {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const fd = openSync(spec.logFile, 'a');
  let child;
  try {
    child = spawn(spec.cmd, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    throw new HarnessError(
      `cannot start ${spec.name} (${spec.cmd}): ${(await spawnError).message}`,
    );
  }
  const rec: DaemonRecord = {
    name: spec.name,
    pid,
    startTicks: startTicksOf(pid) ?? '',
    logFile: spec.logFile,
  };
  const deadline = Date.now() + (spec.readyTimeoutMs ?? 60_000);
  let delay = 50;
  for (;;) {
    if (exited) {
      const how = exited.signal ? `was killed by ${exited.signal}` : `exited with ${exited.code}`;
      throw new HarnessError(
        `${spec.name} ${how} before it was ready (log: ${spec.logFile})\n${tail(spec.logFile)}`,
      );
    }
    let ok = false;
    try {
      ok = await spec.ready();
    } catch {
      ok = false;
    }
    if (ok) return rec;
    if (Date.now() > deadline) {
      await stopDaemons([rec]);
      throw new HarnessError(
        `${spec.name} was not ready within ${Math.round((spec.readyTimeoutMs ?? 60_000) / 1000)}s (log: ${spec.logFile})\n${tail(spec.logFile)}`,
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 500);
  }
}

function signalGroup(rec: DaemonRecord, signal: NodeJS.Signals): void {
  if (!isAlive(rec)) return;
  try {
    process.kill(-rec.pid, signal);
  } catch {
    try {
      process.kill(rec.pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Stops daemons (in reverse start order): SIGTERM to each process group, then SIGKILL to whatever
 * is left after `graceMs`. Resolves when every recorded process is gone.
 */
export async function stopDaemons(
  records: readonly DaemonRecord[],
  graceMs = 10_000,
): Promise<void> {
  const list = [...records].reverse();
  for (const rec of list) signalGroup(rec, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (list.some(isAlive) && Date.now() < deadline) await sleep(100);
  for (const rec of list) signalGroup(rec, 'SIGKILL');
  const hardDeadline = Date.now() + 5_000;
  while (list.some(isAlive) && Date.now() < hardDeadline) await sleep(50);
}

/**
 * Command and arguments that run one of the harness's own TypeScript daemon scripts (for example
 * the git HTTP server) under this Node.js, through the tsx loader.
 */
export function nodeScript(
  scriptUrl: URL,
  args: readonly string[] = [],
): { cmd: string; args: string[] } {
  // Not import.meta.resolve: vitest's module runner (which runs the global setup) lacks it.
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { cmd: process.execPath, args: ['--import', loader, fileURLToPath(scriptUrl), ...args] };
}
