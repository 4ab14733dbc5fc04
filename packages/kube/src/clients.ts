import {
  AppsV1Api,
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  NetworkingV1Api,
} from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';

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

/**
 * Makes the API clients for one kubeconfig.
 *
 * @param kc - a loaded kubeconfig (see `loadKubeConfig`)
 */
export function createKubeClients(kc: KubeConfig): KubeClients {
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    networking: kc.makeApiClient(NetworkingV1Api),
  };
}
