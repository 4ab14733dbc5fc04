/**
 * DeployTag's foundation, imported by every other package: errors with stable codes and
 * `reportError` for bins, the `Logger` port and its reporters, the `Secret` type and the
 * `Redactor`, and `runCommand`, the one runner for external programs.
 *
 * @packageDocumentation
 */

export {
  CommandFailedError,
  ConfigError,
  DeploytagError,
  ErrorCodes,
  TimeoutError,
  UsageError,
  isDeploytagError,
  reportError,
} from './errors.js';
export type {
  CommandFailedErrorOptions,
  ConfigErrorOptions,
  DeploytagErrorJSON,
  DeploytagErrorOptions,
  ErrorCode,
  ReportErrorIO,
  SerializedCause,
  TimeoutErrorOptions,
  UsageErrorOptions,
} from './errors.js';

export { SECRET_PLACEHOLDER, Secret } from './secret.js';
export { DEFAULT_REDACT_MIN_LENGTH, Redactor, globalRedactor } from './redact.js';
export type { RedactorOptions } from './redact.js';

export { LOG_LEVELS, createLogger, isLogLevel, silentLogger } from './logger.js';
export type { CreateLoggerOptions, LogLevel, LogRecord, Logger, Reporter } from './logger.js';
export {
  chooseReporter,
  createConsoleReporter,
  createNdjsonReporter,
  createPlainReporter,
} from './reporters.js';
export type {
  ChooseReporterOptions,
  ConsoleReporterOptions,
  LineWriter,
  ReporterStream,
} from './reporters.js';

export { runCommand, splitCommandLine } from './run.js';
export type { CommandResult, RunCommandOptions } from './run.js';
