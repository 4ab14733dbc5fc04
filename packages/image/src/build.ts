import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, silentLogger, type Logger, type Secret } from '@deploytag/core';
import { contextInputsOf } from './dockerfile.js';
import type { EngineClient, RegistryAuth } from './engine.js';
import { registryHostOf } from './engine.js';
import { ImageError, ImageErrorCodes } from './errors.js';
import { readContextFilter } from './ignore.js';
import { packContext } from './pack.js';
import {
  checkBuildArgs,
  chooseBaseTag,
  contentTag,
  planAppImage,
  planBaseImage,
  renderDockerfile,
  type ExistingTags,
  type ImagePlan,
  type OriginalTags,
} from './plan.js';
import type { RegistryClient } from './registry.js';
import { retryEngineOperation, type RetryOptions } from './retry.js';

/** Computes a digest of paths at a commit (`contentDigest` of `@deploytag/git`). */
export type DigestFn = (
  dir: string,
  options: { ref?: string; paths: readonly string[]; includeWorkingTree?: boolean },
) => Promise<string>;

/** The clients a build uses (injected). */
export interface BuildClients {
  /** The container engine. */
  engine: EngineClient;
  /** A registry client for a host (`host[:port]`). */
  registry(host: string): RegistryClient;
  /** Push credentials for a host, when it needs them. */
  pushAuth?(host: string): Promise<RegistryAuth | undefined>;
  /** The content digest function; default `contentDigest` of `@deploytag/git`. */
  digest?: DigestFn;
  /** Progress and the build log. */
  logger?: Logger;
  /**
   * How pushes, and builds whose FROM image could not be pulled, are retried when the registry
   * fails transiently (5xx, 429, refused or reset connections): 4 attempts, 1 s then 2 s then 4 s
   * apart, unless given. `deadlineMs` (30 minutes unless given) also abandons a push still running
   * then (a registry that stopped answering); a build is never cut, only not retried after it. The
   * registry API calls follow the registry clients' own policy.
   */
  retry?: RetryOptions;
  /** Cancels the build or push under way. */
  signal?: AbortSignal;
}

/** Whether an engine failure says the registry failed in a way worth another attempt. */
function transientEngineFailure(error: unknown): boolean {
  return error instanceof ImageError && error.details?.['transient'] === true;
}

/** What to build: the inputs of `build.sh` / `build_docker_image.sh`. */
export interface BuildOptions {
  /** The project folder: the build context and the git work tree. */
  dir: string;
  /** The commit being built (its files are digested). */
  sha: string;
  /** The original's tags: sha, branch (sanitised), `latest` on staging. */
  original: OriginalTags;
  /** The app repository, fully qualified (`host/path/image`). */
  repository: string;
  /** The app Dockerfile, relative to `dir`. Default `Dockerfile`. */
  dockerfile?: string;
  /**
   * The base image: its repository and Dockerfile (default `Dockerfile.base`), or false for a
   * single image without a base step (`build-docker-image`).
   */
  base?: { repository: string; dockerfile?: string } | false;
  /** `FORCE_BASE_BUILD`. */
  forceBase?: boolean;
  /** Run `./scripts/should_build_base.sh` when it exists. Default true. */
  runHook?: boolean;
  /** Build arguments (secret-looking ones are refused unless `allowSecrets`). */
  buildArgs?: Readonly<Record<string, string | Secret>>;
  /** The environment, for Dockerfile substitution and the hook. */
  env: Readonly<Record<string, string | undefined>>;
  /** Variable names known to hold secrets. */
  secretNames?: readonly string[];
  /** Let secrets into the Dockerfile and build args (warns naming them). */
  allowSecrets?: boolean;
  /** Build target, labels, platform and cache sources for the app image. */
  target?: string;
  labels?: Readonly<Record<string, string>>;
  platform?: string;
  cacheFrom?: readonly string[];
  /** Digest the work tree instead of the commit (local builds with uncommitted changes). */
  includeWorkingTree?: boolean;
}

/** The whole plan of a build: base, the tag the app is built from, the app. */
export interface BuildPlan {
  /** The base image's plan (`action: 'none'` without a base). */
  base: ImagePlan;
  /** `DOCKER_TAG`: the base tag the app is built from (see `chooseBaseTag`). */
  baseTag: string;
  /** `BASE_IMAGE_REF`: the full base reference. */
  baseImageRef: string;
  /** The app image's plan. */
  app: ImagePlan;
  /** The app Dockerfile after substitution. */
  dockerfile: string;
  /** The app Dockerfile's path. */
  dockerfilePath: string;
  /** The base Dockerfile's path. */
  baseDockerfilePath: string;
  /** Checked build arguments. */
  buildArgs: Record<string, string | Secret>;
  /** Warnings (secrets baked in, secrets withheld). */
  warnings: string[];
}

/** The outcome of {@link applyBuild}. */
export interface BuildResult {
  /** What happened to the base: built, retagged, up to date, none. */
  base: ImagePlan['action'];
  /** What happened to the app. */
  app: ImagePlan['action'];
  /** Every reference written to the registry. */
  pushed: string[];
}

/** `repository` without its host. */
function pathOf(repository: string): string {
  const host = registryHostOf(repository);
  return repository.startsWith(`${host}/`) ? repository.slice(host.length + 1) : repository;
}

async function lookup(
  clients: BuildClients,
  repository: string,
  tags: readonly string[],
): Promise<ExistingTags> {
  const reg = clients.registry(registryHostOf(repository));
  const out: Record<string, string | undefined> = {};
  await Promise.all(
    [...new Set(tags)].map(async (t) => {
      out[t] = await reg.manifestDigest(pathOf(repository), t);
    }),
  );
  return out;
}

async function defaultDigest(): Promise<DigestFn> {
  const git = await import('@deploytag/git');
  return git.contentDigest;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ImageError(ImageErrorCodes.INPUT, `cannot read ${what} ${path}; check the path`, {
      cause: err,
    });
  }
}

/** The digest of what a Dockerfile reads, its ignore file and itself. */
async function filesDigest(
  options: BuildOptions,
  digest: DigestFn,
  dockerfilePath: string,
  text: string,
): Promise<{ digest: string; remote: string[] }> {
  const inputs = contextInputsOf(text);
  const paths = [
    ...inputs.paths,
    dockerfilePath,
    '.dockerignore',
    `${dockerfilePath}.dockerignore`,
  ];
  const opts: Parameters<DigestFn>[1] = { ref: options.sha, paths };
  if (options.includeWorkingTree === true) opts.includeWorkingTree = true;
  return { digest: await digest(options.dir, opts), remote: inputs.remote };
}

/**
 * Whether the project hook `./scripts/should_build_base.sh` asks for a base build: true when it
 * exits 0, false otherwise, undefined when there is no hook.
 *
 * @param dir - the project folder
 * @param env - the hook's environment
 * @param logger - receives its output
 */
export async function runBaseHook(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger = silentLogger,
): Promise<boolean | undefined> {
  const hook = join(dir, 'scripts', 'should_build_base.sh');
  if (!existsSync(hook)) return undefined;
  try {
    await runCommand(hook, [], { cwd: dir, env: { ...env }, logger, timeoutMs: 300_000 });
    return true;
  } catch (err) {
    if (err instanceof Error && 'childExitCode' in err) return false;
    throw err;
  }
}

interface GatheredBase {
  base: ImagePlan;
  existing: ExistingTags;
  content: string;
  repository: string;
  dockerfilePath: string;
  hasBase: boolean;
}

async function gatherBase(
  options: BuildOptions,
  clients: BuildClients,
  digest: DigestFn,
  buildArgs: Readonly<Record<string, string | Secret>>,
  logger: Logger,
): Promise<GatheredBase> {
  const spec = options.base === false || options.base === undefined ? undefined : options.base;
  const noBase = spec === undefined;
  const dockerfilePath = spec?.dockerfile ?? 'Dockerfile.base';
  const repository = spec?.repository ?? `${options.repository}_base`;
  const baseFile = join(options.dir, dockerfilePath);
  const hasBase = !noBase && existsSync(baseFile);
  let content = '';
  let existing: ExistingTags = {};
  let hookSaysBuild: boolean | undefined;
  const originalTags = [
    options.original.sha,
    ...(options.original.branch === undefined ? [] : [options.original.branch]),
    'latest',
  ];
  if (hasBase) {
    const text = readText(baseFile, 'the base Dockerfile');
    const files = await filesDigest(options, digest, dockerfilePath, text);
    content = contentTag({
      filesDigest: files.digest,
      dockerfile: text,
      buildArgs,
      extra: files.remote,
    });
    existing = await lookup(clients, repository, [content, ...originalTags]);
    if (options.runHook !== false)
      hookSaysBuild = await runBaseHook(options.dir, options.env, logger);
  } else if (!noBase) {
    existing = await lookup(clients, repository, originalTags);
  }
  const base = planBaseImage({
    hasDockerfile: hasBase,
    repository,
    contentTag: content,
    original: options.original,
    existing,
    force: options.forceBase === true,
    hookSaysBuild,
  });
  return { base, existing, content, repository, dockerfilePath, hasBase };
}

/**
 * Decides whether the base image must be built (the `should-build-base` question): digests the
 * base Dockerfile's inputs, looks up its content tag, runs the project hook. Reads only.
 *
 * @param options - what to build (`base` must be set)
 * @param clients - registries, digest function, logger
 */
export async function prepareBaseImage(
  options: BuildOptions,
  clients: BuildClients,
): Promise<ImagePlan> {
  const logger = clients.logger ?? silentLogger;
  const digest = clients.digest ?? (await defaultDigest());
  const checked = checkBuildArgs(options.buildArgs ?? {}, {
    ...(options.secretNames !== undefined ? { secretNames: options.secretNames } : {}),
    ...(options.allowSecrets !== undefined ? { allowSecrets: options.allowSecrets } : {}),
  });
  return (await gatherBase(options, clients, digest, checked.buildArgs, logger)).base;
}

/**
 * Gathers the facts of a build (file digests through `@deploytag/git`, the registry's tags, the
 * project hook) and makes the plan with the pure planners. Reads only: nothing is built or pushed.
 *
 * @param options - what to build
 * @param clients - engine, registries, digest function, logger
 */
export async function prepareBuild(
  options: BuildOptions,
  clients: BuildClients,
): Promise<BuildPlan> {
  const logger = clients.logger ?? silentLogger;
  const digest = clients.digest ?? (await defaultDigest());
  const warnings: string[] = [];
  const checked = checkBuildArgs(options.buildArgs ?? {}, {
    ...(options.secretNames !== undefined ? { secretNames: options.secretNames } : {}),
    ...(options.allowSecrets !== undefined ? { allowSecrets: options.allowSecrets } : {}),
  });
  warnings.push(...checked.warnings);

  const {
    base,
    existing: baseExisting,
    content: baseContent,
    repository: baseRepository,
    dockerfilePath: baseDockerfilePath,
    hasBase,
  } = await gatherBase(options, clients, digest, checked.buildArgs, logger);
  const baseTag = chooseBaseTag({
    base,
    branchTag: options.original.branch,
    existing: baseExisting,
  });
  const baseImageRef = `${baseRepository}:${baseTag}`;

  const dockerfilePath = options.dockerfile ?? 'Dockerfile';
  const appText = readText(join(options.dir, dockerfilePath), 'the Dockerfile');
  const rendered = renderDockerfile({
    text: appText,
    computed: {
      DOCKER_TAG: baseTag,
      BASE_IMAGE_REF: baseImageRef,
      BASE_IMAGE: baseRepository.split('/').at(-1) ?? baseRepository,
    },
    env: options.env,
    ...(options.secretNames !== undefined ? { secretNames: options.secretNames } : {}),
    ...(options.allowSecrets !== undefined ? { allowSecrets: options.allowSecrets } : {}),
  });
  warnings.push(...rendered.warnings);
  const appFiles = await filesDigest(options, digest, dockerfilePath, appText);
  // The app's content names its base by content, not by the tag it is built FROM: the same commit
  // on another branch (FROM …_base:<branch>) is the same image and is re-tagged, not rebuilt.
  const contentText = hasBase
    ? renderDockerfile({
        text: appText,
        computed: {
          DOCKER_TAG: base.contentTag,
          BASE_IMAGE_REF: `${baseRepository}:${base.contentTag}`,
          BASE_IMAGE: baseRepository.split('/').at(-1) ?? baseRepository,
        },
        env: options.env,
        ...(options.secretNames !== undefined ? { secretNames: options.secretNames } : {}),
        ...(options.allowSecrets !== undefined ? { allowSecrets: options.allowSecrets } : {}),
      }).text
    : rendered.text;
  const appContent = contentTag({
    filesDigest: appFiles.digest,
    dockerfile: contentText,
    buildArgs: checked.buildArgs,
    ...(options.target !== undefined ? { target: options.target } : {}),
    extra: [...appFiles.remote, hasBase ? baseContent : '', options.platform ?? ''],
  });
  const appExisting = await lookup(clients, options.repository, [
    appContent,
    options.original.sha,
    ...(options.original.branch === undefined ? [] : [options.original.branch]),
    'latest',
  ]);
  const app = planAppImage({
    repository: options.repository,
    contentTag: appContent,
    original: options.original,
    existing: appExisting,
    force: base.action === 'build',
  });
  for (const w of warnings) logger.warn(w);
  return {
    base,
    baseTag,
    baseImageRef,
    app,
    dockerfile: rendered.text,
    dockerfilePath,
    baseDockerfilePath,
    buildArgs: checked.buildArgs,
    warnings,
  };
}

/** The name the substituted Dockerfile gets inside the build context. */
const RENDERED_DOCKERFILE = '.deploytag.Dockerfile';

async function applyImage(
  plan: ImagePlan,
  build: (tags: string[], signal: AbortSignal) => Promise<void>,
  clients: BuildClients,
  pushed: string[],
  baseRegistry: string | undefined,
): Promise<void> {
  const logger = clients.logger ?? silentLogger;
  if (plan.action === 'none' || plan.action === 'up-to-date') {
    logger.info(`${plan.repository}: ${plan.reasons.join('; ')}`);
    return;
  }
  const host = registryHostOf(plan.repository);
  if (plan.action === 'retag') {
    const reg = clients.registry(host);
    for (const t of plan.tagsToWrite) {
      await reg.copyTag(pathOf(plan.repository), plan.contentTag, t);
      pushed.push(`${plan.repository}:${t}`);
    }
    logger.info(
      `${plan.repository}: tagged ${plan.contentTag} as ${plan.tagsToWrite.join(', ')} (no build)`,
    );
    return;
  }
  const refs = plan.tags.map((t) => `${plan.repository}:${t}`);
  logger.info(`${plan.repository}: building (${plan.reasons.join('; ')})`);
  await retryEngineOperation(
    {
      what: `build ${plan.repository}:${plan.contentTag} (pulling its FROM image)`,
      registry: baseRegistry,
      run: (signal) => build(refs, signal),
      transient: transientEngineFailure,
      cutAtDeadline: false,
    },
    clients.retry,
    logger,
    clients.signal,
  );
  const auth = await clients.pushAuth?.(host);
  for (const ref of refs) {
    await retryEngineOperation(
      {
        what: `push ${ref}`,
        registry: host,
        run: (signal) => clients.engine.push(ref, auth, { signal }),
        transient: transientEngineFailure,
        cutAtDeadline: true,
      },
      clients.retry,
      logger,
      clients.signal,
    );
    pushed.push(ref);
  }
  logger.info(`${plan.repository}: pushed ${plan.tags.join(', ')}`);
}

/**
 * Carries out a {@link BuildPlan}: builds and pushes the base when planned (or re-points its
 * tags), then the app from the substituted Dockerfile (sent inside the context, never written to
 * disk), or re-points the app's tags when its content already exists.
 *
 * @param plan - from {@link prepareBuild}
 * @param options - the same options the plan was made with
 * @param clients - engine, registries, logger
 * @param parts - which images to apply (both by default): a pipeline applies the base and the app
 *   as two steps, reporting `app: 'none'` for a base-only call
 */
export async function applyBuild(
  plan: BuildPlan,
  options: BuildOptions,
  clients: BuildClients,
  parts: { base?: boolean; app?: boolean } = {},
): Promise<BuildResult> {
  const pushed: string[] = [];
  const doBase = parts.base ?? true;
  const doApp = parts.app ?? true;
  if (doBase && options.base !== false && options.base !== undefined)
    await applyImage(
      plan.base,
      async (tags, signal) => {
        const filter = readContextFilter(options.dir, { dockerfile: plan.baseDockerfilePath });
        await clients.engine.build(packContext(options.dir, { filter }), {
          signal,
          tags,
          dockerfile: plan.baseDockerfilePath,
          buildArgs: plan.buildArgs,
          labels: { 'org.deploytag.content': plan.base.contentTag, ...options.labels },
        });
      },
      clients,
      pushed,
      undefined,
    );
  if (!doApp) return { base: plan.base.action, app: 'none', pushed };
  await applyImage(
    plan.app,
    async (tags, signal) => {
      const filter = readContextFilter(options.dir, { dockerfile: plan.dockerfilePath });
      const baseAuth = await clients.pushAuth?.(registryHostOf(plan.baseImageRef));
      const context = packContext(options.dir, {
        filter,
        extraFiles: [{ name: RENDERED_DOCKERFILE, content: plan.dockerfile }],
      });
      await clients.engine.build(context, {
        signal,
        tags,
        dockerfile: RENDERED_DOCKERFILE,
        buildArgs: plan.buildArgs,
        ...(baseAuth !== undefined ? { registryAuths: [baseAuth] } : {}),
        labels: { 'org.deploytag.content': plan.app.contentTag, ...options.labels },
        ...(options.target !== undefined ? { target: options.target } : {}),
        ...(options.platform !== undefined ? { platform: options.platform } : {}),
        ...(options.cacheFrom !== undefined ? { cacheFrom: options.cacheFrom } : {}),
      });
    },
    clients,
    pushed,
    registryHostOf(plan.baseImageRef),
  );
  return { base: plan.base.action, app: plan.app.action, pushed };
}

/**
 * The plan in words, one line each: what happens to the base and the app, which tags are
 * written, which base the app is built from, and the warnings (for `--dry-run`).
 *
 * @param plan - from {@link prepareBuild}
 */
export function describeBuildPlan(plan: BuildPlan): string[] {
  const lines: string[] = [];
  const image = (label: string, p: ImagePlan): void => {
    if (p.action === 'none') {
      lines.push(`${label}: nothing to build (${p.reasons.join('; ')})`);
      return;
    }
    lines.push(`${label}: ${p.action} ${p.repository}:${p.contentTag} (${p.reasons.join('; ')})`);
    for (const t of p.tagsToWrite)
      lines.push(`  would ${p.action === 'build' ? 'push' : 'tag'} ${p.repository}:${t}`);
  };
  image('base', plan.base);
  lines.push(`app built FROM ${plan.baseImageRef} (DOCKER_TAG=${plan.baseTag})`);
  image('app', plan.app);
  for (const w of plan.warnings) lines.push(`warning: ${w}`);
  return lines;
}
