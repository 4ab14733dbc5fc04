import { ConfigError } from '@deploytag/core';
import { DATABASE_NAME_MAX_LENGTH } from '@deploytag/context';
import type { DatabaseEngine } from '@deploytag/context';
import { createRequire } from 'node:module';
import { escapeId } from 'mysql2';
import { DbErrorCodes } from './errors.js';

/**
 * The pg driver's own identifier quoting (libpq's `PQescapeIdentifier`). pg ships no type
 * declarations, so it is loaded with the one signature used here.
 */
const pg = createRequire(import.meta.url)('pg') as { escapeIdentifier(value: string): string };

/**
 * Checks that `name` can be used as an identifier (a database, role or extension name) on
 * `engine`, before anything is sent to the server.
 *
 * @remarks
 * PostgreSQL silently truncates identifiers longer than 63 bytes, so two long branch names could
 * end up in the same database; MySQL rejects names over 64 characters. Both are refused here with
 * one clear error instead. Also refused: the empty name, NUL, `?` (the SQL layer would take it
 * for a placeholder), a lone `*`, and on MySQL a trailing space. Quotes, semicolons, dots and
 * spaces are fine: identifiers are always quoted by {@link quoteIdentifier}.
 *
 * @param name - the identifier
 * @param engine - the server kind
 * @param what - what the name is, for the message (`database`, `role`)
 * @throws ConfigError with code `E_DB_NAME`
 */
export function assertIdentifier(name: string, engine: DatabaseEngine, what = 'database'): void {
  const fail = (why: string): never => {
    throw new ConfigError(`${what} name ${JSON.stringify(name)} ${why}`, {
      code: DbErrorCodes.NAME,
      key: what,
    });
  };
  if (name === '') fail('is empty');
  if (name.includes('\0')) fail('contains a NUL character');
  if (name.includes('?')) fail('contains "?", which the SQL layer would read as a placeholder');
  if (name === '*') fail('is "*"');
  const limit = DATABASE_NAME_MAX_LENGTH[engine];
  if (engine === 'postgresql') {
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes > limit) {
      fail(
        `is ${bytes} bytes long; PostgreSQL would silently cut it to ${limit} bytes, possibly into another branch's database. Use a shorter name (databaseName from @deploytag/context shortens names safely)`,
      );
    }
  } else {
    const chars = Array.from(name).length;
    if (chars > limit) {
      fail(
        `is ${chars} characters long; MySQL allows at most ${limit}. Use a shorter name (databaseName from @deploytag/context shortens names safely)`,
      );
    }
    if (name.endsWith(' ')) fail('ends with a space, which MySQL does not allow');
  }
}

/**
 * Quotes an identifier with the driver's own escaping (pg's `escapeIdentifier`, mysql2's
 * `escapeId` with qualified names forbidden), after {@link assertIdentifier}: the result is one
 * identifier whatever the name contains (a quote is doubled: `"a""b;drop"`), never a qualified
 * name or SQL.
 *
 * @param name - the identifier
 * @param engine - the server kind
 * @param what - what the name is, for messages
 * @returns the quoted identifier, ready to be placed in SQL text
 */
export function quoteIdentifier(name: string, engine: DatabaseEngine, what = 'database'): string {
  assertIdentifier(name, engine, what);
  return engine === 'postgresql' ? pg.escapeIdentifier(name) : escapeId(name, true);
}

/**
 * A database name as the pattern of a MySQL `GRANT … ON db.*`, where `_` and `%` are wildcards:
 * both are escaped so that the grant covers exactly this database.
 *
 * @param name - the database name
 */
export function mysqlGrantPattern(name: string): string {
  return name.replace(/[\\_%]/g, (c) => `\\${c}`);
}

/** A value that can be written into SQL as a bare word (an encoding or collation name). */
const SETTING_WORD = /^[A-Za-z0-9_.@-]{1,64}$/;

/**
 * Checks that an encoding or collation name is a plain word (letters, digits, `_ . @ -`), which
 * is then safe to place in `CREATE DATABASE` (where the server accepts no bind parameters).
 *
 * @param value - the setting's value
 * @param what - its name, for the message
 * @throws ConfigError when it is anything else
 */
export function assertSettingWord(value: string, what: string): string {
  if (!SETTING_WORD.test(value)) {
    throw new ConfigError(
      `${what} ${JSON.stringify(value)} is not a plain name (letters, digits, _ . @ -); give an encoding or collation name such as UTF8 or utf8mb4_unicode_ci`,
      { key: what },
    );
  }
  return value;
}
