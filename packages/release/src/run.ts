import * as path from 'node:path';
import type { Logger } from '@deploytag/core';
import { ConfigError, Secret, globalRedactor, silentLogger } from '@deploytag/core';
import { httpRemoteUrl, readRepoFacts } from '@deploytag/git';
import type { RemoteAuth } from '@deploytag/git';
import { applyRelease } from './apply.js';
import type { ApplyResult } from './apply.js';
import { gatherReleaseFacts } from './gather.js';
import { createGitHubReleases } from './github.js';
import type { GitHubReleases } from './github.js';
import { planRelease } from './plan.js';
import type { BumpOption, ReleaseChannel, ReleasePlan } from './plan.js';

/** Options of {@link runRelease}: the `release` command's flags. */
export interface RunReleaseOptions {
  channel: ReleaseChannel;
  /** `-p/--project-dir`: the repository (default: the current folder). */
  projectDir?: string;
  /** `-c/--target-commitish`: branch or sha to release (default `HEAD`). */
  targetCommitish?: string;
  /** `--dry-run`: plan and return, touching nothing. */
  dryRun?: boolean;
  /** `--bump` (default `patch`). */
  bump?: BumpOption;
  /** `--allow-empty`: release even without new commits. */
  allowEmpty?: boolean;
  /** `false` for `--no-github`: tag and push only. */
  github?: boolean;
  /** Environment to read tokens and URLs from (default `process.env`). */
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** The fetch used for GitHub (default: Node's). */
  fetch?: typeof fetch;
  /** The current time (default: now). */
  now?: Date;
}

/** What {@link runRelease} planned and, unless it was a dry run or there was nothing, did. */
export interface RunReleaseOutcome {
  plan: ReleasePlan;
  dryRun: boolean;
  result?: ApplyResult;
}

function secretFrom(
  env: Record<string, string | undefined>,
  names: readonly string[],
): { name: string; secret: Secret } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') {
      globalRedactor.add(value);
      return { name, secret: Secret.of(value) };
    }
  }
  return undefined;
}

/**
 * The `release` command as one function: reads the repository (and the remote's tags), plans
 * the next production or beta version, and unless `dryRun` tags the target, pushes the tag over
 * HTTP and creates the GitHub release. Planning needs no token.
 *
 * @remarks
 * Variables: `DEPLOYTAG_GIT_TOKEN` (else `GITHUB_TOKEN`, `GH_TOKEN`) to push the tag;
 * `GITHUB_TOKEN` or `GH_TOKEN` for the release; `GITHUB_API_URL` for GitHub Enterprise
 * (default `https://api.github.com`); `GITHUB_REPOSITORY` (`owner/repo`) when the remote does not
 * name the GitHub repository. An ssh remote is pushed to over https at the same host and path.
 *
 * @param options - the command's flags, environment, logger and clock
 * @throws ConfigError (exit code 2) for a missing token, remote or repository name, before
 *   anything is created; see `applyRelease` for failures while releasing
 */
export async function runRelease(options: RunReleaseOptions): Promise<RunReleaseOutcome> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? silentLogger;
  const dir = path.resolve(options.projectDir ?? '.');
  const repo = await readRepoFacts(dir, { env });
  const gitToken = secretFrom(env, ['DEPLOYTAG_GIT_TOKEN', 'GITHUB_TOKEN', 'GH_TOKEN']);
  const auth: RemoteAuth | undefined =
    gitToken === undefined ? undefined : { token: gitToken.secret };
  const pushUrl = repo.remoteUrl === undefined ? undefined : httpRemoteUrl(repo.remoteUrl);
  const remote =
    pushUrl === undefined ? undefined : { url: pushUrl, ...(auth === undefined ? {} : { auth }) };

  const facts = await gatherReleaseFacts(dir, {
    channel: options.channel,
    ...(options.targetCommitish === undefined ? {} : { target: options.targetCommitish }),
    ...(remote === undefined ? {} : { remote }),
    env,
    logger,
    repo,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const plan = planRelease(facts, {
    channel: options.channel,
    ...(options.bump === undefined ? {} : { bump: options.bump }),
    ...(options.allowEmpty === undefined ? {} : { allowEmpty: options.allowEmpty }),
  });
  const dryRun = options.dryRun === true;
  if (dryRun || plan.action === 'none') return { plan, dryRun };

  if (remote === undefined) {
    throw new ConfigError(
      `the repository at ${dir} has no remote to push ${plan.tag} to (no http(s) or ssh \`origin\`); add one with \`git remote add origin <url>\``,
      { key: 'remote.origin.url' },
    );
  }
  if (auth === undefined) {
    throw new ConfigError(
      `pushing ${plan.tag} needs a token: set DEPLOYTAG_GIT_TOKEN (or GITHUB_TOKEN / GH_TOKEN)`,
      { key: 'DEPLOYTAG_GIT_TOKEN' },
    );
  }
  let github: GitHubReleases | undefined;
  if (options.github !== false) {
    const token = secretFrom(env, ['GITHUB_TOKEN', 'GH_TOKEN']);
    if (token === undefined) {
      throw new ConfigError(
        'creating the GitHub release needs GITHUB_TOKEN or GH_TOKEN; set one, or pass --no-github to tag only',
        { key: 'GITHUB_TOKEN' },
      );
    }
    const named = env['GITHUB_REPOSITORY']?.split('/');
    const owner = named?.length === 2 ? named[0]! : repo.remote?.owner;
    const name = named?.length === 2 ? named[1]! : repo.remote?.repo;
    if (owner === undefined || name === undefined) {
      throw new ConfigError(
        'cannot tell the GitHub repository from the remote; set GITHUB_REPOSITORY=owner/repo, or pass --no-github',
        { key: 'GITHUB_REPOSITORY' },
      );
    }
    github = createGitHubReleases({
      apiUrl: env['GITHUB_API_URL'] ?? 'https://api.github.com',
      token: token.secret,
      owner,
      repo: name,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
  }
  const result = await applyRelease(plan, {
    dir,
    push: remote,
    ...(github === undefined ? {} : { github }),
    logger,
  });
  return { plan, dryRun, result };
}

/**
 * Human-readable lines for an outcome, as the `release` bin prints them.
 *
 * @param outcome - what {@link runRelease} returned
 */
export function formatOutcome(outcome: RunReleaseOutcome): string[] {
  const { plan, result } = outcome;
  if (plan.action === 'none') return [`Nothing to release: ${plan.reason}`];
  const at = plan.targetSha.slice(0, 7);
  const lines: string[] = [];
  if (plan.action === 'complete')
    lines.push(`${plan.tag} is already tagged at ${at}; completing it`);
  else
    lines.push(
      `Next ${plan.channel} release: ${plan.tag} at ${at} (${plan.commitCount} commit${plan.commitCount === 1 ? '' : 's'} since ${plan.baseTag ?? 'the first commit'})`,
    );
  if (outcome.dryRun) {
    lines.push(
      `Name: ${plan.releaseName}`,
      '',
      ...plan.notes.trimEnd().split('\n'),
      '',
      'Dry run: nothing was tagged, pushed or published.',
    );
    return lines;
  }
  if (result !== undefined) {
    lines.push(
      result.tagCreated ? `Created tag ${result.tag}` : `Tag ${result.tag} existed already`,
    );
    lines.push(
      result.push === 'pushed'
        ? 'Pushed the tag'
        : result.push === 'exists'
          ? 'The remote had the tag already'
          : 'Did not push',
    );
    if (result.release !== undefined) {
      lines.push(
        result.release.created
          ? `Created GitHub release ${result.release.url}`
          : `GitHub release exists: ${result.release.url}`,
      );
    }
  }
  return lines;
}
