/**
 * The `deploytag.config.{json,yaml}` schema: pure validation, the JSON Schema for editors, and the
 * merge of a validated file with the environment (the environment wins) into a DeployContext.
 *
 * @packageDocumentation
 */
import { ConfigError, isDeploytagError } from '@deploytag/core';
import { resolveFacts } from './ci.js';
import type { Env, FactFlags, GitFacts, Origin } from './ci.js';
import { buildDeployContext } from './context.js';
import type { DeployContext, DeployContextField } from './context.js';
import { classifyBranch } from './kind.js';
import type { DeployableKind } from './kind.js';
import type { DatabaseEngine } from './naming.js';

/** Per-environment sections of a config file, by the kind they apply to. */
export const CONFIG_SECTIONS = ['$staging', '$preview', '$beta', '$production'] as const;

/** The name of a per-environment section (`$staging`, `$preview`, `$beta`, `$production`). */
export type ConfigSection = (typeof CONFIG_SECTIONS)[number];

/** Settings that may also appear in a per-environment section. */
export interface ConfigSettings {
  /** `CLOUD_PROVIDER`: `aws` or `gcp`. */
  cloudProvider?: 'aws' | 'gcp';
  /** `CONTAINER_REGISTRY`: the registry host. */
  containerRegistry?: string;
  /** `PROJECT_ID`: the path between registry and image. */
  projectId?: string;
  /** `IMAGE`: the image name. */
  image?: string;
  /** `CHART_NAME`: the chart path or reference. */
  chart?: string;
  /** `HELM_NAME`: the release name outside previews. */
  helmName?: string;
  /** `DATABASE`: the database name. */
  database?: string;
  /** `DOMAIN`. */
  domain?: string;
  /** `SUBDOMAIN`. */
  subdomain?: string;
  /** `AWS_SECRETS`: secret ids, merged in order, later wins. */
  secrets?: string | string[];
  /** `HELM_VARS`: extra Helm values (`a=1,b=2`). */
  helmVars?: string;
  /** The database server the database name is sized for. */
  databaseEngine?: DatabaseEngine;
  /** Namespace of staging, beta and production (`default` unless given). */
  sharedNamespace?: string;
  /** Secrets win over variables already set in the environment (`--override`). */
  overrideSecrets?: boolean;
  /** The project hook that unsets variables before secrets load. */
  resetHook?: string;
  /** `TEST_COMMAND`: the project's tests, run first by the pipeline (no shell). */
  testCommand?: string;
  /** `MIGRATIONS_DIR`: knex migrations the pipeline runs on the branch database. */
  migrations?: string;
  /** `MIGRATE_COMMAND`: the project's own migrate command, instead of knex migrations. */
  migrateCommand?: string;
  /** `SEEDS_DIR`: knex seeds for a new branch database. */
  seeds?: string;
  /** `SEED_COMMAND`: the project's own seed command, instead of knex seeds. */
  seedCommand?: string;
}

/** A validated config file. */
export interface DeployConfig extends ConfigSettings {
  /** The JSON Schema reference editors use; ignored. */
  $schema?: string;
  /** Branches deployed as staging. */
  stagingBranches?: string[];
  /** Branch prefixes deployed as previews. */
  previewPrefixes?: string[];
  /** Whether every other branch is a preview too. */
  previewAll?: boolean;
  /** Settings for staging only. */
  $staging?: ConfigSettings;
  /** Settings for previews only. */
  $preview?: ConfigSettings;
  /** Settings for beta releases only. */
  $beta?: ConfigSettings;
  /** Settings for production only. */
  $production?: ConfigSettings;
}

/** One problem found by {@link validateConfig}. */
export interface ConfigIssue {
  /** The file, when known. */
  file?: string;
  /** The key's path (`$preview.domain`). */
  key: string;
  /** What is wrong and what to write instead. */
  message: string;
}

/** Result of {@link validateConfig}: the config when there are no errors. */
export interface ValidatedConfig {
  /** The validated config; `undefined` when `errors` is not empty. */
  config: DeployConfig | undefined;
  /** Every problem, each naming the key and the file. */
  errors: ConfigIssue[];
}

type FieldType = 'string' | 'strings' | 'stringOrStrings' | 'boolean' | 'enum';

interface FieldSpec {
  type: FieldType;
  description: string;
  /** The environment variable of SCRIPTS.md that overrides it. */
  env?: string;
  values?: readonly string[];
  /** Allowed in per-environment sections. */
  sectioned: boolean;
}

/** The schema, in one place: validation, the JSON Schema and the env mapping derive from it. */
const FIELDS: Readonly<Record<string, FieldSpec>> = {
  cloudProvider: {
    type: 'enum',
    values: ['aws', 'gcp'],
    env: 'CLOUD_PROVIDER',
    sectioned: true,
    description: 'Cloud of the registry and cluster (CLOUD_PROVIDER).',
  },
  containerRegistry: {
    type: 'string',
    env: 'CONTAINER_REGISTRY',
    sectioned: true,
    description: 'Registry host, host[:port] (CONTAINER_REGISTRY).',
  },
  projectId: {
    type: 'string',
    env: 'PROJECT_ID',
    sectioned: true,
    description: 'Registry path between host and image (PROJECT_ID).',
  },
  image: { type: 'string', env: 'IMAGE', sectioned: true, description: 'Image name (IMAGE).' },
  chart: {
    type: 'string',
    env: 'CHART_NAME',
    sectioned: true,
    description: 'Helm chart path or reference (CHART_NAME).',
  },
  helmName: {
    type: 'string',
    env: 'HELM_NAME',
    sectioned: true,
    description: 'Helm release name outside previews (HELM_NAME).',
  },
  database: {
    type: 'string',
    env: 'DATABASE',
    sectioned: true,
    description: 'Database name (DATABASE).',
  },
  domain: {
    type: 'string',
    env: 'DOMAIN',
    sectioned: true,
    description: 'Domain; HOST = SUBDOMAIN.DOMAIN (DOMAIN).',
  },
  subdomain: {
    type: 'string',
    env: 'SUBDOMAIN',
    sectioned: true,
    description: 'Subdomain, the release name unless given (SUBDOMAIN).',
  },
  secrets: {
    type: 'stringOrStrings',
    env: 'AWS_SECRETS',
    sectioned: true,
    description: 'Secrets Manager ids, merged in order, later wins (AWS_SECRETS).',
  },
  helmVars: {
    type: 'string',
    env: 'HELM_VARS',
    sectioned: true,
    description: 'Extra Helm values, a=1,b=2 (HELM_VARS).',
  },
  databaseEngine: {
    type: 'enum',
    values: ['postgresql', 'mysql'],
    sectioned: true,
    description: 'Database server, for the name length limit.',
  },
  sharedNamespace: {
    type: 'string',
    sectioned: true,
    description: 'Namespace of staging, beta and production (default: default).',
  },
  overrideSecrets: {
    type: 'boolean',
    sectioned: true,
    description: 'Secrets win over variables already set in the environment.',
  },
  resetHook: {
    type: 'string',
    sectioned: true,
    description: 'Hook that unsets variables before secrets load (./scripts/reset_env_vars.sh).',
  },
  testCommand: {
    type: 'string',
    env: 'TEST_COMMAND',
    sectioned: true,
    description: "The project's tests, run first by the pipeline, without a shell (TEST_COMMAND).",
  },
  migrations: {
    type: 'string',
    env: 'MIGRATIONS_DIR',
    sectioned: true,
    description: 'Folder of knex migrations run on the branch database (MIGRATIONS_DIR).',
  },
  migrateCommand: {
    type: 'string',
    env: 'MIGRATE_COMMAND',
    sectioned: true,
    description: 'Migrate with this command instead of knex migrations (MIGRATE_COMMAND).',
  },
  seeds: {
    type: 'string',
    env: 'SEEDS_DIR',
    sectioned: true,
    description: 'Folder of knex seeds for a new branch database (SEEDS_DIR).',
  },
  seedCommand: {
    type: 'string',
    env: 'SEED_COMMAND',
    sectioned: true,
    description: 'Seed a new database with this command instead of knex seeds (SEED_COMMAND).',
  },
  stagingBranches: {
    type: 'strings',
    sectioned: false,
    description: 'Branches deployed as staging (master, main).',
  },
  previewPrefixes: {
    type: 'strings',
    sectioned: false,
    description: 'Branch prefixes deployed as previews (feature/, bug/, epic/).',
  },
  previewAll: {
    type: 'boolean',
    sectioned: false,
    description: 'Every other branch is a preview too (true).',
  },
};

/** The environment variable each setting maps to (`chart` → `CHART_NAME`). */
export const CONFIG_ENV_NAMES: Readonly<Partial<Record<keyof ConfigSettings, string>>> =
  Object.fromEntries(
    Object.entries(FIELDS).flatMap(([key, spec]) =>
      spec.env === undefined ? [] : [[key, spec.env]],
    ),
  );

function typeText(spec: FieldSpec): string {
  switch (spec.type) {
    case 'string':
      return 'a string';
    case 'strings':
      return 'a list of strings';
    case 'stringOrStrings':
      return 'a string or a list of strings';
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${(spec.values ?? []).join(', ')}`;
  }
}

function fits(spec: FieldSpec, value: unknown): boolean {
  const isStrings = (v: unknown): boolean =>
    Array.isArray(v) && v.every((item) => typeof item === 'string');
  switch (spec.type) {
    case 'string':
      return typeof value === 'string';
    case 'strings':
      return isStrings(value);
    case 'stringOrStrings':
      return typeof value === 'string' || isStrings(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'enum':
      return typeof value === 'string' && (spec.values ?? []).includes(value);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : JSON.stringify(value);
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function nearest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = distance(lower, candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/**
 * Validates a parsed config file against the schema. Pure.
 *
 * @param json - the parsed JSON or YAML document
 * @param file - the file it came from, named in every error
 * @returns the config (when valid) and every problem, each naming the key and the file
 */
export function validateConfig(json: unknown, file?: string): ValidatedConfig {
  const errors: ConfigIssue[] = [];
  const issue = (key: string, message: string): void => {
    errors.push({ ...(file === undefined ? {} : { file }), key, message });
  };
  if (!isObject(json)) {
    issue('(root)', `the file must hold an object of settings, not ${describe(json)}`);
    return { config: undefined, errors };
  }
  const check = (object: Record<string, unknown>, prefix: string, sectioned: boolean): void => {
    for (const [key, value] of Object.entries(object)) {
      const path = `${prefix}${key}`;
      if (key === '$schema' && prefix === '') {
        if (typeof value !== 'string') issue(path, 'must be a string (the JSON Schema URL)');
        continue;
      }
      if ((CONFIG_SECTIONS as readonly string[]).includes(key)) {
        if (sectioned) {
          issue(path, 'sections cannot be nested; move these settings to the top level');
        } else if (!isObject(value)) {
          issue(path, `must be an object of settings, not ${describe(value)}`);
        } else {
          check(value, `${key}.`, true);
        }
        continue;
      }
      const spec = FIELDS[key];
      if (spec === undefined) {
        const known = [...Object.keys(FIELDS), ...(sectioned ? [] : CONFIG_SECTIONS)];
        const hint = nearest(key, known);
        issue(
          path,
          `unknown setting${hint === undefined ? '' : `; did you mean "${hint}"?`} (known: ${known.join(', ')})`,
        );
        continue;
      }
      if (sectioned && !spec.sectioned) {
        issue(path, `cannot be set per environment; move it to the top level`);
        continue;
      }
      if (!fits(spec, value)) {
        issue(path, `must be ${typeText(spec)}, not ${describe(value)}`);
      }
    }
  };
  check(json, '', false);
  return errors.length === 0 ? { config: json, errors } : { config: undefined, errors };
}

/** One line per issue: `file: key: message`. */
export function formatConfigIssues(issues: readonly ConfigIssue[]): string {
  return issues
    .map((i) => `${i.file === undefined ? '' : `${i.file}: `}${i.key}: ${i.message}`)
    .join('; ');
}

/**
 * Validates and throws one {@link ConfigError} naming every problem, the first one's key and the
 * file.
 *
 * @param json - the parsed document
 * @param file - the file it came from
 * @throws ConfigError (code `E_CONFIG_INVALID`) when the document does not fit the schema
 */
export function assertValidConfig(json: unknown, file?: string): DeployConfig {
  const { config, errors } = validateConfig(json, file);
  const [head] = errors;
  if (config !== undefined && head === undefined) return config;
  throw new ConfigError(
    `${errors.length === 1 ? '' : `${errors.length} problems: `}${formatConfigIssues(errors)}`,
    {
      code: 'E_CONFIG_INVALID',
      ...(file === undefined ? {} : { file }),
      ...(head === undefined ? {} : { key: head.key }),
    },
  );
}

/** A JSON Schema (draft 2020-12) document. */
export type JsonSchema = Record<string, unknown>;

function fieldSchema(spec: FieldSpec): JsonSchema {
  const description = spec.description;
  switch (spec.type) {
    case 'string':
      return { type: 'string', description };
    case 'strings':
      return { type: 'array', items: { type: 'string' }, description };
    case 'stringOrStrings':
      return {
        anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
        description,
      };
    case 'boolean':
      return { type: 'boolean', description };
    case 'enum':
      return { type: 'string', enum: [...(spec.values ?? [])], description };
  }
}

/**
 * The JSON Schema of `deploytag.config.{json,yaml}` for editors, generated from the same table
 * {@link validateConfig} uses (the committed `deploytag.config.schema.json` is its output).
 */
export function configJsonSchema(): JsonSchema {
  const entries = Object.entries(FIELDS);
  const sectionProperties = Object.fromEntries(
    entries.filter(([, spec]) => spec.sectioned).map(([key, spec]) => [key, fieldSchema(spec)]),
  );
  const section = {
    type: 'object',
    additionalProperties: false,
    properties: sectionProperties,
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://deploytag.dev/schema/deploytag.config.schema.json',
    title: 'DeployTag configuration',
    description:
      'deploytag.config.json or deploytag.config.yaml. Environment variables override the file; $staging, $preview, $beta and $production sections override the top level for that environment.',
    type: 'object',
    additionalProperties: false,
    properties: {
      $schema: { type: 'string', description: 'The JSON Schema of this file.' },
      ...Object.fromEntries(entries.map(([key, spec]) => [key, fieldSchema(spec)])),
      ...Object.fromEntries(
        CONFIG_SECTIONS.map((name) => [
          name,
          { ...section, description: `Settings for ${name.slice(1)} only.` },
        ]),
      ),
    },
    $defs: {},
  };
}

/** Input of {@link resolveDeployContext}. */
export interface ResolveDeployContextInput {
  /** The process environment; its non-blank variables beat the file. */
  env: Env;
  /** The validated config, if a file was found. */
  config?: DeployConfig;
  /** The file's path, recorded in origins (`config:<file>`). */
  file?: string;
  /** Facts from the git checkout. */
  git?: GitFacts;
  /** Command-line flags. */
  flags?: FactFlags;
}

/** Result of {@link resolveDeployContext}. */
export interface ResolvedDeployContext {
  /** The context; its `origins` name the file (and section) for values it supplied. */
  context: DeployContext;
  /** The settings in effect for this environment (top level, then the section). */
  settings: ConfigSettings;
  /** Where each setting in effect came from (`config:<file>` or `config:<file>#$preview`). */
  settingOrigins: Partial<Record<keyof ConfigSettings, Origin>>;
  /** The environment the context was built from: the file's values under the real environment. */
  env: Record<string, string | undefined>;
  /**
   * How messages name each variable whose value came from the config file: its file and key
   * (`deploytag.config.yaml: $preview.helmVars` for `HELM_VARS`). See {@link attributeConfigError}.
   */
  fileKeys: Readonly<Record<string, string>>;
}

function settingsFor(
  config: DeployConfig,
  kind: DeployableKind | undefined,
  file: string,
): { settings: ConfigSettings; origins: Partial<Record<keyof ConfigSettings, Origin>> } {
  const settings: Record<string, unknown> = {};
  const origins: Partial<Record<keyof ConfigSettings, Origin>> = {};
  const take = (object: ConfigSettings, origin: Origin): void => {
    for (const [key, value] of Object.entries(object)) {
      if (FIELDS[key]?.sectioned !== true || value === undefined) continue;
      settings[key] = value;
      origins[key as keyof ConfigSettings] = origin;
    }
  };
  take(config, `config:${file}`);
  if (kind !== undefined) {
    const name: ConfigSection = `$${kind}`;
    const section = config[name];
    if (section !== undefined) take(section, `config:${file}#${name}`);
  }
  return { settings: settings, origins };
}

function blank(value: string | undefined): boolean {
  return value === undefined || value.trim() === '';
}

/**
 * Builds the {@link DeployContext} from a config file and the environment. Pure.
 *
 * The file supplies the variables of SCRIPTS.md it maps to (`chart` → `CHART_NAME`, …) where the
 * environment leaves them unset or blank, so every variable keeps working and overrides the file.
 * The environment's kind is found first (with the file's `stagingBranches`, `previewPrefixes`,
 * `previewAll`); that kind's section (`$staging`, `$preview`, `$beta`, `$production`) then
 * overrides the top level.
 *
 * @throws NotDeployableError, ConfigError as {@link buildDeployContext}
 */
export function resolveDeployContext(input: ResolveDeployContextInput): ResolvedDeployContext {
  const config = input.config ?? {};
  const file = input.file ?? 'deploytag.config';
  const classify = {
    ...(config.stagingBranches === undefined ? {} : { stagingBranches: config.stagingBranches }),
    ...(config.previewPrefixes === undefined ? {} : { previewPrefixes: config.previewPrefixes }),
    ...(config.previewAll === undefined ? {} : { previewAll: config.previewAll }),
  };
  const facts = resolveFacts({
    env: input.env,
    ...(input.flags === undefined ? {} : { flags: input.flags }),
    ...(input.git === undefined ? {} : { git: input.git }),
  });
  const classification = facts.detached
    ? undefined
    : classifyBranch(facts.branch, {
        ...classify,
        ...(facts.tag === undefined ? {} : { tag: facts.tag }),
      });
  const kind =
    classification === undefined || classification.kind === 'none'
      ? undefined
      : classification.kind;
  const { settings, origins: settingOrigins } = settingsFor(config, kind, file);

  const env: Record<string, string | undefined> = { ...input.env };
  const fromFile = new Map<string, Origin>();
  for (const [key, name] of Object.entries(CONFIG_ENV_NAMES)) {
    const value = settings[key as keyof ConfigSettings];
    if (value === undefined || typeof value === 'boolean' || !blank(env[name])) continue;
    env[name] = Array.isArray(value) ? value.join(',') : value;
    const origin = settingOrigins[key as keyof ConfigSettings];
    if (origin !== undefined) fromFile.set(`env:${name}`, origin);
  }
  // Messages name a value from the file by its file and key, and a missing one by both its
  // variable and its key, so that the fix is found where it has to be made.
  const fileKeys: Record<string, string> = {};
  const settingLabels: Record<string, string> = {};
  if (input.config !== undefined) {
    for (const [key, name] of Object.entries(CONFIG_ENV_NAMES)) {
      const origin = fromFile.get(`env:${name}`);
      if (origin !== undefined) {
        const section = /#(\$[a-z]+)$/.exec(origin)?.[1];
        fileKeys[name] = `${file}: ${section === undefined ? '' : `${section}.`}${key}`;
        settingLabels[name] = fileKeys[name];
      } else if (blank(env[name])) {
        settingLabels[name] = `${name} (or ${key} in ${file})`;
      }
    }
  }
  const context = buildDeployContext({
    env,
    ...(input.git === undefined ? {} : { git: input.git }),
    ...(input.flags === undefined ? {} : { flags: input.flags }),
    settingLabels,
    classify,
    ...(settings.databaseEngine === undefined ? {} : { databaseEngine: settings.databaseEngine }),
    ...(settings.sharedNamespace === undefined
      ? {}
      : { sharedNamespace: settings.sharedNamespace }),
  });
  const origins: Partial<Record<DeployContextField, Origin>> = {};
  for (const [field, origin] of Object.entries(context.origins)) {
    origins[field as DeployContextField] = fromFile.get(origin) ?? origin;
  }
  return { context: { ...context, origins }, settings, settingOrigins, env, fileKeys };
}

/**
 * Names the config file's key in an error about a setting whose value came from the file: an
 * expected error whose `details.key` is a variable in `fileKeys` becomes a {@link ConfigError}
 * (exit code 2) whose message starts with the file and key (`deploytag.config.yaml: helmVars: …`),
 * so the fix is made where the value is. Anything else is returned as it is.
 *
 * @param error - what a check of the settings threw
 * @param resolved - the result of {@link resolveDeployContext}
 */
export function attributeConfigError(
  error: unknown,
  resolved: Pick<ResolvedDeployContext, 'fileKeys'>,
): unknown {
  if (!isDeploytagError(error)) return error;
  const key = error.details?.['key'];
  const label = typeof key === 'string' ? resolved.fileKeys[key] : undefined;
  if (label === undefined || error.message.startsWith(label)) return error;
  return new ConfigError(`${label}: ${error.message}`, {
    code: error.code,
    key: key as string,
    file: label.slice(0, label.lastIndexOf(': ')),
    cause: error,
  });
}
