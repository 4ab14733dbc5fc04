import { buildDeployContext } from '@deploytag/context';
import type { BuildOptions } from './build.js';
import { parseBuildArgs } from './plan.js';

/** Options of {@link buildOptionsFromEnv}. */
export interface BuildOptionsFromEnvOptions {
  /** The project folder (context and git work tree). */
  dir: string;
  /** Build the base image from `Dockerfile.base` first (`build`), or not (`build-docker-image`). */
  withBase: boolean;
  /** The app Dockerfile; default `DOCKER_FILE`, else `Dockerfile`. */
  dockerfile?: string;
  /** Command-line overrides of the branch and sha. */
  flags?: { branch?: string; sha?: string };
  /** Let secrets into the Dockerfile and build args (warns naming them). */
  allowSecrets?: boolean;
  /** Digest the work tree (uncommitted changes included) instead of the commit. */
  includeWorkingTree?: boolean;
}

/**
 * The inputs of `build.sh` / `build_docker_image.sh` from the environment contract: branch, sha
 * and repository from the CI variables (or the git checkout), image references from
 * `CONTAINER_REGISTRY`, `PROJECT_ID`, `IMAGE` (base `${IMAGE}_base`), `latest` on the staging
 * branch, `FORCE_BASE_BUILD`, `DOCKER_FILE` and `DOCKER_BUILD_ARGS`.
 *
 * @param env - the environment
 * @param options - folder, base or not, overrides
 * @throws ConfigError naming the variables to set
 */
export async function buildOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  options: BuildOptionsFromEnvOptions,
): Promise<BuildOptions> {
  const { readRepoFacts } = await import('@deploytag/git');
  let git: { branch?: string; sha?: string; remoteUrl?: string; detached?: boolean } = {};
  try {
    const facts = await readRepoFacts(options.dir, { env: { ...env } });
    git = { sha: facts.sha, detached: facts.detached };
    if (facts.branch !== undefined) git.branch = facts.branch;
    if (facts.remoteUrl !== undefined) git.remoteUrl = facts.remoteUrl;
  } catch {
    // Not a git checkout: the CI variables must say everything.
  }
  // Only the image references are used here; the deployment settings a build does not need get
  // placeholders so that they are not demanded.
  const context = buildDeployContext({
    env: { CHART_NAME: 'unused', DOMAIN: 'unused.invalid', ...env },
    git,
    ...(options.flags === undefined ? {} : { flags: options.flags }),
  });
  const sha = context.sha;
  const dockerfile = options.dockerfile ?? (env['DOCKER_FILE'] || 'Dockerfile');
  const result: BuildOptions = {
    dir: options.dir,
    sha,
    original: {
      sha: context.image.shaTag,
      branch: context.image.branchTag,
      latest: context.image.tags.includes('latest'),
    },
    repository: context.image.repository,
    dockerfile,
    base: options.withBase ? { repository: context.baseImage.repository } : false,
    forceBase: (env['FORCE_BASE_BUILD'] ?? '') !== '',
    buildArgs: parseBuildArgs(env['DOCKER_BUILD_ARGS'], env),
    env,
  };
  if (options.allowSecrets !== undefined) result.allowSecrets = options.allowSecrets;
  if (options.includeWorkingTree === true) result.includeWorkingTree = true;
  return result;
}
