import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import {
  CommandFailedError,
  ConfigError,
  DeploytagError,
  ErrorCodes,
  TimeoutError,
} from './errors.js';
import { LOG_LEVELS, silentLogger } from './logger.js';
import type { LogLevel, Logger } from './logger.js';
import { globalRedactor } from './redact.js';
import type { Redactor } from './redact.js';
import { Secret } from './secret.js';
import { formatCommandLine, signalNumber } from './util.js';

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** Working directory of the child; defaults to this process's. */
  cwd?: string;
  /**
   * Variables for the child, merged over `process.env` (unless `inheritEnv` is false). A
   * `Secret` is revealed only into the child's environment and added to the redactor; `undefined`
   * removes a variable.
   */
  env?: Record<string, string | Secret | undefined>;
  /**
   * Start from a copy of `process.env`.
   *
   * @defaultValue true
   */
  inheritEnv?: boolean;
  /** Text written to the child's stdin, which is then closed. Without it, stdin is empty. */
  input?: string | Secret;
  /**
   * Receives each line the child writes, as it arrives, with the field `stream` set to `stdout` or
   * `stderr` (at the levels of `outputLevels`), plus a debug line for the start and the end.
   */
  logger?: Logger;
  /**
   * Levels of the child's output lines in the logger.
   *
   * @defaultValue `{ stdout: 'debug', stderr: 'info' }`: programs report progress on stdout and
   * warnings on stderr
   */
  outputLevels?: { stdout?: LogLevel; stderr?: LogLevel };
  /** Stop the child after this many milliseconds and reject with a {@link TimeoutError}. */
  timeoutMs?: number;
  /**
   * After a timeout or an abort sends SIGTERM, how long to wait before SIGKILL.
   *
   * @defaultValue 5000
   */
  killGraceMs?: number;
  /** Aborting stops the child like a timeout and rejects with code `E_ABORTED`. */
  signal?: AbortSignal;
  /**
   * While the child runs, pass SIGINT and SIGTERM received by this process on to it (and keep
   * this process alive until the child has stopped), so that a cancelled CI job lets helm stop
   * cleanly; the call then rejects with code `E_INTERRUPTED`. The handlers are removed when the
   * child has finished.
   *
   * @defaultValue true
   */
  forwardSignals?: boolean;
  /** Resolve instead of rejecting when the child exits non-zero or is killed by a signal. */
  allowFailure?: boolean;
  /**
   * Most bytes kept of each of stdout and stderr; beyond it the oldest output is dropped, so the
   * tail is kept and memory stays bounded for chatty programs. Lines still reach the logger.
   *
   * @defaultValue 16 MiB
   */
  captureLimitBytes?: number;
  /**
   * Scrubs what the runner logs and puts in errors; `Secret` values from `env` and `input` are
   * added to it.
   *
   * @defaultValue {@link globalRedactor}
   */
  redactor?: Redactor;
}

/** What a finished program did. */
export interface CommandResult {
  /** Exit code, or null when the child was killed by a signal. */
  code: number | null;
  /** The signal that killed the child, or null. */
  signal: NodeJS.Signals | null;
  /** Captured stdout (its tail when longer than `captureLimitBytes`), not redacted. */
  stdout: string;
  /** Captured stderr (its tail when longer than `captureLimitBytes`), not redacted. */
  stderr: string;
  /** Wall-clock time from start to finish, in milliseconds. */
  durationMs: number;
  /** True when the start of stdout was dropped because of `captureLimitBytes`. */
  stdoutTruncated: boolean;
  /** True when the start of stderr was dropped because of `captureLimitBytes`. */
  stderrTruncated: boolean;
}

/** Lines of stderr quoted by a {@link CommandFailedError}. */
const STDERR_TAIL_LINES = 20;
/** Longest stderr line quoted by an error. */
const MAX_TAIL_LINE = 1000;
/** A line longer than this is passed to the logger in pieces. */
const MAX_LINE = 64 * 1024;
const DEFAULT_CAPTURE_LIMIT = 16 * 1024 * 1024;
const DEFAULT_KILL_GRACE_MS = 5000;
/**
 * After the child has exited, how long to wait for its output pipes to close; a grandchild left
 * running in the background may hold them open indefinitely.
 */
const EXIT_LINGER_MS = 2000;

const useProcessGroup = process.platform !== 'win32';

/**
 * Runs an external program to completion: argument array, never a shell.
 *
 * @remarks
 * The child runs in its own process group, so a timeout, an abort or a forwarded signal reaches
 * the programs it started too, and a terminal's Ctrl-C reaches it once (through this process)
 * rather than twice. Because of this the child has no controlling terminal: it cannot prompt.
 *
 * Failures reject with a {@link DeploytagError}:
 *
 * - `E_COMMAND_FAILED` ({@link CommandFailedError}) on a non-zero exit or a kill by a signal,
 *   with the last 20 lines of stderr, unless `allowFailure`;
 *
 * - `E_COMMAND_NOT_FOUND` when the program is not installed (or not executable);
 *
 * - `E_COMMAND_SPAWN` when it cannot be started for another reason (missing cwd);
 *
 * - `E_TIMEOUT` ({@link TimeoutError}), `E_ABORTED` or `E_INTERRUPTED` after the child was
 *   stopped; these reject only once the child has exited.
 *
 * Secret values given in `env` or `input` are added to the redactor, and every log line and
 * error message the runner produces is redacted with it. The captured output in the result is
 * not redacted: it is the program's real output, for the caller to parse.
 *
 * @param program - the executable: a name looked up on PATH, or a path
 * @param args - its arguments, passed as they are
 * @param options - environment, input, logging, time limits, cancellation
 * @returns the exit status, the captured output and the duration
 *
 * @example
 * ```ts
 * const { stdout } = await runCommand('helm', ['status', release, '-n', namespace, '-o', 'json'], {
 *   env: { HELM_REGISTRY_PASSWORD: Secret.of(password) },
 *   logger: logger.child('helm'),
 *   timeoutMs: 60_000,
 * });
 * ```
 */
export async function runCommand(
  program: string,
  args: readonly string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const redactor = options.redactor ?? globalRedactor;
  const env = buildEnvironment(options, redactor);
  if (options.input !== undefined && Secret.isSecret(options.input)) redactor.add(options.input);
  const timeoutMs = checkDuration('timeoutMs', options.timeoutMs);
  const killGraceMs = checkDuration('killGraceMs', options.killGraceMs) ?? DEFAULT_KILL_GRACE_MS;
  const captureLimit = options.captureLimitBytes ?? DEFAULT_CAPTURE_LIMIT;
  if (!Number.isInteger(captureLimit) || captureLimit < 0) {
    throw new RangeError(`captureLimitBytes must be a non-negative integer, not ${captureLimit}`);
  }
  const logger = options.logger ?? silentLogger;
  const stdoutLevel = options.outputLevels?.stdout ?? 'debug';
  const stderrLevel = options.outputLevels?.stderr ?? 'info';
  const commandLine = redactor.redact(formatCommandLine(program, args));
  const facts = (): Record<string, unknown> => ({
    command: program,
    args: args.map((arg) => redactor.redact(arg)),
  });

  if (options.signal?.aborted === true) {
    throw abortedError(program, commandLine, options.signal.reason, facts(), redactor);
  }

  logger.debug(`running ${commandLine}`, options.cwd === undefined ? {} : { cwd: options.cwd });

  return await new Promise<CommandResult>((resolve, reject) => {
    const started = performance.now();
    let child: ChildProcess;
    try {
      child = spawn(program, [...args], {
        cwd: options.cwd,
        env,
        stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        detached: useProcessGroup,
        windowsHide: true,
      });
    } catch (error) {
      reject(spawnFailure(program, options.cwd, error, facts(), redactor));
      return;
    }

    const stdoutCapture = new TailBuffer(captureLimit);
    const stderrCapture = new TailBuffer(captureLimit);
    const stderrTail: string[] = [];
    const logLine = (level: LogLevel, stream: 'stdout' | 'stderr', line: string): void => {
      logger[level](redactor.redact(line), { stream });
    };
    const stdoutLines = isEnabled(logger, stdoutLevel)
      ? new LineSplitter((line) => {
          logLine(stdoutLevel, 'stdout', line);
        })
      : undefined;
    const stderrLines = new LineSplitter((line) => {
      stderrTail.push(line.length > MAX_TAIL_LINE ? `${line.slice(0, MAX_TAIL_LINE)}…` : line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      if (isEnabled(logger, stderrLevel)) logLine(stderrLevel, 'stderr', line);
    });

    child.stdout?.on('data', (chunk: Buffer) => {
      stdoutCapture.push(chunk);
      stdoutLines?.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrCapture.push(chunk);
      stderrLines.push(chunk);
    });
    if (options.input !== undefined && child.stdin) {
      // A child that exits without reading its input closes the pipe: not an error of ours.
      child.stdin.on('error', () => undefined);
      child.stdin.end(
        Secret.isSecret(options.input) ? options.input.reveal() : options.input,
        'utf8',
      );
    }

    let settled = false;
    let stopReason: 'timeout' | 'abort' | 'interrupt' | undefined;
    let interruptSignal: NodeJS.Signals | undefined;
    let timeoutTimer: NodeJS.Timeout | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    let lingerTimer: NodeJS.Timeout | undefined;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;

    const kill = (signal: NodeJS.Signals): void => {
      killProcessTree(child, signal);
    };
    let exited = false;
    const stop = (reason: 'timeout' | 'abort'): void => {
      if (settled || exited) return;
      stopReason ??= reason;
      kill('SIGTERM');
      graceTimer ??= setTimeout(() => {
        kill('SIGKILL');
      }, killGraceMs);
    };
    const onAbort = (): void => {
      logger.debug(`cancelling ${program}`);
      stop('abort');
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      if (settled) return;
      logger.warn(`received ${signal}; passing it on to ${program} and waiting for it to stop`);
      stopReason ??= 'interrupt';
      interruptSignal ??= signal;
      kill(signal);
    };
    const forwardSignals = options.forwardSignals ?? true;

    const cleanup = (): void => {
      clearTimeout(timeoutTimer);
      clearTimeout(graceTimer);
      clearTimeout(lingerTimer);
      options.signal?.removeEventListener('abort', onAbort);
      if (forwardSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      untrackChild(child);
    };

    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      cleanup();
      stdoutLines?.end();
      stderrLines.end();
      const durationMs = Math.round(performance.now() - started);
      const result: CommandResult = {
        code,
        signal,
        stdout: stdoutCapture.text(),
        stderr: stderrCapture.text(),
        durationMs,
        stdoutTruncated: stdoutCapture.truncated,
        stderrTruncated: stderrCapture.truncated,
      };
      const how = code !== null ? `exited with code ${code}` : `was killed by ${signal ?? '?'}`;
      logger.debug(`${program} ${how} after ${durationMs} ms`);
      const details = {
        ...facts(),
        childExitCode: code,
        signal,
        stderrTail: stderrTail.map((line) => redactor.redact(line)),
      };
      if (stopReason === 'timeout') {
        reject(
          new TimeoutError(
            `${program} did not finish within ${timeoutMs ?? 0} ms and was stopped: ${commandLine}; ` +
              'raise its time limit if it needs longer, or find out why it hangs from its output',
            timeoutMs ?? 0,
            { details },
          ),
        );
      } else if (stopReason === 'abort') {
        reject(abortedError(program, commandLine, options.signal?.reason, details, redactor));
      } else if (stopReason === 'interrupt') {
        const received = interruptSignal ?? 'SIGTERM';
        reject(
          new DeploytagError(
            ErrorCodes.INTERRUPTED,
            `${program} was stopped because this process received ${received} (the job was cancelled); ` +
              'run the command again to finish the work',
            { exitCode: 128 + (signalNumber(received) ?? 15), details },
          ),
        );
      } else if ((code !== 0 || signal !== null) && options.allowFailure !== true) {
        reject(
          new CommandFailedError({
            command: program,
            args,
            exitCode: code,
            signal,
            stderrTail,
            redactor,
          }),
        );
      } else {
        resolve(result);
      }
    };

    child.on('error', (error) => {
      // Without a pid the program never started; other errors (a failed kill) change nothing.
      if (child.pid !== undefined || settled) return;
      settled = true;
      cleanup();
      reject(spawnFailure(program, options.cwd, error, facts(), redactor));
    });
    child.on('exit', (code, signal) => {
      exited = true;
      exitCode = code;
      exitSignal = signal;
      lingerTimer = setTimeout(
        () => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish(exitCode, exitSignal);
        },
        stopReason === undefined ? EXIT_LINGER_MS : killGraceMs + EXIT_LINGER_MS,
      );
    });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      finish(code, signal);
    });

    if (child.pid === undefined) return; // the 'error' event follows
    trackChild(child);
    if (timeoutMs !== undefined) {
      timeoutTimer = setTimeout(() => {
        logger.debug(`${program} exceeded its time limit of ${timeoutMs} ms; stopping it`);
        stop('timeout');
      }, timeoutMs);
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (forwardSignals) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
  });
}

function checkDuration(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number of milliseconds, not ${value}`);
  }
  return value;
}

function buildEnvironment(options: RunCommandOptions, redactor: Redactor): Record<string, string> {
  const env = new Map<string, string>();
  if (options.inheritEnv !== false) {
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined) env.set(key, value);
    }
  }
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) {
      env.delete(key);
    } else if (Secret.isSecret(value)) {
      redactor.add(value);
      env.set(key, value.reveal());
    } else {
      env.set(key, value);
    }
  }
  return Object.fromEntries(env);
}

function isEnabled(logger: Logger, level: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(logger.level);
}

function abortedError(
  program: string,
  commandLine: string,
  reason: unknown,
  details: Record<string, unknown>,
  redactor: Redactor,
): DeploytagError {
  const why = reason instanceof Error ? `: ${redactor.redact(reason.message)}` : '';
  return new DeploytagError(ErrorCodes.ABORTED, `${program} was cancelled${why} (${commandLine})`, {
    cause: reason,
    details,
  });
}

function spawnFailure(
  program: string,
  cwd: string | undefined,
  error: unknown,
  details: Record<string, unknown>,
  redactor: Redactor,
): DeploytagError {
  const code = (error as { code?: unknown } | null)?.code;
  const message = redactor.redact(error instanceof Error ? error.message : String(error));
  // A trimmed copy: Node's spawn errors also carry the arguments, which may hold secrets.
  const cause = Object.assign(new Error(message), typeof code === 'string' ? { code } : {});
  if (code === 'ENOENT' && cwd !== undefined && !existsSync(cwd)) {
    return new DeploytagError(
      ErrorCodes.COMMAND_SPAWN,
      `cannot run ${program}: its working directory ${cwd} does not exist; create it or run from an existing directory`,
      { cause, details: { ...details, cwd } },
    );
  }
  const isPath = program.includes('/') || program.includes('\\');
  if (code === 'ENOENT') {
    return new DeploytagError(
      ErrorCodes.COMMAND_NOT_FOUND,
      isPath
        ? `${program} was not found; install it there or set the correct path to the executable`
        : `${program} was not found on PATH; install it, or set the full path to its executable`,
      { cause, details },
    );
  }
  if (code === 'EACCES') {
    return new DeploytagError(
      ErrorCodes.COMMAND_NOT_FOUND,
      `${program} cannot be executed (permission denied); make it executable (chmod +x) or set the path to a working executable`,
      { cause, details },
    );
  }
  return new DeploytagError(ErrorCodes.COMMAND_SPAWN, `could not start ${program}: ${message}`, {
    cause,
    details,
  });
}

/** Sends a signal to the child and, where it leads its own process group, to its descendants. */
function killProcessTree(child: ChildProcess, signal: NodeJS.Signals): void {
  const pid = child.pid;
  if (pid === undefined) return;
  if (useProcessGroup) {
    try {
      process.kill(-pid, signal);
      return;
    } catch {
      // The group is gone (or was never formed): fall back to the child alone.
    }
  }
  try {
    child.kill(signal);
  } catch {
    // Already gone.
  }
}

/**
 * Children still running. Because each runs in its own process group, it would outlive this
 * process if it called `process.exit()` while they run; the exit hook stops them.
 */
const running = new Set<ChildProcess>();

function stopRunningChildren(): void {
  for (const child of running) killProcessTree(child, 'SIGTERM');
}

function trackChild(child: ChildProcess): void {
  if (running.size === 0) process.on('exit', stopRunningChildren);
  running.add(child);
}

function untrackChild(child: ChildProcess): void {
  if (!running.delete(child)) return;
  if (running.size === 0) process.off('exit', stopRunningChildren);
}

/** Keeps the last `limit` bytes written to it. */
class TailBuffer {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #size = 0;
  truncated = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size > this.#limit) {
      const first = this.#chunks[0]!;
      const excess = this.#size - this.#limit;
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#size -= first.length;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#size -= excess;
      }
      this.truncated = true;
    }
  }

  text(): string {
    let bytes = Buffer.concat(this.#chunks, this.#size);
    if (this.truncated) {
      // The cut may have fallen inside a UTF-8 sequence: drop its continuation bytes.
      let start = 0;
      while (start < 3 && start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
      bytes = bytes.subarray(start);
    }
    return bytes.toString('utf8');
  }
}

/** Decodes UTF-8 chunks and calls back once per complete line (without `\n` or `\r\n`). */
class LineSplitter {
  readonly #onLine: (line: string) => void;
  readonly #decoder = new StringDecoder('utf8');
  #partial = '';

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  push(chunk: Buffer): void {
    const text = this.#partial + this.#decoder.write(chunk);
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      this.#emit(text.slice(start, newline));
      start = newline + 1;
    }
    this.#partial = text.slice(start);
    if (this.#partial.length > MAX_LINE) {
      this.#emit(this.#partial);
      this.#partial = '';
    }
  }

  end(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    if (rest !== '') this.#emit(rest);
  }

  #emit(line: string): void {
    this.#onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}

/**
 * Splits a command line written in configuration (`bundle exec rake db:migrate`) into words,
 * without a shell: words are separated by white space, and `'…'` or `"…"` keep white space inside
 * one word. Nothing is expanded (`$VAR`, globs, `;` stay literal), so a value can never run
 * anything but the named program.
 *
 * @param text - the command line
 * @returns the program and its arguments (at least one word)
 * @throws ConfigError for an empty command or an unterminated quote
 */
export function splitCommandLine(text: string): [string, ...string[]] {
  const words: string[] = [];
  let current: string | undefined;
  let quote: '"' | "'" | undefined;
  for (const char of text) {
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      else current = (current ?? '') + char;
    } else if (char === '"' || char === "'") {
      quote = char;
      current ??= '';
    } else if (/\s/.test(char)) {
      if (current !== undefined) words.push(current);
      current = undefined;
    } else {
      current = (current ?? '') + char;
    }
  }
  if (quote !== undefined) {
    throw new ConfigError(`the command ${JSON.stringify(text)} has an unterminated ${quote} quote`);
  }
  if (current !== undefined) words.push(current);
  const [command, ...args] = words;
  if (command === undefined) throw new ConfigError('expected a command, got an empty one');
  return [command, ...args];
}
