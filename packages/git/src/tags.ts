import { git } from './iso.js';
import { openRepo, peelToCommit, resolveCommit } from './repo.js';
import type { Repo } from './repo.js';
import { GitError, GitErrorCodes } from './errors.js';

/** A tag of the repository. */
export interface TagInfo {
  /** The tag's name, without `refs/tags/`. */
  name: string;
  /** The commit (or other object) the tag finally points at, annotated tags peeled. */
  sha: string;
  /** True for an annotated tag (a tag object), false for a lightweight one. */
  annotated: boolean;
}

interface TagRefs {
  /** Tag name → object id the ref holds. */
  refs: Map<string, string>;
  /** Tag name → commit id, for annotated tags `packed-refs` already peeled. */
  peeled: Map<string, string>;
}

/** Reads `packed-refs` and the loose refs under `refs/tags` in one pass (loose ones win). */
async function readTagRefs(repo: Repo): Promise<TagRefs> {
  const refs = new Map<string, string>();
  const peeled = new Map<string, string>();
  const fsp = repo.fs.promises;
  let text = '';
  try {
    text = await fsp.readFile(`${repo.gitdir}/packed-refs`, 'utf8');
  } catch {
    // no packed refs
  }
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('^')) {
      if (last !== undefined) peeled.set(last, line.slice(1).trim());
      continue;
    }
    last = undefined;
    if (line.startsWith('#') || line === '') continue;
    const space = line.indexOf(' ');
    const ref = line.slice(space + 1).trim();
    if (ref.startsWith('refs/tags/')) {
      last = ref.slice('refs/tags/'.length);
      refs.set(last, line.slice(0, space));
    }
  }
  const walk = async (folder: string, prefix: string): Promise<void> => {
    let entries;
    try {
      entries = await fsp.readdir(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const name = `${prefix}${e.name}`;
      if (e.isDirectory()) {
        await walk(`${folder}/${e.name}`, `${name}/`);
        continue;
      }
      const content = (await fsp.readFile(`${folder}/${e.name}`, 'utf8')).trim();
      const oid = /^[0-9a-f]{40}$/.test(content)
        ? content
        : await git.resolveRef({ fs: repo.fs, gitdir: repo.gitdir, ref: `refs/tags/${name}` });
      refs.set(name, oid);
      peeled.delete(name);
    }
  };
  await walk(`${repo.gitdir}/refs/tags`, '');
  return { refs, peeled };
}

/** Lists the tags of an opened repository. */
export async function listRepoTags(repo: Repo): Promise<TagInfo[]> {
  const { refs, peeled } = await readTagRefs(repo);
  const out: TagInfo[] = [];
  for (const name of [...refs.keys()].sort()) {
    const oid = refs.get(name)!;
    const known = peeled.get(name);
    const sha = known ?? (await peelToCommit(repo, oid));
    out.push({ name, sha, annotated: sha !== oid });
  }
  return out;
}

/**
 * Lists the repository's tags with the commit each points at, annotated and lightweight alike,
 * in the order git lists them (by name). Sort with {@link sortTagsByVersion}.
 *
 * @param dir - the work tree or any folder inside it
 * @throws GitError `E_GIT_NOT_A_REPOSITORY` outside a repository
 */
export async function listTags(dir: string): Promise<TagInfo[]> {
  return await listRepoTags(await openRepo(dir));
}

/** Options of {@link createAnnotatedTag}. */
export interface CreateAnnotatedTagOptions {
  /** The tag's name, such as `v1.2.3`. */
  tag: string;
  /** Branch, tag or (abbreviated) commit id to tag. */
  target: string;
  /** The tag message. */
  message: string;
  /** Who tags (default: `DeployTag <deploytag@users.noreply.github.com>`). */
  tagger?: { name: string; email: string };
}

/** What {@link createAnnotatedTag} did. */
export interface CreatedTag {
  /** The tag object's id. */
  oid: string;
  /** The commit the tag points at. */
  sha: string;
  /** False when an annotated tag of that name already pointed at that commit. */
  created: boolean;
}

/**
 * Creates an annotated tag at a commit. Idempotent: when the tag exists already and points at
 * the same commit nothing is written.
 *
 * @param dir - the work tree or any folder inside it
 * @param options - name, target, message and tagger
 * @throws GitError `E_GIT_TAG_CONFLICT` when the tag exists and points at another commit,
 *   `E_GIT_UNKNOWN_REF` when the target does not resolve
 */
export async function createAnnotatedTag(
  dir: string,
  options: CreateAnnotatedTagOptions,
): Promise<CreatedTag> {
  const repo = await openRepo(dir);
  const sha = await resolveCommit(repo, options.target);
  const ref = `refs/tags/${options.tag}`;
  let existing: string | undefined;
  try {
    existing = await git.resolveRef({ fs: repo.fs, gitdir: repo.gitdir, ref });
  } catch {
    existing = undefined;
  }
  if (existing !== undefined) {
    const tags = await listRepoTags(repo);
    const info = tags.find((t) => t.name === options.tag);
    if (info?.sha !== sha) {
      throw new GitError(
        GitErrorCodes.TAG_CONFLICT,
        `tag ${options.tag} exists already at ${info?.sha ?? existing}, not at ${sha}; delete it or choose another version`,
        { details: { tag: options.tag, existing: info?.sha ?? existing, wanted: sha } },
      );
    }
    return { oid: existing, sha, created: false };
  }
  await git.annotatedTag({
    fs: repo.fs,
    gitdir: repo.gitdir,
    ref: options.tag,
    object: sha,
    message: options.message.endsWith('\n') ? options.message : `${options.message}\n`,
    tagger: options.tagger ?? {
      name: 'DeployTag',
      email: 'deploytag@users.noreply.github.com',
    },
    cache: repo.cache,
  });
  const oid = await git.resolveRef({ fs: repo.fs, gitdir: repo.gitdir, ref });
  return { oid, sha, created: true };
}
