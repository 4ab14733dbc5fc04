import { spawn } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  closeSync,
  statSync,
  readSync,
} from 'node:fs';
import { dirname } from 'node:path';

/** Error raised when a harness step fails; carries the tail of the step's log. */
export class HarnessError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarnessError';
  }
}

/** Returns the last `lines` lines of a file (reading at most its last 64 KiB), or '' if absent. */
export function tail(file: string, lines = 20): string {
  if (!existsSync(file)) return '';
  const size = statSync(file).size;
  const len = Math.min(size, 64 * 1024);
  const buf = Buffer.alloc(len);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, len, size - len);
  } finally {
    closeSync(fd);
  }
  return buf.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** Last non-empty line of a file, shortened for heartbeat lines. */
export function lastLine(file: string): string {
  const line = tail(file, 1);
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Append stdout and stderr to this file instead of capturing them. */
  logFile?: string;
  input?: string;
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program (argument array, no shell) to completion. Rejects with a {@link HarnessError}
 * naming the command and quoting its output tail when it exits non-zero, unless `allowFail`.
 */
export async function run(
  cmd: string,
  args: readonly string[],
  options: RunOptions & { allowFail?: boolean } = {},
): Promise<RunResult> {
  if (options.logFile) mkdirSync(dirname(options.logFile), { recursive: true });
  const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  if (log) await new Promise<void>((r) => log.once('open', () => r()));
  return await new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      if (log) log.write(d);
      else stdout += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (log) log.write(d);
      else stderr += d.toString();
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
    const timer = options.timeoutMs
      ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
      : undefined;
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      log?.end();
      reject(new HarnessError(`cannot run ${cmd}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const finish = () => {
        const result = { code: code ?? 128, stdout, stderr };
        if (result.code !== 0 && !options.allowFail) {
          const out = options.logFile
            ? tail(options.logFile)
            : `${stderr}\n${stdout}`.trim().split('\n').slice(-20).join('\n');
          const why = signal ? `was killed by ${signal}` : `exited with ${result.code}`;
          reject(
            new HarnessError(
              `${cmd} ${args.join(' ')} ${why}${options.logFile ? ` (log: ${options.logFile})` : ''}\n${out}`,
            ),
          );
        } else resolve(result);
      };
      if (log) log.end(finish);
      else finish();
    });
  });
}

/** True when `name` is an executable on PATH (or an existing absolute path). */
export function which(name: string): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    const p = `${dir}/${name}`;
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Reads a small text file, or undefined when it does not exist. */
export function readIfExists(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}
