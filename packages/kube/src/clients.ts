import {
  AppsV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  NetworkingV1Api,
  ServerConfiguration,
  createConfiguration,
} from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '@deploytag/core';
import type { Logger } from '@deploytag/core';
import { retryingHttpLibrary } from './http.js';
import type { KubeRetryOptions } from './http.js';

/** The Kubernetes API clients the functions of this package use, made from one kubeconfig. */
export interface KubeClients {
  /** The loaded configuration (cluster, user, context). */
  kc: KubeConfig;
  /** Core API: namespaces, secrets, pods, services, service accounts. */
  core: CoreV1Api;
  /** Deployments, StatefulSets, DaemonSets, ReplicaSets. */
  apps: AppsV1Api;
  /** Jobs. */
  batch: BatchV1Api;
  /** Leases. */
  coordination: CoordinationV1Api;
  /** Ingresses. */
  networking: NetworkingV1Api;
}

/** Options of {@link createKubeClients}. */
export interface KubeClientsOptions {
  /** How transient API failures are retried (see `isRetryable`); 6 attempts from 250 ms apart unless given. */
  retry?: KubeRetryOptions;
  /** Receives one debug line per retried request. */
  logger?: Logger;
}

/**
 * Makes the API clients for one kubeconfig. Every request they send is retried on transient
 * failures (429 and 503 answers, 500/502/504 to repeatable methods, refused or reset
 * connections) with exponential backoff; conflicts (409) are left to the callers, which read the
 * object again before writing.
 *
 * @param kc - a loaded kubeconfig (see `loadKubeConfig`)
 * @param options - retry policy and logger
 * @throws ConfigError when the kubeconfig has no current cluster
 */
export function createKubeClients(kc: KubeConfig, options: KubeClientsOptions = {}): KubeClients {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) {
    throw new ConfigError(
      `the kubeconfig has no current cluster (context "${kc.getCurrentContext()}"); set its current-context or pass --kube-context`,
    );
  }
  const config = createConfiguration({
    baseServer: new ServerConfiguration<Record<string, never>>(cluster.server, {}),
    authMethods: { default: kc },
    httpApi: retryingHttpLibrary(options.retry, options.logger),
  });
  return {
    kc,
    core: new CoreV1Api(config),
    apps: new AppsV1Api(config),
    batch: new BatchV1Api(config),
    coordination: new CoordinationV1Api(config),
    networking: new NetworkingV1Api(config),
  };
}
