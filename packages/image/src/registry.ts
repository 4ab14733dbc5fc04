import { silentLogger, type Logger, type Secret } from '@deploytag/core';
import { ImageError, ImageErrorCodes } from './errors.js';
import {
  REGISTRY_API_RETRY,
  backoffDelay,
  duration,
  oneLine,
  retryPolicy,
  type RetryOptions,
} from './retry.js';

export type { RetryOptions } from './retry.js';

/** A user name and password (or token) for a registry. */
export interface RegistryCredential {
  /**
   * The user name (`AWS` for ECR, `oauth2accesstoken` for a Google access token, or
   * {@link IDENTITY_TOKEN_USER} when `password` is an identity token).
   */
  username: string;
  /** The password or token. */
  password: Secret;
}

/**
 * The user name Docker's credential helpers and config file use for an identity token: a
 * long-lived OAuth2 refresh token that is exchanged at the registry's token service
 * (`grant_type=refresh_token`) instead of being sent as a password.
 */
export const IDENTITY_TOKEN_USER = '<token>';

/** True when the credential holds an identity token rather than a user name and password. */
export function isIdentityToken(cred: RegistryCredential): boolean {
  return cred.username === IDENTITY_TOKEN_USER;
}

/** Options of the {@link RegistryClient} constructor. */
export interface RegistryClientOptions {
  /** Credentials, or a function that gets them (called once, when the registry first asks). */
  credentials?: RegistryCredential | (() => Promise<RegistryCredential | undefined>);
  /** `http` or `https`. Default `https`, except `http` for loopback hosts. */
  scheme?: 'http' | 'https';
  /** Retry policy for 5xx answers, timeouts and network failures (never for 4xx), with an overall deadline per call. */
  retry?: RetryOptions;
  /** Receives retries and auth steps at debug level. */
  logger?: Logger;
  /** The fetch implementation (for tests). Default the global `fetch`. */
  fetch?: typeof fetch;
}

/** Media types a manifest request accepts: Docker v2 and OCI, single images and indexes. */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** A manifest as stored in a registry. */
export interface Manifest {
  /** Its exact bytes (re-put as they are, so the digest stays the same). */
  body: Buffer;
  /** Its media type. */
  mediaType: string;
  /** Its digest (`sha256:…`). */
  digest: string;
}

/** A parsed `WWW-Authenticate` challenge. */
export interface AuthChallenge {
  /** `basic` or `bearer` (lower case). */
  scheme: string;
  /** Its parameters (`realm`, `service`, `scope`, …). */
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header value such as
 * `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"`.
 *
 * @param header - the header value
 * @returns the challenge, or undefined when the header is empty
 */
export function parseAuthChallenge(header: string | null | undefined): AuthChallenge | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const m = /^\s*(\S+)\s*(.*)$/s.exec(header);
  if (m?.[1] === undefined) return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? '').matchAll(
    /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g,
  )) {
    if (p[1] !== undefined)
      params[p[1].toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: m[1].toLowerCase(), params };
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Is this error a timeout or a network failure worth retrying? */
function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === 'TimeoutError' ||
    err.name === 'AbortError' ||
    err.message.includes('fetch failed') ||
    /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|socket hang up/.test(
      `${err.message} ${(err.cause as Error | undefined)?.message ?? ''}`,
    )
  );
}

/**
 * A small client of the OCI distribution API (`/v2/`): does a tag exist, list tags, read, put
 * and delete manifests. Handles anonymous access, basic auth and the bearer-token flow
 * (`WWW-Authenticate: Bearer realm=…,service=…,scope=…`, token fetched from the realm with the
 * credentials), and retries 5xx answers and timeouts with exponential backoff (never 4xx).
 */
export class RegistryClient {
  /** The registry's `host[:port]`. */
  readonly host: string;
  readonly #base: string;
  readonly #options: RegistryClientOptions;
  readonly #logger: Logger;
  readonly #fetch: typeof fetch;
  #credential: RegistryCredential | undefined;
  #credentialLoaded = false;
  /** Authorization header per scope (`*` for basic auth, which covers every scope). */
  readonly #authorization = new Map<string, string>();

  /**
   * @param host - the registry's `host[:port]`
   * @param options - credentials, scheme, retries, logger
   */
  constructor(host: string, options: RegistryClientOptions = {}) {
    this.host = host;
    const scheme = options.scheme ?? (LOOPBACK.test(host) ? 'http' : 'https');
    this.#base = `${scheme}://${host}`;
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#fetch = options.fetch ?? fetch;
  }

  async #loadCredential(): Promise<RegistryCredential | undefined> {
    if (!this.#credentialLoaded) {
      const c = this.#options.credentials;
      this.#credential = typeof c === 'function' ? await c() : c;
      this.#credentialLoaded = true;
    }
    return this.#credential;
  }

  /**
   * One HTTP exchange with retries on 5xx answers, timeouts and network failures, within the
   * policy's attempts and deadline. Throws, naming the registry, when they run out.
   */
  async #send(url: string, init: RequestInit, what: string): Promise<Response> {
    const policy = retryPolicy(REGISTRY_API_RETRY, this.#options.retry);
    const started = Date.now();
    const deadline = started + policy.deadlineMs;
    const tries = (n: number): string =>
      `${n} attempt${n > 1 ? 's' : ''} in ${duration(Date.now() - started)}`;
    const fail = (message: string, attempt: number, cause?: unknown): ImageError =>
      new ImageError(ImageErrorCodes.REGISTRY, message, {
        cause,
        details: { registry: this.host, attempts: attempt },
      });
    const late = (attempt: number, reason: string, cause?: unknown): ImageError =>
      fail(
        `registry ${this.host} did not answer within the ${duration(policy.deadlineMs)} deadline to ${what} (${tries(attempt)}; last: ${reason}); check that it is up and reachable`,
        attempt,
        cause,
      );
    for (let attempt = 1; ; attempt++) {
      const limit = Math.max(1, Math.min(policy.timeoutMs, deadline - Date.now()));
      let reason: string;
      try {
        const res = await this.#fetch(url, { ...init, signal: AbortSignal.timeout(limit) });
        if (res.status < 500) return res;
        const text = oneLine(await res.text().catch(() => ''), 200);
        reason = `HTTP ${res.status}${text === '' ? '' : ` (${text})`}`;
        if (attempt >= policy.attempts)
          throw fail(
            `registry ${this.host} answered HTTP ${res.status} to ${what}${text === '' ? '' : ` (${text})`} after ${tries(attempt)}; it may be down or overloaded: try again later`,
            attempt,
          );
      } catch (err) {
        if (err instanceof ImageError) throw err;
        reason = oneLine(err instanceof Error ? err.message : String(err), 200);
        if (isTransient(err) && Date.now() >= deadline) throw late(attempt, reason, err);
        if (!isTransient(err) || attempt >= policy.attempts)
          throw fail(
            `registry ${this.host} could not be reached to ${what} after ${tries(attempt)}: ${reason}`,
            attempt,
            err,
          );
      }
      const delay = backoffDelay(policy.baseDelayMs, attempt, Math.random());
      if (Date.now() + delay >= deadline) throw late(attempt, reason);
      this.#logger.debug(`registry ${this.host}: retrying ${what} in ${Math.round(delay)} ms`, {
        attempt,
        reason,
      });
      await sleep(delay);
    }
  }

  /**
   * Gets a bearer token from the challenge's realm: `GET` with basic credentials (or none), or,
   * for an identity token, the OAuth2 `POST` with `grant_type=refresh_token`.
   */
  async #fetchToken(challenge: AuthChallenge, scope: string, what: string): Promise<string> {
    const realm = challenge.params['realm'];
    if (realm === undefined) {
      throw new ImageError(
        ImageErrorCodes.REGISTRY_AUTH,
        `registry ${this.host} asked for a bearer token without a realm`,
      );
    }
    const url = new URL(realm);
    const service = challenge.params['service'];
    const wanted = challenge.params['scope'] ?? scope;
    const cred = await this.#loadCredential();
    let res: Response;
    if (cred !== undefined && isIdentityToken(cred)) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: cred.password.reveal(),
        client_id: 'deploytag',
        scope: wanted,
      });
      if (service !== undefined) form.set('service', service);
      const init: RequestInit = {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      };
      res = await this.#send(url.toString(), init, `get a token to ${what}`);
    } else {
      if (service !== undefined) url.searchParams.set('service', service);
      url.searchParams.set('scope', wanted);
      const headers: Record<string, string> = {};
      if (cred !== undefined) headers['Authorization'] = basicHeader(cred);
      res = await this.#send(url.toString(), { headers }, `get a token to ${what}`);
    }
    if (res.status === 401 || res.status === 403) {
      await res.arrayBuffer();
      throw this.#authError(cred, what, res.status);
    }
    if (!res.ok) {
      await res.arrayBuffer();
      throw new ImageError(
        ImageErrorCodes.REGISTRY_AUTH,
        `the token service of registry ${this.host} (${url.origin}) answered HTTP ${res.status} to ${what}`,
      );
    }
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (token === undefined || token === '') {
      throw new ImageError(
        ImageErrorCodes.REGISTRY_AUTH,
        `the token service of registry ${this.host} returned no token to ${what}`,
      );
    }
    return `Bearer ${token}`;
  }

  #authError(cred: RegistryCredential | undefined, what: string, status: number): ImageError {
    return new ImageError(
      ImageErrorCodes.REGISTRY_AUTH,
      cred === undefined
        ? `registry ${this.host} requires credentials to ${what} (HTTP ${status}); log in (user/password, Docker config, ECR or GCP credentials)`
        : isIdentityToken(cred)
          ? `registry ${this.host} refused the identity token to ${what} (HTTP ${status}); log in again to renew it`
          : `registry ${this.host} refused the credentials of user ${cred.username} to ${what} (HTTP ${status}); check the user and password`,
      { details: { registry: this.host, status } },
    );
  }

  /** A request that follows the auth flow on 401. */
  async #request(path: string, init: RequestInit, scope: string, what: string): Promise<Response> {
    const url = `${this.#base}${path}`;
    const withAuth = (auth: string | undefined): RequestInit => ({
      ...init,
      headers: {
        ...(init.headers as Record<string, string> | undefined),
        ...(auth === undefined ? {} : { Authorization: auth }),
      },
    });
    const cached = this.#authorization.get(scope) ?? this.#authorization.get('*');
    let res = await this.#send(url, withAuth(cached), what);
    if (res.status !== 401) return res;
    await res.arrayBuffer();
    const challenge = parseAuthChallenge(res.headers.get('www-authenticate'));
    let auth: string;
    if (challenge?.scheme === 'bearer') {
      auth = await this.#fetchToken(challenge, scope, what);
      this.#authorization.set(scope, auth);
    } else {
      const cred = await this.#loadCredential();
      if (cred === undefined) throw this.#authError(undefined, what, 401);
      if (isIdentityToken(cred)) {
        throw new ImageError(
          ImageErrorCodes.REGISTRY_AUTH,
          `registry ${this.host} asks for a user name and password to ${what}, but its credential is an identity token (which only works with a token service); log in with a password`,
          { details: { registry: this.host, status: 401 } },
        );
      }
      auth = basicHeader(cred);
      this.#authorization.set('*', auth);
    }
    res = await this.#send(url, withAuth(auth), what);
    if (res.status === 401) {
      await res.arrayBuffer();
      const cred = await this.#loadCredential();
      const again = parseAuthChallenge(res.headers.get('www-authenticate'));
      if (cred !== undefined && again?.params['error'] === 'insufficient_scope') {
        const who = isIdentityToken(cred) ? 'the identity token' : `user ${cred.username}`;
        throw new ImageError(
          ImageErrorCodes.REGISTRY_AUTH,
          `registry ${this.host} did not grant ${who} the right to ${what} (it asked for ${again.params['scope'] ?? scope}); use credentials with that access`,
          { details: { registry: this.host, status: 401 } },
        );
      }
      throw this.#authError(cred, what, 401);
    }
    return res;
  }

  #unexpected(res: Response, what: string, text: string): ImageError {
    return new ImageError(
      res.status === 403 ? ImageErrorCodes.REGISTRY_AUTH : ImageErrorCodes.REGISTRY,
      `registry ${this.host} answered HTTP ${res.status} to ${what}${text.trim() === '' ? '' : `: ${text.trim().slice(0, 300)}`}`,
      { details: { registry: this.host, status: res.status } },
    );
  }

  /**
   * The digest a tag points to, or undefined when the repository or tag does not exist
   * (manifest `HEAD` with Docker and OCI media types accepted).
   *
   * @param repository - the repository path, without the host (`project/app`)
   * @param tag - the tag
   */
  async manifestDigest(repository: string, tag: string): Promise<string | undefined> {
    const what = `look up ${repository}:${tag}`;
    const res = await this.#request(
      `/v2/${repository}/manifests/${encodeURIComponent(tag)}`,
      { method: 'HEAD', headers: { Accept: MANIFEST_ACCEPT } },
      `repository:${repository}:pull`,
      what,
    );
    await res.arrayBuffer();
    if (res.status === 404) return undefined;
    if (!res.ok) throw this.#unexpected(res, what, '');
    return res.headers.get('docker-content-digest') ?? '';
  }

  /**
   * Whether a tag exists.
   *
   * @param repository - the repository path, without the host
   * @param tag - the tag
   */
  async tagExists(repository: string, tag: string): Promise<boolean> {
    return (await this.manifestDigest(repository, tag)) !== undefined;
  }

  /**
   * Every tag of a repository (all pages); [] when the repository does not exist.
   *
   * @param repository - the repository path, without the host
   */
  async listTags(repository: string): Promise<string[]> {
    const what = `list the tags of ${repository}`;
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repository}/tags/list?n=1000`;
    while (path !== undefined) {
      const res = await this.#request(
        path,
        { method: 'GET' },
        `repository:${repository}:pull`,
        what,
      );
      if (res.status === 404) {
        await res.arrayBuffer();
        return tags;
      }
      if (!res.ok) throw this.#unexpected(res, what, await res.text());
      const body = (await res.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      const next = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1];
      path =
        next === undefined
          ? undefined
          : next.startsWith('http')
            ? new URL(next).pathname + new URL(next).search
            : next;
    }
    return tags;
  }

  /**
   * Reads a manifest by tag or digest, or undefined when missing.
   *
   * @param repository - the repository path, without the host
   * @param reference - a tag or digest
   */
  async getManifest(repository: string, reference: string): Promise<Manifest | undefined> {
    const what = `read ${repository}:${reference}`;
    const res = await this.#request(
      `/v2/${repository}/manifests/${encodeURIComponent(reference)}`,
      { method: 'GET', headers: { Accept: MANIFEST_ACCEPT } },
      `repository:${repository}:pull`,
      what,
    );
    if (res.status === 404) {
      await res.arrayBuffer();
      return undefined;
    }
    if (!res.ok) throw this.#unexpected(res, what, await res.text());
    const body = Buffer.from(await res.arrayBuffer());
    const mediaType =
      res.headers.get('content-type') ??
      (JSON.parse(body.toString('utf8')) as { mediaType?: string }).mediaType ??
      '';
    return { body, mediaType, digest: res.headers.get('docker-content-digest') ?? '' };
  }

  /**
   * Stores a manifest under a tag (the blobs it names must already be in the repository).
   *
   * @param repository - the repository path, without the host
   * @param tag - the tag to set
   * @param manifest - the manifest, as read by {@link RegistryClient.getManifest}
   */
  async putManifest(repository: string, tag: string, manifest: Manifest): Promise<void> {
    const what = `tag ${repository}:${tag}`;
    const res = await this.#request(
      `/v2/${repository}/manifests/${encodeURIComponent(tag)}`,
      { method: 'PUT', headers: { 'Content-Type': manifest.mediaType }, body: manifest.body },
      `repository:${repository}:pull,push`,
      what,
    );
    const text = await res.text();
    if (!res.ok) throw this.#unexpected(res, what, text);
  }

  /**
   * Points `toTag` at the manifest of `fromTag` without pulling or pushing any layer.
   *
   * @param repository - the repository path, without the host
   * @param fromTag - an existing tag
   * @param toTag - the tag to set
   */
  async copyTag(repository: string, fromTag: string, toTag: string): Promise<void> {
    const manifest = await this.getManifest(repository, fromTag);
    if (manifest === undefined) {
      throw new ImageError(
        ImageErrorCodes.REGISTRY,
        `cannot tag ${repository}:${toTag}: ${repository}:${fromTag} does not exist in registry ${this.host}`,
      );
    }
    await this.putManifest(repository, toTag, manifest);
  }

  /**
   * Deletes a tag (the registry deletes the manifest it points to, so every tag of that manifest
   * goes). Resolves false when the tag did not exist.
   *
   * @param repository - the repository path, without the host
   * @param tag - the tag
   */
  async deleteTag(repository: string, tag: string): Promise<boolean> {
    const digest = await this.manifestDigest(repository, tag);
    if (digest === undefined) return false;
    const what = `delete ${repository}:${tag}`;
    const res = await this.#request(
      `/v2/${repository}/manifests/${digest}`,
      { method: 'DELETE' },
      `repository:${repository}:delete`,
      what,
    );
    const text = await res.text();
    if (res.status === 404) return false;
    if (!res.ok) throw this.#unexpected(res, what, text);
    return true;
  }
}

function basicHeader(cred: RegistryCredential): string {
  return `Basic ${Buffer.from(`${cred.username}:${cred.password.reveal()}`).toString('base64')}`;
}
