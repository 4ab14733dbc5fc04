import { createSign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { GetAuthorizationTokenCommand, type ECRClient } from '@aws-sdk/client-ecr';
import {
  ConfigError,
  DeploytagError,
  ErrorCodes,
  Secret,
  globalRedactor,
  runCommand,
} from '@deploytag/core';
import { ImageError, ImageErrorCodes } from './errors.js';
import { IDENTITY_TOKEN_USER, type RegistryCredential } from './registry.js';
import { oneLine } from './retry.js';

/** Registers a credential's password with the global redactor, so no log line can show it. */
function remember(cred: RegistryCredential): RegistryCredential {
  globalRedactor.add(cred.password);
  return cred;
}

/** The parts of the Docker config file DeployTag reads. */
interface DockerConfigFile {
  auths?: Record<
    string,
    { auth?: string; username?: string; password?: string; identitytoken?: string }
  >;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** Docker Hub's hosts, whose credentials Docker keeps under its index address. */
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

/** The key Docker stores a host's credentials under (the index address for Docker Hub). */
function serverKey(host: string): string {
  return DOCKER_HUB_HOSTS.has(host) ? DOCKER_HUB_KEY : host;
}

/** The entry of `map` for a host: its exact key, else a key that is a URL of that host. */
function entryFor<T>(map: Record<string, T> | undefined, host: string): [string, T] | undefined {
  if (map === undefined) return undefined;
  const key = serverKey(host);
  const exact = map[key];
  if (exact !== undefined) return [key, exact];
  const bare = (k: string): string => k.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return Object.entries(map).find(([k]) => bare(k) === host || bare(k) === bare(key));
}

/** What a credential helper's `get` prints. */
interface HelperAnswer {
  ServerURL?: string;
  Username?: string;
  Secret?: string;
}

/**
 * Asks a Docker credential helper (`docker-credential-<name> get`, the server address on stdin,
 * JSON on stdout) for a host's credentials. Resolves undefined when the helper has none.
 */
async function askCredentialHelper(
  name: string,
  host: string,
  where: { file: string; key: string },
  env: NodeJS.ProcessEnv,
): Promise<RegistryCredential | undefined> {
  const program = `docker-credential-${name}`;
  const fix = `fix the helper (try \`${program} list\`), or remove ${where.key} from ${where.file}`;
  let result;
  try {
    result = await runCommand(program, ['get'], {
      input: serverKey(host),
      env: { ...env },
      inheritEnv: false,
      allowFailure: true,
      timeoutMs: 60_000,
    });
  } catch (err) {
    const missing = err instanceof DeploytagError && err.code === ErrorCodes.COMMAND_NOT_FOUND;
    throw new ImageError(
      ImageErrorCodes.REGISTRY_AUTH,
      missing
        ? `${where.file} names the credential helper ${program} (${where.key}) for ${host}, but it is not installed or not on PATH; install it, or remove ${where.key} from the file`
        : `the credential helper ${program} could not be run for ${host}: ${err instanceof Error ? err.message : String(err)}; ${fix}`,
      { cause: err, details: { registry: host, helper: program } },
    );
  }
  const said = `${result.stdout}\n${result.stderr}`;
  if (result.code !== 0) {
    // The helpers' own words for "no credentials for this server".
    if (/credentials not found/i.test(said)) return undefined;
    const reason = oneLine(globalRedactor.redact(result.stderr.trim() || result.stdout.trim()));
    throw new ImageError(
      ImageErrorCodes.REGISTRY_AUTH,
      `the credential helper ${program} failed for ${host} (exit ${result.code ?? result.signal ?? '?'}${reason === '' ? '' : `: ${reason}`}); ${fix}`,
      { details: { registry: host, helper: program } },
    );
  }
  let answer: HelperAnswer;
  try {
    answer = JSON.parse(result.stdout) as HelperAnswer;
  } catch {
    throw new ImageError(
      ImageErrorCodes.REGISTRY_AUTH,
      `the credential helper ${program} printed something other than JSON for ${host}; ${fix}`,
      { details: { registry: host, helper: program } },
    );
  }
  if (typeof answer.Secret !== 'string' || answer.Secret === '') return undefined;
  return remember({ username: answer.Username ?? '', password: Secret.of(answer.Secret) });
}

/**
 * Credentials from the Docker config file (`$DOCKER_CONFIG/config.json`, default
 * `~/.docker/config.json`), looked up as the Docker CLI does:
 * 1. a credential helper: `credHelpers[host]` (an empty name there means none), else
 *    `credsStore`, run as `docker-credential-<name> get` with the host on stdin (never on a
 *    command line);
 * 2. when the helper has nothing for the host (or there is none), the `auths` entry for the host:
 *    `auth` as base64 `user:password`, `username` and `password`, or `identitytoken`.
 *
 * An identity token comes back with the user name {@link IDENTITY_TOKEN_USER}. Resolves undefined
 * when the file or an entry for the host is missing.
 *
 * @param host - the registry `host[:port]`
 * @param env - the environment (`DOCKER_CONFIG`, and `PATH` and the rest for the helper)
 * @throws ConfigError when the file is not JSON or an entry is malformed
 * @throws ImageError `E_IMAGE_REGISTRY_AUTH` when a named helper is missing or fails
 */
export async function dockerConfigCredentials(
  host: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RegistryCredential | undefined> {
  const dir = env['DOCKER_CONFIG'] || join(homedir(), '.docker');
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let config: DockerConfigFile;
  try {
    config = JSON.parse(text) as DockerConfigFile;
  } catch (err) {
    throw new ConfigError(`the Docker config file ${file} is not valid JSON; fix or remove it`, {
      file,
      cause: err,
    });
  }
  // As the Docker CLI: a host's credHelpers entry, even an empty one (meaning "this file"),
  // takes the place of credsStore.
  const helper = entryFor(config.credHelpers, host);
  const [helperName, helperKey] =
    helper === undefined
      ? [config.credsStore ?? '', 'credsStore']
      : [helper[1], `credHelpers["${helper[0]}"]`];
  if (helperName !== '') {
    const found = await askCredentialHelper(helperName, host, { file, key: helperKey }, env);
    if (found !== undefined) return found;
  }
  const found = entryFor(config.auths, host);
  if (found === undefined) return undefined;
  const [key, entry] = found;
  if (entry.auth !== undefined && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) {
      throw new ConfigError(
        `the auths entry for ${host} in ${file} is not base64 of user:password`,
        { file, key: `auths.${key}` },
      );
    }
    return remember({
      username: decoded.slice(0, colon),
      password: Secret.of(decoded.slice(colon + 1)),
    });
  }
  if (entry.identitytoken !== undefined && entry.identitytoken !== '') {
    return remember({ username: IDENTITY_TOKEN_USER, password: Secret.of(entry.identitytoken) });
  }
  if (entry.username !== undefined && entry.password !== undefined) {
    return remember({ username: entry.username, password: Secret.of(entry.password) });
  }
  return undefined;
}

/** An ECR login: credentials and the registry they are for. */
export interface EcrLogin extends RegistryCredential {
  /** The registry host the token is for (`<account>.dkr.ecr.<region>.amazonaws.com`). */
  registry: string;
  /** When the token expires. */
  expiresAt: Date | undefined;
}

/**
 * Logs in to Amazon ECR: `GetAuthorizationToken`, whose token is base64 `AWS:<password>`.
 *
 * @param client - an ECR client (region, credentials and endpoint come from it)
 * @throws ImageError `E_IMAGE_REGISTRY_AUTH` when AWS refuses or returns no token
 */
export async function ecrLogin(client: ECRClient): Promise<EcrLogin> {
  let out;
  try {
    out = await client.send(new GetAuthorizationTokenCommand({}));
  } catch (err) {
    throw new ImageError(
      ImageErrorCodes.REGISTRY_AUTH,
      `ECR refused GetAuthorizationToken: ${err instanceof Error ? err.message : String(err)}; check the AWS credentials and that they may call ecr:GetAuthorizationToken`,
      { cause: err },
    );
  }
  const data = out.authorizationData?.[0];
  const token = data?.authorizationToken;
  if (token === undefined) {
    throw new ImageError(ImageErrorCodes.REGISTRY_AUTH, 'ECR returned no authorization token');
  }
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const endpoint = data?.proxyEndpoint ?? '';
  const login: EcrLogin = {
    username: colon === -1 ? 'AWS' : decoded.slice(0, colon),
    password: Secret.of(colon === -1 ? decoded : decoded.slice(colon + 1)),
    registry: endpoint.replace(/^https?:\/\//, '').replace(/\/.*$/, ''),
    expiresAt: data?.expiresAt,
  };
  remember(login);
  return login;
}

/** The fields of a Google service-account key DeployTag uses. */
export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
}

/** The OAuth scope a registry login needs. */
export const GCP_REGISTRY_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** Google's token endpoint, used when the key names none. */
export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

/**
 * Parses a service-account key given as JSON or base64 JSON (`GCLOUD_SERVICE_KEY`,
 * `GCLOUD_SERVICE_KEY_BASE64`).
 *
 * @param key - the key's text, as a Secret
 * @throws ConfigError when it is not a service-account key
 */
export function parseServiceAccountKey(key: Secret): ServiceAccountKey {
  let text = key.reveal().trim();
  if (!text.startsWith('{')) text = Buffer.from(text, 'base64').toString('utf8');
  let parsed: Partial<ServiceAccountKey>;
  try {
    parsed = JSON.parse(text) as Partial<ServiceAccountKey>;
  } catch {
    throw new ConfigError(
      'the GCP service-account key is neither JSON nor base64 JSON; set GCLOUD_SERVICE_KEY to the key file content',
      { key: 'GCLOUD_SERVICE_KEY' },
    );
  }
  if (typeof parsed.client_email !== 'string' || typeof parsed.private_key !== 'string') {
    throw new ConfigError(
      'the GCP service-account key has no client_email or private_key; download a JSON key for the service account',
      { key: 'GCLOUD_SERVICE_KEY' },
    );
  }
  return parsed as ServiceAccountKey;
}

/**
 * Makes the signed JWT (RS256) a service account exchanges for an access token
 * (`urn:ietf:params:oauth:grant-type:jwt-bearer`).
 *
 * @param key - the service-account key
 * @param options - audience (the token endpoint), scope, and the time (seconds since the epoch)
 * @returns the JWT, as a Secret
 */
export function serviceAccountJwt(
  key: ServiceAccountKey,
  options: { audience: string; scope?: string; now?: number },
): Secret {
  const iat = options.now ?? Math.floor(Date.now() / 1000);
  const header: Record<string, string> = { alg: 'RS256', typ: 'JWT' };
  if (key.private_key_id !== undefined) header['kid'] = key.private_key_id;
  const claims = {
    iss: key.client_email,
    scope: options.scope ?? GCP_REGISTRY_SCOPE,
    aud: options.audience,
    iat,
    exp: iat + 3600,
  };
  const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${enc(header)}.${enc(claims)}`;
  const signature = createSign('RSA-SHA256')
    .update(input)
    .sign(key.private_key)
    .toString('base64url');
  return Secret.of(`${input}.${signature}`);
}

/** Options of {@link gcpLogin}. */
export interface GcpLoginOptions {
  /** The token endpoint; default the key's `token_uri`, else Google's. */
  tokenUri?: string;
  /** The fetch implementation. Default the global `fetch`. */
  fetch?: typeof fetch;
  /** The time, in seconds since the epoch (for tests). */
  now?: number;
}

/**
 * Logs in to Google Container Registry / Artifact Registry with a service-account key: signs a
 * JWT, exchanges it for an access token, and returns `oauth2accesstoken` with that token.
 *
 * @param key - the service-account key (JSON or base64 JSON), as a Secret
 * @param options - token endpoint and fetch (injectable)
 * @throws ImageError `E_IMAGE_REGISTRY_AUTH` when the exchange is refused
 */
export async function gcpLogin(
  key: Secret,
  options: GcpLoginOptions = {},
): Promise<RegistryCredential> {
  const sa = parseServiceAccountKey(key);
  const tokenUri = options.tokenUri ?? sa.token_uri ?? GOOGLE_TOKEN_URI;
  const jwtOptions: { audience: string; now?: number } = { audience: tokenUri };
  if (options.now !== undefined) jwtOptions.now = options.now;
  const assertion = serviceAccountJwt(sa, jwtOptions);
  const body = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: assertion.reveal(),
  });
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(tokenUri, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new ImageError(
      ImageErrorCodes.REGISTRY_AUTH,
      `cannot reach the Google token endpoint ${tokenUri}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  const text = await res.text();
  if (!res.ok) {
    let reason = text.slice(0, 200);
    try {
      const e = JSON.parse(text) as { error?: string; error_description?: string };
      reason = [e.error, e.error_description].filter(Boolean).join(': ');
    } catch {
      // keep the text
    }
    throw new ImageError(
      ImageErrorCodes.REGISTRY_AUTH,
      `Google refused the service account ${sa.client_email} (HTTP ${res.status}: ${reason}); check GCLOUD_SERVICE_KEY`,
    );
  }
  const token = (JSON.parse(text) as { access_token?: string }).access_token;
  if (token === undefined || token === '') {
    throw new ImageError(
      ImageErrorCodes.REGISTRY_AUTH,
      `the Google token endpoint ${tokenUri} returned no access_token`,
    );
  }
  return remember({ username: 'oauth2accesstoken', password: Secret.of(token) });
}
