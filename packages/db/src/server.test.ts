import { describe, expect, it } from 'vitest';
import { resolveDatabaseConfig } from './config.js';
import { asText, knexConfig, rowsOf } from './server.js';

describe('knexConfig', () => {
  it('hands the password to the driver only, with whole-millisecond pool timeouts', () => {
    const config = resolveDatabaseConfig({
      env: { DATABASE_URL: 'postgres://app:s3cret@db:5432/shop?sslmode=verify-full' },
    });
    const knex = knexConfig(config, 'postgres', { connectTimeoutMs: 1479.85 });
    expect(knex.client).toBe('pg');
    expect(knex.connection).toMatchObject({
      host: 'db',
      port: 5432,
      user: 'app',
      password: 's3cret',
      database: 'postgres',
      connectionTimeoutMillis: 1480,
      ssl: { rejectUnauthorized: true },
    });
    expect(knex.acquireConnectionTimeout).toBe(2480);
  });

  it('connects MySQL without a default database when none is given', () => {
    const config = resolveDatabaseConfig({ env: { DATABASE_URL: 'mysql2://root@m/app' } });
    const knex = knexConfig(config, undefined);
    expect(knex.client).toBe('mysql2');
    expect(knex.connection).not.toHaveProperty('database');
    expect(knex.connection).not.toHaveProperty('password');
    expect(knex.connection).toMatchObject({ host: 'm', port: 3306, connectTimeout: 10_000 });
  });
});

describe('rowsOf and asText', () => {
  it('reads rows from either driver and turns values into text', () => {
    expect(rowsOf('postgresql', { rows: [{ a: 1 }] })).toEqual([{ a: 1 }]);
    expect(rowsOf('mysql', [[{ a: 1 }], []])).toEqual([{ a: 1 }]);
    expect(asText(null)).toBe('');
    expect(asText(12n)).toBe('12');
    expect(asText(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
    expect(asText({ a: 1 })).toBe('{"a":1}');
  });
});
