import type { Logger } from '@deploytag/core';
import { silentLogger } from '@deploytag/core';
import {
  commitsBetween,
  listRemoteTags,
  listTags,
  readRepoFacts,
  resolveCommitId,
} from '@deploytag/git';
import type { RemoteAuth, RepoFacts, TagInfo } from '@deploytag/git';
import { selectBase } from './plan.js';
import type { ReleaseChannel, ReleaseFacts } from './plan.js';

/** Options of {@link gatherReleaseFacts}. */
export interface GatherReleaseFactsOptions {
  channel: ReleaseChannel;
  /** Branch, tag or sha to release (default `HEAD`). */
  target?: string;
  /** Also read the remote's tags (so a checkout without tags still plans right). */
  remote?: { url: string; auth?: RemoteAuth };
  /** Environment, for `GITHUB_SERVER_URL` (links on GitHub Enterprise). */
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** The current time (default: now). */
  now?: Date;
  /** Facts already read with `readRepoFacts`, to save reading them again. */
  repo?: RepoFacts;
}

/** Merges remote tags into local ones; the remote wins when both have a name. */
function mergeTags(local: TagInfo[], remote: TagInfo[], logger: Logger): TagInfo[] {
  const byName = new Map(local.map((t) => [t.name, t]));
  for (const t of remote) {
    const mine = byName.get(t.name);
    if (mine !== undefined && mine.sha !== t.sha) {
      logger.warn(
        `tag ${t.name} is at ${t.sha.slice(0, 7)} on the remote but at ${mine.sha.slice(0, 7)} here; using the remote's`,
      );
    }
    byName.set(t.name, t);
  }
  return [...byName.values()];
}

/** The repository's web address when it is hosted on GitHub or GitHub Enterprise. */
function gitHubWebUrl(
  repo: RepoFacts,
  env: Record<string, string | undefined>,
): string | undefined {
  const remote = repo.remote;
  if (remote === undefined) return undefined;
  let serverHost: string | undefined;
  try {
    serverHost =
      env['GITHUB_SERVER_URL'] === undefined ? undefined : new URL(env['GITHUB_SERVER_URL']).host;
  } catch {
    serverHost = undefined;
  }
  const host = remote.host;
  if (host === 'github.com' || host === serverHost || /(^|\.)github\./.test(host)) {
    return `https://${host}/${remote.path}`;
  }
  return undefined;
}

/**
 * Reads what `planRelease` needs: the tags (local, plus the remote's when `remote` is given;
 * an unreachable remote is a warning), the target commit, the base tag chosen by
 * `selectBase`, the commits since it, and the remote. Needs no token for a public remote.
 *
 * @param dir - the project's work tree
 * @param options - channel, target, remote and clock
 */
export async function gatherReleaseFacts(
  dir: string,
  options: GatherReleaseFactsOptions,
): Promise<ReleaseFacts> {
  const logger = options.logger ?? silentLogger;
  const env = options.env ?? {};
  const repo = options.repo ?? (await readRepoFacts(dir));
  const target = options.target ?? 'HEAD';
  const sha = await resolveCommitId(dir, target);
  let tags = await listTags(dir);
  if (options.remote !== undefined) {
    try {
      const remoteTags = await listRemoteTags(
        options.remote.url,
        options.remote.auth === undefined ? {} : { auth: options.remote.auth },
      );
      tags = mergeTags(tags, remoteTags, logger);
    } catch (error) {
      logger.warn(
        `could not read the remote's tags, planning from the local ones: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  const { base } = selectBase(tags, sha, options.channel);
  logger.debug('release base', { base: base?.name, target: sha });
  const commits = await commitsBetween(dir, base?.sha, sha);
  const facts: ReleaseFacts = {
    tags,
    target: { sha, ref: target },
    commits,
    now: options.now ?? new Date(),
  };
  if (base !== undefined) facts.baseTag = base.name;
  if (repo.remote !== undefined) facts.remote = repo.remote;
  const webUrl = gitHubWebUrl(repo, env);
  if (webUrl !== undefined) facts.webUrl = webUrl;
  return facts;
}
