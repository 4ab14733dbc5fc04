import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, DeploytagError, silentLogger } from '@deploytag/core';
import type { Logger } from '@deploytag/core';
import { databaseName } from '@deploytag/context';
import type { DeployableKind } from '@deploytag/context';
import { DbErrorCodes } from './errors.js';
import { assertSettingWord, mysqlGrantPattern, quoteIdentifier } from './identifiers.js';
import { asText, rowsOf } from './server.js';
import type { DatabaseServer } from './server.js';

/**
 * Whether database `name` exists on the server (the original `db:exists`), read from the
 * server's catalog (`pg_database`, `information_schema.schemata`) with the name as a bound value.
 *
 * @param server - an open server
 * @param name - the database name
 */
export async function databaseExists(server: DatabaseServer, name: string): Promise<boolean> {
  quoteIdentifier(name, server.engine);
  const result: unknown =
    server.engine === 'postgresql'
      ? await server.admin.raw('select 1 as found from pg_database where datname = ?', [name])
      : await server.admin.raw(
          'select 1 as found from information_schema.schemata where schema_name = ?',
          [name],
        );
  return rowsOf(server.engine, result).length > 0;
}

/** Options of {@link createDatabase}. */
export interface CreateDatabaseOptions {
  /** Role (PostgreSQL) that owns the new database; on MySQL the user is granted every privilege on it. */
  owner?: string;
  /** Character set: `UTF8` (PostgreSQL), `utf8mb4` (MySQL), … */
  encoding?: string;
  /** Collation: `C.UTF-8`, `en_US.UTF-8` (PostgreSQL, also used for LC_CTYPE), `utf8mb4_unicode_ci` (MySQL). */
  collation?: string;
  /**
   * PostgreSQL only: copy this database (schema and rows), e.g. staging's, into the new one. The
   * template must have no other session connected while it is copied.
   */
  template?: string;
  /**
   * With `template`: end the other sessions connected to the template when they are still there
   * after `templateWaitMs`. Otherwise creation fails with a message listing them.
   */
  terminateTemplateSessions?: boolean;
  /** With `template`: how long to wait for its other sessions to leave; 5 000 ms unless given. */
  templateWaitMs?: number;
  /** Progress lines. */
  logger?: Logger;
}

interface Session {
  pid: number;
  user: string;
  application: string;
  client: string;
}

async function templateSessions(server: DatabaseServer, template: string): Promise<Session[]> {
  const result: unknown = await server.admin.raw(
    `select pid, usename, application_name, coalesce(client_addr::text, 'local') as client
       from pg_stat_activity where datname = ? and pid <> pg_backend_pid()`,
    [template],
  );
  return rowsOf(server.engine, result).map((row) => ({
    pid: Number(row['pid']),
    user: asText(row['usename']),
    application: asText(row['application_name']),
    client: asText(row['client']),
  }));
}

function describeSessions(sessions: readonly Session[]): string {
  return sessions
    .map(
      (s) =>
        `pid ${s.pid} (user ${s.user}, ${s.application || 'no application name'}, from ${s.client})`,
    )
    .join('; ');
}

/**
 * Waits for a PostgreSQL template database to have no other sessions (`CREATE DATABASE` with
 * `TEMPLATE` refuses to copy a database in use), ending them when asked to.
 */
async function clearTemplate(
  server: DatabaseServer,
  template: string,
  options: CreateDatabaseOptions,
  logger: Logger,
): Promise<void> {
  // Our own pooled connections to the template would block the copy.
  await server.release(template);
  const deadline = performance.now() + (options.templateWaitMs ?? 5_000);
  let sessions = await templateSessions(server, template);
  while (sessions.length > 0 && performance.now() < deadline) {
    logger.info(
      `waiting for ${sessions.length} session(s) on template ${template} to end: ${describeSessions(sessions)}`,
    );
    await sleep(250);
    sessions = await templateSessions(server, template);
  }
  if (sessions.length === 0) return;
  if (options.terminateTemplateSessions === true) {
    logger.warn(
      `ending ${sessions.length} session(s) on template ${template}: ${describeSessions(sessions)}`,
    );
    await server.admin.raw(
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = ? and pid <> pg_backend_pid()',
      [template],
    );
    return;
  }
  throw new DeploytagError(
    DbErrorCodes.TEMPLATE_BUSY,
    `cannot copy database ${template}: PostgreSQL copies a template only while no one else is connected to it, ` +
      `and ${sessions.length} session(s) still are: ${describeSessions(sessions)}. Stop them (scale the app using it down), ` +
      'or allow DeployTag to end them (--terminate-template-sessions)',
    { details: { template, sessions: sessions.map((s) => ({ ...s })) } },
  );
}

/**
 * Creates database `name` (`CREATE DATABASE` with a quoted identifier).
 *
 * @remarks
 * PostgreSQL: `OWNER`, `ENCODING`, `LC_COLLATE`/`LC_CTYPE` (with `TEMPLATE template0` unless a
 * template is given, as PostgreSQL requires for a non-default locale) and `TEMPLATE` (a copy of
 * another database, rows included; see {@link CreateDatabaseOptions.template}). MySQL:
 * `CHARACTER SET` and `COLLATE`; an owner is granted every privilege on the database; a template
 * is refused. Fails when the database exists.
 *
 * @param server - an open server
 * @param name - the new database
 * @param options - owner, encoding, collation, template
 */
export async function createDatabase(
  server: DatabaseServer,
  name: string,
  options: CreateDatabaseOptions = {},
): Promise<void> {
  const logger = options.logger ?? silentLogger;
  const engine = server.engine;
  const parts = [`create database ${quoteIdentifier(name, engine)}`];
  const encoding =
    options.encoding === undefined ? undefined : assertSettingWord(options.encoding, 'encoding');
  const collation =
    options.collation === undefined ? undefined : assertSettingWord(options.collation, 'collation');
  if (engine === 'postgresql') {
    if (options.owner !== undefined)
      parts.push(`owner ${quoteIdentifier(options.owner, engine, 'role')}`);
    if (options.template !== undefined) {
      parts.push(`template ${quoteIdentifier(options.template, engine, 'template database')}`);
      await clearTemplate(server, options.template, options, logger);
    } else if (encoding !== undefined || collation !== undefined) {
      parts.push('template template0');
    }
    if (encoding !== undefined) parts.push(`encoding '${encoding}'`);
    if (collation !== undefined) parts.push(`lc_collate '${collation}' lc_ctype '${collation}'`);
  } else {
    if (options.template !== undefined) {
      throw new ConfigError(
        'copying a template database is a PostgreSQL feature; MySQL and MariaDB have no CREATE DATABASE … TEMPLATE. Load a dump instead',
        { key: 'template' },
      );
    }
    if (encoding !== undefined) parts.push(`character set ${encoding}`);
    if (collation !== undefined) parts.push(`collate ${collation}`);
  }
  logger.info(
    `creating database ${name}${options.template === undefined ? '' : ` as a copy of ${options.template}`}`,
  );
  await server.admin.raw(parts.join(' '));
  if (engine === 'mysql' && options.owner !== undefined)
    await alterOwner(server, name, options.owner);
}

/** Options of {@link alterOwner}. */
export interface AlterOwnerOptions {
  /** On MySQL, the host part of the account (`'%'` unless given). */
  host?: string;
}

/**
 * Makes `owner` the owner of database `name` (the original `db:alter_owner` with
 * `DATABASE_OWNER`): `ALTER DATABASE … OWNER TO` on PostgreSQL; on MySQL, which has no database
 * owners, `GRANT ALL PRIVILEGES ON db.* TO owner@host` (with `_` and `%` escaped so the grant
 * covers this database only).
 *
 * @param server - an open server
 * @param name - the database
 * @param owner - the role or user
 * @param options - MySQL account host
 */
export async function alterOwner(
  server: DatabaseServer,
  name: string,
  owner: string,
  options: AlterOwnerOptions = {},
): Promise<void> {
  const engine = server.engine;
  if (engine === 'postgresql') {
    await server.admin.raw(
      `alter database ${quoteIdentifier(name, engine)} owner to ${quoteIdentifier(owner, engine, 'role')}`,
    );
    return;
  }
  quoteIdentifier(name, engine);
  const pattern = quoteIdentifier(mysqlGrantPattern(name), engine);
  await server.admin.raw(`grant all privileges on ${pattern}.* to ?@?`, [
    owner,
    options.host ?? '%',
  ]);
}

/**
 * Installs PostgreSQL extensions into database `name`, each with
 * `CREATE EXTENSION IF NOT EXISTS` (so it is safe on every run). MySQL has no extensions: a
 * non-empty list is a configuration error there.
 *
 * @param server - an open server
 * @param name - the database
 * @param extensions - extension names, such as `pgcrypto`, `citext`
 * @param logger - progress lines
 * @returns the extensions that were requested
 */
export async function addExtensions(
  server: DatabaseServer,
  name: string,
  extensions: readonly string[],
  logger: Logger = silentLogger,
): Promise<readonly string[]> {
  if (extensions.length === 0) return extensions;
  if (server.engine !== 'postgresql') {
    throw new ConfigError(
      `extensions (${extensions.join(', ')}) are a PostgreSQL feature; MySQL and MariaDB have none: remove them from the configuration`,
      { key: 'extensions' },
    );
  }
  const quoted = extensions.map((e) => quoteIdentifier(e, 'postgresql', 'extension'));
  const db = server.database(name);
  for (const [index, extension] of extensions.entries()) {
    logger.info(`enabling extension ${extension} in ${name}`);
    await db.raw(`create extension if not exists ${quoted[index] ?? ''}`);
  }
  return extensions;
}

/** Options of {@link dropDatabase}. */
export interface DropDatabaseOptions {
  /** The kind of the deployment that owns the database; only `preview` databases are dropped. */
  kind: DeployableKind;
  /** The repository name, to check that `name` is the one DeployTag derives for `branch`. */
  repo?: string;
  /** The branch the database belongs to. */
  branch?: string;
  /** Drop even when `name` is not derived from `repo` and `branch` (never a shared kind). */
  force?: boolean;
  /** PostgreSQL 13+: end the sessions connected to it first (`WITH (FORCE)`). */
  terminateSessions?: boolean;
  /** Progress lines. */
  logger?: Logger;
}

/**
 * Drops a preview branch's database, if it exists.
 *
 * @remarks
 * Refused (`E_DB_DROP_REFUSED`) for the `staging`, `beta` and `production` kinds, always; and,
 * unless `force`, when `name` is not exactly `databaseName(repo, branch)` from
 * `@deploytag/context` (so a mistyped or overridden name never drops someone else's database).
 *
 * @param server - an open server
 * @param name - the database
 * @param options - the deployment it belongs to, and whether to force
 * @returns whether a database was dropped
 */
export async function dropDatabase(
  server: DatabaseServer,
  name: string,
  options: DropDatabaseOptions,
): Promise<boolean> {
  const engine = server.engine;
  const quoted = quoteIdentifier(name, engine);
  if (options.kind !== 'preview') {
    throw new DeploytagError(
      DbErrorCodes.DROP_REFUSED,
      `refusing to drop database ${name}: it belongs to the ${options.kind} environment, and DeployTag drops only preview databases`,
      { details: { database: name, kind: options.kind } },
    );
  }
  if (options.force !== true) {
    const expected =
      options.repo === undefined || options.branch === undefined || options.branch === ''
        ? undefined
        : databaseName(options.repo, options.branch, { engine });
    if (expected !== name) {
      throw new DeploytagError(
        DbErrorCodes.DROP_REFUSED,
        expected === undefined
          ? `refusing to drop database ${name}: give the repository and branch it was made for, so DeployTag can check the name is theirs (or force)`
          : `refusing to drop database ${name}: branch ${options.branch ?? ''} of ${options.repo ?? ''} uses ${expected}, not ${name}; force only if you are sure`,
        { details: { database: name, expected } },
      );
    }
  }
  if (!(await databaseExists(server, name))) return false;
  await server.release(name);
  (options.logger ?? silentLogger).info(`dropping database ${name}`);
  const force =
    engine === 'postgresql' && options.terminateSessions === true ? ' with (force)' : '';
  await server.admin.raw(`drop database ${quoted}${force}`);
  return true;
}
