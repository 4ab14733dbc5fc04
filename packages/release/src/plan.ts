import { DeploytagError } from '@deploytag/core';
import type { CommitInfo, RemoteInfo, TagInfo, TagVersion } from '@deploytag/git';
import { parseTagVersion } from '@deploytag/git';
import semver from 'semver';
import { bumpFromCommits, renderNotes } from './notes.js';
import type { BumpLevel } from './notes.js';

/** Which kind of release: a full one, or the next pre-release of the upcoming version. */
export type ReleaseChannel = 'production' | 'beta';

/** `--bump`: a fixed level, or `auto` to read it from Conventional Commits. */
export type BumpOption = BumpLevel | 'auto';

/** Stable error codes of `@deploytag/release`. */
export const ReleaseErrorCodes = {
  /** The facts given to `planRelease` do not belong together (a programming error). */
  FACTS: 'E_RELEASE_FACTS',
  /** The GitHub API refused or could not be reached. */
  GITHUB: 'E_RELEASE_GITHUB',
  /** The tag exists (and may be pushed) but the GitHub release is missing. */
  INCOMPLETE: 'E_RELEASE_INCOMPLETE',
} as const;

/** Everything `planRelease` needs, read from the repository beforehand. */
export interface ReleaseFacts {
  /** Every tag, local and remote; names that are not versions are ignored. */
  tags: readonly TagInfo[];
  /** The commit to release, and the ref the user named it by. */
  target: { sha: string; ref?: string };
  /** The tag the commits are counted from: `selectBase(tags, target.sha, channel).base`. */
  baseTag?: string;
  /** Commits reachable from the target and not from the base tag, newest first. */
  commits: readonly CommitInfo[];
  /** The remote, for the GitHub release. */
  remote?: RemoteInfo;
  /** The repository's web address when its remote is on GitHub, for links in the notes. */
  webUrl?: string;
  /** The current time, for the release name. */
  now: Date;
}

/** Options of {@link planRelease}. */
export interface PlanReleaseOptions {
  /** `production` or `beta`. */
  channel: ReleaseChannel;
  /** Bump level (default `patch`); `auto` reads Conventional Commits. */
  bump?: BumpOption;
  /** Release even when there is no commit since the base tag. */
  allowEmpty?: boolean;
}

/** What both kinds of actionable plan say. */
interface PlannedTag {
  channel: ReleaseChannel;
  /** The version without prefix, such as `1.2.4-pre.10`. */
  version: string;
  /** The tag name, such as `v1.2.4-pre.10`. */
  tag: string;
  /** The commit the tag points at. */
  targetSha: string;
  /** The ref the target was named by, if any. */
  targetRef?: string;
  /** The tag the notes count from. */
  baseTag?: string;
  /** True for beta: the GitHub release is marked as a pre-release. */
  prerelease: boolean;
  /** `Release <ISO time>`, as the original named its releases. */
  releaseName: string;
  /** Markdown notes. */
  notes: string;
  /** How many commits the notes cover. */
  commitCount: number;
}

/**
 * What to do:
 * - `create`: tag a new version (and push it, and create the GitHub release);
 * - `complete`: the target already carries this channel's tag (an earlier run, perhaps
 *   interrupted): make sure it is pushed and has its GitHub release, and create nothing else;
 * - `none`: nothing to release.
 */
export type ReleasePlan =
  | (PlannedTag & {
      action: 'create';
      /** The level applied to the last production version. */ bump: BumpLevel;
    })
  | (PlannedTag & { action: 'complete' })
  | {
      action: 'none';
      channel: ReleaseChannel;
      targetSha: string;
      targetRef?: string;
      baseTag?: string;
      /** Why, in words. */
      reason: string;
    };

interface Version {
  tag: TagInfo;
  v: TagVersion;
  /** The SemVer string with legacy `-preN` normalised to `-pre.N`. */
  semver: string;
}

function toSemver(v: TagVersion): string {
  const core = `${v.major}.${v.minor}.${v.patch}`;
  return v.prerelease.length === 0 ? core : `${core}-${v.prerelease.join('.')}`;
}

function versionsOf(tags: readonly TagInfo[]): Version[] {
  const out: Version[] = [];
  for (const tag of tags) {
    const v = parseTagVersion(tag.name);
    if (v !== undefined) out.push({ tag, v, semver: toSemver(v) });
  }
  return out;
}

function maxOf(list: readonly Version[]): Version | undefined {
  let best: Version | undefined;
  for (const x of list) {
    if (best === undefined) best = x;
    else {
      const c = semver.compare(x.semver, best.semver);
      // Equal versions (v1.0.0 and 1.0.0): prefer the name that sorts last, for determinism.
      if (c > 0 || (c === 0 && x.tag.name > best.tag.name)) best = x;
    }
  }
  return best;
}

/** The tags that decide where a release's changes start, and whether the target has one. */
export interface BaseSelection {
  /** This channel's tag already at the target, when there is one (the newest). */
  existing?: TagInfo;
  /** The tag changes are counted from: the newest relevant tag other than `existing`. */
  base?: TagInfo;
}

/**
 * Chooses the base tag of a release, purely. Production counts from the newest production tag
 * (no pre-release part); beta from the newest version tag of any kind. A tag of the channel
 * already at the target is `existing` (beta: only when the newest tag at the target is a
 * pre-release) and is not its own base.
 *
 * @param tags - all tags
 * @param targetSha - the commit to release
 * @param channel - production or beta
 */
export function selectBase(
  tags: readonly TagInfo[],
  targetSha: string,
  channel: ReleaseChannel,
): BaseSelection {
  const versions = versionsOf(tags);
  const relevant =
    channel === 'production' ? versions.filter((x) => x.v.prerelease.length === 0) : versions;
  const atTarget = maxOf(versions.filter((x) => x.tag.sha === targetSha));
  let existing: Version | undefined;
  if (channel === 'production') {
    existing = maxOf(relevant.filter((x) => x.tag.sha === targetSha));
  } else if (atTarget !== undefined && atTarget.v.prerelease.length > 0) {
    existing = atTarget;
  }
  const base = maxOf(existing === undefined ? relevant : relevant.filter((x) => x !== existing));
  const out: BaseSelection = {};
  if (existing !== undefined) out.existing = existing.tag;
  if (base !== undefined) out.base = base.tag;
  return out;
}

function preNumber(v: TagVersion): number | undefined {
  const [id, n, ...rest] = v.prerelease;
  return id === 'pre' && typeof n === 'number' && rest.length === 0 ? n : undefined;
}

/**
 * The next version, purely: from the tags and the commits since the last release, the version,
 * tag name and notes of the next production or beta release, or why there is none. Needs no
 * token and does no I/O.
 *
 * @remarks
 * Production: the last production version bumped (`patch` unless `bump` says otherwise; `0.0.0`
 * when there is none), or the version the newest pre-release was heading for when that is
 * higher (a beta `v1.2.4-pre.3` becomes `v1.2.4`). Beta: `-pre.N` of that same upcoming version,
 * N one above the highest pre-release of it (the original's `-preN` tags are read as `-pre.N`:
 * after `v1.2.4-pre9` comes `v1.2.4-pre.10`). The new version is always greater than every
 * existing version tag. The `v` prefix follows the newest tag (`v` when there is none).
 *
 * @param facts - tags, target, commits since the base tag, remote and time
 * @param options - channel, bump and allow-empty
 * @throws DeploytagError `E_RELEASE_FACTS` when `facts.baseTag` is not the base this plan uses
 */
export function planRelease(facts: ReleaseFacts, options: PlanReleaseOptions): ReleasePlan {
  const { channel } = options;
  const selection = selectBase(facts.tags, facts.target.sha, channel);
  if (selection.base?.name !== facts.baseTag) {
    throw new DeploytagError(
      ReleaseErrorCodes.FACTS,
      `the commits were counted from ${facts.baseTag ?? 'the first commit'} but the ${channel} base is ${selection.base?.name ?? 'the first commit'}; gather the facts with selectBase`,
    );
  }
  const common = {
    channel,
    targetSha: facts.target.sha,
    ...(facts.target.ref === undefined ? {} : { targetRef: facts.target.ref }),
    ...(selection.base === undefined ? {} : { baseTag: selection.base.name }),
  };
  const describe = (tag: string): Omit<PlannedTag, 'version' | 'tag' | 'channel' | 'targetSha'> => {
    const notesContext = {
      tag,
      ...(facts.webUrl === undefined ? {} : { webUrl: facts.webUrl }),
      ...(selection.base === undefined ? {} : { previousTag: selection.base.name }),
    };
    return {
      prerelease: channel === 'beta',
      releaseName: `Release ${facts.now.toISOString()}`,
      notes: renderNotes(facts.commits, notesContext),
      commitCount: facts.commits.length,
    };
  };

  if (selection.existing !== undefined) {
    const v = parseTagVersion(selection.existing.name)!;
    return {
      action: 'complete',
      ...common,
      ...describe(selection.existing.name),
      version: toSemver(v),
      tag: selection.existing.name,
    };
  }
  if (facts.commits.length === 0 && options.allowEmpty !== true) {
    return {
      action: 'none',
      ...common,
      reason:
        selection.base === undefined
          ? 'the target has no commits to release'
          : `no commits since ${selection.base.name}; nothing to release (pass --allow-empty to tag anyway)`,
    };
  }

  const versions = versionsOf(facts.tags);
  const newest = maxOf(versions);
  const production = maxOf(versions.filter((x) => x.v.prerelease.length === 0));
  const bump: BumpLevel =
    options.bump === 'auto' ? bumpFromCommits(facts.commits) : (options.bump ?? 'patch');
  let upcoming = semver.inc(production?.semver ?? '0.0.0', bump)!;
  if (newest !== undefined && newest.v.prerelease.length > 0) {
    const heading = `${newest.v.major}.${newest.v.minor}.${newest.v.patch}`;
    if (semver.gt(heading, upcoming)) upcoming = heading;
  }
  let version: string;
  if (channel === 'production') {
    version = upcoming;
    while (newest !== undefined && !semver.gt(version, newest.semver)) {
      version = semver.inc(version, 'patch')!;
    }
  } else {
    for (;;) {
      const core = upcoming;
      const highest = versions
        .filter((x) => `${x.v.major}.${x.v.minor}.${x.v.patch}` === core)
        .map((x) => preNumber(x.v))
        .filter((n): n is number => n !== undefined)
        .reduce((a, b) => Math.max(a, b), 0);
      version = `${core}-pre.${highest + 1}`;
      if (newest === undefined || semver.gt(version, newest.semver)) break;
      upcoming = semver.inc(upcoming, 'patch')!;
    }
  }
  const prefix = newest?.v.prefix ?? 'v';
  const tag = `${prefix}${version}`;
  return { action: 'create', ...common, ...describe(tag), version, tag, bump };
}
