import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ConfigSettings, DeployContext, FactFlags } from '@deploytag/context';
import type { Logger } from '@deploytag/core';
import {
  ConfigError,
  DeploytagError,
  Secret,
  runCommand,
  silentLogger,
  splitCommandLine,
} from '@deploytag/core';
import type { InitSteps } from '@deploytag/db';
import type { DeployClients, DeployOptions } from '@deploytag/helm';
import type { BuildClients, BuildOptions, BuildPlan } from '@deploytag/image';
import type { SecretsSource } from '@deploytag/secrets';
import { planPush } from './plan.js';
import type { DatabaseSettings, PlannedStep, PushFacts, PushStepId } from './plan.js';
import { orderSteps, runSteps } from './steps.js';
import { newerCommitCheck } from './supersede.js';
import type { RunReport, Step, StepEvent } from './steps.js';

/** Environment variables as a bin sees them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** What to push: the project and its environment. */
export interface PushInput {
  /** The project folder: git work tree, build context, chart and migrations are relative to it. */
  dir: string;
  /** The environment (CI variables, `AWS_*`, `DATABASE_URL`, …). */
  env: Env;
  /** Command-line overrides of branch and sha. */
  flags?: FactFlags;
  /** An explicit config file (default: `deploytag.config.{json,yaml,yml}` in `dir` if present). */
  configFile?: string;
  /** Digest the work tree instead of the commit (uncommitted changes included). */
  includeWorkingTree?: boolean;
}

/** The clients a push talks to; {@link connectPushClients} makes them from the environment. */
export interface PushClients {
  /** Container engine and registries. */
  image: BuildClients;
  /** Secrets Manager, made on first use (only a push with secret ids needs it). */
  secrets(): Promise<SecretsSource>;
  /** Kubernetes and helm. */
  deploy: Omit<DeployClients, 'logger' | 'signal'>;
  /** Releases connections and private files. */
  close(): void;
}

/** Choices of a push run. */
export interface PushOptions {
  /** Plan only: gather the facts, return the plan, change nothing. */
  dryRun?: boolean;
  /** Run only these steps. */
  only?: readonly string[];
  /** Skip these steps. */
  skip?: readonly string[];
  /** Most steps running at once (default: no limit); 1 runs the plan one step after another. */
  concurrency?: number;
  /** Cancels the run: running steps stop (children are killed, locks released). */
  signal?: AbortSignal;
  /** Live progress. */
  onEvent?: (event: StepEvent) => void;
  /** Deploy choices (timeouts, atomic, lock holder); `skipUnchanged` is on unless `force`. */
  deploy?: DeployOptions;
  /** Run helm even when chart and values are unchanged. */
  force?: boolean;
  /** Rebuild the base image even when its content tag exists (`FORCE_BASE_BUILD`). */
  forceBase?: boolean;
  /** How long the database may take to accept a login; 60 s by default. */
  databaseWaitMs?: number;
  /**
   * Called with every secret value the push reads (Secrets Manager values, the database
   * password), before anything could print it, so the caller can scrub its output.
   */
  redact?: (value: Secret) => void;
}

/** What a push found, planned and did. */
export interface PushResult {
  /** The context the plan was made for. */
  context: DeployContext;
  /** The settings in effect (config file and environment). */
  settings: ConfigSettings;
  /** The plan, step by step. */
  plan: PlannedStep[];
  /** The run's report (undefined for a dry run). */
  report: RunReport | undefined;
  /** The address, when the deploy ran. */
  url: string | undefined;
}

/** Everything {@link preparePush} resolved: the facts, and what the steps need to run. */
export interface PreparedPush {
  /** The facts the plan was made from. */
  facts: PushFacts;
  /** The resolved environment (config file values under the real environment). */
  env: Record<string, string | undefined>;
  /** The settings in effect. */
  settings: ConfigSettings;
  /** The image build options (undefined without a Dockerfile). */
  buildOptions: BuildOptions | undefined;
}

const nonBlank = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' ? undefined : value;

/** The database settings of a push, or undefined when the project declares none. */
function databaseSettings(settings: ConfigSettings, env: Env): DatabaseSettings | undefined {
  const pick = (key: keyof DatabaseSettings, name: string): [string, string][] => {
    const value = nonBlank(env[name]) ?? nonBlank(settings[key]);
    return value === undefined ? [] : [[key, value]];
  };
  const entries = [
    ...pick('migrations', 'MIGRATIONS_DIR'),
    ...pick('migrateCommand', 'MIGRATE_COMMAND'),
    ...pick('seeds', 'SEEDS_DIR'),
    ...pick('seedCommand', 'SEED_COMMAND'),
  ];
  if (entries.length === 0) return undefined;
  const result: DatabaseSettings = Object.fromEntries(entries);
  return result;
}

function initSteps(
  settings: DatabaseSettings,
  commandStep: (text: string) => InitSteps['migrate'],
) {
  const steps: InitSteps = {};
  if (settings.migrations !== undefined)
    steps.migrate = { type: 'knex-migrations', directory: settings.migrations };
  else if (settings.migrateCommand !== undefined)
    steps.migrate = commandStep(settings.migrateCommand);
  if (settings.seeds !== undefined) steps.seed = { type: 'knex-seeds', directory: settings.seeds };
  else if (settings.seedCommand !== undefined) steps.seed = commandStep(settings.seedCommand);
  return steps;
}

/**
 * Makes the clients of a push from the environment: the engine and registries (`DOCKER_HOST`,
 * registry credentials), Secrets Manager (`AWS_*`, made on first use), and Kubernetes with helm
 * (`KUBECONFIG`, `HELM_BIN`).
 *
 * @param env - the environment
 * @param logger - progress
 */
export async function connectPushClients(env: Env, logger: Logger): Promise<PushClients> {
  const { clientsFromEnv } = await import('@deploytag/image');
  const { connectDeployClients } = await import('@deploytag/helm');
  const connected = await connectDeployClients({ env: { ...env }, logger });
  let secrets: Promise<{ source: SecretsSource; destroy(): void }> | undefined;
  return {
    image: clientsFromEnv(env, logger),
    deploy: { kube: connected.kube, helm: connected.helm },
    secrets() {
      secrets ??= (async () => {
        const lib = await import('@deploytag/secrets');
        const client = await lib.createSecretsManagerClient(env);
        return {
          source: lib.createAwsSecretsSource({ client, logger }),
          destroy: () => client.destroy(),
        };
      })();
      return secrets.then((s) => s.source);
    },
    close() {
      connected.close();
      void secrets?.then((s) => s.destroy()).catch(() => undefined);
    },
  };
}

/**
 * Reads what a push plan needs (I/O): the config file, git facts, the {@link DeployContext}, and
 * the image plan from the registry's tags. With `probeDatabase`, also asks the database server
 * what initialisation would do (for `--dry-run`).
 *
 * @param input - the project and environment
 * @param clients - image clients for the registry lookups
 * @param options - logger, and whether to ask the database server
 */
export async function preparePush(
  input: PushInput,
  clients: Pick<PushClients, 'image'>,
  options: { logger?: Logger; probeDatabase?: boolean; forceBase?: boolean } = {},
): Promise<PreparedPush> {
  const logger = options.logger ?? silentLogger;
  const { attributeConfigError, loadConfigFile, resolveDeployContext } =
    await import('@deploytag/context');
  const { readRepoFacts } = await import('@deploytag/git');
  const dir = resolve(input.dir);
  const loaded = await loadConfigFile({
    cwd: dir,
    ...(input.configFile === undefined ? {} : { file: input.configFile }),
  });
  let git: { branch?: string; sha?: string; remoteUrl?: string; detached?: boolean } = {};
  try {
    const facts = await readRepoFacts(dir, { env: { ...input.env } });
    git = { sha: facts.sha, detached: facts.detached };
    if (facts.branch !== undefined) git.branch = facts.branch;
    if (facts.remoteUrl !== undefined) git.remoteUrl = facts.remoteUrl;
  } catch {
    // Not a git checkout: the CI variables must say everything.
  }
  const resolved = resolveDeployContext({
    env: input.env,
    git,
    ...(loaded === undefined ? {} : { config: loaded.config, file: loaded.file }),
    ...(input.flags === undefined ? {} : { flags: input.flags }),
  });
  const env = resolved.env;
  const context = resolved.context;
  const testCommand = nonBlank(env['TEST_COMMAND']) ?? nonBlank(resolved.settings.testCommand);
  const database = databaseSettings(resolved.settings, env);
  // Everything a step would only find out late is checked now, before any step starts: the
  // commands, the folders, and what helm will be given (chart files, values files, HELM_VARS).
  // A value from the config file is named by its file and key.
  const label = (name: string): string => resolved.fileKeys[name] ?? name;
  const checkCommand = (name: string, text: string | undefined): void => {
    if (text === undefined) return;
    try {
      splitCommandLine(text);
    } catch (error) {
      throw new ConfigError(`${label(name)}: ${(error as Error).message}`, {
        code: 'E_CONFIG_INVALID',
        key: name,
        cause: error,
      });
    }
  };
  checkCommand('TEST_COMMAND', testCommand);
  checkCommand('MIGRATE_COMMAND', database?.migrateCommand);
  checkCommand('SEED_COMMAND', database?.seedCommand);
  for (const [key, name] of [
    ['migrations', 'MIGRATIONS_DIR'],
    ['seeds', 'SEEDS_DIR'],
  ] as const) {
    const folder = database?.[key];
    if (folder !== undefined && !existsSync(resolve(dir, folder))) {
      throw new ConfigError(
        `${label(name)}: the folder ${folder} does not exist in ${dir}; fix the path or remove the setting`,
        { code: 'E_CONFIG_INVALID', key: name },
      );
    }
  }
  const helm = await import('@deploytag/helm');
  try {
    helm.prepareDeployInput({ context, chart: helm.readChartFacts(context.chart, dir), env });
  } catch (error) {
    throw attributeConfigError(error, resolved);
  }

  let build: BuildPlan | undefined;
  let buildOptions: BuildOptions | undefined;
  const dockerfile = nonBlank(env['DOCKER_FILE']) ?? 'Dockerfile';
  if (existsSync(join(dir, dockerfile))) {
    const image = await import('@deploytag/image');
    buildOptions = await image.buildOptionsFromEnv(env, {
      dir,
      withBase: true,
      ...(input.flags === undefined ? {} : { flags: input.flags }),
      ...(input.includeWorkingTree === true ? { includeWorkingTree: true } : {}),
    });
    if (options.forceBase === true) buildOptions.forceBase = true;
    build = await image.prepareBuild(buildOptions, { ...clients.image, logger });
  }

  const facts: PushFacts = { context, testCommand, build, database };
  const dns = await import('@deploytag/dns');
  if (dns.dnsConfigured(env)) {
    const settings = dns.readDnsSettings(env);
    const zone = settings.zone ?? context.domain;
    facts.dns = {
      provider: settings.provider,
      zone,
      names: settings.templates.map((t) =>
        dns.expandRecordTemplate(t, dns.recordTemplateVars(context), zone),
      ),
    };
  }
  if (options.probeDatabase === true && database !== undefined) {
    facts.databaseState = await probeDatabase(dir, env, context, database, logger);
  }
  return { facts, env, settings: resolved.settings, buildOptions };
}

async function probeDatabase(
  dir: string,
  env: Env,
  context: DeployContext,
  settings: DatabaseSettings,
  logger: Logger,
): Promise<NonNullable<PushFacts['databaseState']>> {
  const db = await import('@deploytag/db');
  try {
    const config = db.loadDatabaseConfig({ env, cwd: dir, database: context.database });
    const result = await db.initDatabase(config, {
      steps: initSteps(settings, (text) => db.commandStep(text)),
      cwd: dir,
      logger,
      dryRun: true,
      waitTimeoutMs: 5_000,
    });
    return {
      mode: result.plan.mode,
      steps: result.plan.steps.map((s) => s.name),
    };
  } catch (err) {
    return { unknown: `server not asked (${(err as Error).message})` };
  }
}

/**
 * Turns a plan into runnable steps bound to the clients. The secrets step hands its values to the
 * database and deploy steps in memory (never through outputs, reports or files).
 */
function bindSteps(
  prepared: PreparedPush,
  plan: PlannedStep[],
  clients: PushClients,
  input: PushInput,
  options: PushOptions,
): Step[] {
  const { facts, env, buildOptions } = prepared;
  const { context } = facts;
  const dir = resolve(input.dir);
  const appEnv = new Map<string, Secret>();
  let secretsLoaded = false;
  const envWithSecrets = (): Record<string, string | undefined> => {
    const out: Record<string, string | undefined> = { ...env };
    for (const [name, value] of appEnv) out[name] = value.reveal();
    return out;
  };

  const work: Record<PushStepId, Step['run']> = {
    async tests({ logger, signal }) {
      const [program, ...args] = splitCommandLine(facts.testCommand ?? '');
      const result = await runCommand(program, args, {
        cwd: dir,
        env: { ...env },
        inheritEnv: false,
        logger,
        outputLevels: { stdout: 'info', stderr: 'info' },
        signal,
      });
      return { summary: `passed in ${(result.durationMs / 1000).toFixed(1)}s` };
    },
    async secrets({ logger, signal }) {
      const { loadSecrets } = await import('@deploytag/secrets');
      const loaded = await loadSecrets({
        ids: context.secretIds,
        source: await clients.secrets(),
        env,
        override: prepared.settings.overrideSecrets === true,
        logger,
        signal,
      });
      for (const [name, resolved] of loaded.values) {
        options.redact?.(resolved.value);
        appEnv.set(name, resolved.value);
      }
      secretsLoaded = true;
      return {
        outputs: { variables: [...appEnv.keys()].sort().join(',') },
        summary: `${appEnv.size} variable(s) from ${context.secretIds.length} secret(s)`,
      };
    },
    async 'base-image'({ logger, signal }) {
      if (facts.build === undefined || buildOptions === undefined) return { summary: 'no image' };
      const { applyBuild } = await import('@deploytag/image');
      const result = await applyBuild(
        facts.build,
        buildOptions,
        { ...clients.image, logger, signal },
        { base: true, app: false },
      );
      return {
        outputs: { image: facts.build.baseImageRef, action: result.base },
        summary:
          result.base === 'build'
            ? `built and pushed ${facts.build.base.contentTag}`
            : result.base === 'retag'
              ? `tagged ${facts.build.base.contentTag} (no build)`
              : `up to date (${facts.build.base.contentTag})`,
      };
    },
    async 'app-image'({ logger, signal }) {
      if (facts.build === undefined || buildOptions === undefined) return { summary: 'no image' };
      const { applyBuild } = await import('@deploytag/image');
      const result = await applyBuild(
        facts.build,
        buildOptions,
        { ...clients.image, logger, signal },
        { base: false, app: true },
      );
      const app = facts.build.app;
      return {
        outputs: { image: `${app.repository}:${context.image.shaTag}`, action: result.app },
        summary:
          result.app === 'build'
            ? `built and pushed ${app.repository}:${context.image.shaTag}`
            : result.app === 'retag'
              ? `tagged ${app.contentTag} as ${app.tagsToWrite.join(', ')} (no build)`
              : `up to date (${app.contentTag})`,
      };
    },
    async database({ logger, signal }) {
      const db = await import('@deploytag/db');
      const settings = facts.database ?? {};
      const config = db.loadDatabaseConfig({
        env: envWithSecrets(),
        cwd: dir,
        database: context.database,
      });
      if (config.password !== undefined) options.redact?.(config.password);
      const result = await db.initDatabase(config, {
        steps: initSteps(settings, (text) => db.commandStep(text)),
        cwd: dir,
        logger,
        signal,
        waitTimeoutMs: options.databaseWaitMs ?? 60_000,
      });
      const done =
        result.plan.mode === 'create'
          ? 'created'
          : result.plan.mode === 'resume'
            ? 'initialisation completed'
            : 'up to date';
      return {
        outputs: { database: config.database, mode: result.plan.mode },
        summary:
          result.migrations.length > 0
            ? `${config.database} ${result.plan.mode === 'migrate' ? 'migrated' : done} (${result.migrations.length} migration(s))`
            : `${config.database} ${done}`,
      };
    },
    async deploy(ctx) {
      const { logger, signal } = ctx;
      const helm = await import('@deploytag/helm');
      const values: Record<string, unknown> = {};
      const app = ctx.outputsOf('app-image');
      if (app !== undefined && facts.build !== undefined)
        values['image'] = { repository: facts.build.app.repository };
      const release = new Map(appEnv);
      if (ctx.outputsOf('database') !== undefined)
        release.set('DATABASE', Secret.of(context.database));
      const { result } = await helm.deploy(
        {
          context,
          chart: helm.readChartFacts(context.chart, dir),
          ...(secretsLoaded || release.size > 0 ? { appEnv: Object.fromEntries(release) } : {}),
          env,
          values,
          options: { ...options.deploy, skipUnchanged: options.force !== true },
        },
        // A newer commit of the branch deployed meanwhile is not replaced (see newerCommitCheck).
        {
          ...clients.deploy,
          logger,
          signal,
          isSuperseded: newerCommitCheck(dir, context.sha, logger),
        },
      );
      if (result === undefined) throw new Error('helm deploy returned no result');
      const url = result.urls[0] ?? result.url;
      const address = result.addresses?.loadBalancers[0]?.address;
      return {
        outputs: {
          ...(address === undefined ? {} : { address }),
          namespace: result.namespace,
          release: result.release,
          action: result.action,
          ...(result.supersededBy === undefined ? {} : { supersededBy: result.supersededBy }),
          url,
          ...(result.revision === undefined ? {} : { revision: String(result.revision) }),
        },
        summary:
          result.supersededBy === undefined
            ? `${result.release} ${result.action} in ${result.namespace}: ${url}`
            : `${result.release} left on the newer commit ${result.supersededBy.slice(0, 12)}: ${url}`,
      };
    },
    async dns(ctx) {
      const { logger } = ctx;
      const dns = await import('@deploytag/dns');
      const wanted = facts.dns;
      const address = ctx.outputsOf('deploy')?.['address'];
      if (wanted === undefined) return { summary: 'no DNS configured' };
      if (address === undefined) {
        throw new DeploytagError(
          'E_DNS_NO_ADDRESS',
          `the release ${context.release} has no load balancer address to point ${wanted.names.join(', ')} at; give the chart a LoadBalancer Service or unset DNS_PROVIDER`,
        );
      }
      const settings = dns.readDnsSettings(env);
      if (settings.cloudflareToken !== undefined) options.redact?.(settings.cloudflareToken);
      const { provider, close } = await dns.connectDnsProvider(settings, {
        zone: wanted.zone,
        env,
        logger,
      });
      try {
        const result = await dns.upsertDns({
          provider,
          owner: settings.owner ?? dns.dnsOwner(context.repo, context.namespace),
          records: wanted.names.map((name) => ({ name, target: address })),
          ttl: settings.ttl,
          logger,
        });
        const refused = result.plan.refused;
        if (refused.length > 0) {
          throw new DeploytagError(
            'E_DNS_REFUSED',
            refused.map((r) => `${r.name}: ${r.reason}`).join('; '),
          );
        }
        return {
          outputs: { records: wanted.names.join(','), address },
          summary:
            result.plan.changes.length === 0
              ? `${wanted.names.join(', ')} already point at ${address}`
              : `${wanted.names.join(', ')} → ${address}`,
        };
      } finally {
        close();
      }
    },
  };
  return plan.map((p) => ({
    id: p.id,
    title: p.title,
    needs: p.needs,
    plan: p.plan,
    run: work[p.id],
  }));
}

/**
 * Runs a push: prepares the facts, plans (see {@link planPush}), and, unless `dryRun`, runs the
 * steps concurrently where independent. Never throws for a step's failure (the report says it);
 * throws for bad configuration before anything starts.
 *
 * @param input - the project and environment
 * @param clients - from {@link connectPushClients}
 * @param options - dry run, step selection, progress, deploy choices
 * @param logger - progress and the steps' logs
 */
export async function runPush(
  input: PushInput,
  clients: PushClients,
  options: PushOptions = {},
  logger: Logger = silentLogger,
): Promise<PushResult> {
  const prepared = await preparePush(input, clients, {
    logger,
    probeDatabase: options.dryRun === true,
    ...(options.forceBase === true ? { forceBase: true } : {}),
  });
  const plan = planPush(prepared.facts);
  const base = {
    context: prepared.facts.context,
    settings: prepared.settings,
    plan,
  };
  const steps = bindSteps(prepared, plan, clients, input, options);
  if (options.dryRun === true) {
    // Validates --only/--skip against the plan without running anything.
    orderSteps(steps, {
      ...(options.only === undefined ? {} : { only: options.only }),
      ...(options.skip === undefined ? {} : { skip: options.skip }),
    });
    return { ...base, report: undefined, url: undefined };
  }
  const skipReasons: Record<string, string> = {};
  for (const p of plan) if (p.skip !== undefined) skipReasons[p.id] = p.skip;
  const report = await runSteps(steps, {
    logger,
    ...(options.only === undefined ? {} : { only: options.only }),
    skip: [...(options.skip ?? []), ...Object.keys(skipReasons)],
    skipReasons,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
  });
  const url = report.steps.find((s) => s.id === 'deploy')?.outputs?.['url'];
  return { ...base, report, url };
}
