import { describe, expect, it } from 'vitest';
import {
  assertIdentifier,
  assertSettingWord,
  mysqlGrantPattern,
  quoteIdentifier,
} from './identifiers.js';

describe('quoteIdentifier', () => {
  it('quotes with the driver escaping, so quotes and semicolons stay inside one identifier', () => {
    expect(quoteIdentifier('shop-feature-x', 'postgresql')).toBe('"shop-feature-x"');
    expect(quoteIdentifier('a"; drop database x; --', 'postgresql')).toBe(
      '"a""; drop database x; --"',
    );
    expect(quoteIdentifier('a`; drop database x; --', 'mysql')).toBe('`a``; drop database x; --`');
    // Never split into a qualified name or array access.
    expect(quoteIdentifier('a.b', 'mysql')).toBe('`a.b`');
    expect(quoteIdentifier('a.b[1]', 'postgresql')).toBe('"a.b[1]"');
  });

  it('refuses names PostgreSQL would silently truncate (bytes, not characters)', () => {
    expect(() => quoteIdentifier('x'.repeat(63), 'postgresql')).not.toThrow();
    expect(() => quoteIdentifier('x'.repeat(64), 'postgresql')).toThrow(
      /64 bytes long; PostgreSQL would silently cut it to 63/,
    );
    expect(() => quoteIdentifier('é'.repeat(32), 'postgresql')).toThrow(/64 bytes/);
    expect(() => quoteIdentifier('x'.repeat(100), 'postgresql')).toThrow(/is 100 bytes long/);
  });

  it('refuses names over 64 characters on MySQL, counting characters', () => {
    expect(() => quoteIdentifier('é'.repeat(64), 'mysql')).not.toThrow();
    expect(() => quoteIdentifier('x'.repeat(65), 'mysql')).toThrow(
      /65 characters long; MySQL allows at most 64/,
    );
    expect(() => quoteIdentifier('a ', 'mysql')).toThrow(/ends with a space/);
  });

  it('refuses empty names, NUL, placeholders and *', () => {
    for (const bad of ['', 'a\0b', 'a?b', '*']) {
      expect(() => assertIdentifier(bad, 'postgresql')).toThrow(/database name/);
    }
    try {
      assertIdentifier('', 'mysql', 'role');
    } catch (error) {
      expect(error).toMatchObject({ code: 'E_DB_NAME', exitCode: 2 });
    }
  });
});

describe('mysqlGrantPattern', () => {
  it('escapes the GRANT wildcards', () => {
    expect(mysqlGrantPattern('my_db%1\\')).toBe('my\\_db\\%1\\\\');
  });
});

describe('assertSettingWord', () => {
  it('accepts encoding and collation names only', () => {
    expect(assertSettingWord('en_US.UTF-8', 'collation')).toBe('en_US.UTF-8');
    expect(() => assertSettingWord("UTF8'; drop", 'encoding')).toThrow(/not a plain name/);
  });
});
