import { UsageError } from '@deploytag/core';
import type { DatabaseConfig, DatabaseServer } from '@deploytag/db';
import type { Command } from 'commander';
import type { CliIO } from '../io.js';

/**
 * Options shared by the database commands (`db-wait`, `init-db`, `db-exists`, `db-alter-owner`,
 * `db-add-extensions`). The connection itself comes from the environment (`DATABASE_URL`, or
 * `DATABASE_HOST` … `DATABASE_PASSWORD`, or `config/database.yml`), never from arguments, so no
 * password ever appears in a process list.
 */
export interface DbOptions {
  database?: string;
  config?: string;
  railsEnv?: string;
  timeout?: string;
}

/** Declares the shared database options on a command. */
export function defineDbOptions(cmd: Command): Command {
  return cmd
    .option(
      '--database <name>',
      'database name (default: $DATABASE, else the one in DATABASE_URL or database.yml)',
    )
    .option(
      '--config <file>',
      'Rails-style database.yml to read (default: config/database.yml when no DATABASE_URL or DATABASE_HOST is set)',
    )
    .option(
      '--rails-env <env>',
      'section of database.yml (default: $RAILS_ENV, $RACK_ENV, development)',
    )
    .option('--timeout <seconds>', 'how long to wait for the server to accept a login', '10');
}

/** Seconds from an option, as milliseconds. */
export function seconds(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new UsageError(
      `${option} must be a positive number of seconds, not ${JSON.stringify(value)}`,
    );
  }
  return Math.round(n * 1000);
}

/** Loads the connection settings from the options and the environment. */
export async function loadConfig(options: DbOptions, io: CliIO, databaseOptional = false) {
  const { loadDatabaseConfig } = await import('@deploytag/db');
  const config = loadDatabaseConfig({
    env: io.env,
    cwd: io.cwd,
    ...(options.config === undefined ? {} : { configFile: options.config }),
    ...(options.railsEnv === undefined ? {} : { railsEnv: options.railsEnv }),
    ...(options.database === undefined ? {} : { database: options.database }),
    databaseOptional,
  });
  // Whatever a driver or a command prints, the password never reaches the terminal.
  if (config.password !== undefined) io.redactor.add(config.password);
  return config;
}

/**
 * Loads the connection settings, waits for the server to accept a login (`--timeout`), connects,
 * runs `work`, and always closes the connection.
 */
export async function withDatabaseServer<T>(
  options: DbOptions,
  io: CliIO,
  work: (server: DatabaseServer, config: DatabaseConfig) => Promise<T>,
): Promise<T> {
  const { connectServer, waitForDatabase } = await import('@deploytag/db');
  const config = await loadConfig(options, io);
  await waitForDatabase(config, {
    timeoutMs: seconds(options.timeout, '--timeout', 10_000),
    logger: io.logger,
  });
  const server = connectServer(config, { logger: io.logger });
  try {
    return await work(server, config);
  } finally {
    await server.close();
  }
}

/** Splits a list given as `a,b c` (an option or a variable such as DATABASE_EXTENSIONS). */
export function list(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter((item) => item !== '');
}
