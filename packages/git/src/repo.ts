import * as fs from 'node:fs';
import { git } from './iso.js';
import { GitError, GitErrorCodes } from './errors.js';

/** An opened repository: its work tree, git dir and an object cache for one operation. */
export interface Repo {
  fs: typeof fs;
  dir: string;
  gitdir: string;
  cache: object;
}

/**
 * isomorphic-git's object caches, per git dir, for the last few repositories used. They hold
 * parsed pack indexes; pack files are immutable and named by their content, and the pack list is
 * read again on every lookup, so a cache never serves stale objects.
 */
const caches = new Map<string, object>();
const MAX_CACHED_REPOS = 4;

function cacheFor(gitdir: string): object {
  let cache = caches.get(gitdir);
  if (cache === undefined) {
    cache = {};
    if (caches.size >= MAX_CACHED_REPOS) caches.delete(caches.keys().next().value!);
  } else {
    caches.delete(gitdir);
  }
  caches.set(gitdir, cache);
  return cache;
}

/** Finds the repository that contains `dir` (which may be a subfolder). */
export async function openRepo(dir: string): Promise<Repo> {
  let root: string;
  try {
    root = await git.findRoot({ fs, filepath: dir });
  } catch (cause) {
    throw new GitError(
      GitErrorCodes.NOT_A_REPOSITORY,
      `${dir} is not inside a git repository; run from a checkout or pass its folder`,
      { cause },
    );
  }
  return { fs, dir: root, gitdir: `${root}/.git`, cache: cacheFor(`${root}/.git`) };
}

/** Commit id a ref, tag, branch, `HEAD` or (abbreviated) sha resolves to, annotated tags peeled. */
export async function resolveCommit(repo: Repo, ref: string): Promise<string> {
  const { fs: f, gitdir, cache } = repo;
  let oid: string | undefined;
  for (const candidate of [ref, `refs/tags/${ref}`, `refs/heads/${ref}`, `refs/remotes/${ref}`]) {
    try {
      oid = await git.resolveRef({ fs: f, gitdir, ref: candidate });
      break;
    } catch {
      // try the next form
    }
  }
  if (oid === undefined && /^[0-9a-f]{4,40}$/i.test(ref)) {
    try {
      oid = await git.expandOid({ fs: f, gitdir, oid: ref.toLowerCase(), cache });
    } catch {
      // not an object id
    }
  }
  if (oid === undefined) {
    const message =
      ref === 'HEAD'
        ? `the repository at ${repo.dir} has no commits yet; commit first`
        : `cannot resolve ${ref} in ${repo.dir}: no such branch, tag or commit (fetch it first)`;
    throw new GitError(
      ref === 'HEAD' ? GitErrorCodes.NOT_A_REPOSITORY : GitErrorCodes.UNKNOWN_REF,
      message,
      { details: { ref } },
    );
  }
  return await peelToCommit(repo, oid);
}

/** The object an annotated tag object points at, or `undefined` when `oid` is not a tag object. */
export async function tagTarget(repo: Repo, oid: string): Promise<string | undefined> {
  try {
    const { tag } = await git.readTag({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache });
    return tag.object;
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === 'ObjectTypeError') return undefined;
    throw error;
  }
}

/** Follows annotated tags until a commit (or another non-tag object) is reached. */
export async function peelToCommit(repo: Repo, oid: string): Promise<string> {
  let current = oid;
  for (let i = 0; i < 16; i++) {
    const next = await tagTarget(repo, current);
    if (next === undefined) return current;
    current = next;
  }
  return current;
}
