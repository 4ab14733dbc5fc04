import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Secret, silentLogger, type Logger } from '@deploytag/core';
import { ImageError, ImageErrorCodes } from './errors.js';
import { isIdentityToken } from './registry.js';
import { isTransientRegistryFailure, oneLine } from './retry.js';

/** Where and how to reach a Docker Engine API. */
export interface EngineConnection {
  /** A unix socket path, or undefined for TCP. */
  socketPath?: string;
  /** TCP host and port (when not a socket). */
  host?: string;
  port?: number;
  /** TLS material when the engine is reached over TLS. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; verify: boolean };
  /** What to call the engine in messages (`DOCKER_HOST`'s value). */
  label: string;
}

/**
 * Reads `DOCKER_HOST` (`unix:///path`, `tcp://host:port`; default `unix:///var/run/docker.sock`),
 * `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` (`ca.pem`, `cert.pem`, `key.pem`; default
 * `~/.docker`) as the Docker CLI does. TLS is used when `DOCKER_TLS_VERIFY` is set (verifying the
 * engine's certificate) or `DOCKER_TLS` is set (without verifying).
 *
 * @param env - the environment
 */
export function engineConnectionFromEnv(env: NodeJS.ProcessEnv): EngineConnection {
  const raw = env['DOCKER_HOST'] ?? '';
  const dockerHost = raw === '' ? 'unix:///var/run/docker.sock' : raw;
  if (dockerHost.startsWith('unix://')) {
    return { socketPath: dockerHost.slice('unix://'.length), label: dockerHost };
  }
  if (dockerHost.startsWith('/')) return { socketPath: dockerHost, label: dockerHost };
  const m = /^(?:tcp|http|https):\/\/\[?([^\]/]+?)\]?(?::(\d+))?\/?$/.exec(dockerHost);
  if (m?.[1] === undefined) {
    throw new ImageError(
      ImageErrorCodes.INPUT,
      `DOCKER_HOST=${dockerHost} is not understood; use unix:///path/to/docker.sock or tcp://host:port`,
    );
  }
  const verify = (env['DOCKER_TLS_VERIFY'] ?? '') !== '' && env['DOCKER_TLS_VERIFY'] !== '0';
  const useTls = verify || (env['DOCKER_TLS'] ?? '') !== '' || dockerHost.startsWith('https://');
  const conn: EngineConnection = {
    host: m[1],
    port: m[2] === undefined ? (useTls ? 2376 : 2375) : Number(m[2]),
    label: dockerHost,
  };
  if (useTls) {
    const dir = env['DOCKER_CERT_PATH'] || join(homedir(), '.docker');
    const read = (name: string): Buffer | undefined => {
      try {
        return readFileSync(join(dir, name));
      } catch {
        return undefined;
      }
    };
    const tls: NonNullable<EngineConnection['tls']> = { verify };
    const ca = read('ca.pem');
    const cert = read('cert.pem');
    const key = read('key.pem');
    if (ca !== undefined) tls.ca = ca;
    if (cert !== undefined) tls.cert = cert;
    if (key !== undefined) tls.key = key;
    conn.tls = tls;
  }
  return conn;
}

/** True for an error of the TLS layer (certificate checks, alerts, handshake), not of the network. */
function isTlsFailure(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return (
    /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_|ALTNAME|EPROTO/.test(code) ||
    /certificate|SSL routines|TLS/i.test(err.message)
  );
}

/** True when the peer closed the connection before answering. */
function isHangUp(err: Error): boolean {
  return (err as NodeJS.ErrnoException).code === 'ECONNRESET' || /socket hang up/.test(err.message);
}

/** OpenSSL's reason without its file and line noise (`tlsv13 alert certificate required`). */
function tlsReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const ssl = /routines:[^:]*:([^:]+)/.exec(message)?.[1];
  return oneLine(ssl ?? message, 200);
}

/** Credentials for a push, sent in the `X-Registry-Auth` header (never on a command line). */
export interface RegistryAuth {
  /**
   * The user name (`AWS` for ECR, `oauth2accesstoken` for GCR with an access token, `<token>`
   * when `password` is an identity token).
   */
  username: string;
  /** The password or token. */
  password: Secret;
  /** The registry host (`host:port`). */
  serveraddress: string;
}

/** The Engine API's form of a credential: an identity token goes in its own field. */
function engineAuthConfig(auth: RegistryAuth): Record<string, string> {
  if (isIdentityToken(auth)) {
    return { identitytoken: auth.password.reveal(), serveraddress: auth.serveraddress };
  }
  return {
    username: auth.username,
    password: auth.password.reveal(),
    serveraddress: auth.serveraddress,
  };
}

/** Options of {@link EngineClient.build}. */
export interface EngineBuildOptions {
  /** Fully qualified references to tag the result with (`host/repo:tag`). */
  tags: readonly string[];
  /** The Dockerfile's path inside the context. Default `Dockerfile`. */
  dockerfile?: string;
  /** Build arguments (`ARG`). */
  buildArgs?: Readonly<Record<string, string | Secret>>;
  /** The stage to build (`--target`). */
  target?: string;
  /** Labels added to the image. */
  labels?: Readonly<Record<string, string>>;
  /** Platform such as `linux/amd64`. */
  platform?: string;
  /** Images to use as cache sources. */
  cacheFrom?: readonly string[];
  /** Credentials for registries the build pulls from (sent in `X-Registry-Config`). */
  registryAuths?: readonly RegistryAuth[];
  /** Abort the build. */
  signal?: AbortSignal;
}

/** What {@link EngineClient.build} produced. */
export interface EngineBuildResult {
  /** The image id, when the engine reported it. */
  imageId: string | undefined;
  /** Every line of the build log. */
  log: string[];
}

/** One layer of an image's history, as `docker history` shows. */
export interface ImageHistoryEntry {
  Id: string;
  Created: number;
  CreatedBy: string;
  Comment: string;
  Size: number;
  Tags: string[] | null;
}

interface EngineRequestOptions {
  headers?: Record<string, string>;
  body?: Readable | string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** One JSON message of a streamed engine answer. */
interface StreamMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Digest?: string };
  id?: string;
  /** An HTTP error answer's text (`{"message": …}`). */
  message?: string;
}

const API = '/v1.41';

/**
 * A small Docker Engine API client over `node:http`: build, tag, push, inspect, history. Works
 * with Docker and with podman's Docker-compatible service. Image names must be fully qualified
 * (`host[:port]/path:tag`), which both engines then resolve the same way.
 */
export class EngineClient {
  readonly #conn: EngineConnection;
  readonly #logger: Logger;

  /**
   * @param connection - where the engine is (see {@link engineConnectionFromEnv})
   * @param logger - receives the build and push logs
   */
  constructor(connection: EngineConnection, logger: Logger = silentLogger) {
    this.#conn = connection;
    this.#logger = logger;
  }

  /** The engine's address, for messages. */
  get label(): string {
    return this.#conn.label;
  }

  #request(
    method: string,
    path: string,
    options: EngineRequestOptions = {},
  ): Promise<IncomingMessage> {
    const c = this.#conn;
    const base: RequestOptions = {
      method,
      path,
      // Over TCP the Host header stays the engine's address: TLS verifies the certificate
      // against the name it carries.
      headers:
        c.socketPath !== undefined ? { Host: 'docker', ...options.headers } : options.headers,
      timeout: options.timeoutMs ?? 600_000,
    };
    if (options.signal !== undefined) base.signal = options.signal;
    let req: ReturnType<typeof httpRequest>;
    try {
      req =
        c.socketPath !== undefined
          ? httpRequest({ ...base, socketPath: c.socketPath })
          : c.tls !== undefined
            ? httpsRequest({
                ...base,
                host: c.host,
                port: c.port,
                ca: c.tls.ca,
                cert: c.tls.cert,
                key: c.tls.key,
                rejectUnauthorized: c.tls.verify,
              })
            : httpRequest({ ...base, host: c.host, port: c.port });
    } catch (err) {
      // Node reads the PEM files when the request is made: a key or certificate it cannot parse.
      return Promise.reject(
        new ImageError(
          ImageErrorCodes.ENGINE,
          `cannot use the TLS files for the container engine at ${c.label} (${tlsReason(err)}); check ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH`,
          { cause: err },
        ),
      );
    }
    return new Promise<IncomingMessage>((resolve, reject) => {
      const fail = (err: Error): void => {
        reject(
          new ImageError(
            ImageErrorCodes.ENGINE,
            c.tls !== undefined && isTlsFailure(err)
              ? `the TLS handshake with the container engine at ${c.label} failed (${tlsReason(err)}); check DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) and DOCKER_TLS_VERIFY`
              : c.tls !== undefined && isHangUp(err)
                ? // TLS 1.3: an engine refusing our client certificate just closes the connection.
                  `the container engine at ${c.label} closed the TLS connection (${err.message}); check that DOCKER_CERT_PATH's cert.pem and key.pem are a client certificate the engine's CA signed, and that the engine is running`
                : `cannot reach the container engine at ${c.label} (${err.message}); check DOCKER_HOST and that the engine is running`,
            { cause: err },
          ),
        );
      };
      req.on('response', resolve);
      req.on('error', fail);
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      const body = options.body;
      if (body === undefined) req.end();
      else if (typeof body === 'string') req.end(body);
      else {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }

  async #json<T>(method: string, path: string, what: string): Promise<T | undefined> {
    const res = await this.#request(method, path);
    const text = await readAll(res);
    if (res.statusCode === 404) return undefined;
    if ((res.statusCode ?? 0) >= 300) {
      throw new ImageError(
        ImageErrorCodes.ENGINE,
        `the container engine at ${this.#conn.label} refused to ${what}: HTTP ${res.statusCode ?? 0} ${engineMessage(text)}`,
      );
    }
    return text === '' ? ({} as T) : (JSON.parse(text) as T);
  }

  /** Resolves when the engine answers `/_ping`. */
  async ping(): Promise<void> {
    const res = await this.#request('GET', '/_ping', { timeoutMs: 10_000 });
    await readAll(res);
    if (res.statusCode !== 200) {
      throw new ImageError(
        ImageErrorCodes.ENGINE,
        `the container engine at ${this.#conn.label} answered /_ping with HTTP ${res.statusCode ?? 0}`,
      );
    }
  }

  /**
   * Builds an image from a tar context, streaming the log line by line to the logger (debug for
   * step output, info for steps).
   *
   * @param context - the build context as a tar stream (see `packContext`)
   * @param options - tags, Dockerfile, build args, target, labels, platform, cache sources
   * @throws ImageError `E_IMAGE_BUILD_FAILED` naming the failing step and the engine's message
   */
  async build(context: Readable, options: EngineBuildOptions): Promise<EngineBuildResult> {
    const q = new URLSearchParams();
    for (const t of options.tags) q.append('t', t);
    q.set('dockerfile', options.dockerfile ?? 'Dockerfile');
    q.set('rm', '1');
    q.set('forcerm', '1');
    if (options.target !== undefined) q.set('target', options.target);
    if (options.platform !== undefined) q.set('platform', options.platform);
    if (options.buildArgs !== undefined) {
      const args: Record<string, string> = {};
      for (const [k, v] of Object.entries(options.buildArgs)) {
        args[k] = Secret.isSecret(v) ? v.reveal() : v;
      }
      q.set('buildargs', JSON.stringify(args));
    }
    if (options.labels !== undefined) q.set('labels', JSON.stringify(options.labels));
    if (options.cacheFrom !== undefined && options.cacheFrom.length > 0) {
      q.set('cachefrom', JSON.stringify(options.cacheFrom));
    }
    const what = options.tags[0] ?? 'image';
    const log: string[] = [];
    let step: string | undefined;
    let imageId: string | undefined;
    const errors: string[] = [];
    const headers: Record<string, string> = { 'Content-Type': 'application/x-tar' };
    if (options.registryAuths !== undefined && options.registryAuths.length > 0) {
      const config: Record<string, Record<string, string>> = {};
      for (const a of options.registryAuths) config[a.serveraddress] = engineAuthConfig(a);
      headers['X-Registry-Config'] = Buffer.from(JSON.stringify(config)).toString('base64');
    }
    // No idle limit: a RUN step may print nothing for a long time. Cancel with `signal`.
    const reqOpts: EngineRequestOptions = { headers, body: context, timeoutMs: 0 };
    if (options.signal !== undefined) reqOpts.signal = options.signal;
    const res = await this.#request('POST', `${API}/build?${q.toString()}`, reqOpts);
    const onLine = (line: string): void => {
      log.push(line);
      const s = /^(?:Step|STEP) (\d+\/\d+)\s*:\s*(.*)$/.exec(line);
      if (s !== null) {
        step = `step ${s[1] ?? '?'} (${(s[2] ?? '').trim()})`;
        this.#logger.info(line, { image: what });
      } else {
        this.#logger.debug(line, { image: what });
      }
    };
    let partial = '';
    await forEachMessage(res, (msg) => {
      if (msg.stream !== undefined) {
        partial += msg.stream;
        const parts = partial.split('\n');
        partial = parts.pop() ?? '';
        for (const l of parts) if (l.trim() !== '') onLine(l.trimEnd());
      }
      if (msg.aux?.ID !== undefined) imageId = msg.aux.ID;
      const err =
        msg.errorDetail?.message ??
        msg.error ??
        ((res.statusCode ?? 0) >= 300 ? msg.message : undefined);
      if (err !== undefined) errors.push(err.trim());
    });
    if (partial.trim() !== '') onLine(partial.trimEnd());
    if ((res.statusCode ?? 0) >= 300 && errors.length === 0) {
      errors.push(`HTTP ${res.statusCode ?? 0}`);
    }
    if (errors.length > 0) {
      const at = step === undefined ? 'before the first step' : `at ${step}`;
      const tail = log.slice(-5);
      // Pulling a base from a registry happens before the first step or at a FROM step: a
      // registry failure there is worth another build.
      const pulling = step === undefined || /^step \S+ \(FROM /i.test(step);
      const transient = pulling && errors.some(isTransientRegistryFailure);
      throw new ImageError(
        ImageErrorCodes.BUILD_FAILED,
        `building ${what} failed ${at}: ${errors.join('; ')}` +
          (tail.length > 0
            ? `\nlast lines of the build log:\n${tail.map((l) => `  ${l}`).join('\n')}`
            : ''),
        { details: { image: what, step, errors, transient } },
      );
    }
    if (imageId === undefined) {
      const done = [...log].reverse().find((l) => /^(Successfully built|COMMIT|-->)/.test(l));
      const hex = /([0-9a-f]{12,64})\s*$/.exec(log.at(-1) ?? done ?? '');
      imageId = hex?.[1];
    }
    return { imageId, log };
  }

  /**
   * Tags an image: `source` gets the name `repo:tag` (both fully qualified).
   *
   * @param source - an image reference or id
   * @param target - the new reference `host/repo:tag`
   */
  async tag(source: string, target: string): Promise<void> {
    const { repository, tag } = splitReference(target);
    const q = new URLSearchParams({ repo: repository, tag });
    const res = await this.#request('POST', `${API}/images/${source}/tag?${q.toString()}`);
    const text = await readAll(res);
    if ((res.statusCode ?? 0) >= 300) {
      throw new ImageError(
        ImageErrorCodes.ENGINE,
        `tagging ${source} as ${target} failed: HTTP ${res.statusCode ?? 0} ${engineMessage(text)}`,
      );
    }
  }

  /**
   * Pushes `repo:tag` to its registry, with credentials in `X-Registry-Auth`. One attempt: the
   * engine retries network failures itself but not a registry's 5xx answers, so callers retry
   * failures whose `details.transient` is true (as `applyBuild` does).
   *
   * @param reference - `host/repo:tag`
   * @param auth - credentials, when the registry needs them
   * @param options - `signal` abandons the push (the connection to the engine is closed)
   * @returns the manifest digest the registry reported, when it did
   * @throws ImageError `E_IMAGE_PUSH_FAILED` naming the registry (auth failures say so)
   */
  async push(
    reference: string,
    auth?: RegistryAuth,
    options: { signal?: AbortSignal } = {},
  ): Promise<string | undefined> {
    const { repository, tag } = splitReference(reference);
    const headers: Record<string, string> = {};
    if (auth !== undefined) {
      headers['X-Registry-Auth'] = Buffer.from(JSON.stringify(engineAuthConfig(auth))).toString(
        'base64',
      );
    }
    const res = await this.#request(
      'POST',
      `${API}/images/${repository}/push?tag=${encodeURIComponent(tag)}`,
      {
        headers,
        timeoutMs: 0,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
    );
    const errors: string[] = [];
    let digest: string | undefined;
    await forEachMessage(res, (msg) => {
      const err =
        msg.errorDetail?.message ??
        msg.error ??
        ((res.statusCode ?? 0) >= 300 ? msg.message : undefined);
      if (err !== undefined) errors.push(err.trim());
      const d = /digest: (sha256:[0-9a-f]{64})/.exec(msg.status ?? '')?.[1] ?? msg.aux?.Digest;
      if (d !== undefined) digest = d;
      if (msg.status !== undefined) this.#logger.debug(msg.status, { image: reference });
    });
    if ((res.statusCode ?? 0) >= 300 && errors.length === 0)
      errors.push(`HTTP ${res.statusCode ?? 0}`);
    if (errors.length > 0) {
      const host = registryHostOf(repository);
      const text = oneLine(errors.join('; '), 600);
      const isAuth = /unauthori[sz]ed|authentication required|denied|401|403/i.test(text);
      throw new ImageError(
        isAuth ? ImageErrorCodes.REGISTRY_AUTH : ImageErrorCodes.PUSH_FAILED,
        isAuth
          ? `registry ${host} refused the push of ${reference}: ${text}; check the registry login and that it may push to this repository (user/password, Docker config, ECR or GCP credentials)`
          : `pushing ${reference} to ${host} failed: ${text}`,
        {
          details: {
            registry: host,
            reference,
            transient: !isAuth && isTransientRegistryFailure(text),
          },
        },
      );
    }
    return digest;
  }

  /**
   * The engine's description of an image (`docker image inspect`), or undefined when missing.
   *
   * @param reference - an image reference or id
   */
  async inspect(reference: string): Promise<Record<string, unknown> | undefined> {
    return await this.#json<Record<string, unknown>>(
      'GET',
      `${API}/images/${reference}/json`,
      `inspect ${reference}`,
    );
  }

  /**
   * The layers of an image with the instruction that made each (`docker history`).
   *
   * @param reference - an image reference or id
   */
  async history(reference: string): Promise<ImageHistoryEntry[]> {
    const h = await this.#json<ImageHistoryEntry[]>(
      'GET',
      `${API}/images/${reference}/history`,
      `read the history of ${reference}`,
    );
    if (h === undefined) {
      throw new ImageError(
        ImageErrorCodes.ENGINE,
        `image ${reference} is not in the engine at ${this.#conn.label}`,
      );
    }
    return h;
  }

  /**
   * Removes an image name from the engine (the image stays while other names use it).
   *
   * @param reference - an image reference or id
   */
  async remove(reference: string): Promise<void> {
    await this.#json('DELETE', `${API}/images/${reference}?force=1`, `remove ${reference}`);
  }
}

/**
 * Splits `host/repo:tag` (or `repo@digest`) into repository and tag; `latest` when no tag.
 *
 * @param reference - an image reference
 */
export function splitReference(reference: string): { repository: string; tag: string } {
  const at = reference.indexOf('@');
  if (at !== -1) return { repository: reference.slice(0, at), tag: reference.slice(at + 1) };
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon > slash)
    return { repository: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { repository: reference, tag: 'latest' };
}

/**
 * The registry host of a repository (`host[:port]`), Docker Hub's `docker.io` when the first
 * component is not a host.
 *
 * @param repository - `host/path` or `path`
 */
export function registryHostOf(repository: string): string {
  const first = repository.split('/')[0] ?? '';
  return repository.includes('/') &&
    (first.includes('.') || first.includes(':') || first === 'localhost')
    ? first
    : 'docker.io';
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function engineMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: string; cause?: string };
    return parsed.message ?? text.trim();
  } catch {
    return text.trim();
  }
}

/** Calls `fn` for each JSON line of a streamed answer as it arrives (memory stays flat). */
async function forEachMessage(
  res: IncomingMessage,
  fn: (msg: StreamMessage) => void,
): Promise<void> {
  let buffered = '';
  const handle = (line: string): void => {
    const t = line.trim();
    if (t === '') return;
    try {
      fn(JSON.parse(t) as StreamMessage);
    } catch {
      fn({
        error: (res.statusCode ?? 0) >= 300 ? engineMessage(t) : `unparsable engine output: ${t}`,
      });
    }
  };
  res.setEncoding('utf8');
  for await (const chunk of res) {
    buffered += chunk as string;
    let nl = buffered.indexOf('\n');
    while (nl !== -1) {
      handle(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
    }
  }
  handle(buffered);
}
