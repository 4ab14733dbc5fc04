import {
  chooseReporter,
  createLogger,
  globalRedactor,
  type Logger,
  type LogLevel,
  type Redactor,
  type ReporterStream,
} from '@deploytag/core';

/** Where a command writes: results to `out`, progress and errors to `err`. Both are redacted. */
export interface CliIO {
  /** Writes one line of the command's result (what a script may capture or `eval`). */
  out(line: string): void;
  /** Writes one line of human-facing diagnostics. */
  err(line: string): void;
  /** Progress and diagnostics for libraries, reporting to `err`'s stream. */
  logger: Logger;
  /** True when `--json` was given: results are JSON, logs are NDJSON. */
  json: boolean;
  /** The redactor every printed line passes through. */
  redactor: Redactor;
  /** The process environment the command reads (injected for tests). */
  env: NodeJS.ProcessEnv;
  /** The folder relative paths are resolved against. */
  cwd: string;
  /** The diagnostics stream itself, for live progress on a terminal (write through `redactor`). */
  stderr: ReporterStream;
  /** The log level the global flags chose. */
  level: LogLevel;
}

/** Options every command accepts. */
export interface GlobalOptions {
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

export interface CreateIOOptions extends GlobalOptions {
  stdout?: ReporterStream;
  stderr?: ReporterStream;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  redactor?: Redactor;
}

/** Builds the command's I/O from the global flags: `--json`, `--verbose`, `--quiet`. */
export function createIO(options: CreateIOOptions = {}): CliIO {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const redactor = options.redactor ?? globalRedactor;
  const level: LogLevel = options.verbose ? 'debug' : options.quiet ? 'warn' : 'info';
  const json = options.json === true;
  return {
    out: (line) => void stdout.write(`${redactor.redact(line)}\n`),
    err: (line) => void stderr.write(`${redactor.redact(line)}\n`),
    logger: createLogger({ level, redactor, reporter: chooseReporter({ json, stream: stderr }) }),
    json,
    redactor,
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
    stderr,
    level,
  };
}
