import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@deploytag/core';
import { silentLogger } from '@deploytag/core';
import { createKubeClients, loadKubeConfig, writeKubeConfig } from '@deploytag/kube';
import type { KubeClients } from '@deploytag/kube';
import { findHelm } from './binary.js';
import { createHelm } from './helm.js';
import type { Helm } from './helm.js';

/** Options of {@link connectDeployClients}. */
export interface ConnectOptions {
  /** Environment (`KUBECONFIG`, `HELM_BIN`, in-cluster variables); `process.env` by default. */
  env?: Record<string, string | undefined>;
  /** A kubeconfig file; beats `KUBECONFIG`. */
  kubeconfig?: string;
  /** The kubeconfig context. */
  context?: string;
  /** Receives helm's output and progress. */
  logger?: Logger;
}

/** Kubernetes and helm clients for one cluster; `close()` removes any temporary kubeconfig. */
export interface ConnectedClients {
  /** Kubernetes API clients. */
  kube: KubeClients;
  /** The helm runner, pointed at the same cluster and context. */
  helm: Helm;
  /** Removes the private kubeconfig written for helm, if one was. */
  close(): void;
}

/** The original's Helm 2 / Tiller TLS variables: ignored, with a warning. */
const HELM2_VARIABLES = ['HELM_TLS', 'HELM_CA', 'HELM_CERT', 'HELM_KEY', 'TILLER_NAMESPACE'];

/**
 * Loads the kubeconfig (file, `KUBECONFIG`, in-cluster), finds and checks helm, and points both at
 * the same cluster. When the configuration is not a single file (in-cluster, merged files), helm
 * gets a private copy (mode 0600 in a 0700 folder) that `close()` removes. The original's Helm 2
 * variables (`HELM_TLS`, `HELM_CA`, …) are ignored with a warning.
 *
 * @param options - environment, file, context, logger
 */
export async function connectDeployClients(
  options: ConnectOptions = {},
): Promise<ConnectedClients> {
  const env = options.env ?? process.env;
  const tiller = HELM2_VARIABLES.filter((name) => (env[name] ?? '') !== '');
  if (tiller.length > 0) {
    options.logger?.warn(
      `${tiller.join(', ')}: Helm 2 (Tiller) settings of the original deploy.sh; Helm 3 talks to the cluster directly, so they are ignored (unset them)`,
    );
  }
  const kc = loadKubeConfig({
    env,
    ...(options.kubeconfig === undefined ? {} : { file: options.kubeconfig }),
    ...(options.context === undefined ? {} : { context: options.context }),
  });
  const binary = await findHelm(env);
  const single =
    options.kubeconfig ??
    (env.KUBECONFIG?.includes(':') === false && env.KUBECONFIG !== '' ? env.KUBECONFIG : undefined);
  let dir: string | undefined;
  let file = single;
  if (file === undefined) {
    dir = mkdtempSync(join(tmpdir(), 'deploytag-kube-'));
    file = join(dir, 'kubeconfig');
    writeKubeConfig(file, kc);
  }
  const helm = createHelm(
    binary,
    { kubeconfig: file, kubeContext: kc.getCurrentContext() },
    options.logger ?? silentLogger,
  );
  return {
    kube: createKubeClients(kc),
    helm,
    close() {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
