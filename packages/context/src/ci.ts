/**
 * CI environment readers and fact resolution. Pure functions of an environment object and the
 * git checkout's facts: no I/O.
 *
 * @packageDocumentation
 */

/** An environment-like record, e.g. `process.env`. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The CI services DeployTag recognises; `generic` is `DEPLOYTAG_*` alone, `none` is nothing. */
export type CiProvider = 'circleci' | 'github' | 'gitlab' | 'buildkite' | 'generic' | 'none';

/** What the CI environment says about the build. Absent fields are unknown, never empty strings. */
export interface CiFacts {
  /** Which CI service the environment belongs to. */
  provider: CiProvider;
  /** The branch being built (short name, e.g. `feature/login`); for a pull request its head branch. */
  branch?: string;
  /** The commit being built. */
  sha?: string;
  /** The repository's name, without owner or group (`shop`, not `acme/shop`). */
  repo?: string;
  /** The tag being built, for tag builds. */
  tag?: string;
  /** The pull (merge) request number, when the build is for one. */
  pullRequest?: number;
}

/** A fact the readers and {@link resolveFacts} report. */
export type FactName = 'branch' | 'sha' | 'repo' | 'tag' | 'pullRequest';

/**
 * Where a value came from, for `--explain`: a command-line flag, an environment variable (with its
 * name), a configuration file (`config:<file>` or `config:<file>#$preview` for an environment's
 * section), the git checkout, a secret (`secret:<id>`), or DeployTag's default (including values
 * DeployTag derived from others).
 */
export type Origin =
  'flag' | `env:${string}` | `config:${string}` | 'git' | `secret:${string}` | 'default';

/** The environment variable each CI fact was read from. */
export type CiOrigins = Partial<Record<FactName, `env:${string}`>>;

/** {@link CiFacts} together with the variable each one came from. */
export interface CiReading {
  /** The facts. */
  facts: CiFacts;
  /** The variable each present fact came from. */
  origins: CiOrigins;
}

/** Facts read from the git checkout by the caller (e.g. `@deploytag/git`). */
export interface GitFacts {
  /** The checked-out branch; absent when HEAD is detached. */
  branch?: string;
  /** The commit HEAD points at. */
  sha?: string;
  /** The URL of the remote (normally `origin`), from which the repository name is taken. */
  remoteUrl?: string;
  /** Whether HEAD is detached (no branch checked out). */
  detached?: boolean;
}

/** Values given explicitly on the command line; they beat the environment and git. */
export interface FactFlags {
  /** `--branch` */
  branch?: string;
  /** `--sha` */
  sha?: string;
  /** `--repo` */
  repo?: string;
  /** `--tag` */
  tag?: string;
}

/** The facts of a build after {@link resolveFacts}: flags beat env beat git. */
export interface ResolvedFacts extends CiFacts {
  /**
   * True when nothing named a branch or tag and the git checkout has a detached HEAD: the branch is
   * unknown, not "empty" (which would mean staging).
   */
  detached: boolean;
  /** Where each present fact came from. */
  origins: Partial<Record<FactName, Origin>>;
}

/** A value read from one variable. */
interface Found<T> {
  value: T;
  origin: `env:${string}`;
}

/** The trimmed value of `name`, or `undefined` when it is unset or blank. */
function read(env: Env, name: string): Found<string> | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : { value, origin: `env:${name}` };
}

/** The first of `names` that is set. */
function first(env: Env, ...names: string[]): Found<string> | undefined {
  for (const name of names) {
    const found = read(env, name);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Whether the variable is set to something other than blank, `false` or `0`. */
function flag(env: Env, name: string): boolean {
  const value = env[name]?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/** A positive integer read from `text`, or `undefined`. */
function positiveInteger(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function prNumber(found: Found<string> | undefined, pattern?: RegExp): Found<number> | undefined {
  if (found === undefined) return undefined;
  const text = pattern === undefined ? found.value : pattern.exec(found.value)?.[1];
  const value = text === undefined ? undefined : positiveInteger(text);
  return value === undefined ? undefined : { value, origin: found.origin };
}

/** Removes a leading `refs/heads/`, so a full ref given where a branch is expected still works. */
function shortBranch(branch: string): string {
  return branch.startsWith('refs/heads/') ? branch.slice('refs/heads/'.length) : branch;
}

/**
 * The repository name in a git remote URL: the last path segment without `.git`.
 *
 * Handles `https://host/owner/repo(.git)`, credentials and ports in URLs, scp-like
 * `git@host:owner/repo.git`, `ssh://git@host:22/owner/repo.git`, GitLab subgroups
 * (`group/sub/repo` → `repo`), local paths and `file://` URLs, and trailing slashes.
 *
 * @param url - the remote URL
 * @returns the repository name, or `undefined` when the URL has none
 */
export function repoNameFromRemoteUrl(url: string): string | undefined {
  const text = url.trim();
  let path: string;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text);
  if (scheme !== null) {
    // The path starts at the first `/` after the authority (`user:token@host:port`).
    const rest = text.slice(scheme[0].length).replace(/[?#].*$/, '');
    const slash = rest.indexOf('/');
    path = slash === -1 ? '' : rest.slice(slash);
  } else {
    // scp-like `user@host:owner/repo.git`, or a local path.
    const scp = /^[^/\\:]+:(?![\\/])/.exec(text);
    path = scp === null ? text : text.slice(scp[0].length);
  }
  const segment =
    path
      .replace(/[/\\]+$/, '')
      .split(/[/\\]/)
      .pop() ?? '';
  const name = segment.replace(/\.git$/i, '');
  return name === '' || name === '.' || name === '..' ? undefined : name;
}

/** A reading being put together, field by field. */
class Reading {
  readonly facts: CiFacts;
  readonly origins: CiOrigins = {};

  constructor(provider: CiProvider) {
    this.facts = { provider };
  }

  set<K extends FactName>(key: K, found: Found<NonNullable<CiFacts[K]>> | undefined): void {
    if (found === undefined) return;
    this.facts[key] = found.value;
    this.origins[key] = found.origin;
  }

  unset(key: FactName): void {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- keys are a closed union
    delete this.facts[key];
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- keys are a closed union
    delete this.origins[key];
  }
}

function readCircleCi(env: Env, reading: Reading): void {
  reading.set('branch', read(env, 'CIRCLE_BRANCH'));
  reading.set('tag', read(env, 'CIRCLE_TAG'));
  reading.set('sha', read(env, 'CIRCLE_SHA1'));
  reading.set('repo', read(env, 'CIRCLE_PROJECT_REPONAME'));
  reading.set(
    'pullRequest',
    prNumber(read(env, 'CIRCLE_PR_NUMBER')) ??
      prNumber(read(env, 'CIRCLE_PULL_REQUEST'), /\/pull\/(\d+)\/?$/),
  );
}

const PULL_REQUEST_EVENTS = new Set(['pull_request', 'pull_request_target']);

function readGitHub(env: Env, reading: Reading): void {
  const event = read(env, 'GITHUB_EVENT_NAME')?.value;
  const ref = read(env, 'GITHUB_REF');
  const headRef = read(env, 'GITHUB_HEAD_REF');
  reading.set('pullRequest', prNumber(ref, /^refs\/pull\/(\d+)\//));
  if (headRef !== undefined) {
    // pull_request and pull_request_target: the PR's head branch, never refs/pull/N/merge.
    reading.set('branch', headRef);
  } else if (ref !== undefined) {
    if (ref.value.startsWith('refs/heads/')) {
      reading.set('branch', { value: shortBranch(ref.value), origin: ref.origin });
    } else if (ref.value.startsWith('refs/tags/')) {
      reading.set('tag', { value: ref.value.slice('refs/tags/'.length), origin: ref.origin });
    }
  } else {
    const refName = read(env, 'GITHUB_REF_NAME');
    const refType = read(env, 'GITHUB_REF_TYPE')?.value;
    if (refName !== undefined && refType === 'tag') reading.set('tag', refName);
    else if (refName !== undefined && !/^\d+\/(?:merge|head)$/.test(refName.value)) {
      reading.set('branch', refName);
    }
  }
  // GITHUB_SHA is the commit the workflow checked out and built: for `pull_request` the merge
  // commit of the PR into its base (what actions/checkout checks out), which we keep. For
  // `pull_request_target` it is the base branch's tip, not the PR's code, so it is not used and the
  // sha comes from a flag, DEPLOYTAG_SHA or the checkout.
  if (event !== 'pull_request_target') reading.set('sha', read(env, 'GITHUB_SHA'));
  const repository = read(env, 'GITHUB_REPOSITORY');
  if (repository !== undefined) {
    const name = repository.value.split('/').pop() ?? '';
    if (name !== '') reading.set('repo', { value: name, origin: repository.origin });
  }
  if (event !== undefined && PULL_REQUEST_EVENTS.has(event) && headRef === undefined) {
    // A PR event whose head branch is unknown: never fall back to the merge ref as a branch.
    reading.unset('branch');
  }
}

function readGitLab(env: Env, reading: Reading): void {
  const tag = read(env, 'CI_COMMIT_TAG');
  reading.set('tag', tag);
  if (tag === undefined) {
    const refName = read(env, 'CI_COMMIT_REF_NAME');
    const usableRefName = refName?.value.startsWith('refs/') === true ? undefined : refName;
    reading.set(
      'branch',
      first(env, 'CI_MERGE_REQUEST_SOURCE_BRANCH_NAME', 'CI_COMMIT_BRANCH') ?? usableRefName,
    );
  } else {
    reading.set('branch', read(env, 'CI_MERGE_REQUEST_SOURCE_BRANCH_NAME'));
  }
  reading.set('sha', read(env, 'CI_COMMIT_SHA'));
  reading.set('repo', read(env, 'CI_PROJECT_NAME'));
  reading.set('pullRequest', prNumber(read(env, 'CI_MERGE_REQUEST_IID')));
}

function readBuildkite(env: Env, reading: Reading): void {
  const tag = read(env, 'BUILDKITE_TAG');
  const branch = read(env, 'BUILDKITE_BRANCH');
  reading.set('tag', tag);
  // On tag builds Buildkite puts the tag in BUILDKITE_BRANCH too; that is not a branch.
  if (branch !== undefined && branch.value !== tag?.value) reading.set('branch', branch);
  const commit = read(env, 'BUILDKITE_COMMIT');
  // Builds started by hand may carry the literal `HEAD`, which names no commit.
  if (commit !== undefined && commit.value !== 'HEAD') reading.set('sha', commit);
  const repoUrl = read(env, 'BUILDKITE_REPO');
  const fromUrl = repoUrl === undefined ? undefined : repoNameFromRemoteUrl(repoUrl.value);
  reading.set(
    'repo',
    fromUrl !== undefined && repoUrl !== undefined
      ? { value: fromUrl, origin: repoUrl.origin }
      : read(env, 'BUILDKITE_PIPELINE_SLUG'),
  );
  reading.set('pullRequest', prNumber(read(env, 'BUILDKITE_PULL_REQUEST')));
}

const CIRCLE_FACT_VARIABLES = [
  'CIRCLE_BRANCH',
  'CIRCLE_SHA1',
  'CIRCLE_PROJECT_REPONAME',
  'CIRCLE_TAG',
] as const;
const GENERIC_VARIABLES = ['DEPLOYTAG_BRANCH', 'DEPLOYTAG_TAG', 'DEPLOYTAG_SHA', 'DEPLOYTAG_REPO'];

function detectProvider(env: Env): CiProvider {
  if (flag(env, 'CIRCLECI')) return 'circleci';
  if (flag(env, 'GITHUB_ACTIONS')) return 'github';
  if (flag(env, 'GITLAB_CI')) return 'gitlab';
  if (flag(env, 'BUILDKITE')) return 'buildkite';
  // The original contract: CIRCLE_BRANCH and friends set by hand, outside CircleCI.
  if (CIRCLE_FACT_VARIABLES.some((name) => read(env, name) !== undefined)) return 'circleci';
  if (GENERIC_VARIABLES.some((name) => read(env, name) !== undefined)) return 'generic';
  return 'none';
}

/**
 * Reads the CI environment, reporting the variable each fact came from.
 *
 * The provider is the first of: `CIRCLECI` → circleci, `GITHUB_ACTIONS` → github, `GITLAB_CI` →
 * gitlab, `BUILDKITE` → buildkite; then any of `CIRCLE_BRANCH`, `CIRCLE_SHA1`,
 * `CIRCLE_PROJECT_REPONAME`, `CIRCLE_TAG` set by hand (the original contract) → circleci; then any
 * `DEPLOYTAG_*` → generic; else none. Each provider reads only its own variables:
 *
 * - CircleCI: `CIRCLE_BRANCH`, `CIRCLE_TAG`, `CIRCLE_SHA1`, `CIRCLE_PROJECT_REPONAME`,
 *   `CIRCLE_PR_NUMBER` (or the number at the end of `CIRCLE_PULL_REQUEST`).
 * - GitHub Actions: the branch is `GITHUB_HEAD_REF` on pull-request events (never
 *   `refs/pull/N/merge`), else `GITHUB_REF` (`refs/heads/…` branch, `refs/tags/…` tag), else
 *   `GITHUB_REF_NAME` with `GITHUB_REF_TYPE`; the PR number comes from `refs/pull/N/…`; the repo is
 *   the name part of `GITHUB_REPOSITORY`. The sha is `GITHUB_SHA`: for `pull_request` that is the
 *   merge commit the workflow checked out and built (the head commit is only in the event payload;
 *   pass `--sha` or `DEPLOYTAG_SHA` to prefer it); for `pull_request_target` it is the base
 *   branch's tip, so it is not taken at all.
 * - GitLab CI: tag `CI_COMMIT_TAG`; branch `CI_MERGE_REQUEST_SOURCE_BRANCH_NAME`, else
 *   `CI_COMMIT_BRANCH`, else `CI_COMMIT_REF_NAME` (not on tag pipelines); `CI_COMMIT_SHA`;
 *   `CI_PROJECT_NAME`; `CI_MERGE_REQUEST_IID`.
 * - Buildkite: `BUILDKITE_BRANCH` (unless it merely repeats `BUILDKITE_TAG`), `BUILDKITE_TAG`,
 *   `BUILDKITE_COMMIT` (unless the literal `HEAD`), the repo from `BUILDKITE_REPO`'s URL (the
 *   repository's own name, like every other provider) else `BUILDKITE_PIPELINE_SLUG`,
 *   `BUILDKITE_PULL_REQUEST` (unless `false`).
 *
 * Then, on any provider, `DEPLOYTAG_SHA` and `DEPLOYTAG_REPO` replace the sha and repo, and
 * `DEPLOYTAG_BRANCH` / `DEPLOYTAG_TAG` replace the branch and tag together (a ref is taken whole
 * from one place, so a stray CI tag never turns an explicit branch into a release). Blank values
 * count as unset.
 *
 * @param env - the environment, e.g. `process.env`
 */
export function readCiEnvWithOrigins(env: Env): CiReading {
  const reading = new Reading(detectProvider(env));
  switch (reading.facts.provider) {
    case 'circleci':
      readCircleCi(env, reading);
      break;
    case 'github':
      readGitHub(env, reading);
      break;
    case 'gitlab':
      readGitLab(env, reading);
      break;
    case 'buildkite':
      readBuildkite(env, reading);
      break;
    case 'generic':
    case 'none':
      break;
  }
  const branch = read(env, 'DEPLOYTAG_BRANCH');
  const tag = read(env, 'DEPLOYTAG_TAG');
  if (branch !== undefined || tag !== undefined) {
    reading.unset('branch');
    reading.unset('tag');
    if (branch !== undefined) {
      reading.set('branch', { value: shortBranch(branch.value), origin: branch.origin });
    }
    reading.set('tag', tag);
  }
  reading.set('sha', read(env, 'DEPLOYTAG_SHA'));
  reading.set('repo', read(env, 'DEPLOYTAG_REPO'));
  return { facts: reading.facts, origins: reading.origins };
}

/**
 * Reads the CI environment: provider, branch, sha, repository name, tag and pull-request number.
 * See {@link readCiEnvWithOrigins} for exactly which variables each provider reads.
 *
 * @param env - the environment, e.g. `process.env`
 */
export function readCiEnv(env: Env): CiFacts {
  return readCiEnvWithOrigins(env).facts;
}

/** Input of {@link resolveFacts}. */
export interface ResolveFactsInput {
  /** Values given on the command line. */
  flags?: FactFlags;
  /** The environment. */
  env?: Env;
  /** Facts read from the git checkout. */
  git?: GitFacts;
}

/** A value and where it came from. */
type Candidate<T> = readonly [value: T, origin: Origin];

/** The first candidate whose value is present. */
function pick<T>(...candidates: (readonly [T | undefined, Origin])[]): Candidate<T> | undefined {
  for (const [value, origin] of candidates) {
    if (value !== undefined) return [value, origin];
  }
  return undefined;
}

function nonBlank(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/**
 * Combines flags, the CI environment and the git checkout into the build's facts, recording where
 * each came from. Explicit flags beat the environment, which beats git.
 *
 * The branch and tag form one ref, taken whole from the first source naming either (flags, then
 * env, then git's branch), so sources are never mixed into a ref nobody asked for. The sha and
 * repository name are resolved one by one; git's repository name comes from `remoteUrl`
 * (see {@link repoNameFromRemoteUrl}). When no source names a ref and git reports a detached
 * HEAD, `detached` is true and the branch stays unknown.
 *
 * @param input - flags, environment and git facts; each may be omitted
 */
export function resolveFacts({ flags = {}, env = {}, git = {} }: ResolveFactsInput): ResolvedFacts {
  const ci = readCiEnvWithOrigins(env);
  const result: ResolvedFacts = { provider: ci.facts.provider, detached: false, origins: {} };
  const envOrigin = (key: FactName): Origin => ci.origins[key] ?? 'default';

  const flagBranch = nonBlank(flags.branch);
  const flagTag = nonBlank(flags.tag);
  const gitBranch = git.detached === true ? undefined : nonBlank(git.branch);
  let branch: Candidate<string> | undefined;
  let tag: Candidate<string> | undefined;
  if (flagBranch !== undefined || flagTag !== undefined) {
    branch = flagBranch === undefined ? undefined : [shortBranch(flagBranch), 'flag'];
    tag = flagTag === undefined ? undefined : [flagTag, 'flag'];
  } else if (ci.facts.branch !== undefined || ci.facts.tag !== undefined) {
    branch = ci.facts.branch === undefined ? undefined : [ci.facts.branch, envOrigin('branch')];
    tag = ci.facts.tag === undefined ? undefined : [ci.facts.tag, envOrigin('tag')];
  } else if (gitBranch !== undefined) {
    branch = [shortBranch(gitBranch), 'git'];
  } else {
    result.detached = git.detached === true;
  }

  const gitRepo = git.remoteUrl === undefined ? undefined : repoNameFromRemoteUrl(git.remoteUrl);
  const facts = {
    branch,
    tag,
    sha: pick(
      [nonBlank(flags.sha), 'flag'],
      [ci.facts.sha, envOrigin('sha')],
      [nonBlank(git.sha), 'git'],
    ),
    repo: pick(
      [nonBlank(flags.repo), 'flag'],
      [ci.facts.repo, envOrigin('repo')],
      [gitRepo, 'git'],
    ),
  };
  for (const key of ['branch', 'tag', 'sha', 'repo'] as const) {
    const found = facts[key];
    if (found !== undefined) {
      result[key] = found[0];
      result.origins[key] = found[1];
    }
  }
  if (ci.facts.pullRequest !== undefined) {
    result.pullRequest = ci.facts.pullRequest;
    result.origins.pullRequest = envOrigin('pullRequest');
  }
  return result;
}
