import type { Logger } from '@deploytag/core';
import { DeploytagError, silentLogger } from '@deploytag/core';
import { createAnnotatedTag, listRemoteTags, pushTag, stripCredentials } from '@deploytag/git';
import type { RemoteAuth } from '@deploytag/git';
import type { GitHubReleases } from './github.js';
import { ReleaseErrorCodes } from './plan.js';
import type { ReleasePlan } from './plan.js';

/** A plan that does something. */
export type ActionablePlan = Exclude<ReleasePlan, { action: 'none' }>;

/** What `applyRelease` works with. */
export interface ReleaseClients {
  /** The project's work tree (where the tag is created). */
  dir: string;
  /** Where to push the tag; the tag stays local when omitted. */
  push?: { url: string; auth?: RemoteAuth };
  /** GitHub's release API; no GitHub release when omitted (`--no-github`). */
  github?: GitHubReleases;
  /** Who tags (default DeployTag). */
  tagger?: { name: string; email: string };
  logger?: Logger;
}

/** What `applyRelease` did; every step says whether it acted or found it done. */
export interface ApplyResult {
  tag: string;
  sha: string;
  /** False when the tag existed already at that commit. */
  tagCreated: boolean;
  /** `pushed`, `exists` (already on the remote at that commit), or `skipped` (no remote). */
  push: 'pushed' | 'exists' | 'skipped';
  /** The GitHub release, unless GitHub was not used. */
  release?: { url: string; created: boolean };
}

/**
 * Carries out a plan: creates the annotated tag at the target commit (not again when it exists
 * there), pushes it over HTTP (not again when the remote has it), then creates the GitHub
 * release (not again when the tag has one). Every step is idempotent, so a re-run after a
 * failure completes what is missing.
 *
 * @param plan - a `create` or `complete` plan from `planRelease`
 * @param clients - work tree, push remote, GitHub client and logger
 * @throws DeploytagError `E_RELEASE_INCOMPLETE` when the tag was made (and pushed) but the
 *   GitHub release could not be created; its message says what exists and how to finish.
 *   GitError from `@deploytag/git` when tagging or pushing fails (nothing is half-done then).
 */
export async function applyRelease(
  plan: ActionablePlan,
  clients: ReleaseClients,
): Promise<ApplyResult> {
  const logger = clients.logger ?? silentLogger;
  const message = `${plan.releaseName}\n\n${plan.notes}`;
  const tagged = await createAnnotatedTag(clients.dir, {
    tag: plan.tag,
    target: plan.targetSha,
    message,
    ...(clients.tagger === undefined ? {} : { tagger: clients.tagger }),
  });
  logger.info(
    tagged.created
      ? `created tag ${plan.tag} at ${plan.targetSha.slice(0, 7)}`
      : `tag ${plan.tag} exists already at ${plan.targetSha.slice(0, 7)}`,
  );
  const result: ApplyResult = {
    tag: plan.tag,
    sha: plan.targetSha,
    tagCreated: tagged.created,
    push: 'skipped',
  };

  if (clients.push !== undefined) {
    const { url, auth } = clients.push;
    const remote = await listRemoteTags(url, auth === undefined ? {} : { auth });
    const there = remote.find((t) => t.name === plan.tag);
    if (there?.sha === plan.targetSha) {
      result.push = 'exists';
      logger.info(`tag ${plan.tag} is on ${stripCredentials(url)} already`);
    } else {
      // A tag of that name elsewhere on the remote makes the push fail with a clear error.
      await pushTag(clients.dir, { url, tag: plan.tag, ...(auth === undefined ? {} : { auth }) });
      result.push = 'pushed';
      logger.info(`pushed tag ${plan.tag} to ${stripCredentials(url)}`);
    }
  }

  if (clients.github !== undefined) {
    try {
      const existing = await clients.github.getReleaseByTag(plan.tag);
      if (existing !== undefined) {
        result.release = { url: existing.htmlUrl, created: false };
        logger.info(`GitHub release of ${plan.tag} exists already: ${existing.htmlUrl}`);
      } else {
        const created = await clients.github.createRelease({
          tag_name: plan.tag,
          target_commitish: plan.targetSha,
          name: plan.releaseName,
          body: plan.notes,
          prerelease: plan.prerelease,
        });
        result.release = { url: created.htmlUrl, created: true };
        logger.info(`created GitHub release ${created.htmlUrl}`);
      }
    } catch (cause) {
      const where =
        result.push === 'skipped'
          ? `tag ${plan.tag} exists locally at ${plan.targetSha}`
          : `tag ${plan.tag} exists at ${plan.targetSha} and is pushed to ${stripCredentials(clients.push!.url)}`;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new DeploytagError(
        ReleaseErrorCodes.INCOMPLETE,
        `${where}, but its GitHub release is missing: ${reason}. To finish, fix the cause and run \`release ${plan.channel} -c ${plan.targetSha}\` again (it keeps the tag and only creates the release), or create the release for ${plan.tag} on GitHub by hand`,
        {
          cause,
          details: {
            tag: plan.tag,
            sha: plan.targetSha,
            tagCreated: result.tagCreated,
            push: result.push,
          },
        },
      );
    }
  }
  return result;
}
