import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError, Secret } from '@deploytag/core';
import { KubeConfig } from '@kubernetes/client-node';

/** Options of {@link loadKubeConfig}. */
export interface LoadKubeConfigOptions {
  /** A kubeconfig file; beats `KUBECONFIG`. */
  file?: string;
  /** The context to use instead of the file's current context. */
  context?: string;
  /** The environment to read `KUBECONFIG` and the in-cluster variables from; `process.env` by default. */
  env?: Record<string, string | undefined>;
}

/**
 * Loads a kubeconfig the usual way: an explicit file, else `KUBECONFIG` (several files joined by
 * `:` are merged), else the service account of the pod this runs in, else `~/.kube/config`.
 *
 * @param options - file, context and environment
 * @returns the loaded configuration
 * @throws ConfigError when nothing usable is found or the context does not exist
 */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfig {
  const env = options.env ?? process.env;
  const kc = new KubeConfig();
  try {
    if (options.file !== undefined) {
      kc.loadFromFile(options.file);
    } else if (env.KUBECONFIG !== undefined && env.KUBECONFIG !== '') {
      const files = env.KUBECONFIG.split(':').filter((f) => f !== '');
      kc.loadFromFile(files[0]!);
      for (const file of files.slice(1)) {
        const more = new KubeConfig();
        more.loadFromFile(file);
        kc.mergeConfig(more);
      }
    } else if (env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_HOST !== '') {
      kc.loadFromCluster();
    } else {
      kc.loadFromDefault();
    }
  } catch (error) {
    throw new ConfigError(
      `cannot load the kubeconfig${options.file ? ` ${options.file}` : ''}: ${error instanceof Error ? error.message : String(error)}; set KUBECONFIG or run config-k8s first`,
      { key: 'KUBECONFIG', cause: error },
    );
  }
  if (options.context !== undefined) {
    if (!kc.getContexts().some((c) => c.name === options.context)) {
      throw new ConfigError(
        `the kubeconfig has no context ${options.context}; pick one of: ${kc
          .getContexts()
          .map((c) => c.name)
          .join(', ')}`,
        { key: 'context' },
      );
    }
    kc.setCurrentContext(options.context);
  }
  if (kc.getCurrentCluster() === null) {
    throw new ConfigError(
      'the kubeconfig names no cluster for its current context; set KUBECONFIG or run config-k8s first',
      { key: 'KUBECONFIG' },
    );
  }
  return kc;
}

/** A cluster and a bearer token, as EKS and GKE give them. */
export interface TokenClusterConfig {
  /** Name of the cluster, user and context in the kubeconfig. */
  name: string;
  /** The API server's URL (`https://…`). */
  server: string;
  /** The cluster's CA certificate, base64-encoded PEM (as EKS and GKE return it). */
  caData?: string;
  /** The bearer token. */
  token: Secret;
  /** Default namespace of the context. */
  namespace?: string;
}

/**
 * Builds a kubeconfig for a cluster reached with a bearer token.
 *
 * @param config - server, CA and token
 */
export function kubeConfigWithToken(config: TokenClusterConfig): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: config.name,
        server: config.server,
        ...(config.caData === undefined ? {} : { caData: config.caData }),
        skipTLSVerify: false,
      },
    ],
    users: [{ name: config.name, token: config.token.reveal() }],
    contexts: [
      {
        name: config.name,
        cluster: config.name,
        user: config.name,
        ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
      },
    ],
    currentContext: config.name,
  });
  return kc;
}

/**
 * Writes a kubeconfig file readable only by its owner (mode 0600), atomically, creating its
 * folder (mode 0700) when missing. An existing file is replaced.
 *
 * @param path - where to write
 * @param kc - the configuration
 */
export function writeKubeConfig(path: string, kc: KubeConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = join(dirname(path), `.kubeconfig-${randomBytes(6).toString('hex')}.tmp`);
  writeFileSync(temp, kc.exportConfig(), { mode: 0o600, flag: 'wx' });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

/** The token of the current user, when the kubeconfig holds one (for redaction). */
export function kubeConfigToken(kc: KubeConfig): Secret | undefined {
  const token = kc.getCurrentUser()?.token;
  return token === undefined || token === '' ? undefined : Secret.of(token);
}
