import { DeploytagError } from '@deploytag/core';
import type { Secret } from '@deploytag/core';
import { ReleaseErrorCodes } from './plan.js';

/** A GitHub release as far as DeployTag reads it. */
export interface GitHubRelease {
  id: number;
  /** The release's page. */
  htmlUrl: string;
  /** Its tag. */
  tagName: string;
}

/** The request body of "create a release" (REST `POST /repos/{owner}/{repo}/releases`). */
export interface CreateReleaseInput {
  tag_name: string;
  target_commitish: string;
  name: string;
  body: string;
  prerelease: boolean;
}

/** The two GitHub REST calls a release needs. */
export interface GitHubReleases {
  /** The release of a tag, or `undefined` when there is none (404). */
  getReleaseByTag(tag: string): Promise<GitHubRelease | undefined>;
  /** Creates a release. */
  createRelease(input: CreateReleaseInput): Promise<GitHubRelease>;
}

/** Options of {@link createGitHubReleases}. */
export interface GitHubClientOptions {
  /** `GITHUB_API_URL`: `https://api.github.com`, or `https://<host>/api/v3` for Enterprise. */
  apiUrl: string;
  /** A token allowed to write releases (`GITHUB_TOKEN` / `GH_TOKEN`). */
  token: Secret;
  owner: string;
  repo: string;
  /** The fetch to use (default: Node's global fetch). */
  fetch?: typeof fetch;
  /** Time limit of each request in milliseconds (default 30 000). */
  timeoutMs?: number;
}

function readRelease(json: unknown): GitHubRelease {
  const r = json as { id?: unknown; html_url?: unknown; tag_name?: unknown } | null;
  if (
    typeof r?.id !== 'number' ||
    typeof r.html_url !== 'string' ||
    typeof r.tag_name !== 'string'
  ) {
    throw new DeploytagError(
      ReleaseErrorCodes.GITHUB,
      'the GitHub API answered with something that is not a release; check GITHUB_API_URL',
    );
  }
  return { id: r.id, htmlUrl: r.html_url, tagName: r.tag_name };
}

/**
 * A small client for GitHub's release endpoints over Node's fetch (no Octokit at run time).
 *
 * @param options - API URL, token, repository and fetch
 */
export function createGitHubReleases(options: GitHubClientOptions): GitHubReleases {
  const doFetch = options.fetch ?? fetch;
  const base = `${options.apiUrl.replace(/\/+$/, '')}/repos/${encodeURIComponent(options.owner)}/${encodeURIComponent(options.repo)}`;
  const call = async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> => {
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        headers: {
          Accept: 'application/vnd.github+json',
          Authorization: `Bearer ${options.token.reveal()}`,
          'X-GitHub-Api-Version': '2022-11-28',
          'User-Agent': 'deploytag-release',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (cause) {
      const reason =
        cause instanceof Error
          ? cause.cause instanceof Error
            ? cause.cause.message
            : cause.message
          : String(cause);
      throw new DeploytagError(
        ReleaseErrorCodes.GITHUB,
        `cannot reach the GitHub API at ${options.apiUrl} (${reason}); check GITHUB_API_URL and the network`,
        { cause },
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json };
  };
  const fail = (action: string, status: number, json: unknown): DeploytagError => {
    const message = (json as { message?: unknown } | undefined)?.message;
    const hint =
      status === 401
        ? 'the token was refused: set a valid GITHUB_TOKEN or GH_TOKEN'
        : status === 403 || status === 404
          ? `the token cannot write releases of ${options.owner}/${options.repo}: give it contents:write`
          : 'see the message and retry';
    return new DeploytagError(
      ReleaseErrorCodes.GITHUB,
      `GitHub refused to ${action} (HTTP ${status}${typeof message === 'string' ? `: ${message}` : ''}); ${hint}`,
      { details: { status } },
    );
  };
  return {
    async getReleaseByTag(tag) {
      const { status, json } = await call('GET', `/releases/tags/${encodeURIComponent(tag)}`);
      if (status === 404) return undefined;
      if (status !== 200) throw fail(`read the release of ${tag}`, status, json);
      return readRelease(json);
    },
    async createRelease(input) {
      const { status, json } = await call('POST', '/releases', input);
      if (status !== 201) throw fail(`create the release of ${input.tag_name}`, status, json);
      return readRelease(json);
    },
  };
}
