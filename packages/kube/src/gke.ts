import { createSign } from 'node:crypto';
import { ConfigError, Secret } from '@deploytag/core';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeError, KubeErrorCodes } from './errors.js';
import { kubeConfigWithToken } from './kubeconfig.js';

/** The parts of a Google service-account key file used here. */
export interface ServiceAccountKey {
  /** `client_email`: the account. */
  clientEmail: string;
  /** `private_key`: PEM. */
  privateKey: Secret;
  /** `token_uri`: the OAuth token endpoint. */
  tokenUri: string;
  /** `project_id`, when present. */
  projectId: string | undefined;
}

/** Google's OAuth token endpoint. */
export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';
/** The scope GKE accepts. */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/**
 * Parses a service-account key (`GCLOUD_SERVICE_KEY`, or base64 as `GCLOUD_SERVICE_KEY_BASE64`).
 *
 * @param text - the key file's JSON text, or its base64
 * @throws ConfigError when it is not a service-account key
 */
export function parseServiceAccountKey(text: Secret): ServiceAccountKey {
  let raw = text.reveal().trim();
  if (!raw.startsWith('{')) raw = Buffer.from(raw, 'base64').toString('utf8');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new ConfigError(
      'GCLOUD_SERVICE_KEY is not JSON (nor base64 of JSON); set it to the service-account key file the Google console downloads',
      { key: 'GCLOUD_SERVICE_KEY' },
    );
  }
  const email = json.client_email;
  const key = json.private_key;
  if (typeof email !== 'string' || typeof key !== 'string') {
    throw new ConfigError(
      'GCLOUD_SERVICE_KEY has no client_email or private_key; use a key of type service_account',
      { key: 'GCLOUD_SERVICE_KEY' },
    );
  }
  return {
    clientEmail: email,
    privateKey: Secret.of(key),
    tokenUri: typeof json.token_uri === 'string' ? json.token_uri : GOOGLE_TOKEN_URI,
    projectId: typeof json.project_id === 'string' ? json.project_id : undefined,
  };
}

/**
 * Signs the RS256 JWT a service account exchanges for an access token (RFC 7523).
 *
 * @param key - the service-account key
 * @param audience - the token endpoint
 * @param now - the issue time
 * @param scope - the OAuth scope
 */
export function serviceAccountAssertion(
  key: ServiceAccountKey,
  audience: string,
  now: Date,
  scope: string = CLOUD_PLATFORM_SCOPE,
): Secret {
  const iat = Math.floor(now.getTime() / 1000);
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({
    iss: key.clientEmail,
    scope,
    aud: audience,
    iat,
    exp: iat + 3600,
  })}`;
  const signature = createSign('RSA-SHA256')
    .update(unsigned)
    .sign(key.privateKey.reveal())
    .toString('base64url');
  return Secret.of(`${unsigned}.${signature}`);
}

/** Options of {@link googleAccessToken} and {@link gkeKubeConfig}. */
export interface GoogleHttpOptions {
  /** The token endpoint; the key's `token_uri` by default (inject a local server in tests). */
  tokenUri?: string;
  /** The GKE API's base URL; `https://container.googleapis.com` by default. */
  containerApi?: string;
  /** `fetch` to use; the global one by default. */
  fetch?: typeof fetch;
  /** The time; now by default. */
  now?: Date;
}

/**
 * Exchanges a service-account key for an OAuth access token (JWT bearer grant).
 *
 * @param key - the service-account key
 * @param options - endpoint, fetch and time
 */
export async function googleAccessToken(
  key: ServiceAccountKey,
  options: GoogleHttpOptions = {},
): Promise<{ token: Secret; expiresAt: Date }> {
  const now = options.now ?? new Date();
  const tokenUri = options.tokenUri ?? key.tokenUri;
  const assertion = serviceAccountAssertion(key, tokenUri, now);
  const body = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: assertion.reveal(),
  });
  const response = await (options.fetch ?? fetch)(tokenUri, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: body.toString(),
  });
  const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok || typeof json.access_token !== 'string') {
    const why =
      typeof json.error_description === 'string'
        ? json.error_description
        : `HTTP ${response.status}`;
    throw new KubeError(
      KubeErrorCodes.CLOUD,
      `Google refused the service account ${key.clientEmail}: ${why}; check that GCLOUD_SERVICE_KEY is a current key of an enabled account`,
    );
  }
  const expiresIn = typeof json.expires_in === 'number' ? json.expires_in : 3600;
  return {
    token: Secret.of(json.access_token),
    expiresAt: new Date(now.getTime() + expiresIn * 1000),
  };
}

/** Input of {@link gkeKubeConfig}. */
export interface GkeClusterInput {
  /** `GOOGLE_PROJECT_ID`. */
  project: string;
  /** `GOOGLE_COMPUTE_ZONE` (a zone or a region). */
  location: string;
  /** `GOOGLE_CLUSTER_NAME`. */
  cluster: string;
  /** The service-account key. */
  key: ServiceAccountKey;
}

/**
 * Builds a kubeconfig for a GKE cluster: an access token from the service-account key, then the
 * cluster's endpoint and CA from the GKE API. Needs no gcloud.
 *
 * @param input - project, location, cluster and key
 * @param options - endpoints, fetch and time
 */
export async function gkeKubeConfig(
  input: GkeClusterInput,
  options: GoogleHttpOptions = {},
): Promise<{ kc: KubeConfig; expiresAt: Date }> {
  const { token, expiresAt } = await googleAccessToken(input.key, options);
  const api = (options.containerApi ?? 'https://container.googleapis.com').replace(/\/+$/, '');
  const url = `${api}/v1/projects/${encodeURIComponent(input.project)}/locations/${encodeURIComponent(input.location)}/clusters/${encodeURIComponent(input.cluster)}`;
  const response = await (options.fetch ?? fetch)(url, {
    headers: { authorization: `Bearer ${token.reveal()}` },
  });
  const json = (await response.json().catch(() => ({}))) as {
    endpoint?: string;
    masterAuth?: { clusterCaCertificate?: string };
    error?: { message?: string };
  };
  if (!response.ok || typeof json.endpoint !== 'string') {
    throw new KubeError(
      KubeErrorCodes.CLOUD,
      `cannot read the GKE cluster ${input.cluster} in ${input.project}/${input.location}: ${json.error?.message ?? `HTTP ${response.status}`}; check GOOGLE_PROJECT_ID, GOOGLE_COMPUTE_ZONE, GOOGLE_CLUSTER_NAME and the account's container.clusters.get permission`,
    );
  }
  const kc = kubeConfigWithToken({
    name: `gke_${input.project}_${input.location}_${input.cluster}`,
    server: json.endpoint.startsWith('https://') ? json.endpoint : `https://${json.endpoint}`,
    ...(json.masterAuth?.clusterCaCertificate === undefined
      ? {}
      : { caData: json.masterAuth.clusterCaCertificate }),
    token,
  });
  return { kc, expiresAt };
}
