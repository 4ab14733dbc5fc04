import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ConfigError, Secret } from '@deploytag/core';
import type { DatabaseEngine } from '@deploytag/context';
import { parse as parseYaml } from 'yaml';

/**
 * Where and how to reach a database server, and which database on it is the deployment's.
 * Build it with {@link resolveDatabaseConfig} (pure) or {@link loadDatabaseConfig} (reads
 * `config/database.yml`).
 */
export interface DatabaseConfig {
  /** The server kind: `postgresql`, or `mysql` for MySQL and MariaDB. */
  engine: DatabaseEngine;
  /** Host name or address of the server. */
  host: string;
  /** TCP port of the server. */
  port: number;
  /** User to log in as, if any (the driver's default otherwise). */
  user?: string;
  /** Password of `user`; never printed. */
  password?: Secret;
  /** The deployment's database (created by `initDatabase` when missing). */
  database: string;
  /**
   * The database administrative connections use (existence checks, `CREATE DATABASE`, locks):
   * `postgres` on PostgreSQL; none on MySQL.
   */
  adminDatabase?: string;
  /** TLS: `require` encrypts without checking the certificate, `verify` checks it too. */
  ssl?: 'require' | 'verify';
  /** The URL scheme handed to project commands in `DATABASE_URL` (`postgres`, `mysql2`, …). */
  urlScheme: string;
  /** Where these settings came from, for messages (`DATABASE_URL`, `config/database.yml (production)`). */
  source: string;
}

/** Input of {@link resolveDatabaseConfig}. */
export interface ResolveDatabaseConfigInput {
  /** The environment to read (`DATABASE_URL`, `DATABASE_HOST`, …, `DATABASE`, `RAILS_ENV`). */
  env: Readonly<Record<string, string | undefined>>;
  /** A Rails-style `database.yml`, already read: its path (for messages) and text. */
  databaseYml?: { path: string; text: string };
  /** Section of `database.yml` to use; `RAILS_ENV`, `RACK_ENV`, then `development`. */
  railsEnv?: string;
  /** The database name, overriding every other source. */
  database?: string;
  /**
   * Accept settings that name no database (`database` is then empty): for commands that only
   * talk to the server, such as waiting for it.
   */
  databaseOptional?: boolean;
}

const POSTGRES_SCHEMES = new Set(['postgres', 'postgresql', 'postgis', 'pg']);
const MYSQL_SCHEMES = new Set(['mysql', 'mysql2', 'mariadb', 'trilogy']);
const DEFAULT_PORT: Readonly<Record<DatabaseEngine, number>> = { postgresql: 5432, mysql: 3306 };
const DISCRETE_KEYS = [
  'DATABASE_HOST',
  'DATABASE_PORT',
  'DATABASE_USER',
  'DATABASE_USERNAME',
  'DATABASE_PASSWORD',
] as const;

/**
 * The engine of an adapter or URL scheme name (`postgresql`, `postgres`, `postgis` →
 * `postgresql`; `mysql2`, `mysql`, `mariadb`, `trilogy` → `mysql`), or undefined.
 *
 * @param name - a Rails adapter or URL scheme
 */
export function engineOf(name: string): DatabaseEngine | undefined {
  const key = name.toLowerCase().replace(/:$/, '');
  if (POSTGRES_SCHEMES.has(key)) return 'postgresql';
  if (MYSQL_SCHEMES.has(key)) return 'mysql';
  return undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function parsePort(text: string, where: string, key: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`${where}: port "${text}" is not a TCP port (1-65535)`, { key });
  }
  return port;
}

function sslFrom(mode: string | undefined): DatabaseConfig['ssl'] {
  switch (mode?.toLowerCase()) {
    case 'require':
    case 'prefer':
    case 'true':
    case 'required':
      return 'require';
    case 'verify-ca':
    case 'verify-full':
    case 'verify_identity':
    case 'verify_ca':
      return 'verify';
    default:
      return undefined;
  }
}

/** Settings read from one source before the name and defaults are applied. */
interface Settings {
  engine: DatabaseEngine;
  host?: string;
  port?: number;
  user?: string;
  password?: Secret;
  database?: string;
  ssl?: DatabaseConfig['ssl'];
  urlScheme: string;
}

/**
 * Reads a database URL (`postgres://user:pass@host:5432/name?sslmode=require`). Credentials are
 * URL-decoded; the password becomes a {@link Secret}. The message of a bad URL never repeats it.
 */
function fromUrl(text: string, where: string, key: string): Settings {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The URL may hold a password: never echo it.
    throw new ConfigError(
      `${where} is not a valid URL; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE or mysql2://…`,
      { key },
    );
  }
  const scheme = url.protocol.replace(/:$/, '');
  const engine = engineOf(scheme);
  if (engine === undefined) {
    throw new ConfigError(
      `${where} uses the scheme "${scheme}:"; DeployTag supports postgres://, postgresql:// and mysql://, mysql2://, mariadb://`,
      { key },
    );
  }
  const decode = (value: string): string => {
    try {
      return decodeURIComponent(value);
    } catch {
      throw new ConfigError(`${where} has badly percent-encoded credentials`, { key });
    }
  };
  const partial: Settings = { engine, urlScheme: scheme };
  const host = nonEmpty(url.hostname.replace(/^\[(.*)\]$/, '$1'));
  if (host !== undefined) partial.host = host;
  if (url.port !== '') partial.port = parsePort(url.port, where, key);
  if (url.username !== '') partial.user = decode(url.username);
  if (url.password !== '') partial.password = Secret.of(decode(url.password));
  const database = nonEmpty(decode(url.pathname.replace(/^\//, '')));
  if (database !== undefined) partial.database = database;
  const ssl = sslFrom(
    url.searchParams.get('sslmode') ?? url.searchParams.get('ssl-mode') ?? undefined,
  );
  if (ssl !== undefined) partial.ssl = ssl;
  return partial;
}

function fromDiscrete(env: ResolveDatabaseConfigInput['env']): Settings {
  const adapter = nonEmpty(env['DATABASE_ADAPTER']) ?? 'postgresql';
  const engine = engineOf(adapter);
  if (engine === undefined) {
    throw new ConfigError(
      `DATABASE_ADAPTER is "${adapter}"; use postgresql or mysql2 (MySQL and MariaDB)`,
      { key: 'DATABASE_ADAPTER' },
    );
  }
  const partial: Settings = { engine, urlScheme: engine === 'postgresql' ? 'postgres' : 'mysql' };
  const host = nonEmpty(env['DATABASE_HOST']);
  if (host !== undefined) partial.host = host;
  const port = nonEmpty(env['DATABASE_PORT']);
  if (port !== undefined) partial.port = parsePort(port, 'DATABASE_PORT', 'DATABASE_PORT');
  const user = nonEmpty(env['DATABASE_USER']) ?? nonEmpty(env['DATABASE_USERNAME']);
  if (user !== undefined) partial.user = user;
  const password = nonEmpty(env['DATABASE_PASSWORD']);
  if (password !== undefined) partial.password = Secret.of(password);
  const ssl = sslFrom(nonEmpty(env['DATABASE_SSLMODE']));
  if (ssl !== undefined) partial.ssl = ssl;
  return partial;
}

/** `${VAR}`, `${VAR:-default}`, `<%= ENV['VAR'] %>`, `<%= ENV.fetch('VAR', 'default') %>`, `<%= ENV.fetch('VAR') { 'default' } %>`. */
const SHELL_VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g;
const ERB = /<%=\s*(.*?)\s*-?%>/g;
const ERB_ENV =
  /^ENV(?:\[\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\1\s*\]|\.fetch\(\s*(['"])([A-Za-z_][A-Za-z0-9_]*)\3\s*(?:,\s*(?:(['"])(.*?)\5|(\d+))\s*)?\)(?:\s*\{\s*(?:(['"])(.*?)\8|(\d+))\s*\})?)$/;

/**
 * Substitutes environment variables into one value of `database.yml`: `${VAR}` and
 * `${VAR:-default}` (shell style) and the ERB forms Rails files use for the environment
 * (`<%= ENV['VAR'] %>`, `<%= ENV.fetch('VAR') %>`, with a default as a second argument or a block).
 * The substituted text is never parsed as YAML again, so a value cannot change the file's structure.
 *
 * @param value - the raw value from the file
 * @param env - the environment
 * @param where - the file and key, for messages
 * @returns the substituted value and the names of unset variables that had no default
 * @throws ConfigError for any other ERB code, which DeployTag cannot evaluate
 */
export function substituteEnv(
  value: string,
  env: ResolveDatabaseConfigInput['env'],
  where: string,
): { value: string; missing: string[] } {
  const missing: string[] = [];
  const lookup = (name: string, fallback: string | undefined): string => {
    const found = env[name];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    missing.push(name);
    return '';
  };
  let out = value.replace(SHELL_VAR, (_match, name: string, fallback: string | undefined) =>
    lookup(name, fallback),
  );
  out = out.replace(ERB, (_match, code: string) => {
    const m = ERB_ENV.exec(code.trim());
    if (m === null) {
      throw new ConfigError(
        `${where}: cannot evaluate the ERB code <%= ${code} %>; only ENV['VAR'] and ENV.fetch('VAR', default) are supported, or use \${VAR} / \${VAR:-default}`,
      );
    }
    const name = m[2] ?? m[4] ?? '';
    const fallback = m[6] ?? m[7] ?? m[9] ?? m[10];
    return lookup(name, fallback);
  });
  return { value: out, missing };
}

type YamlSection = Record<string, unknown>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fromYml(
  yml: { path: string; text: string },
  env: ResolveDatabaseConfigInput['env'],
  section: string,
): Settings {
  let doc: unknown;
  try {
    doc = parseYaml(yml.text, { merge: true });
  } catch (error) {
    throw new ConfigError(`${yml.path} is not valid YAML: ${(error as Error).message}`, {
      file: yml.path,
      cause: error,
    });
  }
  if (!isRecord(doc)) {
    throw new ConfigError(`${yml.path} holds no sections; expected one per environment`, {
      file: yml.path,
    });
  }
  let chosen = doc[section];
  if (!isRecord(chosen)) {
    const names = Object.keys(doc).filter((k) => isRecord(doc[k]));
    throw new ConfigError(
      `${yml.path} has no "${section}" section (it has: ${names.join(', ') || 'none'}); set RAILS_ENV to one of them`,
      { file: yml.path, key: section },
    );
  }
  // Rails multi-database files nest the connections: use the primary one.
  if (!('adapter' in chosen) && !('url' in chosen) && isRecord(chosen['primary'])) {
    chosen = chosen['primary'];
  }
  const entries = chosen as YamlSection;
  const where = `${yml.path} (${section})`;
  const read = (key: string): string | undefined => {
    const raw = entries[key];
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      throw new ConfigError(`${where}: ${key} must be a plain value`, { file: yml.path, key });
    }
    const { value, missing } = substituteEnv(String(raw), env, `${where} ${key}`);
    if (missing.length > 0) {
      throw new ConfigError(
        `${where}: ${key} refers to ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not set; set ${missing.length === 1 ? 'it' : 'them'} or give a default (\${VAR:-default})`,
        { file: yml.path, key },
      );
    }
    return nonEmpty(value);
  };

  const url = read('url');
  const base: Settings | undefined =
    url === undefined ? undefined : fromUrl(url, `${where} url`, 'url');
  const adapter = read('adapter');
  const engine = adapter === undefined ? base?.engine : engineOf(adapter);
  if (engine === undefined) {
    throw new ConfigError(
      adapter === undefined
        ? `${where} names no adapter; add adapter: postgresql or adapter: mysql2`
        : `${where}: adapter "${adapter}" is not supported; DeployTag handles postgresql and mysql2 (MySQL, MariaDB)`,
      { file: yml.path, key: 'adapter' },
    );
  }
  const partial: Settings = {
    ...base,
    engine,
    urlScheme: adapter ?? base?.urlScheme ?? (engine === 'postgresql' ? 'postgres' : 'mysql2'),
  };
  const host = read('host');
  if (host !== undefined) partial.host = host;
  const port = read('port');
  if (port !== undefined) partial.port = parsePort(port, where, 'port');
  const user = read('username') ?? read('user');
  if (user !== undefined) partial.user = user;
  const password = read('password');
  if (password !== undefined) partial.password = Secret.of(password);
  const database = read('database');
  if (database !== undefined) partial.database = database;
  const ssl = sslFrom(read('sslmode') ?? read('ssl_mode'));
  if (ssl !== undefined) partial.ssl = ssl;
  return partial;
}

/**
 * Works out the database connection from the environment contract of the original scripts, in
 * this order:
 *
 * 1. `DATABASE_URL` (`postgres://USER:PASSWORD@HOST:PORT/NAME`, `mysql2://…`);
 * 2. discrete variables, when any of `DATABASE_HOST`, `DATABASE_PORT`, `DATABASE_USER`
 *    (`DATABASE_USERNAME`), `DATABASE_PASSWORD` is set (`DATABASE_ADAPTER` chooses the engine,
 *    PostgreSQL by default; `DATABASE_SSLMODE`);
 * 3. a Rails-style `database.yml`: the `RAILS_ENV` section (then `RACK_ENV`, then
 *    `development`), `<<: *default` merges honoured, `${VAR}` and `<%= ENV['VAR'] %>`
 *    substituted, a `url:` key combined with the explicit keys.
 *
 * The database name is `input.database`, else `DATABASE` (what `set-env` computes), else the
 * source's own name. Passwords become {@link Secret}s. Pure: the caller reads the file.
 *
 * @param input - the environment, the file's text, the section and an explicit name
 * @returns the connection settings
 * @throws ConfigError naming what to set when nothing usable is configured
 */
export function resolveDatabaseConfig(input: ResolveDatabaseConfigInput): DatabaseConfig {
  const { env } = input;
  const url = nonEmpty(env['DATABASE_URL']);
  let partial: Settings;
  let source: string;
  if (url !== undefined) {
    partial = fromUrl(url, 'DATABASE_URL', 'DATABASE_URL');
    source = 'DATABASE_URL';
  } else if (DISCRETE_KEYS.some((key) => nonEmpty(env[key]) !== undefined)) {
    partial = fromDiscrete(env);
    source = 'DATABASE_HOST/DATABASE_PORT/DATABASE_USER/DATABASE_PASSWORD';
  } else if (input.databaseYml !== undefined) {
    const section =
      nonEmpty(input.railsEnv) ??
      nonEmpty(env['RAILS_ENV']) ??
      nonEmpty(env['RACK_ENV']) ??
      'development';
    partial = fromYml(input.databaseYml, env, section);
    source = `${input.databaseYml.path} (${section})`;
  } else {
    throw new ConfigError(
      'no database is configured: set DATABASE_URL (postgres://USER:PASSWORD@HOST:PORT/NAME), ' +
        'or DATABASE_HOST, DATABASE_PORT, DATABASE_USER, DATABASE_PASSWORD and DATABASE, ' +
        'or provide config/database.yml',
      { key: 'DATABASE_URL' },
    );
  }
  const database = nonEmpty(input.database) ?? nonEmpty(env['DATABASE']) ?? partial.database;
  if (database === undefined && input.databaseOptional !== true) {
    throw new ConfigError(
      `${source} names no database; set DATABASE to the deployment's database name (set-env computes it)`,
      { key: 'DATABASE' },
    );
  }
  const config: DatabaseConfig = {
    engine: partial.engine,
    host: partial.host ?? 'localhost',
    port: partial.port ?? DEFAULT_PORT[partial.engine],
    database: database ?? '',
    urlScheme: partial.urlScheme,
    source,
  };
  if (partial.user !== undefined) config.user = partial.user;
  if (partial.password !== undefined) config.password = partial.password;
  if (partial.ssl !== undefined) config.ssl = partial.ssl;
  const admin = nonEmpty(env['DATABASE_ADMIN_DATABASE']);
  if (admin !== undefined) config.adminDatabase = admin;
  else if (partial.engine === 'postgresql') config.adminDatabase = 'postgres';
  return config;
}

/** Options of {@link loadDatabaseConfig}. */
export interface LoadDatabaseConfigOptions {
  /** The environment; `process.env` unless given. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The project folder, for `config/database.yml`; the current folder unless given. */
  cwd?: string;
  /** A `database.yml` to read instead of `<cwd>/config/database.yml` (it must exist). */
  configFile?: string;
  /** The section of `database.yml`; see {@link resolveDatabaseConfig}. */
  railsEnv?: string;
  /** The database name, overriding every other source. */
  database?: string;
  /** See {@link ResolveDatabaseConfigInput.databaseOptional}. */
  databaseOptional?: boolean;
}

/**
 * {@link resolveDatabaseConfig} with `config/database.yml` read from the project folder (only
 * when neither `DATABASE_URL` nor discrete variables are set, or when `configFile` is given).
 *
 * @param options - environment, project folder, file, section and name
 * @returns the connection settings
 */
export function loadDatabaseConfig(options: LoadDatabaseConfigOptions = {}): DatabaseConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let path: string | undefined;
  if (options.configFile !== undefined) {
    path = isAbsolute(options.configFile) ? options.configFile : join(cwd, options.configFile);
    if (!existsSync(path)) {
      throw new ConfigError(`database config file ${path} does not exist`, { file: path });
    }
  } else if (existsSync(join(cwd, 'config', 'database.yml'))) {
    path = join(cwd, 'config', 'database.yml');
  }
  const input: ResolveDatabaseConfigInput = { env };
  if (options.railsEnv !== undefined) input.railsEnv = options.railsEnv;
  if (options.database !== undefined) input.database = options.database;
  if (options.databaseOptional !== undefined) input.databaseOptional = options.databaseOptional;
  if (path !== undefined) {
    const useFile =
      options.configFile !== undefined ||
      (nonEmpty(env['DATABASE_URL']) === undefined &&
        !DISCRETE_KEYS.some((key) => nonEmpty(env[key]) !== undefined));
    if (useFile) {
      input.databaseYml = { path, text: readFileSync(path, 'utf8') };
      if (options.configFile !== undefined) {
        // An explicit file wins over the variables.
        const cleaned: Record<string, string | undefined> = { ...env };
        for (const key of ['DATABASE_URL', ...DISCRETE_KEYS]) cleaned[key] = undefined;
        input.env = cleaned;
      }
    }
  }
  return resolveDatabaseConfig(input);
}

/** Options of {@link databaseUrl} and {@link databaseEnv}. */
export interface DatabaseEnvOptions {
  /** The database to point at; `config.database` unless given. */
  database?: string;
}

/**
 * The connection as a URL, password included, wrapped in a {@link Secret}.
 *
 * @param config - the connection settings
 * @param options - another database on the same server
 */
export function databaseUrl(config: DatabaseConfig, options: DatabaseEnvOptions = {}): Secret {
  const user = config.user === undefined ? '' : encodeURIComponent(config.user);
  const password =
    config.password === undefined ? '' : `:${encodeURIComponent(config.password.reveal())}`;
  const auth = user === '' && password === '' ? '' : `${user}${password}@`;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const name = encodeURIComponent(options.database ?? config.database);
  const query =
    config.ssl === undefined
      ? ''
      : `?sslmode=${config.ssl === 'verify' ? 'verify-full' : 'require'}`;
  return Secret.of(`${config.urlScheme}://${auth}${host}:${config.port}/${name}${query}`);
}

/**
 * The variables a project's own command (`bundle exec rake db:migrate`,
 * `npx prisma migrate deploy`) needs to reach the database: `DATABASE_URL`, `DATABASE_HOST`, `DATABASE_PORT`,
 * `DATABASE_USER`, `DATABASE_PASSWORD`, `DATABASE`, and the client library's own: `PGHOST`,
 * `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, or `MYSQL_HOST`, `MYSQL_TCP_PORT`, `MYSQL_PWD`.
 * Passwords and the URL are {@link Secret}s: `runCommand` reveals them only into the child's
 * environment and redacts them from its output.
 *
 * @param config - the connection settings
 * @param options - another database on the same server
 */
export function databaseEnv(
  config: DatabaseConfig,
  options: DatabaseEnvOptions = {},
): Record<string, string | Secret> {
  const name = options.database ?? config.database;
  const env: Record<string, string | Secret> = {
    DATABASE_URL: databaseUrl(config, options),
    DATABASE_HOST: config.host,
    DATABASE_PORT: String(config.port),
    DATABASE: name,
  };
  if (config.user !== undefined) env['DATABASE_USER'] = config.user;
  if (config.password !== undefined) env['DATABASE_PASSWORD'] = config.password;
  if (config.engine === 'postgresql') {
    env['PGHOST'] = config.host;
    env['PGPORT'] = String(config.port);
    env['PGDATABASE'] = name;
    if (config.user !== undefined) env['PGUSER'] = config.user;
    if (config.password !== undefined) env['PGPASSWORD'] = config.password;
  } else {
    env['MYSQL_HOST'] = config.host;
    env['MYSQL_TCP_PORT'] = String(config.port);
    if (config.password !== undefined) env['MYSQL_PWD'] = config.password;
  }
  return env;
}
