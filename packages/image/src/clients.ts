import { ECRClient } from '@aws-sdk/client-ecr';
import { Secret, globalRedactor, silentLogger, type Logger } from '@deploytag/core';
import { dockerConfigCredentials, ecrLogin, gcpLogin } from './credentials.js';
import { EngineClient, engineConnectionFromEnv, type RegistryAuth } from './engine.js';
import { RegistryClient, type RegistryCredential } from './registry.js';
import type { BuildClients } from './build.js';
import type { RetryOptions } from './retry.js';

/** Options of {@link registryCredentialsFromEnv}. */
export interface CredentialSourceOptions {
  /** An ECR client to use for ECR hosts (default one built from the environment). */
  ecr?: ECRClient;
  /** The Google token endpoint (default the key's `token_uri`). */
  gcpTokenUri?: string;
}

const ECR_HOST = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;
const GCP_HOST = /(^|\.)gcr\.io$|-docker\.pkg\.dev$/;

/**
 * Finds credentials for a registry host, first match wins:
 * 1. `DEPLOYTAG_REGISTRY_USER` and `DEPLOYTAG_REGISTRY_PASSWORD` (explicit);
 * 2. ECR hosts (`<account>.dkr.ecr.<region>.amazonaws.com`, or any host with `CLOUD_PROVIDER=aws`
 *    and `DEPLOYTAG_REGISTRY_ECR=1`): `GetAuthorizationToken`;
 * 3. GCR / Artifact Registry hosts with `GCLOUD_SERVICE_KEY` or `GCLOUD_SERVICE_KEY_BASE64`:
 *    a token from the service-account key;
 * 4. the Docker config file's `auths`;
 * else none (anonymous).
 *
 * @param host - the registry `host[:port]`
 * @param env - the environment
 * @param options - injected ECR client, token endpoint
 */
export async function registryCredentialsFromEnv(
  host: string,
  env: Readonly<Record<string, string | undefined>>,
  options: CredentialSourceOptions = {},
): Promise<RegistryCredential | undefined> {
  const user = env['DEPLOYTAG_REGISTRY_USER'];
  const password = env['DEPLOYTAG_REGISTRY_PASSWORD'];
  if (user !== undefined && user !== '' && password !== undefined) {
    const secret = Secret.of(password);
    globalRedactor.add(secret);
    return { username: user, password: secret };
  }
  if (
    ECR_HOST.test(host) ||
    (env['CLOUD_PROVIDER'] === 'aws' && env['DEPLOYTAG_REGISTRY_ECR'] === '1')
  ) {
    const client = options.ecr ?? new ECRClient({});
    try {
      return await ecrLogin(client);
    } finally {
      if (options.ecr === undefined) client.destroy();
    }
  }
  const key = env['GCLOUD_SERVICE_KEY'] || env['GCLOUD_SERVICE_KEY_BASE64'];
  if (GCP_HOST.test(host) && key !== undefined && key !== '') {
    return await gcpLogin(
      Secret.of(key),
      options.gcpTokenUri !== undefined ? { tokenUri: options.gcpTokenUri } : {},
    );
  }
  return await dockerConfigCredentials(host, { ...env });
}

/** Options of {@link clientsFromEnv}. */
export interface ClientsFromEnvOptions extends CredentialSourceOptions {
  /**
   * The retry policy of registry API calls, and of the engine's pushes and pulls (attempts,
   * backoff, deadline); each keeps its own defaults for what is not given.
   */
  retry?: RetryOptions;
}

/**
 * The clients of a build from the environment: the engine from `DOCKER_HOST` (and TLS
 * variables), registries with credentials from {@link registryCredentialsFromEnv} (looked up once
 * per host), and push credentials from the same source.
 *
 * @param env - the environment
 * @param logger - progress and build logs
 * @param options - credential sources, retry policy
 */
export function clientsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger = silentLogger,
  options: ClientsFromEnvOptions = {},
): BuildClients {
  const creds = new Map<string, Promise<RegistryCredential | undefined>>();
  const credsFor = (host: string): Promise<RegistryCredential | undefined> => {
    let c = creds.get(host);
    if (c === undefined) {
      c = registryCredentialsFromEnv(host, env, options);
      creds.set(host, c);
    }
    return c;
  };
  const registries = new Map<string, RegistryClient>();
  return {
    engine: new EngineClient(engineConnectionFromEnv({ ...env }), logger),
    registry(host: string): RegistryClient {
      let r = registries.get(host);
      if (r === undefined) {
        r = new RegistryClient(host, {
          credentials: () => credsFor(host),
          logger,
          ...(options.retry === undefined ? {} : { retry: options.retry }),
        });
        registries.set(host, r);
      }
      return r;
    },
    async pushAuth(host: string): Promise<RegistryAuth | undefined> {
      const c = await credsFor(host);
      return c === undefined ? undefined : { ...c, serveraddress: host };
    },
    logger,
    ...(options.retry === undefined ? {} : { retry: options.retry }),
  };
}
