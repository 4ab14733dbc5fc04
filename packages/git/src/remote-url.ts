/** A git remote URL split into the parts forges use to name a repository. */
export interface RemoteInfo {
  /** Host name, with the port for http(s) URLs that name one (`github.com`, `git.corp:8443`). */
  host: string;
  /** Everything before the repository name: a user, an organisation or a GitLab group path. */
  owner: string;
  /** The repository name without `.git`. */
  repo: string;
  /** `owner/repo` (for GitLab subgroups `group/sub/repo`), without `.git`. */
  path: string;
}

const SCP_LIKE = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/\/)(.+)$/;

function fromPath(host: string, rawPath: string): RemoteInfo | undefined {
  const segments = rawPath
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .split('/')
    .filter((s) => s !== '' && s !== '.');
  // A leading `~user` (Gerrit, some ssh setups) names a home, not an owner; keep it as written.
  if (segments.length < 2 || segments.some((s) => s === '..')) return undefined;
  const repo = segments[segments.length - 1]!;
  const owner = segments.slice(0, -1).join('/');
  if (host === '' || repo === '') return undefined;
  return { host: host.toLowerCase(), owner, repo, path: `${owner}/${repo}` };
}

/**
 * Splits a git remote URL into host, owner, repository and path. Understands `https://` and
 * `http://` (with or without credentials, which are dropped), `ssh://` and `git+ssh://` (the ssh
 * port is dropped: it is not the web port), `git://`, and the scp-like `git@host:owner/repo.git`;
 * with or without `.git` and a trailing slash; GitHub Enterprise hosts and GitLab subgroups
 * (`group/sub/repo` gives owner `group/sub`).
 *
 * @param url - a remote URL as written in `.git/config`
 * @returns the parts, or `undefined` for local paths, `file://` URLs and anything without at
 *   least an owner and a repository
 */
export function parseRemoteUrl(url: string): RemoteInfo | undefined {
  const text = url.trim();
  if (text === '') return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      return undefined;
    }
    if (scheme === 'http' || scheme === 'https') {
      return fromPath(parsed.host, decodeURIComponent(parsed.pathname));
    }
    if (scheme === 'ssh' || scheme === 'git+ssh' || scheme === 'ssh+git' || scheme === 'git') {
      // An ssh URL may still use the scp form after the host (`ssh://git@host:owner/repo`).
      return fromPath(parsed.hostname, decodeURIComponent(parsed.pathname));
    }
    return undefined;
  }
  if (text.startsWith('/') || text.startsWith('.') || /^[a-z]:[\\/]/i.test(text)) return undefined;
  const scp = SCP_LIKE.exec(text);
  if (scp === null) return undefined;
  return fromPath(scp[1]!, scp[2]!.replace(/^\/+/, ''));
}

/**
 * Removes any user name and password from an http(s) or ssh URL, so it can be shown and
 * stored. Other strings are returned unchanged.
 *
 * @param url - a remote URL
 */
export function stripCredentials(url: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password === '' && (parsed.username === '' || !/^https?:$/.test(parsed.protocol))) {
      return url;
    }
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url;
  }
}

/**
 * The https URL to push to for a remote: the URL itself when it is http(s), else
 * `https://<host>/<path>.git` built from its parsed parts (so an ssh remote can be pushed to
 * with a token), or `undefined` when there is no such URL.
 *
 * @param url - a remote URL
 */
export function httpRemoteUrl(url: string): string | undefined {
  if (/^https?:\/\//i.test(url)) return url;
  const info = parseRemoteUrl(url);
  return info === undefined ? undefined : `https://${info.host}/${info.path}.git`;
}
