import { git } from './iso.js';
import { openRepo, resolveCommit } from './repo.js';
import type { Repo } from './repo.js';
import { parseRemoteUrl, stripCredentials } from './remote-url.js';
import type { RemoteInfo } from './remote-url.js';

/** What a checkout says about itself. */
export interface RepoFacts {
  /** The branch being built: HEAD's branch, else a CI hint, else the one branch at HEAD's commit. */
  branch?: string;
  /** HEAD's commit id. */
  sha: string;
  /** True when HEAD is not on a branch (usual in CI checkouts). */
  detached: boolean;
  /** The remote's URL, without any credentials it contained. */
  remoteUrl?: string;
  /** The remote's URL parsed, when it names a host and an `owner/repo` path. */
  remote?: RemoteInfo;
}

/** Options of {@link readRepoFacts}. */
export interface ReadRepoFactsOptions {
  /** Environment to read CI branch hints from in a detached HEAD (default: none). */
  env?: Record<string, string | undefined>;
  /** Remote to read (default `origin`, else the first remote configured). */
  remote?: string;
}

/** CI variables naming the branch of a detached checkout, in order of trust. */
const BRANCH_HINTS = [
  'DEPLOYTAG_BRANCH',
  'GITHUB_HEAD_REF',
  'CI_MERGE_REQUEST_SOURCE_BRANCH_NAME',
  'CI_COMMIT_BRANCH',
  'CIRCLE_BRANCH',
  'BUILDKITE_BRANCH',
  'BRANCH_NAME',
  'GIT_BRANCH',
] as const;

function branchFromEnv(env: Record<string, string | undefined>): string | undefined {
  for (const name of BRANCH_HINTS) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '') return value.replace(/^(refs\/heads\/|origin\/)/, '');
  }
  const ref = env['GITHUB_REF'];
  if (ref?.startsWith('refs/heads/') === true) return ref.slice('refs/heads/'.length);
  return undefined;
}

async function branchAtCommit(repo: Repo, sha: string): Promise<string | undefined> {
  const found = new Set<string>();
  const candidates: [string, string][] = [];
  for (const b of await git.listBranches({ fs: repo.fs, gitdir: repo.gitdir })) {
    candidates.push([b, `refs/heads/${b}`]);
  }
  for (const b of await git.listBranches({ fs: repo.fs, gitdir: repo.gitdir, remote: 'origin' })) {
    if (b !== 'HEAD') candidates.push([b, `refs/remotes/origin/${b}`]);
  }
  for (const [name, ref] of candidates) {
    try {
      if ((await git.resolveRef({ fs: repo.fs, gitdir: repo.gitdir, ref })) === sha)
        found.add(name);
    } catch {
      // a dangling ref names nothing
    }
  }
  return found.size === 1 ? [...found][0] : undefined;
}

/** The URL of the named remote, else of `origin`, else of the first remote. */
export async function remoteUrlOf(repo: Repo, name?: string): Promise<string | undefined> {
  const remotes = await git.listRemotes({ fs: repo.fs, gitdir: repo.gitdir });
  const chosen =
    remotes.find((r) => r.remote === (name ?? 'origin')) ??
    (name === undefined ? remotes[0] : undefined);
  return chosen?.url;
}

/**
 * Reads the branch, HEAD commit and remote of the repository containing `dir`, without a git
 * binary. In a detached HEAD the branch comes from the CI's variables in `env`
 * (`DEPLOYTAG_BRANCH`, `GITHUB_HEAD_REF`, GitLab's `CI_COMMIT_BRANCH`, `CIRCLE_BRANCH`,
 * `BUILDKITE_BRANCH`, …), else from the only local or `origin` branch pointing at that commit.
 *
 * @param dir - the work tree or any folder inside it
 * @param options - environment for CI hints and the remote's name
 * @throws GitError `E_GIT_NOT_A_REPOSITORY` outside a repository or before the first commit
 */
export async function readRepoFacts(
  dir: string,
  options: ReadRepoFactsOptions = {},
): Promise<RepoFacts> {
  const repo = await openRepo(dir);
  const sha = await resolveCommit(repo, 'HEAD');
  const head = await git.currentBranch({ fs: repo.fs, gitdir: repo.gitdir, test: true });
  const detached = head === undefined;
  const branch = detached
    ? (branchFromEnv(options.env ?? {}) ?? (await branchAtCommit(repo, sha)))
    : head;
  const url = await remoteUrlOf(repo, options.remote);
  const facts: RepoFacts = { sha, detached };
  if (branch !== undefined) facts.branch = branch;
  if (url !== undefined) {
    facts.remoteUrl = stripCredentials(url);
    const remote = parseRemoteUrl(url);
    if (remote !== undefined) facts.remote = remote;
  }
  return facts;
}
