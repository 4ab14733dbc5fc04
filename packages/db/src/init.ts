import { readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { runCommand, silentLogger } from '@deploytag/core';
import type { Logger } from '@deploytag/core';
import knex from 'knex';
import type { Knex } from 'knex';
import { addExtensions, alterOwner, createDatabase, databaseExists } from './admin.js';
import type { CreateDatabaseOptions } from './admin.js';
import { databaseEnv } from './config.js';
import type { DatabaseConfig } from './config.js';
import { DatabaseStepError } from './errors.js';
import { quoteIdentifier } from './identifiers.js';
import { withDatabaseLock } from './lock.js';
import { planInit } from './plan.js';
import type {
  InitFacts,
  InitPlan,
  InitSteps,
  PlannedStep,
  RecordedStep,
  StepAction,
} from './plan.js';
import { cancelRunningStatements, connectServer, knexConfig } from './server.js';
import type { ConnectOptions, DatabaseServer } from './server.js';
import { waitForDatabase } from './wait.js';

/**
 * The table a database created by DeployTag carries until its initialisation has finished: one
 * row per finished step. A re-run after a failure reads it to continue where the failed run
 * stopped; the `finish` step drops it.
 */
export const INIT_STATE_TABLE = 'deploytag_init_state';

/** Options of {@link applyInit}. */
export interface ApplyInitOptions {
  /** Progress: one line per step, each migration and seed, and project commands' output. */
  logger?: Logger;
  /** The project folder: relative paths and commands' working folder; the current folder unless given. */
  cwd?: string;
  /** How to create a missing database (owner, encoding, collation, template). */
  create?: Omit<CreateDatabaseOptions, 'logger'>;
  /** PostgreSQL extensions for the `extensions` step. */
  extensions?: readonly string[];
  /** Owner for the `owner` step. */
  owner?: string;
  /**
   * Stops the initialisation: a project command is stopped, a running knex migration or seed has
   * its statement cancelled on the server (its transaction rolls back), and no further step
   * starts.
   */
  signal?: AbortSignal;
}

/** What one step did. */
export interface StepOutcome {
  /** The step. */
  name: PlannedStep['name'];
  /** How long it took, in milliseconds. */
  durationMs: number;
  /** Migrations or seed files it ran, when it ran knex files. */
  files?: string[];
}

/** What {@link applyInit} and {@link initDatabase} did. */
export interface InitResult {
  /** The plan that ran (or would run, with `dryRun`). */
  plan: InitPlan;
  /** False with `dryRun`. */
  applied: boolean;
  /** The steps that ran, in order. */
  steps: StepOutcome[];
  /** knex migrations that ran. */
  migrations: string[];
  /** knex seed files that ran. */
  seeds: string[];
}

function resolvePath(cwd: string, path: string): string {
  return isAbsolute(path) ? path : join(cwd, path);
}

interface PoolClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
}

/**
 * Runs a SQL script (several statements) on database `name` through the driver directly, so
 * that nothing in it is taken for a knex placeholder: pg's simple-query protocol (one implicit
 * transaction unless the script has its own), mysql2 with `multipleStatements` on a connection
 * of its own.
 */
async function runSqlScript(server: DatabaseServer, name: string, sql: string): Promise<void> {
  let db: Knex;
  let own = false;
  if (server.engine === 'postgresql') {
    db = server.database(name);
  } else {
    const config = knexConfig(server.config, name, { poolMax: 1 });
    db = knex({
      ...config,
      connection: { ...(config.connection as object), multipleStatements: true },
    });
    own = true;
  }
  const client = db.client as PoolClient;
  const connection = await client.acquireConnection();
  try {
    if (server.engine === 'postgresql') {
      await (connection as { query(text: string): Promise<unknown> }).query(sql);
    } else {
      await new Promise<void>((resolve, reject) => {
        (connection as { query(text: string, cb: (error: Error | null) => void): void }).query(
          sql,
          (error) => {
            if (error) reject(error);
            else resolve();
          },
        );
      });
    }
  } finally {
    await client.releaseConnection(connection);
    if (own) await db.destroy();
  }
}

const SEED_FILE = /\.(?:c|m)?js$/;

interface MigrationEntry {
  file: string;
}

async function runAction(
  server: DatabaseServer,
  plan: InitPlan,
  step: PlannedStep,
  action: StepAction,
  options: ApplyInitOptions,
  logger: Logger,
): Promise<string[]> {
  const cwd = options.cwd ?? process.cwd();
  const name = plan.database;
  switch (action.type) {
    case 'sql-file': {
      const path = resolvePath(cwd, action.path);
      logger.info(`running SQL file ${path}`);
      await runSqlScript(server, name, readFileSync(path, 'utf8'));
      return [];
    }
    case 'command': {
      await runCommand(action.command, action.args, {
        cwd: action.cwd === undefined ? cwd : resolvePath(cwd, action.cwd),
        env: databaseEnv(server.config, { database: name }),
        logger,
        outputLevels: { stdout: 'info', stderr: 'info' },
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      return [];
    }
    case 'knex-migrations': {
      const db = server.database(name);
      const config: Knex.MigratorConfig = {
        directory: resolvePath(cwd, action.directory),
        ...(action.tableName === undefined ? {} : { tableName: action.tableName }),
      };
      const [, pending] = (await db.migrate.list(config)) as [unknown[], MigrationEntry[]];
      if (pending.length === 0) logger.info('no pending migrations');
      const ran: string[] = [];
      for (const migration of pending) {
        options.signal?.throwIfAborted();
        logger.info(`migration ${migration.file}`);
        try {
          await db.migrate.up({ ...config, name: migration.file });
        } catch (error) {
          throw new DatabaseStepError({
            step: step.name,
            database: name,
            item: migration.file,
            cause: error,
          });
        }
        ran.push(migration.file);
      }
      return ran;
    }
    case 'knex-seeds': {
      const db = server.database(name);
      const directory = resolvePath(cwd, action.directory);
      const files = readdirSync(directory)
        .filter((f) => SEED_FILE.test(f))
        .sort();
      for (const file of files) {
        options.signal?.throwIfAborted();
        logger.info(`seed ${file}`);
        try {
          await db.seed.run({ directory, specific: file });
        } catch (error) {
          throw new DatabaseStepError({
            step: step.name,
            database: name,
            item: file,
            cause: error,
          });
        }
      }
      return files;
    }
  }
}

/**
 * Until the returned function is called, an abort of `signal` cancels the statements this process runs on database
 * `name` (a migration that runs long, or waits for a lock, stops now rather than when it ends).
 */
function cancelOnAbort(
  server: DatabaseServer,
  name: string,
  signal: AbortSignal | undefined,
  logger: Logger,
): () => void {
  const onAbort = (): void => {
    logger.info(`cancelling the statement running on database ${name}`);
    cancelRunningStatements(server, name).catch((error: unknown) => {
      logger.warn(
        `could not cancel the statement running on database ${name} (${(error as Error).message}); it ends when its session does`,
      );
    });
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  return () => {
    signal?.removeEventListener('abort', onAbort);
  };
}

async function ensureStateTable(server: DatabaseServer, name: string): Promise<void> {
  const db = server.database(name);
  if (await db.schema.hasTable(INIT_STATE_TABLE)) return;
  await db.schema.createTable(INIT_STATE_TABLE, (table) => {
    table.string('step', 32).primary();
    table.timestamp('finished_at').defaultTo(db.fn.now());
  });
}

/**
 * Records a finished step. The table is created again if the step removed it (a schema load that
 * empties the database), so progress is never lost and a finished step never fails here.
 */
async function record(
  server: DatabaseServer,
  name: string,
  step: RecordedStep | 'created',
): Promise<void> {
  await ensureStateTable(server, name);
  await server.database(name)(INIT_STATE_TABLE).insert({ step });
}

/**
 * Runs an {@link InitPlan} against the server. Stops at the first failing step with a
 * {@link DatabaseStepError} naming it; nothing is dropped or rolled back beyond what the step's own
 * tool does (each knex migration runs in its own transaction), and a new database's progress is
 * recorded so that the next run continues from the failed step.
 *
 * Call it under {@link withDatabaseLock}, with a plan made from fresh facts; {@link initDatabase}
 * does both.
 *
 * @param plan - the plan from {@link planInit}
 * @param server - an open server
 * @param options - logger, project folder, create options, extensions, owner
 * @returns what ran
 */
export async function applyInit(
  plan: InitPlan,
  server: DatabaseServer,
  options: ApplyInitOptions = {},
): Promise<InitResult> {
  const logger = options.logger ?? silentLogger;
  const name = plan.database;
  const result: InitResult = { plan, applied: true, steps: [], migrations: [], seeds: [] };
  for (const step of plan.steps) {
    options.signal?.throwIfAborted();
    const started = performance.now();
    const stepLogger = logger.child(step.name);
    logger.info(`${step.name}: ${step.description}`);
    let files: string[] | undefined;
    try {
      switch (step.name) {
        case 'create':
          await createDatabase(server, name, { ...options.create, logger: stepLogger });
          await record(server, name, 'created');
          break;
        case 'extensions':
          await addExtensions(server, name, options.extensions ?? [], stepLogger);
          break;
        case 'owner':
          if (options.owner !== undefined || options.create?.owner !== undefined) {
            await alterOwner(server, name, options.owner ?? options.create?.owner ?? '');
          }
          break;
        case 'finish':
          await server.database(name).schema.dropTableIfExists(INIT_STATE_TABLE);
          break;
        case 'schema':
        case 'migrate':
        case 'seed': {
          if (step.action === undefined) break;
          // A project command is stopped by runCommand; statements of ours are cancelled.
          const release =
            step.action.type === 'command'
              ? undefined
              : cancelOnAbort(server, name, options.signal, stepLogger);
          try {
            files = await runAction(server, plan, step, step.action, options, stepLogger);
          } finally {
            release?.();
          }
          if (step.action.type === 'knex-migrations') result.migrations.push(...files);
          if (step.action.type === 'knex-seeds') result.seeds.push(...files);
          if (step.name !== 'migrate' && plan.mode !== 'migrate')
            await record(server, name, step.name);
          break;
        }
      }
    } catch (error) {
      if (error instanceof DatabaseStepError) throw error;
      throw new DatabaseStepError({ step: step.name, database: name, cause: error });
    }
    result.steps.push({
      name: step.name,
      durationMs: Math.round(performance.now() - started),
      ...(files === undefined ? {} : { files }),
    });
  }
  return result;
}

/**
 * Reads the facts {@link planInit} needs: whether the database exists and, if DeployTag created
 * it and did not finish, which steps are done.
 *
 * @param server - an open server
 * @param name - the database
 */
export async function readInitState(
  server: DatabaseServer,
  name: string,
): Promise<Pick<InitFacts, 'exists' | 'unfinished'>> {
  quoteIdentifier(name, server.engine);
  if (!(await databaseExists(server, name))) return { exists: false };
  const db = server.database(name);
  if (!(await db.schema.hasTable(INIT_STATE_TABLE))) return { exists: true };
  const selected: unknown = await db(INIT_STATE_TABLE).select('step');
  const rows = selected as { step: string }[];
  const done = rows
    .map((row) => row.step)
    .filter((step): step is RecordedStep => step === 'schema' || step === 'seed');
  return { exists: true, unfinished: { done } };
}

/** Options of {@link initDatabase}. */
export interface InitDatabaseOptions extends ApplyInitOptions {
  /** What to run for schema, migrations and seeds. */
  steps: InitSteps;
  /** How long to wait for the server first; 10 000 ms (the original's 10 s) unless given. */
  waitTimeoutMs?: number;
  /** How long to wait for another run initialising the same database; 15 minutes unless given. */
  lockTimeoutMs?: number;
  /** Only plan: report what would run, change nothing (no lock is taken). */
  dryRun?: boolean;
  /** Pool and connection settings. */
  connect?: ConnectOptions;
}

/**
 * The original `init_db.sh`: wait for the server, then — under the database's init lock, so
 * concurrent pipelines do the work once — migrate an existing database, or create a missing one,
 * load its schema, migrate and seed it.
 *
 * @param config - the connection settings; `config.database` is initialised
 * @param options - the steps, creation options, time limits, logger, dry run
 * @returns the plan and what ran
 * @throws TimeoutError when the server does not answer in time; DatabaseStepError naming a failed step
 */
export async function initDatabase(
  config: DatabaseConfig,
  options: InitDatabaseOptions,
): Promise<InitResult> {
  const logger = options.logger ?? silentLogger;
  const name = config.database;
  quoteIdentifier(name, config.engine);
  const factsFor = (state: Pick<InitFacts, 'exists' | 'unfinished'>): InitFacts => ({
    database: name,
    engine: config.engine,
    ...state,
    steps: options.steps,
    ...(options.create === undefined ? {} : { create: options.create }),
    ...(options.extensions === undefined ? {} : { extensions: options.extensions }),
    ...(options.owner === undefined ? {} : { owner: options.owner }),
  });
  // Check the configuration before touching the server.
  planInit(factsFor({ exists: false }));
  await waitForDatabase(config, {
    logger,
    ...(options.waitTimeoutMs === undefined ? {} : { timeoutMs: options.waitTimeoutMs }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const server = connectServer(config, { logger, ...options.connect });
  try {
    if (options.dryRun === true) {
      const plan = planInit(factsFor(await readInitState(server, name)));
      return { plan, applied: false, steps: [], migrations: [], seeds: [] };
    }
    return await withDatabaseLock(
      server,
      name,
      async () => {
        const plan = planInit(factsFor(await readInitState(server, name)));
        logger.info(`database ${name}: ${plan.mode} (${plan.steps.map((s) => s.name).join(', ')})`);
        return await applyInit(plan, server, options);
      },
      {
        logger,
        ...(options.lockTimeoutMs === undefined ? {} : { timeoutMs: options.lockTimeoutMs }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
    );
  } finally {
    await server.close();
  }
}
