import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { git } from './iso.js';
import { GitError, GitErrorCodes } from './errors.js';
import { openRepo, resolveCommit } from './repo.js';
import type { Repo } from './repo.js';

/** A tree entry as git records it: mode, type and object id. */
export interface EntryId {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  oid: string;
}

/** Options of {@link contentDigest}. */
export interface ContentDigestOptions {
  /** Commit to read (branch, tag or sha; default `HEAD`). */
  ref?: string;
  /** Files or folders, relative to the repository root (`/` separators). */
  paths: readonly string[];
  /**
   * Take the work tree's current content instead of the commit's (uncommitted and untracked
   * files count, ignored untracked files do not). On a clean work tree the digest equals the
   * commit's. Line-ending and clean filters are not applied.
   */
  includeWorkingTree?: boolean;
}

/** Normalises a repository-relative path; rejects paths that leave the repository. */
export function normalizeRepoPath(p: string): string {
  const posix = p.replaceAll('\\', '/');
  const norm = path.posix
    .normalize(posix)
    .replace(/^\.\/?/, '')
    .replace(/\/+$/, '');
  if (path.posix.isAbsolute(norm) || norm === '..' || norm.startsWith('../')) {
    throw new GitError(
      GitErrorCodes.UNKNOWN_REF,
      `path ${p} is outside the repository; give paths relative to the repository root`,
      { details: { path: p } },
    );
  }
  return norm;
}

/** Reads a tree (by oid) as a map from name to entry, cached per operation. */
async function readTreeMap(
  repo: Repo,
  oid: string,
  trees: Map<string, Map<string, EntryId>>,
): Promise<Map<string, EntryId>> {
  const known = trees.get(oid);
  if (known !== undefined) return known;
  const { tree } = await git.readTree({ fs: repo.fs, gitdir: repo.gitdir, oid, cache: repo.cache });
  const map = new Map<string, EntryId>();
  for (const e of tree) map.set(e.path, { mode: e.mode, type: e.type, oid: e.oid });
  trees.set(oid, map);
  return map;
}

/**
 * The entry at `p` inside the tree `rootTree` (`''` is the root itself), or `undefined` when the
 * path does not exist there.
 */
export async function entryAt(
  repo: Repo,
  rootTree: string,
  p: string,
  trees: Map<string, Map<string, EntryId>>,
): Promise<EntryId | undefined> {
  let current: EntryId = { mode: '040000', type: 'tree', oid: rootTree };
  if (p === '') return current;
  for (const part of p.split('/')) {
    if (current.type !== 'tree') return undefined;
    const next = (await readTreeMap(repo, current.oid, trees)).get(part);
    if (next === undefined) return undefined;
    current = next;
  }
  return current;
}

/** Git's object id for an object of `type` with `body`. */
function objectId(type: string, body: Buffer): string {
  return createHash('sha1').update(`${type} ${body.length}\0`).update(body).digest('hex');
}

/** Work-tree helpers: what git would record for a file or folder if it were added now. */
class WorkTree {
  readonly #repo: Repo;
  #tracked: Set<string> | undefined;

  constructor(repo: Repo) {
    this.#repo = repo;
  }

  async #isTracked(p: string): Promise<boolean> {
    this.#tracked ??= new Set(
      await git.listFiles({ fs: this.#repo.fs, gitdir: this.#repo.gitdir, dir: this.#repo.dir }),
    );
    return this.#tracked.has(p);
  }

  async #isTrackedDir(p: string): Promise<boolean> {
    await this.#isTracked(p);
    const prefix = `${p}/`;
    for (const f of this.#tracked!) if (f.startsWith(prefix)) return true;
    return false;
  }

  async #included(p: string, isDir: boolean): Promise<boolean> {
    if (isDir ? await this.#isTrackedDir(p) : await this.#isTracked(p)) return true;
    return !(await git.isIgnored({
      fs: this.#repo.fs,
      dir: this.#repo.dir,
      gitdir: this.#repo.gitdir,
      filepath: p,
    }));
  }

  /** The entry git would write for `p`, or `undefined` when absent, ignored or an empty folder. */
  async entry(p: string): Promise<EntryId | undefined> {
    const full = p === '' ? this.#repo.dir : path.join(this.#repo.dir, p);
    const fsp = this.#repo.fs.promises;
    let st;
    try {
      st = await fsp.lstat(full);
    } catch {
      return undefined;
    }
    if (p === '.git' || p.startsWith('.git/')) return undefined;
    if (st.isSymbolicLink()) {
      const target = Buffer.from(await fsp.readlink(full));
      return { mode: '120000', type: 'blob', oid: objectId('blob', target) };
    }
    if (st.isFile()) {
      const body = await fsp.readFile(full);
      const mode = (st.mode & 0o100) !== 0 ? '100755' : '100644';
      return { mode, type: 'blob', oid: objectId('blob', body) };
    }
    if (!st.isDirectory()) return undefined;
    const names = await fsp.readdir(full);
    const entries: { name: string; entry: EntryId }[] = [];
    for (const name of names) {
      const child = p === '' ? name : `${p}/${name}`;
      if (child === '.git') continue;
      let childStat;
      try {
        childStat = await fsp.lstat(path.join(full, name));
      } catch {
        continue;
      }
      if (!(await this.#included(child, childStat.isDirectory()))) continue;
      const entry = await this.entry(child);
      if (entry !== undefined) entries.push({ name, entry });
    }
    if (entries.length === 0) return undefined;
    // git sorts tree entries by name, folders compared as if they ended with '/'.
    const key = (e: { name: string; entry: EntryId }): Buffer =>
      Buffer.from(e.entry.type === 'tree' ? `${e.name}/` : e.name);
    entries.sort((a, b) => Buffer.compare(key(a), key(b)));
    const body = Buffer.concat(
      entries.flatMap((e) => [
        Buffer.from(`${e.entry.mode === '040000' ? '40000' : e.entry.mode} ${e.name}\0`),
        Buffer.from(e.entry.oid, 'hex'),
      ]),
    );
    return { mode: '040000', type: 'tree', oid: objectId('tree', body) };
  }
}

/**
 * A stable digest of a set of files and folders at a commit, computed from git's own object ids
 * (the tree entry of each path: mode and blob or tree id), so nothing in the work tree is read.
 * A path that does not exist is part of the digest as absent: creating it changes the digest.
 * Order and duplicates of `paths` do not matter. The result is `sha256:<hex>`.
 *
 * @param dir - the work tree or any folder inside it
 * @param options - the commit, the paths, and whether to use the work tree's content instead
 * @throws GitError `E_GIT_UNKNOWN_REF` when `ref` does not resolve or a path leaves the repository
 */
export async function contentDigest(dir: string, options: ContentDigestOptions): Promise<string> {
  const repo = await openRepo(dir);
  const paths = [...new Set(options.paths.map(normalizeRepoPath))].sort();
  const hash = createHash('sha256').update('deploytag-content-digest-v1\n');
  if (options.includeWorkingTree === true) {
    const work = new WorkTree(repo);
    for (const p of paths) hash.update(line(p, await work.entry(p)));
  } else {
    const commit = await resolveCommit(repo, options.ref ?? 'HEAD');
    const { commit: c } = await git.readCommit({
      fs: repo.fs,
      gitdir: repo.gitdir,
      oid: commit,
      cache: repo.cache,
    });
    const trees = new Map<string, Map<string, EntryId>>();
    for (const p of paths) hash.update(line(p, await entryAt(repo, c.tree, p, trees)));
  }
  return `sha256:${hash.digest('hex')}`;
}

function line(p: string, entry: EntryId | undefined): string {
  const mode = entry?.mode === '40000' ? '040000' : entry?.mode;
  return entry === undefined
    ? `${JSON.stringify(p)} absent\n`
    : `${JSON.stringify(p)} ${mode} ${entry.type} ${entry.oid}\n`;
}
