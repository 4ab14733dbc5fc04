import type { LogLevel, LogRecord, Reporter } from './logger.js';
import { safeJsonStringify } from './util.js';

/** Receives one line of output at a time, without the trailing newline. */
export type LineWriter = (line: string) => void;

/**
 * The part of a writable stream the reporters use; `process.stdout` and `process.stderr` fit.
 */
export interface ReporterStream {
  /** Writes text (reporters always end it with a newline). */
  write(text: string): unknown;
  /** True for a terminal. */
  readonly isTTY?: boolean;
  /** Whether the terminal supports colours, as `tty.WriteStream.hasColors` answers. */
  hasColors?(env?: object): boolean;
}

/** Options of {@link createConsoleReporter}. */
export interface ConsoleReporterOptions {
  /** Force colours on or off; by default decided from `NO_COLOR`, `FORCE_COLOR` and the stream. */
  color?: boolean;
  /**
   * Environment to read `NO_COLOR`, `FORCE_COLOR` and `TERM` from.
   *
   * @defaultValue `process.env`
   */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Options of {@link chooseReporter}. */
export interface ChooseReporterOptions extends ConsoleReporterOptions {
  /** Machine-readable output (the CLI's `--json`): one JSON object per line. */
  json?: boolean;
  /** Where the lines go, usually `process.stderr`. */
  stream: ReporterStream;
}

/**
 * A reporter for CI logs and files: one line per record (and per line of a multi-line message),
 * with a timestamp and no colours, such as
 * `2026-01-01T00:00:00.000Z INFO [helm] release deployed namespace=feature-x`.
 *
 * @remarks
 * Tags of nested loggers are joined with `/` (`[pipeline/helm]`). Fields follow as `key=value`;
 * values with spaces, quotes or `=` and non-string values are written as JSON.
 *
 * @param write - receives each line without a newline
 */
export function createPlainReporter(write: LineWriter): Reporter {
  return {
    write(record) {
      const prefix = `${formatTime(record.time)} ${record.level.toUpperCase()}${formatTags(record.tags)}`;
      writeMessageLines(write, prefix, prefix, record);
    },
  };
}

const ANSI = {
  dim: ['\u001b[2m', '\u001b[22m'],
  bold: ['\u001b[1m', '\u001b[22m'],
  gray: ['\u001b[90m', '\u001b[39m'],
  cyan: ['\u001b[36m', '\u001b[39m'],
  yellow: ['\u001b[33m', '\u001b[39m'],
  red: ['\u001b[31m', '\u001b[39m'],
} as const;

const levelStyle: Record<LogLevel, readonly (readonly [string, string])[]> = {
  debug: [ANSI.gray],
  info: [ANSI.cyan],
  warn: [ANSI.yellow, ANSI.bold],
  error: [ANSI.red, ANSI.bold],
};

/**
 * A reporter for people at a terminal: a coloured level marker, the tags, the message and the
 * fields, without a timestamp. Colours are off when `NO_COLOR` is set (to anything but the empty
 * string), when the stream is not a colour terminal, or when `options.color` is false.
 *
 * @param stream - where lines are written, usually `process.stderr`
 * @param options - colour control
 */
export function createConsoleReporter(
  stream: ReporterStream,
  options: ConsoleReporterOptions = {},
): Reporter {
  const color = options.color ?? shouldUseColor(stream, options.env ?? process.env);
  const paint = (text: string, styles: readonly (readonly [string, string])[]): string =>
    color ? styles.reduce((acc, [open, close]) => `${open}${acc}${close}`, text) : text;
  return {
    write(record) {
      const marker = paint(record.level.padEnd(5), levelStyle[record.level]);
      const tags = record.tags.length > 0 ? paint(formatTags(record.tags), [ANSI.dim]) : '';
      const first = `${marker}${tags}`;
      // Continuation lines of a multi-line message are indented under the first one.
      const rest = ' '.repeat(5);
      writeMessageLines(
        (line) => stream.write(`${line}\n`),
        first,
        rest,
        record,
        (fields) => paint(fields, [ANSI.dim]),
      );
    },
  };
}

/**
 * A reporter for machines: one JSON object per record and line, with the keys `time` (ISO 8601),
 * `level`, `tags`, `message` and `fields`.
 *
 * @param write - receives each line without a newline
 */
export function createNdjsonReporter(write: LineWriter): Reporter {
  return {
    write(record) {
      write(
        safeJsonStringify({
          time: formatTime(record.time),
          level: record.level,
          tags: record.tags,
          message: record.message,
          fields: record.fields,
        }),
      );
    },
  };
}

/**
 * Picks the reporter a bin should use: NDJSON when `json` is set, the console reporter when the
 * stream is a terminal, and plain lines otherwise (CI logs, files, pipes).
 *
 * @param options - the `--json` flag and the output stream
 */
export function chooseReporter(options: ChooseReporterOptions): Reporter {
  const { stream } = options;
  const writeLine: LineWriter = (line) => stream.write(`${line}\n`);
  if (options.json === true) return createNdjsonReporter(writeLine);
  if (stream.isTTY === true) {
    const consoleOptions: ConsoleReporterOptions = {};
    if (options.color !== undefined) consoleOptions.color = options.color;
    if (options.env !== undefined) consoleOptions.env = options.env;
    return createConsoleReporter(stream, consoleOptions);
  }
  return createPlainReporter(writeLine);
}

function shouldUseColor(
  stream: ReporterStream,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  const noColor = env.NO_COLOR;
  if (noColor !== undefined && noColor !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  if (stream.isTTY !== true || env.TERM === 'dumb') return false;
  return typeof stream.hasColors === 'function' ? stream.hasColors(env) : true;
}

function formatTime(time: number): string {
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? String(time) : date.toISOString();
}

function formatTags(tags: readonly string[]): string {
  return tags.length > 0 ? ` [${tags.join('/')}]` : '';
}

/** Characters that force a field value to be written as a JSON string. */
const NEEDS_QUOTES = /[\s"'=\\\p{Cc}]/u;

/** Renders fields as `key=value` pairs separated by spaces. */
function formatFields(fields: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    parts.push(`${key}=${formatFieldValue(value)}`);
  }
  return parts.join(' ');
}

function formatFieldValue(value: unknown): string {
  if (typeof value === 'string') {
    return value === '' || NEEDS_QUOTES.test(value) ? JSON.stringify(value) : value;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return String(value);
  }
  return safeJsonStringify(value);
}

/**
 * Writes a record's message, one output line per message line: the first starts with
 * `firstPrefix`, the others with `restPrefix`; the fields end the last line.
 */
function writeMessageLines(
  write: LineWriter,
  firstPrefix: string,
  restPrefix: string,
  record: LogRecord,
  styleFields: (text: string) => string = (text) => text,
): void {
  const lines = record.message.split(/\r?\n/);
  const fields = formatFields(record.fields);
  lines.forEach((line, index) => {
    const prefix = index === 0 ? firstPrefix : restPrefix;
    let out = line === '' ? prefix : `${prefix} ${line}`;
    if (index === lines.length - 1 && fields !== '') out += ` ${styleFields(fields)}`;
    write(out);
  });
}
