import type { Logger } from '@deploytag/core';
import { ConfigError, Secret, globalRedactor, silentLogger } from '@deploytag/core';
import { buildDeployContext, resolveFacts } from '@deploytag/context';
import type { DatabaseEngine, GitFacts } from '@deploytag/context';
import { connectServer, loadDatabaseConfig } from '@deploytag/db';
import type { DatabaseConfig, DatabaseServer } from '@deploytag/db';
import { httpRemoteUrl, readRepoFacts, stripCredentials } from '@deploytag/git';
import type { RemoteAuth } from '@deploytag/git';
import { connectDeployClients } from '@deploytag/helm';
import { RegistryClient, registryCredentialsFromEnv } from '@deploytag/image';
import { applyCleanup } from './apply.js';
import type { CleanupReport, CleanupTarget, StepEvent } from './apply.js';
import { parseDuration } from './duration.js';
import { gatherCleanupFacts, registryPath } from './gather.js';
import { planCleanup } from './plan.js';
import type { CleanupPlan } from './plan.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Options of {@link runCleanup}: the `cleanup` command's flags, environment and hooks. */
export interface RunCleanupOptions {
  /** `--older-than`: a duration such as `7d`, `12h`, `30m` (see `parseDuration`). */
  olderThan?: string;
  /** `--branch`: branches whose previews are removed whatever else is true. */
  branches?: readonly string[];
  /** `--drop-databases`: drop each removed preview's database. */
  dropDatabases?: boolean;
  /** `--prune-images`: delete each removed preview's image tags. */
  pruneImages?: boolean;
  /** `--dry-run`: plan only. */
  dryRun?: boolean;
  /** `--repo`: the repository name (default: CI variables, else the checkout's remote). */
  repo?: string;
  /** `--remote`: the git remote whose branches are listed (default: see {@link runCleanup}). */
  remote?: string;
  /** `--kubeconfig`: the kubeconfig file (default `KUBECONFIG`). */
  kubeconfig?: string;
  /** `--context`: the kubeconfig context. */
  context?: string;
  /** `--timeout`: longest wait for one uninstall or namespace deletion, in milliseconds. */
  timeoutMs?: number;
  /** `--concurrency`: how many environments are removed at once (see `applyCleanup`). */
  concurrency?: number;
  /** The environment (default `process.env`). */
  env?: Env;
  /** The project folder (git checkout, `config/database.yml`); the current folder by default. */
  cwd?: string;
  /** Progress. */
  logger?: Logger;
  /** Removes an environment's DNS records; a `remove-dns` step is planned only when given. */
  removeDns?: (target: CleanupTarget) => Promise<void>;
  /** The time of the decision (default: now). */
  now?: Date;
  /** Stops the run between steps. */
  signal?: AbortSignal;
  /** Called after every finished step. */
  onStep?: (event: StepEvent) => void;
}

/** What {@link runCleanup} planned and, unless it was a dry run, did. */
export interface RunCleanupResult {
  /** The decision about every environment found. */
  plan: CleanupPlan;
  /** Whether nothing was changed. */
  dryRun: boolean;
  /** What was done (absent for a dry run). */
  report?: CleanupReport;
}

const TOKEN_VARIABLES = ['DEPLOYTAG_GIT_TOKEN', 'GITHUB_TOKEN', 'GH_TOKEN'] as const;

/** Variables that decide the application image's repository. */
const IMAGE_VARIABLES = [
  'CLOUD_PROVIDER',
  'CONTAINER_REGISTRY',
  'PROJECT_ID',
  'GOOGLE_PROJECT_ID',
  'IMAGE',
  'AWS_ACCOUNT_ID',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
] as const;

function nonBlank(value: string | undefined): string | undefined {
  const text = value?.trim();
  return text === undefined || text === '' ? undefined : text;
}

async function readGit(cwd: string, env: Env): Promise<GitFacts> {
  try {
    const facts = await readRepoFacts(cwd, { env: { ...env } });
    const git: GitFacts = { sha: facts.sha, detached: facts.detached };
    if (facts.branch !== undefined) git.branch = facts.branch;
    if (facts.remoteUrl !== undefined) git.remoteUrl = facts.remoteUrl;
    return git;
  } catch {
    return {}; // not a checkout: the variables and flags must say everything
  }
}

/** The remote whose branches decide: the flag, the checkout's, then the CI's variables. */
function remoteUrlOf(options: RunCleanupOptions, env: Env, git: GitFacts): string | undefined {
  const given = nonBlank(options.remote);
  if (given !== undefined) return httpRemoteUrl(given) ?? given;
  const candidates = [
    git.remoteUrl,
    nonBlank(env['GITHUB_REPOSITORY']) === undefined
      ? undefined
      : `${nonBlank(env['GITHUB_SERVER_URL']) ?? 'https://github.com'}/${env['GITHUB_REPOSITORY'] ?? ''}.git`,
    nonBlank(env['CIRCLE_REPOSITORY_URL']),
    nonBlank(env['CI_REPOSITORY_URL']),
  ];
  for (const candidate of candidates) {
    const url = candidate === undefined ? undefined : httpRemoteUrl(stripCredentials(candidate));
    if (url !== undefined) return url;
  }
  return undefined;
}

function remoteAuth(env: Env): RemoteAuth | undefined {
  for (const name of TOKEN_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      globalRedactor.add(value);
      return { token: Secret.of(value) };
    }
  }
  return undefined;
}

/** `CONTAINER_REGISTRY/PROJECT_ID/IMAGE`, derived exactly as a deploy derives it. */
function imageRepositoryOf(env: Env, repo: string): string {
  const picked: Record<string, string | undefined> = {};
  for (const name of IMAGE_VARIABLES) picked[name] = env[name];
  const context = buildDeployContext({
    env: { ...picked, CHART_NAME: 'unused', DOMAIN: 'unused.invalid' },
    flags: { repo, branch: 'cleanup', sha: '0'.repeat(40) },
  });
  return context.image.repository;
}

/**
 * The `cleanup` command as one function: connects to the cluster (`KUBECONFIG`, helm), reads the
 * repository's environments, the remote's branches and, as asked, the registry's tags; plans; and
 * unless `dryRun` removes the stale environments.
 *
 * @remarks
 * - Repository: `repo`, else the CI variables (`CIRCLE_PROJECT_REPONAME`, `GITHUB_REPOSITORY`, …),
 *   else the checkout's remote.
 * - Remote: `remote`, else the checkout's `origin`, else `GITHUB_SERVER_URL`/`GITHUB_REPOSITORY`,
 *   `CIRCLE_REPOSITORY_URL` or `CI_REPOSITORY_URL`; ssh remotes are read over https at the same
 *   host and path, with `DEPLOYTAG_GIT_TOKEN` (else `GITHUB_TOKEN`, `GH_TOKEN`) when set. Without
 *   a remote, only `olderThan` and `branches` decide.
 * - `dropDatabases`: the server from `DATABASE_URL` (or `DATABASE_HOST`…, or
 *   `config/database.yml`); the database named there or in `DATABASE` is never dropped.
 * - `pruneImages`: the repository `CONTAINER_REGISTRY/PROJECT_ID/IMAGE` as a deploy derives it,
 *   credentials as for a build (`DEPLOYTAG_REGISTRY_USER`/`_PASSWORD`, ECR, GCR, Docker config).
 *
 * @param options - flags, environment, hooks
 * @throws UsageError for a bad duration; ConfigError when the repository is unknown, or when
 *   nothing (remote, duration, branch) could make an environment stale
 */
export async function runCleanup(options: RunCleanupOptions = {}): Promise<RunCleanupResult> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const logger = options.logger ?? silentLogger;
  const dryRun = options.dryRun === true;
  const olderThanMs =
    options.olderThan === undefined ? undefined : parseDuration(options.olderThan);
  const branches = (options.branches ?? []).map((b) => b.trim()).filter((b) => b !== '');

  const git = await readGit(cwd, env);
  const repo = resolveFacts({
    env,
    git,
    ...(options.repo === undefined ? {} : { flags: { repo: options.repo } }),
  }).repo;
  if (repo === undefined) {
    throw new ConfigError(
      'the repository whose previews to clean is unknown; pass --repo, set CIRCLE_PROJECT_REPONAME or DEPLOYTAG_REPO, or run in a checkout with a remote',
      { key: 'CIRCLE_PROJECT_REPONAME' },
    );
  }
  const remoteUrl = remoteUrlOf(options, env, git);
  if (remoteUrl === undefined) {
    if (olderThanMs === undefined && branches.length === 0) {
      throw new ConfigError(
        'nothing decides which previews are stale: there is no git remote to list branches from (pass --remote or run in a checkout), and neither --older-than nor --branch was given',
        { key: 'remote' },
      );
    }
    logger.info('no git remote found: deleted branches are not looked for');
  }
  const imageRepository = options.pruneImages === true ? imageRepositoryOf(env, repo) : undefined;

  let databaseEngine: DatabaseEngine | undefined;
  const protectedDatabases: string[] = [];
  let databaseConfig: DatabaseConfig | undefined;
  if (options.dropDatabases === true) {
    databaseConfig = loadDatabaseConfig({ env, cwd, databaseOptional: true });
    if (databaseConfig.password !== undefined) globalRedactor.add(databaseConfig.password);
    databaseEngine = databaseConfig.engine;
    for (const name of [databaseConfig.database, nonBlank(env['DATABASE'])]) {
      if (name !== undefined && name !== '') protectedDatabases.push(name);
    }
  }

  const connected = await connectDeployClients({
    env,
    logger,
    ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
    ...(options.context === undefined ? {} : { context: options.context }),
  });
  let database: DatabaseServer | undefined;
  let dnsHook: Awaited<ReturnType<typeof dnsRemover>>;
  try {
    dnsHook = options.removeDns === undefined ? await dnsRemover(env, repo, logger) : undefined;
    const removeDns = options.removeDns ?? dnsHook?.remove;
    let registry: RegistryClient | undefined;
    if (imageRepository !== undefined) {
      const { host } = registryPath(imageRepository);
      registry = new RegistryClient(host, {
        credentials: () => registryCredentialsFromEnv(host, env),
        logger,
      });
    }
    const auth = remoteAuth(env);
    const facts = await gatherCleanupFacts(
      { kube: connected.kube, helm: connected.helm, logger, ...(registry ? { registry } : {}) },
      {
        repo,
        ...(remoteUrl === undefined
          ? {}
          : { remote: { url: remoteUrl, ...(auth === undefined ? {} : { auth }) } }),
        ...(imageRepository === undefined ? {} : { imageRepository }),
        ...(options.now === undefined ? {} : { now: options.now }),
      },
    );
    const plan = planCleanup(facts, {
      repo,
      branches,
      dropDatabases: options.dropDatabases === true,
      pruneImages: options.pruneImages === true,
      removeDns: removeDns !== undefined,
      protectedDatabases,
      ...(olderThanMs === undefined ? {} : { olderThanMs }),
      ...(databaseEngine === undefined ? {} : { databaseEngine }),
    });
    for (const warning of plan.warnings) logger.warn(warning);
    if (dryRun) return { plan, dryRun };
    if (databaseConfig !== undefined) database = connectServer(databaseConfig, { logger });
    const lockHolder = nonBlank(env['CIRCLE_BUILD_URL']) ?? nonBlank(env['GITHUB_RUN_ID']);
    const report = await applyCleanup(
      plan,
      {
        kube: connected.kube,
        helm: connected.helm,
        logger,
        ...(database === undefined ? {} : { database }),
        ...(registry === undefined ? {} : { registry }),
        ...(removeDns === undefined ? {} : { removeDns }),
      },
      {
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
        ...(lockHolder === undefined ? {} : { lockHolder: `deploytag cleanup ${lockHolder}` }),
      },
    );
    return { plan, dryRun, report };
  } finally {
    dnsHook?.close();
    connected.close();
    await database?.close();
  }
}

/**
 * When the environment configures DNS (see `dnsConfigured`), a hook that removes the records an
 * environment owns (owner `deploytag/<repo>/<namespace>`; `DNS_OWNER` is ignored here, as it would
 * name one owner for every environment). The provider is connected on first use.
 */
async function dnsRemover(
  env: Readonly<Record<string, string | undefined>>,
  repo: string,
  logger: Logger,
): Promise<{ remove: (target: CleanupTarget) => Promise<void>; close: () => void } | undefined> {
  const dns = await import('@deploytag/dns');
  if (!dns.dnsConfigured(env)) return undefined;
  const settings = dns.readDnsSettings(env);
  const zone = settings.zone ?? nonBlank(env['DOMAIN']);
  if (zone === undefined) {
    throw new ConfigError(
      'DNS is configured (DNS_PROVIDER, DNS_RECORDS or CLOUDFLARE_API_TOKEN) but no zone: set DNS_ZONE or DOMAIN',
      { key: 'DNS_ZONE' },
    );
  }
  if (settings.cloudflareToken !== undefined) globalRedactor.add(settings.cloudflareToken);
  let connected: Promise<Awaited<ReturnType<typeof dns.connectDnsProvider>>> | undefined;
  return {
    async remove(target) {
      connected ??= dns.connectDnsProvider(settings, { zone, env, logger });
      const { provider } = await connected;
      await dns.removeDns({ provider, owner: dns.dnsOwner(repo, target.namespace), logger });
    },
    close() {
      void connected?.then((c) => c.close()).catch(() => undefined);
    },
  };
}
