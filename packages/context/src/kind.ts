import { DeploytagError } from '@deploytag/core';

/**
 * The environments DeployTag deploys to: `staging` (the staging branches or no branch),
 * `preview` (one namespace per other branch), `beta` and `production` (release tags).
 */
export type DeployableKind = 'staging' | 'preview' | 'beta' | 'production';

/** What {@link classifyBranch} says about a ref: a kind to deploy, or why not to deploy. */
export type Classification = { kind: DeployableKind } | { kind: 'none'; reason: string };

/** Branches that mean staging unless configured otherwise. */
export const DEFAULT_STAGING_BRANCHES: readonly string[] = ['master', 'main'];

/** Branch prefixes the original deployed as previews (`feature/*`, `bug/*`, `epic/*`). */
export const DEFAULT_PREVIEW_PREFIXES: readonly string[] = ['feature/', 'bug/', 'epic/'];

/** Options of {@link classifyBranch}. */
export interface ClassifyOptions {
  /** Branches deployed as staging; {@link DEFAULT_STAGING_BRANCHES} unless given. */
  stagingBranches?: readonly string[];
  /** Branch prefixes deployed as previews; {@link DEFAULT_PREVIEW_PREFIXES} unless given. */
  previewPrefixes?: readonly string[];
  /**
   * Whether every other branch is a preview too; `true` unless given, because in practice the
   * original deployed every non-staging branch as a preview. With `false`, a branch outside
   * `previewPrefixes` is not deployable.
   */
  previewAll?: boolean;
  /** The git tag being built, if any; a release tag decides the kind before the branch does. */
  tag?: string;
}

/** A release tag taken apart by {@link parseReleaseTag}. */
export interface ReleaseTag {
  /** Major version. */
  major: number;
  /** Minor version. */
  minor: number;
  /** Patch version. */
  patch: number;
  /** The pre-release part without its `-` (`pre.4`, `pre4`, `beta.1`), if any. */
  prerelease?: string;
}

const RELEASE_TAG =
  /^v(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/**
 * Reads a release tag: `v` + MAJOR.MINOR.PATCH, an optional pre-release (`-pre.4`, the original's
 * `-pre4`, `-beta.1`, any SemVer pre-release) and optional build metadata (`+…`, ignored).
 *
 * @param tag - a git tag name
 * @returns the version parts, or `undefined` when `tag` is not a release tag
 */
export function parseReleaseTag(tag: string): ReleaseTag | undefined {
  const match = RELEASE_TAG.exec(tag);
  if (match === null) return undefined;
  const [, major, minor, patch, prerelease] = match;
  return {
    major: Number(major),
    minor: Number(minor),
    patch: Number(patch),
    ...(prerelease === undefined ? {} : { prerelease }),
  };
}

function quoteList(items: readonly string[]): string {
  return items.length === 0 ? 'none' : items.join(', ');
}

/**
 * Decides which environment a build deploys to.
 *
 * In order: a release tag (`tag` option) → `production` (`v1.2.3`) or `beta` (`v1.2.3-pre.4`,
 * `v1.2.3-pre4`, `v1.2.3-beta.1`); another tag with no branch → `none`; an empty or missing
 * branch → `staging` (as the original); a staging branch → `staging`; a branch under a preview
 * prefix → `preview`; any other branch → `preview` when `previewAll` (the default), else `none`.
 *
 * Pure: it never throws. Callers that must deploy pass the result to {@link assertDeployable}.
 *
 * @param branch - the branch name (short form, e.g. `feature/login`), if any
 * @param options - staging branches, preview prefixes, `previewAll` and the tag
 */
export function classifyBranch(
  branch: string | undefined,
  options: ClassifyOptions = {},
): Classification {
  const tag = options.tag?.trim() ?? '';
  const name = branch?.trim() ?? '';
  if (tag !== '') {
    const release = parseReleaseTag(tag);
    if (release !== undefined) {
      return { kind: release.prerelease === undefined ? 'production' : 'beta' };
    }
    if (name === '') {
      return {
        kind: 'none',
        reason:
          `tag "${tag}" is not a release tag (vMAJOR.MINOR.PATCH for production, ` +
          `vMAJOR.MINOR.PATCH-pre.N for beta); only release tags are deployed`,
      };
    }
  }
  if (name === '') return { kind: 'staging' };
  const staging = options.stagingBranches ?? DEFAULT_STAGING_BRANCHES;
  if (staging.includes(name)) return { kind: 'staging' };
  const prefixes = options.previewPrefixes ?? DEFAULT_PREVIEW_PREFIXES;
  if (prefixes.some((prefix) => name.startsWith(prefix))) return { kind: 'preview' };
  if (options.previewAll ?? true) return { kind: 'preview' };
  return {
    kind: 'none',
    reason:
      `branch "${name}" is neither a staging branch (${quoteList(staging)}) nor under a ` +
      `preview prefix (${quoteList(prefixes)}); rename the branch, add its prefix to the ` +
      `preview prefixes, or allow previews of every branch`,
  };
}

/** Exit code of a run that stops because the ref is not deployable (see {@link NotDeployableError}). */
export const NOT_DEPLOYABLE_EXIT_CODE = 3;

/** Options of {@link NotDeployableError}. */
export interface NotDeployableErrorOptions {
  /** The branch that was classified, for the error's details. */
  branch?: string;
  /** The tag that was classified, for the error's details. */
  tag?: string;
}

/**
 * Raised when a build's branch or tag is not deployed anywhere, rather than deploying somewhere
 * surprising. Code `E_NOT_DEPLOYABLE`; exit code {@link NOT_DEPLOYABLE_EXIT_CODE} (3), distinct
 * from a configuration error (2) and a failure (1), so CI can tell "skipped" from "broken".
 */
export class NotDeployableError extends DeploytagError {
  /** Why the ref is not deployable, and what to do about it. */
  readonly reason: string;

  /**
   * @param reason - why the ref is not deployable, ending with what to do
   * @param options - the branch and tag, kept in the error's details
   */
  constructor(reason: string, options: NotDeployableErrorOptions = {}) {
    super('E_NOT_DEPLOYABLE', `not deployable: ${reason}`, {
      exitCode: NOT_DEPLOYABLE_EXIT_CODE,
      details: { reason, branch: options.branch, tag: options.tag },
    });
    this.reason = reason;
  }
}

/**
 * Asserts that a {@link classifyBranch} result names an environment.
 *
 * @param classification - the result of {@link classifyBranch}
 * @param options - the branch and tag that were classified, for the error's details
 * @throws NotDeployableError when the result is `none`
 */
export function assertDeployable(
  classification: Classification,
  options: NotDeployableErrorOptions = {},
): asserts classification is { kind: DeployableKind } {
  if (classification.kind === 'none') {
    throw new NotDeployableError(classification.reason, options);
  }
}
