import { DeploytagError, isDeploytagError } from '@deploytag/core';

/** Stable error codes raised by `@deploytag/db` (besides core's `E_CONFIG` and `E_TIMEOUT`). */
export const DbErrorCodes = {
  /** A database name or another identifier cannot be used safely (too long, forbidden character). */
  NAME: 'E_DB_NAME',
  /** An init step (create, schema, migrate, seed, …) failed; the message names it. */
  STEP: 'E_DB_STEP',
  /** The init lock stayed held by another run beyond the time limit. */
  LOCK_TIMEOUT: 'E_DB_LOCK_TIMEOUT',
  /** A PostgreSQL template database still had other sessions connected. */
  TEMPLATE_BUSY: 'E_DB_TEMPLATE_BUSY',
  /** `dropDatabase` refused to drop a shared or non-preview database. */
  DROP_REFUSED: 'E_DB_DROP_REFUSED',
  /** A query against the server failed. */
  QUERY: 'E_DB_QUERY',
  /** Ruby, RubyGems or bundler is not installed (the `bundle` command). */
  RUBY_MISSING: 'E_RUBY_MISSING',
} as const;

/** Options of {@link DatabaseStepError}. */
export interface DatabaseStepErrorOptions {
  /** The init step that failed (`create`, `schema`, `migrate`, `seed`, …). */
  step: string;
  /** The database it ran against. */
  database: string;
  /** The migration or seed file that failed, when known. */
  item?: string;
  /** The error the step raised. */
  cause: unknown;
}

/**
 * An init step failed. The message names the step (and the migration or seed file when known),
 * repeats the cause, and says that nothing was dropped and a re-run continues from there.
 */
export class DatabaseStepError extends DeploytagError {
  /** The init step that failed. */
  readonly step: string;
  /** The migration or seed file that failed, when known. */
  readonly item?: string;

  /** @param options - the step, database, failing item and cause */
  constructor(options: DatabaseStepErrorOptions) {
    const at = options.item === undefined ? '' : ` at ${options.item}`;
    const lost = connectionLost(options.cause)
      ? ' (the connection to the database server was lost: it stopped or restarted during the step)'
      : '';
    super(
      DbErrorCodes.STEP,
      `database ${options.database}: step "${options.step}"${at} failed: ${describe(options.cause)}${lost}; ` +
        'nothing was dropped and finished steps stay done: fix the cause and run init-db again to continue',
      {
        cause: options.cause,
        // A failed project command exits like a shell script under `set -e` would.
        exitCode: isDeploytagError(options.cause) ? options.cause.exitCode : 1,
        details: {
          step: options.step,
          database: options.database,
          ...(options.item === undefined ? {} : { item: options.item }),
        },
      },
    );
    this.step = options.step;
    if (options.item !== undefined) this.item = options.item;
  }
}

/**
 * Whether a driver error says the connection to the server went away (a server that stopped,
 * restarted or failed over), as pg and mysql2 word it.
 */
export function connectionLost(error: unknown): boolean {
  if (!(error instanceof Error) || isDeploytagError(error)) return false;
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    [
      '57P01',
      '57P02',
      '57P03',
      'ECONNRESET',
      'ECONNREFUSED',
      'EPIPE',
      'PROTOCOL_CONNECTION_LOST',
    ].includes(code)
  )
    return true;
  return /connection error|connection terminated|terminating connection|server closed the connection|connection lost|database system is shutting down|ECONNRESET|ECONNREFUSED/i.test(
    error.message,
  );
}

/** One line describing an error from a driver, knex or a command. */
export function describe(error: unknown): string {
  // DeployTag errors (a failed command with its stderr tail) are already written for people.
  if (isDeploytagError(error)) return error.message;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const text = error.message.split('\n')[0] ?? error.message;
    return typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text;
  }
  return String(error);
}
