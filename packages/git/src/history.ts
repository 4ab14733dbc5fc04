import { git } from './iso.js';
import type { CommitObject } from 'isomorphic-git';
import { entryAt, normalizeRepoPath } from './digest.js';
import { GitError, GitErrorCodes } from './errors.js';
import type { EntryId } from './digest.js';
import { openRepo, resolveCommit } from './repo.js';
import type { Repo } from './repo.js';

/** A commit as release notes need it. */
export interface CommitInfo {
  /** Full commit id. */
  sha: string;
  /** First line of the message. */
  subject: string;
  /** The rest of the message, trimmed (may be empty). */
  body: string;
  /** Author name and e-mail. */
  author: { name: string; email: string };
  /** Author date, ISO 8601 in UTC. */
  date: string;
}

async function read(repo: Repo, oid: string): Promise<CommitObject> {
  const { commit } = await git.readCommit({
    fs: repo.fs,
    gitdir: repo.gitdir,
    oid,
    cache: repo.cache,
  });
  return commit;
}

function sameEntry(a: EntryId | undefined, b: EntryId | undefined): boolean {
  return a?.oid === b?.oid && a?.mode === b?.mode;
}

/** Options of {@link lastCommitTouching}. */
export interface LastCommitTouchingOptions {
  /** Where history starts (default `HEAD`). */
  ref?: string;
}

/**
 * The newest commit on the first-parent history of `ref` that changed `path` (a file or a
 * folder; added, modified, removed or mode-changed), like `git log -1 --first-parent -- path`.
 * Fast on long histories: it compares the path's tree entry id between each commit and its first
 * parent and stops at the first difference, without diffing whole trees.
 *
 * @param dir - the work tree or any folder inside it
 * @param path - a path relative to the repository root
 * @param options - the starting ref
 * @returns the commit id, or `undefined` when no commit on that history ever had the path
 */
export async function lastCommitTouching(
  dir: string,
  path: string,
  options: LastCommitTouchingOptions = {},
): Promise<string | undefined> {
  const repo = await openRepo(dir);
  const p = normalizeRepoPath(path);
  const trees = new Map<string, Map<string, EntryId>>();
  let sha = await resolveCommit(repo, options.ref ?? 'HEAD');
  let commit = await read(repo, sha);
  let entry = await entryAt(repo, commit.tree, p, trees);
  for (;;) {
    const parentSha = commit.parent[0];
    if (parentSha === undefined) return entry === undefined ? undefined : sha;
    const parent = await read(repo, parentSha);
    // Identical root trees cannot differ at any path: skip the lookup.
    const parentEntry =
      parent.tree === commit.tree ? entry : await entryAt(repo, parent.tree, p, trees);
    if (!sameEntry(entry, parentEntry)) return sha;
    if (trees.size > 4096) trees.clear();
    sha = parentSha;
    commit = parent;
    entry = parentEntry;
  }
}

function toInfo(sha: string, c: CommitObject): CommitInfo {
  const message = c.message.replace(/\r\n/g, '\n');
  const nl = message.indexOf('\n');
  const subject = (nl === -1 ? message : message.slice(0, nl)).trim();
  const body = nl === -1 ? '' : message.slice(nl + 1).trim();
  return {
    sha,
    subject,
    body,
    author: { name: c.author.name, email: c.author.email },
    date: new Date(c.author.timestamp * 1000).toISOString(),
  };
}

/** A max-heap of commits by committer time (newest first), like git's revision walk. */
class CommitQueue {
  readonly #items: { sha: string; time: number; seq: number }[] = [];
  #seq = 0;

  get size(): number {
    return this.#items.length;
  }

  push(sha: string, time: number): void {
    const items = this.#items;
    items.push({ sha, time, seq: this.#seq++ });
    let i = items.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.#before(items[i]!, items[up]!)) break;
      [items[i], items[up]] = [items[up]!, items[i]!];
      i = up;
    }
  }

  pop(): string | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined) return undefined;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < items.length && this.#before(items[l]!, items[best]!)) best = l;
        if (r < items.length && this.#before(items[r]!, items[best]!)) best = r;
        if (best === i) break;
        [items[i], items[best]] = [items[best]!, items[i]!];
        i = best;
      }
    }
    return top.sha;
  }

  #before(a: { time: number; seq: number }, b: { time: number; seq: number }): boolean {
    return a.time > b.time || (a.time === b.time && a.seq < b.seq);
  }
}

/**
 * The commits reachable from `toRef` but not from `fromRef` (`git log from..to`), newest first
 * by committer date. Walks both sides at once in date order and stops as soon as only commits
 * reachable from `fromRef` remain, so the cost depends on the range, not on the whole history.
 *
 * @param dir - the work tree or any folder inside it
 * @param fromRef - the excluded side (a tag, branch or sha), or `undefined` for all of history
 * @param toRef - the included side
 * @throws GitError `E_GIT_UNKNOWN_REF` when a ref does not resolve
 */
export async function commitsBetween(
  dir: string,
  fromRef: string | undefined,
  toRef: string,
): Promise<CommitInfo[]> {
  const repo = await openRepo(dir);
  const to = await resolveCommit(repo, toRef);
  const from = fromRef === undefined ? undefined : await resolveCommit(repo, fromRef);
  return await walkRange(repo, from, to);
}

/** The range walk behind {@link commitsBetween}, for an opened repository. */
export async function walkRange(
  repo: Repo,
  from: string | undefined,
  to: string,
): Promise<CommitInfo[]> {
  const uninteresting = new Set<string>();
  const queued = new Set<string>();
  const done = new Set<string>();
  const objects = new Map<string, CommitObject>();
  const queue = new CommitQueue();
  let interestingInQueue = 0;
  const load = async (sha: string): Promise<CommitObject> => {
    let c = objects.get(sha);
    if (c === undefined) {
      c = await read(repo, sha);
      objects.set(sha, c);
    }
    return c;
  };
  const push = async (sha: string): Promise<void> => {
    const c = await load(sha);
    queued.add(sha);
    if (!uninteresting.has(sha)) interestingInQueue++;
    queue.push(sha, c.committer.timestamp);
  };
  const markBad = async (start: string): Promise<void> => {
    const stack = [start];
    while (stack.length > 0) {
      const sha = stack.pop()!;
      if (uninteresting.has(sha)) continue;
      uninteresting.add(sha);
      if (queued.has(sha)) interestingInQueue--;
      else if (done.has(sha)) stack.push(...(await load(sha)).parent);
      else await push(sha);
    }
  };
  const markGood = async (sha: string): Promise<void> => {
    if (queued.has(sha) || done.has(sha) || uninteresting.has(sha)) return;
    await push(sha);
  };
  if (from !== undefined) await markBad(from);
  await markGood(to);
  const out: CommitInfo[] = [];
  while (queue.size > 0 && interestingInQueue > 0) {
    const sha = queue.pop()!;
    queued.delete(sha);
    done.add(sha);
    const c = objects.get(sha)!;
    if (uninteresting.has(sha)) {
      for (const parent of c.parent) await markBad(parent);
    } else {
      interestingInQueue--;
      out.push(toInfo(sha, c));
      for (const parent of c.parent) await markGood(parent);
    }
  }
  // A commit emitted before a later-discovered path marked it uninteresting (clock skew) is
  // removed here, as git does with its own slop.
  return out.filter((c) => !uninteresting.has(c.sha));
}

/**
 * The commit id a branch, tag (annotated tags peeled), `HEAD` or abbreviated sha names.
 *
 * @param dir - the work tree or any folder inside it
 * @param ref - what to resolve
 * @throws GitError `E_GIT_UNKNOWN_REF` when nothing of that name exists
 */
export async function resolveCommitId(dir: string, ref: string): Promise<string> {
  return await resolveCommit(await openRepo(dir), ref);
}

function isMissingObject(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'NotFoundError';
}

/** The commit `ref` names, checked to be present in the repository's objects. */
async function presentCommit(repo: Repo, ref: string): Promise<string> {
  const missing = (cause?: unknown): GitError =>
    new GitError(
      GitErrorCodes.UNKNOWN_REF,
      `commit ${ref} is not in the repository at ${repo.dir}; fetch it first (a shallow clone may not have it)`,
      { cause, details: { ref } },
    );
  let oid: string;
  try {
    oid = await resolveCommit(repo, ref);
    await git.readCommit({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache });
  } catch (error) {
    if (isMissingObject(error)) throw missing(error);
    throw error;
  }
  return oid;
}

/**
 * Whether `ancestor` is reachable from `descendant` by following parents, like
 * `git merge-base --is-ancestor`: a commit counts as its own ancestor. The walk stops where a
 * shallow clone's history stops (an ancestor beyond it is not found).
 *
 * @param dir - the work tree or any folder inside it
 * @param ancestor - the older side (a sha, branch or tag)
 * @param descendant - the newer side
 * @throws GitError `E_GIT_UNKNOWN_REF` when either commit is not in the repository (or the history
 * between them is missing objects)
 */
export async function isAncestor(
  dir: string,
  ancestor: string,
  descendant: string,
): Promise<boolean> {
  const repo = await openRepo(dir);
  const older = await presentCommit(repo, ancestor);
  const newer = await presentCommit(repo, descendant);
  if (older === newer) return true;
  try {
    return await git.isDescendent({
      fs: repo.fs,
      gitdir: repo.gitdir,
      oid: newer,
      ancestor: older,
      depth: -1,
      cache: repo.cache,
    });
  } catch (error) {
    if (!isMissingObject(error)) throw error;
    throw new GitError(
      GitErrorCodes.UNKNOWN_REF,
      `the history of ${descendant} in ${repo.dir} is missing objects; fetch it again`,
      { cause: error, details: { ref: descendant } },
    );
  }
}
