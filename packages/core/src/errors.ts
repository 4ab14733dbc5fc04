import { inspect } from 'node:util';
import { globalRedactor } from './redact.js';
import type { Redactor } from './redact.js';
import { formatCommandLine, safeJsonStringify, signalNumber } from './util.js';

/**
 * The stable error codes raised by this package. Other packages define their own codes with the
 * same `E_` prefix; a code never changes once released, so scripts may match on it.
 */
export const ErrorCodes = {
  /** A configuration file or variable is missing or invalid. */
  CONFIG: 'E_CONFIG',
  /** The command line was used wrongly. */
  USAGE: 'E_USAGE',
  /** An operation did not finish in time. */
  TIMEOUT: 'E_TIMEOUT',
  /** An operation was cancelled through an `AbortSignal`. */
  ABORTED: 'E_ABORTED',
  /** This process received SIGINT or SIGTERM while a child program ran. */
  INTERRUPTED: 'E_INTERRUPTED',
  /** An external program exited with a non-zero code or was killed. */
  COMMAND_FAILED: 'E_COMMAND_FAILED',
  /** An external program is not installed, not on PATH, or not executable. */
  COMMAND_NOT_FOUND: 'E_COMMAND_NOT_FOUND',
  /** An external program could not be started for another reason (such as a missing cwd). */
  COMMAND_SPAWN: 'E_COMMAND_SPAWN',
  /** Used in JSON error reports for errors that are not a {@link DeploytagError} (bugs). */
  INTERNAL: 'E_INTERNAL',
} as const;

/** One of the {@link ErrorCodes} values. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Options accepted by the {@link DeploytagError} constructor. */
export interface DeploytagErrorOptions {
  /** The error that led to this one. */
  cause?: unknown;
  /** Exit code of a bin that stops because of this error; defaults to 1. */
  exitCode?: number;
  /** Machine-readable facts about the failure, included in {@link DeploytagError.toJSON}. */
  details?: Record<string, unknown>;
}

/** The JSON form of a {@link DeploytagError}, as printed by `reportError` with `json`. */
export interface DeploytagErrorJSON {
  /** The class name, such as `ConfigError`. */
  name: string;
  /** The stable code, such as `E_CONFIG`. */
  code: string;
  /** What went wrong and what to do about it. */
  message: string;
  /** The exit code a bin uses for this error. */
  exitCode: number;
  /** Machine-readable facts (omitted from JSON text when undefined). */
  details: Record<string, unknown> | undefined;
  /** The chain of causes, when there is one. */
  cause?: SerializedCause;
}

/** A serialised `cause`: an error summary, a JSON-safe value, or a descriptive string. */
export type SerializedCause =
  | {
      /** The error's name, such as `TypeError`. */
      name: string;
      /** Its message. */
      message: string;
      /** Its `code`, when it is a string (Node system errors, DeployTag errors). */
      code?: string;
      /** Its own cause. */
      cause?: SerializedCause;
    }
  | string
  | number
  | boolean
  | null;

/** Brand shared by every copy of this package loaded in one process. */
const errorBrand = Symbol.for('deploytag.core.error');

/** How deep `toJSON` follows chains of causes. */
const MAX_CAUSE_DEPTH = 8;

/**
 * Base class of every expected failure in DeployTag: a configuration problem, a failed external
 * program, a timeout. Bins print such errors as one line (no stack) and exit with
 * {@link DeploytagError.exitCode}; anything else that reaches a bin is treated as a bug.
 *
 * @remarks
 * The message says what went wrong and what to do about it ("…; set DEPLOYTAG_NAMESPACE or
 * pass --namespace"). `code` is stable and machine-readable.
 */
export class DeploytagError extends Error {
  /** Stable, machine-readable identifier, such as `E_CONFIG`. */
  readonly code: string;
  /** Exit code of a bin that stops because of this error (1 unless a subclass says otherwise). */
  readonly exitCode: number;
  /** Machine-readable facts about the failure. */
  readonly details?: Record<string, unknown>;

  /**
   * @param code - stable identifier, such as `E_CONFIG`
   * @param message - what went wrong and what to do about it
   * @param options - cause, exit code and details
   */
  constructor(code: string, message: string, options: DeploytagErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
    if (options.details !== undefined) this.details = options.details;
    Object.defineProperty(this, errorBrand, { value: true, enumerable: false });
  }

  /**
   * A JSON-safe summary: name, code, message, exit code, details and the chain of causes (cycles
   * and very deep chains are cut). The stack is not included.
   */
  toJSON(): DeploytagErrorJSON {
    const json: DeploytagErrorJSON = {
      name: this.name,
      code: this.code,
      message: this.message,
      exitCode: this.exitCode,
      details: this.details,
    };
    if (this.cause !== undefined) json.cause = serializeCause(this.cause, new Set([this]), 1);
    return json;
  }
}

function serializeCause(value: unknown, seen: Set<unknown>, depth: number): SerializedCause {
  if (value === null) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return value;
  }
  if (typeof value === 'function') return `[Function ${value.name || 'anonymous'}]`;
  if (typeof value === 'bigint' || typeof value === 'symbol') return value.toString();
  if (typeof value !== 'object') return 'undefined';
  if (seen.has(value)) return '[Circular]';
  if (depth > MAX_CAUSE_DEPTH) return '[cause chain too deep]';
  if (value instanceof Error) {
    const out: Exclude<SerializedCause, string | number | boolean | null> = {
      name: value.name,
      message: value.message,
    };
    const code: unknown = (value as { code?: unknown }).code;
    if (typeof code === 'string') out.code = code;
    if (value.cause !== undefined) {
      out.cause = serializeCause(value.cause, new Set([...seen, value]), depth + 1);
    }
    return out;
  }
  // Any other object: its JSON text when it has one (Secret values render as ***).
  return safeJsonStringify(value);
}

/**
 * Tells whether a value is a {@link DeploytagError}, also one created by another copy of this
 * package loaded in the same process.
 *
 * @param value - anything caught
 */
export function isDeploytagError(value: unknown): value is DeploytagError {
  if (value instanceof DeploytagError) return true;
  return (
    value instanceof Error && (value as unknown as Record<symbol, unknown>)[errorBrand] === true
  );
}

/** Options accepted by the {@link ConfigError} constructor. */
export interface ConfigErrorOptions {
  /** A more specific code than `E_CONFIG`, such as `E_CONFIG_SCHEMA`. */
  code?: string;
  /** The configuration file involved, if any. */
  file?: string;
  /** The configuration key or environment variable involved, if any. */
  key?: string;
  /** The error that led to this one. */
  cause?: unknown;
}

/**
 * A configuration file, key or environment variable is missing or invalid. Exit code 2.
 */
export class ConfigError extends DeploytagError {
  /** The configuration file involved, if any. */
  readonly file?: string;
  /** The configuration key or environment variable involved, if any. */
  readonly key?: string;

  /**
   * @param message - what is wrong and how to fix it (name the key and the file)
   * @param options - code, file, key and cause
   */
  constructor(message: string, options: ConfigErrorOptions = {}) {
    const details: Record<string, unknown> = {};
    if (options.file !== undefined) details.file = options.file;
    if (options.key !== undefined) details.key = options.key;
    super(options.code ?? ErrorCodes.CONFIG, message, {
      exitCode: 2,
      details,
      ...('cause' in options ? { cause: options.cause } : {}),
    });
    if (options.file !== undefined) this.file = options.file;
    if (options.key !== undefined) this.key = options.key;
  }
}

/** Options accepted by the {@link UsageError} constructor. */
export interface UsageErrorOptions {
  /** A more specific code than `E_USAGE`. */
  code?: string;
  /** The error that led to this one. */
  cause?: unknown;
  /** Machine-readable facts, such as the offending option. */
  details?: Record<string, unknown>;
}

/** The command line was used wrongly (unknown option, missing argument). Exit code 2. */
export class UsageError extends DeploytagError {
  /**
   * @param message - what is wrong and the correct usage
   * @param options - code, cause and details
   */
  constructor(message: string, options: UsageErrorOptions = {}) {
    super(options.code ?? ErrorCodes.USAGE, message, {
      exitCode: 2,
      ...('cause' in options ? { cause: options.cause } : {}),
      ...(options.details !== undefined ? { details: options.details } : {}),
    });
  }
}

/** Options accepted by the {@link TimeoutError} constructor. */
export interface TimeoutErrorOptions {
  /** The error that led to this one. */
  cause?: unknown;
  /** Machine-readable facts, such as the command that was stopped. */
  details?: Record<string, unknown>;
}

/** An operation did not finish within its time limit (code `E_TIMEOUT`). */
export class TimeoutError extends DeploytagError {
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number;

  /**
   * @param message - what timed out and how to give it more time
   * @param timeoutMs - the limit that was exceeded, in milliseconds
   * @param options - cause and details
   */
  constructor(message: string, timeoutMs: number, options: TimeoutErrorOptions = {}) {
    super(ErrorCodes.TIMEOUT, message, {
      details: { timeoutMs, ...options.details },
      ...('cause' in options ? { cause: options.cause } : {}),
    });
    this.timeoutMs = timeoutMs;
  }
}

/** Facts about a failed program run, given to the {@link CommandFailedError} constructor. */
export interface CommandFailedErrorOptions {
  /** The program that ran, as given to the runner (such as `helm`). */
  command: string;
  /** Its arguments. */
  args: readonly string[];
  /** The child's exit code, or null when it was killed by a signal. */
  exitCode: number | null;
  /** The signal that killed the child, or null when it exited by itself. */
  signal: NodeJS.Signals | null;
  /** The last lines the child wrote to stderr. */
  stderrTail: readonly string[];
  /** Applied to the arguments and the stderr lines before they are stored or shown. */
  redactor?: Redactor;
  /** The error that led to this one. */
  cause?: unknown;
}

/**
 * An external program exited with a non-zero code or was killed by a signal
 * (code `E_COMMAND_FAILED`).
 *
 * @remarks
 * The arguments and the stderr tail are stored already redacted (with the redactor given to the
 * constructor), so neither the message, nor these properties, nor the JSON form can carry a known
 * secret.
 *
 * `exitCode` is the exit status a shell would report for the child, which is also what a bin
 * exits with when it stops on this error (like a shell script under `set -e`): the child's own
 * code, or 128 plus the signal number when it was killed. `childExitCode` is the child's code
 * exactly as reported (null when it was killed by a signal).
 */
export class CommandFailedError extends DeploytagError {
  /** The program that ran, such as `helm`. */
  readonly command: string;
  /** Its arguments, redacted. */
  readonly args: readonly string[];
  /** The child's exit code, or null when a signal killed it. */
  readonly childExitCode: number | null;
  /** The signal that killed the child, or null. */
  readonly signal: NodeJS.Signals | null;
  /** The last lines of the child's stderr, redacted. */
  readonly stderrTail: string[];

  /**
   * @param options - the facts of the failed run
   */
  constructor(options: CommandFailedErrorOptions) {
    const redact = (text: string): string => options.redactor?.redact(text) ?? text;
    const args = options.args.map(redact);
    const stderrTail = options.stderrTail.map(redact);
    const how =
      options.exitCode !== null
        ? `exited with code ${options.exitCode}`
        : `was killed by signal ${options.signal ?? 'unknown'}`;
    let message = `${options.command} ${how}: ${redact(formatCommandLine(options.command, args))}`;
    message +=
      stderrTail.length > 0
        ? `\nlast ${stderrTail.length} line(s) of its stderr:\n${stderrTail.map((line) => `  ${line}`).join('\n')}`
        : '\nit wrote nothing to stderr; run with debug logging to see its output';
    super(ErrorCodes.COMMAND_FAILED, message, {
      exitCode: shellExitStatus(options.exitCode, options.signal),
      details: {
        command: options.command,
        args,
        childExitCode: options.exitCode,
        signal: options.signal,
        stderrTail,
      },
      ...('cause' in options ? { cause: options.cause } : {}),
    });
    this.command = options.command;
    this.args = args;
    this.childExitCode = options.exitCode;
    this.signal = options.signal;
    this.stderrTail = stderrTail;
  }
}

/** The status a POSIX shell reports for a child: its code, or 128 + signal number; never 0. */
function shellExitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null && Number.isInteger(code) && code > 0 && code < 256) return code;
  const number = signal === null ? undefined : signalNumber(signal);
  if (code === null && number !== undefined) return 128 + number;
  return 1;
}

/** Where and how {@link reportError} prints. */
export interface ReportErrorIO {
  /** Receives each printed line, without a newline; defaults to writing to stderr. */
  write?: (line: string) => void;
  /** Scrubs every printed line; defaults to the global redactor. */
  redactor?: Redactor;
  /** Print one JSON object on one line instead of text. */
  json?: boolean;
  /** For expected errors, also print the chain of causes (one `caused by:` line each). */
  verbose?: boolean;
}

/**
 * Prints an error the way every bin does and returns the exit code to use.
 *
 * @remarks
 * A {@link DeploytagError} prints as `error: <message>` (one line, or more only when its
 * message has several, like a failed command's stderr tail) and returns its `exitCode`. With
 * `verbose`, one `  caused by: <name>: <message>` line follows for each cause. Any other value is
 * a bug: it prints `internal error:` followed by the stack (and causes) and returns 1. With
 * `json`, one line holding a JSON object is printed instead ({@link DeploytagError.toJSON}, or
 * code `E_INTERNAL` with the stack for bugs). Every line passes through the redactor.
 *
 * @param error - whatever was caught
 * @param io - output function, redactor and format
 * @returns the exit code for the process (never 0)
 *
 * @example
 * ```ts
 * main().catch((error: unknown) => {
 *   process.exitCode = reportError(error, { json: argv.json });
 * });
 * ```
 */
export function reportError(error: unknown, io: ReportErrorIO = {}): number {
  const redactor = io.redactor ?? globalRedactor;
  const write = io.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const print = (text: string): void => {
    for (const line of redactor.redact(text).split('\n')) write(line);
  };

  if (isDeploytagError(error)) {
    const exitCode = validExitCode(error.exitCode);
    if (io.json === true) {
      // One line: JSON escapes the newlines of multi-line messages.
      write(redactor.redact(safeJsonStringify({ ...error.toJSON(), exitCode })));
      return exitCode;
    }
    print(`error: ${error.message}`);
    if (io.verbose === true) {
      let cause: unknown = error.cause;
      const seen = new Set<unknown>([error]);
      while (cause !== undefined && !seen.has(cause) && seen.size <= MAX_CAUSE_DEPTH) {
        seen.add(cause);
        print(`  caused by: ${describeCause(cause)}`);
        cause = cause instanceof Error ? cause.cause : undefined;
      }
    }
    return exitCode;
  }

  const trace = inspect(error, { depth: 4, breakLength: Infinity });
  if (io.json === true) {
    const message = error instanceof Error ? error.message : trace;
    write(
      redactor.redact(
        safeJsonStringify({
          name: error instanceof Error ? error.name : 'Error',
          code: ErrorCodes.INTERNAL,
          message,
          exitCode: 1,
          stack: trace,
        }),
      ),
    );
    return 1;
  }
  print(`internal error (a bug in deploytag; please report it with this trace):\n${trace}`);
  return 1;
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return typeof cause === 'string' ? cause : inspect(cause, { depth: 2, breakLength: Infinity });
}

function validExitCode(code: number): number {
  return Number.isInteger(code) && code > 0 && code < 256 ? code : 1;
}
