import { createSign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { GetAuthorizationTokenCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { ConfigError, Secret, globalRedactor } from '@deploytag/core';
import { ImageError, ImageErrorCodes } from './errors.js';
import type { RegistryCredential } from './registry.js';

/** Registers a credential's password with the global redactor, so no log line can show it. */
function remember(cred: RegistryCredential): RegistryCredential {
  globalRedactor.add(cred.password);
  return cred;
}

/**
 * Credentials from the Docker config file (`$DOCKER_CONFIG/config.json`, default
 * `~/.docker/config.json`): its `auths` entry for the host (`auth` as base64 `user:password`, or
 * `username` and `password`). Resolves undefined when the file or the entry is missing.
 * Credential helpers (`credsStore`, `credHelpers`) are not run.
 *
 * @param host - the registry `host[:port]`
 * @param env - the environment (`DOCKER_CONFIG`)
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
  let config: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    config = JSON.parse(text) as typeof config;
  } catch (err) {
    throw new ConfigError(`the Docker config file ${file} is not valid JSON; fix or remove it`, {
      file,
      cause: err,
    });
  }
  const auths = config.auths ?? {};
  const entry =
    auths[host] ??
    Object.entries(auths).find(
      ([key]) => key.replace(/^https?:\/\//, '').replace(/\/.*$/, '') === host,
    )?.[1];
  if (entry === undefined) return undefined;
  if (entry.auth !== undefined && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) {
      throw new ConfigError(
        `the auths entry for ${host} in ${file} is not base64 of user:password`,
        { file, key: `auths.${host}` },
      );
    }
    return remember({
      username: decoded.slice(0, colon),
      password: Secret.of(decoded.slice(colon + 1)),
    });
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
