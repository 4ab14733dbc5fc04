import { Secret } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import {
  databaseEnv,
  databaseUrl,
  engineOf,
  resolveDatabaseConfig,
  substituteEnv,
} from './config.js';

const railsYml = `
default: &default
  adapter: postgresql
  encoding: unicode
  host: \${DB_HOST}
  port: \${DB_PORT:-5433}
  username: <%= ENV['DB_USER'] %>
  password: <%= ENV.fetch("DB_PASSWORD") { "fallback" } %>
  pool: <%= ENV.fetch("RAILS_MAX_THREADS") { 5 } %>

development:
  <<: *default
  database: app_development

test:
  <<: *default
  database: app_test

production:
  <<: *default
  database: \${DATABASE}
`;

describe('resolveDatabaseConfig', () => {
  it('reads DATABASE_URL, decoding credentials and keeping the password secret', () => {
    const config = resolveDatabaseConfig({
      env: { DATABASE_URL: 'postgres://app%40x:p%2Fa%3Ass@db.example:6543/shop?sslmode=require' },
    });
    expect(config).toMatchObject({
      engine: 'postgresql',
      host: 'db.example',
      port: 6543,
      user: 'app@x',
      database: 'shop',
      adminDatabase: 'postgres',
      ssl: 'require',
      source: 'DATABASE_URL',
    });
    expect(Secret.isSecret(config.password)).toBe(true);
    expect(config.password?.reveal()).toBe('p/a:ss');
    expect(JSON.stringify(config)).not.toContain('p/a:ss');
  });

  it('lets DATABASE (what set-env computes) and an explicit name override the URL path', () => {
    const env = { DATABASE_URL: 'mysql2://u:p@h/one', DATABASE: 'two' };
    expect(resolveDatabaseConfig({ env }).database).toBe('two');
    expect(resolveDatabaseConfig({ env, database: 'three' }).database).toBe('three');
    expect(resolveDatabaseConfig({ env })).toMatchObject({ engine: 'mysql', port: 3306 });
    expect(resolveDatabaseConfig({ env }).adminDatabase).toBeUndefined();
  });

  it('never repeats a malformed URL (it may hold a password) and rejects unknown schemes', () => {
    expect(() => resolveDatabaseConfig({ env: { DATABASE_URL: 'not a url s3cret' } })).toThrow(
      /DATABASE_URL is not a valid URL/,
    );
    try {
      resolveDatabaseConfig({ env: { DATABASE_URL: 'not a url s3cret' } });
    } catch (error) {
      expect((error as Error).message).not.toContain('s3cret');
    }
    expect(() => resolveDatabaseConfig({ env: { DATABASE_URL: 'redis://h/1' } })).toThrow(
      /scheme "redis:"/,
    );
  });

  it('reads discrete variables, PostgreSQL unless DATABASE_ADAPTER says otherwise', () => {
    const config = resolveDatabaseConfig({
      env: {
        DATABASE_HOST: 'db',
        DATABASE_PORT: '5999',
        DATABASE_USERNAME: 'app',
        DATABASE_PASSWORD: 'pw',
        DATABASE: 'shop-feature-x',
      },
    });
    expect(config).toMatchObject({ engine: 'postgresql', host: 'db', port: 5999, user: 'app' });
    expect(config.database).toBe('shop-feature-x');
    expect(config.password?.reveal()).toBe('pw');
    const maria = resolveDatabaseConfig({
      env: { DATABASE_HOST: 'db', DATABASE_ADAPTER: 'mysql2', DATABASE: 'x' },
    });
    expect(maria).toMatchObject({ engine: 'mysql', port: 3306 });
    expect(() =>
      resolveDatabaseConfig({
        env: { DATABASE_HOST: 'db', DATABASE_PORT: '99999', DATABASE: 'x' },
      }),
    ).toThrow(/not a TCP port/);
    expect(() =>
      resolveDatabaseConfig({
        env: { DATABASE_HOST: 'db', DATABASE_ADAPTER: 'oracle', DATABASE: 'x' },
      }),
    ).toThrow(/DATABASE_ADAPTER/);
  });

  it('accepts a missing name when asked to (commands that only talk to the server)', () => {
    const config = resolveDatabaseConfig({
      env: { DATABASE_HOST: 'db', DATABASE_PORT: '5433' },
      databaseOptional: true,
    });
    expect(config).toMatchObject({ host: 'db', port: 5433, database: '' });
  });

  it('asks for DATABASE when no source names a database, and for a source when there is none', () => {
    expect(() => resolveDatabaseConfig({ env: { DATABASE_HOST: 'db' } })).toThrow(/set DATABASE/);
    expect(() => resolveDatabaseConfig({ env: {} })).toThrow(
      /set DATABASE_URL .* or provide config\/database.yml/,
    );
  });

  it('reads the RAILS_ENV section of database.yml with merges and ${VAR} / ERB substitution', () => {
    const config = resolveDatabaseConfig({
      env: {
        RAILS_ENV: 'production',
        DB_HOST: 'pg.internal',
        DB_USER: 'rails',
        DB_PASSWORD: 'from-env',
        DATABASE: 'shop-feature-login',
      },
      databaseYml: { path: 'config/database.yml', text: railsYml },
    });
    expect(config).toMatchObject({
      engine: 'postgresql',
      host: 'pg.internal',
      port: 5433,
      user: 'rails',
      database: 'shop-feature-login',
      urlScheme: 'postgresql',
      source: 'config/database.yml (production)',
    });
    expect(config.password?.reveal()).toBe('from-env');
  });

  it('uses ERB defaults, the development section by default, and names a missing variable', () => {
    const config = resolveDatabaseConfig({
      env: { DB_HOST: 'h', DB_USER: 'u' },
      databaseYml: { path: 'db.yml', text: railsYml },
    });
    expect(config.database).toBe('app_development');
    expect(config.password?.reveal()).toBe('fallback');
    expect(() =>
      resolveDatabaseConfig({
        env: { DB_USER: 'u' },
        databaseYml: { path: 'db.yml', text: railsYml },
      }),
    ).toThrow(/db.yml \(development\): host refers to DB_HOST, which is not set/);
    expect(() =>
      resolveDatabaseConfig({
        env: { DB_HOST: 'h' },
        databaseYml: { path: 'db.yml', text: railsYml },
        railsEnv: 'staging',
      }),
    ).toThrow(/no "staging" section \(it has: default, development, test, production\)/);
  });

  it('does not let a substituted value change the YAML structure', () => {
    const config = resolveDatabaseConfig({
      env: { DB_HOST: 'h\nadapter: mysql2\ndatabase: evil', DB_USER: 'u' },
      databaseYml: { path: 'db.yml', text: railsYml },
    });
    expect(config.engine).toBe('postgresql');
    expect(config.database).toBe('app_development');
    expect(config.host).toBe('h\nadapter: mysql2\ndatabase: evil');
  });

  it('combines a url key with explicit keys, and reads multi-database files', () => {
    const text = `
production:
  primary:
    url: \${PRIMARY_URL}
    database: main
  cache:
    adapter: postgresql
`;
    const config = resolveDatabaseConfig({
      env: { RAILS_ENV: 'production', PRIMARY_URL: 'mysql2://u:p@m.internal:3307/ignored' },
      databaseYml: { path: 'db.yml', text },
    });
    expect(config).toMatchObject({
      engine: 'mysql',
      host: 'm.internal',
      port: 3307,
      database: 'main',
    });
  });

  it('refuses ERB it cannot evaluate and unsupported adapters', () => {
    expect(() =>
      resolveDatabaseConfig({
        env: {},
        databaseYml: {
          path: 'db.yml',
          text: 'development:\n  adapter: postgresql\n  database: <%= `id` %>\n',
        },
      }),
    ).toThrow(/cannot evaluate the ERB code/);
    expect(() =>
      resolveDatabaseConfig({
        env: {},
        databaseYml: { path: 'db.yml', text: 'development:\n  adapter: sqlite3\n  database: x\n' },
      }),
    ).toThrow(/adapter "sqlite3" is not supported/);
  });

  it('prefers DATABASE_URL over database.yml', () => {
    const config = resolveDatabaseConfig({
      env: { DATABASE_URL: 'postgres://u@h/x' },
      databaseYml: { path: 'db.yml', text: 'development:\n  adapter: mysql2\n' },
    });
    expect(config.engine).toBe('postgresql');
  });
});

describe('substituteEnv', () => {
  it('substitutes shell and ERB forms and reports unset variables', () => {
    const env = { A: 'a', EMPTY: '' };
    expect(substituteEnv('${A}-${B:-b}-${EMPTY:-e}', env, 'x')).toEqual({
      value: 'a-b-e',
      missing: [],
    });
    expect(
      substituteEnv(
        "<%= ENV['A'] %>/<%= ENV.fetch('B', 'dflt') %>/<%= ENV.fetch('C', 3) %>",
        env,
        'x',
      ),
    ).toEqual({
      value: 'a/dflt/3',
      missing: [],
    });
    expect(substituteEnv('${MISSING}', env, 'x')).toEqual({ value: '', missing: ['MISSING'] });
  });
});

describe('engineOf', () => {
  it('maps adapters and schemes', () => {
    expect(engineOf('postgis')).toBe('postgresql');
    expect(engineOf('postgres:')).toBe('postgresql');
    expect(engineOf('trilogy')).toBe('mysql');
    expect(engineOf('MariaDB')).toBe('mysql');
    expect(engineOf('sqlite3')).toBeUndefined();
  });
});

describe('databaseEnv and databaseUrl', () => {
  it('hands commands the connection with secrets kept as Secret values', () => {
    const config = resolveDatabaseConfig({
      env: { DATABASE_URL: 'postgres://app:p%40ss@db:5432/one', DATABASE: 'shop-x' },
    });
    const env = databaseEnv(config);
    expect(Secret.isSecret(env['DATABASE_URL'])).toBe(true);
    expect(Secret.isSecret(env['DATABASE_PASSWORD'])).toBe(true);
    expect(Secret.isSecret(env['PGPASSWORD'])).toBe(true);
    expect((env['DATABASE_URL'] as Secret).reveal()).toBe('postgres://app:p%40ss@db:5432/shop-x');
    expect(env).toMatchObject({
      DATABASE: 'shop-x',
      PGDATABASE: 'shop-x',
      PGHOST: 'db',
      PGPORT: '5432',
      PGUSER: 'app',
    });
    expect(JSON.stringify(env)).not.toContain('p%40ss');
    const maria = resolveDatabaseConfig({ env: { DATABASE_URL: 'mysql2://r:pw@m:3306/a' } });
    const menv = databaseEnv(maria, { database: 'b' });
    expect((menv['MYSQL_PWD'] as Secret).reveal()).toBe('pw');
    expect(databaseUrl(maria, { database: 'b c' }).reveal()).toBe('mysql2://r:pw@m:3306/b%20c');
  });
});
