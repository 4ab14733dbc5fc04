import { inspect } from 'node:util';
import { globalRedactor } from './redact.js';
import type { Redactor } from './redact.js';
import { SECRET_PLACEHOLDER, Secret } from './secret.js';

/** Severity of a log record, from least to most severe: debug, info, warn, error. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** All log levels, from least to most severe. */
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze(['debug', 'info', 'warn', 'error']);

const severity: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * Tells whether a string names a log level (for parsing `--log-level` and environment variables).
 *
 * @param value - anything
 */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && Object.hasOwn(severity, value);
}

/** One log event, as handed to a {@link Reporter}. */
export interface LogRecord {
  /** Its severity. */
  level: LogLevel;
  /** The text, already redacted. */
  message: string;
  /** When it was logged, in milliseconds since the epoch. */
  time: number;
  /** The tags of the logger chain, outermost first (such as `['pipeline', 'helm']`). */
  tags: string[];
  /** Structured data: redacted, JSON-safe (secrets shown as `***`, errors summarised). */
  fields: Record<string, unknown>;
}

/** Turns log records into output: text lines for people, NDJSON for machines, or anything else. */
export interface Reporter {
  /** Outputs one record. */
  write(record: LogRecord): void;
  /** Outputs anything buffered. */
  flush?(): void;
}

/**
 * The logging port every library takes instead of writing to the console.
 *
 * @remarks
 * Messages and every string in the fields pass through the logger's redactor, and `Secret`
 * values in fields are shown as `***`, before a reporter sees them.
 */
export interface Logger {
  /** Detail useful when diagnosing a problem (command lines, program output). */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Progress a user wants to see. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something unexpected that does not stop the work. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** A failure. */
  error(message: string, fields?: Record<string, unknown>): void;
  /**
   * A logger that adds a tag, or a tag and fields, to every record; the parent is unchanged.
   *
   * @param tagOrFields - a tag such as `'helm'`, or a tag and fields to bind
   */
  child(tagOrFields: string | { tag?: string; fields?: Record<string, unknown> }): Logger;
  /** The least severe level that is output. */
  readonly level: LogLevel;
}

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /**
   * Records less severe than this are dropped.
   *
   * @defaultValue `'info'`
   */
  level?: LogLevel;
  /** Receives every record that passes the level. */
  reporter: Reporter;
  /**
   * Scrubs messages and fields.
   *
   * @defaultValue {@link globalRedactor}
   */
  redactor?: Redactor;
  /**
   * Clock, for tests.
   *
   * @defaultValue `Date.now`
   */
  now?: () => number;
}

/**
 * Creates a {@link Logger} that filters by level, redacts, and hands records to a reporter.
 *
 * @param options - level, reporter, redactor
 *
 * @example
 * ```ts
 * const logger = createLogger({ level: 'debug', reporter: chooseReporter({ stream: process.stderr }) });
 * logger.child('helm').info('release deployed', { namespace: 'feature-x' });
 * ```
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const level = options.level ?? 'info';
  if (!isLogLevel(level)) {
    throw new TypeError(`unknown log level ${String(level)}; use one of ${LOG_LEVELS.join(', ')}`);
  }
  const state: LoggerState = {
    threshold: severity[level],
    level,
    reporter: options.reporter,
    redactor: options.redactor ?? globalRedactor,
    now: options.now ?? Date.now,
  };
  return new RedactingLogger(state, [], {});
}

interface LoggerState {
  readonly threshold: number;
  readonly level: LogLevel;
  readonly reporter: Reporter;
  readonly redactor: Redactor;
  readonly now: () => number;
}

class RedactingLogger implements Logger {
  readonly #state: LoggerState;
  readonly #tags: readonly string[];
  readonly #fields: Readonly<Record<string, unknown>>;

  constructor(state: LoggerState, tags: readonly string[], fields: Record<string, unknown>) {
    this.#state = state;
    this.#tags = tags;
    this.#fields = fields;
  }

  get level(): LogLevel {
    return this.#state.level;
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.#log('debug', message, fields);
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.#log('info', message, fields);
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.#log('warn', message, fields);
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.#log('error', message, fields);
  }

  child(tagOrFields: string | { tag?: string; fields?: Record<string, unknown> }): Logger {
    const { tag, fields } =
      typeof tagOrFields === 'string' ? { tag: tagOrFields, fields: undefined } : tagOrFields;
    const tags = tag === undefined || tag === '' ? this.#tags : [...this.#tags, tag];
    return new RedactingLogger(this.#state, tags, { ...this.#fields, ...fields });
  }

  #log(level: LogLevel, message: string, fields: Record<string, unknown> | undefined): void {
    const state = this.#state;
    if (severity[level] < state.threshold) return;
    const redact = (text: string): string => state.redactor.redact(text);
    // Redact at emit time: the redactor may have learnt values since the fields were bound.
    const merged = fields === undefined ? this.#fields : { ...this.#fields, ...fields };
    state.reporter.write({
      level,
      message: redact(message),
      time: state.now(),
      tags: [...this.#tags],
      fields: sanitizeRecord(merged, redact),
    });
  }
}

/** How deep nested field values are copied before the rest is summarised. */
const MAX_FIELD_DEPTH = 6;

function sanitizeRecord(
  fields: Readonly<Record<string, unknown>>,
  redact: (text: string) => string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const ancestors = new Set<object>();
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[key] = sanitizeValue(value, redact, ancestors, 1);
  }
  return out;
}

/**
 * Makes a field value safe to print and to serialise: strings redacted, secrets masked, errors
 * and dates summarised, cycles cut, exotic objects rendered with `util.inspect`.
 */
function sanitizeValue(
  value: unknown,
  redact: (text: string) => string,
  ancestors: Set<object>,
  depth: number,
): unknown {
  switch (typeof value) {
    case 'string':
      return redact(value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return value;
    case 'bigint':
      return value.toString();
    case 'symbol':
      return value.toString();
    case 'function':
      return `[Function ${value.name || 'anonymous'}]`;
    case 'object':
      break;
  }
  if (value === null) return null;
  if (Secret.isSecret(value)) return SECRET_PLACEHOLDER;
  if (ancestors.has(value)) return '[Circular]';
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  }
  if (depth > MAX_FIELD_DEPTH) return '[…]';
  ancestors.add(value);
  try {
    if (value instanceof Error) {
      const summary: Record<string, unknown> = { name: value.name, message: redact(value.message) };
      const code: unknown = (value as { code?: unknown }).code;
      if (typeof code === 'string') summary.code = code;
      if (value.cause !== undefined) {
        summary.cause = sanitizeValue(value.cause, redact, ancestors, depth + 1);
      }
      return summary;
    }
    if (Array.isArray(value)) {
      return value.map((item: unknown) => sanitizeValue(item, redact, ancestors, depth + 1));
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        if (item !== undefined) out[key] = sanitizeValue(item, redact, ancestors, depth + 1);
      }
      return out;
    }
    // Class instances, maps, buffers: a readable one-line rendering (secrets inspect as ***).
    return redact(inspect(value, { depth: 2, breakLength: Infinity }));
  } finally {
    ancestors.delete(value);
  }
}

const noop = (): void => undefined;

/**
 * A logger that outputs nothing: the default of library functions that take an optional logger,
 * and handy in tests. Its `level` reads `'error'`, but even errors are dropped.
 */
export const silentLogger: Logger = Object.freeze({
  level: 'error',
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: (): Logger => silentLogger,
});
