import type { AuthCallback, HttpClient, PushResult } from 'isomorphic-git';
import { git, http } from './iso.js';
import type { Secret } from '@deploytag/core';
import { GitError, GitErrorCodes } from './errors.js';
import { openRepo } from './repo.js';
import { stripCredentials } from './remote-url.js';
import type { TagInfo } from './tags.js';

/** Token credentials for a smart-HTTP remote (GitHub, GitLab, Gitea, `git http-backend`). */
export interface RemoteAuth {
  /** The token, sent as the basic-auth password. */
  token: Secret;
  /** The basic-auth user name (default `x-access-token`, which GitHub and GitLab accept). */
  username?: string;
}

/** Options of the remote operations. */
export interface RemoteOptions {
  /** Credentials; anonymous when omitted. */
  auth?: RemoteAuth;
  /**
   * Time limit of each HTTP request in milliseconds (default 30 000 for listing, 300 000 for a
   * push), so an unreachable host fails instead of hanging.
   */
  timeoutMs?: number;
}

/** isomorphic-git's Node client with a time limit on every request. */
function timedHttp(timeoutMs: number): HttpClient {
  return {
    request: (req) =>
      http.request({ ...req, signal: req.signal ?? AbortSignal.timeout(timeoutMs) }),
  };
}

/** A branch on the remote. */
export interface RemoteBranch {
  /** The branch name, without `refs/heads/`. */
  name: string;
  /** The commit it points at. */
  sha: string;
}

const LIST_TIMEOUT_MS = 30_000;
const PUSH_TIMEOUT_MS = 300_000;

function onAuthFor(auth: RemoteAuth | undefined): AuthCallback | undefined {
  if (auth === undefined) return undefined;
  return () => ({ username: auth.username ?? 'x-access-token', password: auth.token.reveal() });
}

function remoteError(action: string, url: string, cause: unknown, timeoutMs: number): GitError {
  const shown = stripCredentials(url);
  const name = cause instanceof Error ? cause.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new GitError(
      GitErrorCodes.REMOTE,
      `${action} ${shown} timed out after ${timeoutMs / 1000} s; check that the remote is reachable from here`,
      { cause, details: { url: shown, timeoutMs } },
    );
  }
  const data = (cause as { code?: unknown; data?: { statusCode?: unknown } } | null) ?? {};
  const status = typeof data.data?.statusCode === 'number' ? data.data.statusCode : undefined;
  if (status === 401 || status === 403) {
    return new GitError(
      GitErrorCodes.AUTH,
      `${action} ${shown} was refused (HTTP ${status}); give a token allowed to write to it`,
      { cause, details: { url: shown, status } },
    );
  }
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new GitError(
    GitErrorCodes.REMOTE,
    `${action} ${shown} failed: ${reason}; check the URL and that the remote is reachable`,
    { cause, details: { url: shown, ...(status === undefined ? {} : { status }) } },
  );
}

/**
 * Lists the branches that exist on a remote, over smart HTTP (`git ls-remote --heads`).
 *
 * @param url - the remote's http(s) URL
 * @param options - token credentials for a private remote
 * @throws GitError `E_GIT_AUTH` when the remote refuses the credentials, `E_GIT_REMOTE` when it
 *   cannot be reached
 */
export async function listRemoteBranches(
  url: string,
  options: RemoteOptions = {},
): Promise<RemoteBranch[]> {
  try {
    const refs = await git.listServerRefs({
      http: timedHttp(options.timeoutMs ?? LIST_TIMEOUT_MS),
      url,
      prefix: 'refs/heads/',
      onAuth: onAuthFor(options.auth),
    });
    return refs
      .filter((r) => r.ref.startsWith('refs/heads/'))
      .map((r) => ({ name: r.ref.slice('refs/heads/'.length), sha: r.oid }));
  } catch (cause) {
    throw remoteError('listing the branches of', url, cause, options.timeoutMs ?? LIST_TIMEOUT_MS);
  }
}

/**
 * Lists the tags that exist on a remote, over smart HTTP, annotated tags peeled to their commit.
 *
 * @param url - the remote's http(s) URL
 * @param options - token credentials for a private remote
 * @throws GitError `E_GIT_AUTH` or `E_GIT_REMOTE`
 */
export async function listRemoteTags(url: string, options: RemoteOptions = {}): Promise<TagInfo[]> {
  try {
    const refs = await git.listServerRefs({
      http: timedHttp(options.timeoutMs ?? LIST_TIMEOUT_MS),
      url,
      prefix: 'refs/tags/',
      peelTags: true,
      onAuth: onAuthFor(options.auth),
    });
    return refs
      .filter((r) => r.ref.startsWith('refs/tags/') && !r.ref.endsWith('^{}'))
      .map((r) => ({
        name: r.ref.slice('refs/tags/'.length),
        sha: r.peeled ?? r.oid,
        annotated: r.peeled !== undefined,
      }));
  } catch (cause) {
    throw remoteError('listing the tags of', url, cause, options.timeoutMs ?? LIST_TIMEOUT_MS);
  }
}

/** Options of {@link pushTag}. */
export interface PushTagOptions extends RemoteOptions {
  /** The remote's http(s) URL. */
  url: string;
  /** The tag's name, without `refs/tags/`. */
  tag: string;
}

/**
 * Pushes one tag (and the objects it needs) to a remote over smart HTTP. Never forces: a tag
 * of that name pointing elsewhere on the remote makes the push fail.
 *
 * @param dir - the work tree or any folder inside it
 * @param options - remote URL, tag and credentials
 * @throws GitError `E_GIT_AUTH` when the remote refuses the credentials, `E_GIT_REMOTE` when it
 *   cannot be reached or rejects the update
 */
export async function pushTag(dir: string, options: PushTagOptions): Promise<void> {
  const repo = await openRepo(dir);
  const ref = `refs/tags/${options.tag}`;
  let result: PushResult;
  try {
    result = await git.push({
      fs: repo.fs,
      http: timedHttp(options.timeoutMs ?? PUSH_TIMEOUT_MS),
      gitdir: repo.gitdir,
      url: options.url,
      ref,
      remoteRef: ref,
      onAuth: onAuthFor(options.auth),
      cache: repo.cache,
    });
  } catch (cause) {
    throw remoteError(
      `pushing tag ${options.tag} to`,
      options.url,
      cause,
      options.timeoutMs ?? PUSH_TIMEOUT_MS,
    );
  }
  const status = result.refs[ref];
  if (!result.ok || (status !== undefined && !status.ok)) {
    const reason = status?.error ?? result.error ?? 'rejected';
    throw new GitError(
      GitErrorCodes.REMOTE,
      `${stripCredentials(options.url)} rejected tag ${options.tag}: ${reason}; if the tag exists there at another commit, choose another version`,
      { details: { url: stripCredentials(options.url), tag: options.tag, reason } },
    );
  }
}
