/**
 * `@deploytag/db`: a database per branch, created once, migrated every time, never clobbered.
 * Replaces the original `init_db.sh`, `db_wait.sh`, the Rails tasks of `db.rake` and `bundle.sh`,
 * on PostgreSQL and MySQL/MariaDB through knex.
 *
 * - Connection: {@link resolveDatabaseConfig} / {@link loadDatabaseConfig} (`DATABASE_URL`,
 *   discrete variables, or a Rails `config/database.yml`), passwords as `Secret`s.
 * - {@link waitForDatabase}: TCP, then a real login, with backoff and a deadline.
 * - {@link databaseExists}, {@link createDatabase}, {@link alterOwner}, {@link addExtensions},
 *   {@link dropDatabase} on a {@link DatabaseServer} from {@link connectServer}; identifiers are
 *   always quoted by the driver's own escaping ({@link quoteIdentifier}).
 * - {@link initDatabase}: the original flow, planned purely by {@link planInit} and run by
 *   {@link applyInit} under {@link withDatabaseLock}.
 * - {@link planBundle} / {@link runBundle}: the original `bundle.sh`.
 *
 * @packageDocumentation
 */
export {
  databaseEnv,
  databaseUrl,
  engineOf,
  loadDatabaseConfig,
  resolveDatabaseConfig,
  substituteEnv,
  type DatabaseConfig,
  type DatabaseEnvOptions,
  type LoadDatabaseConfigOptions,
  type ResolveDatabaseConfigInput,
} from './config.js';
export { DatabaseStepError, DbErrorCodes, type DatabaseStepErrorOptions } from './errors.js';
export { assertIdentifier, quoteIdentifier } from './identifiers.js';
export { connectServer, knexConfig, type ConnectOptions, type DatabaseServer } from './server.js';
export { waitForDatabase, type WaitForDatabaseOptions, type WaitResult } from './wait.js';
export {
  addExtensions,
  alterOwner,
  createDatabase,
  databaseExists,
  dropDatabase,
  type AlterOwnerOptions,
  type CreateDatabaseOptions,
  type DropDatabaseOptions,
} from './admin.js';
export { lockKey, withDatabaseLock, type DatabaseLockOptions, type LockKey } from './lock.js';
export {
  commandStep,
  planInit,
  type InitFacts,
  type InitPlan,
  type InitStepName,
  type InitSteps,
  type PlannedStep,
  type RecordedStep,
  type StepAction,
} from './plan.js';
export {
  INIT_STATE_TABLE,
  applyInit,
  initDatabase,
  readInitState,
  type ApplyInitOptions,
  type InitDatabaseOptions,
  type InitResult,
  type StepOutcome,
} from './init.js';
export {
  bundledWith,
  planBundle,
  runBundle,
  type BundleCommand,
  type BundleFacts,
  type BundlePlan,
  type RunBundleOptions,
} from './bundle.js';
