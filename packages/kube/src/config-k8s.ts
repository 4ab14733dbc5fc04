import { homedir } from 'node:os';
import { join } from 'node:path';
import { EKSClient } from '@aws-sdk/client-eks';
import { ConfigError, Secret } from '@deploytag/core';
import { eksKubeConfig } from './eks.js';
import { gkeKubeConfig, parseServiceAccountKey } from './gke.js';
import type { GoogleHttpOptions } from './gke.js';
import { writeKubeConfig } from './kubeconfig.js';

/** Options of {@link configK8s}. */
export interface ConfigK8sOptions {
  /** The environment contract (`CLOUD_PROVIDER`, `AWS_*`, `GOOGLE_*`, `GCLOUD_SERVICE_KEY*`). */
  env: Record<string, string | undefined>;
  /** Where to write; `KUBECONFIG`, else `~/.kube/config`. */
  output?: string;
  /** An EKS client (the default is made from the environment, honouring `AWS_ENDPOINT_URL`). */
  eks?: EKSClient;
  /** Google endpoints and fetch (tests point them at a local server). */
  google?: GoogleHttpOptions;
}

/** What {@link configK8s} wrote. */
export interface ConfigK8sResult {
  /** The file written (mode 0600). */
  path: string;
  /** The cloud. */
  provider: 'aws' | 'gcp';
  /** The API server. */
  server: string;
  /** When the token in the file expires (run config-k8s again after). */
  expiresAt: Date;
}

function required(env: Record<string, string | undefined>, names: string[]): string[] {
  const missing = names.filter((n) => (env[n] ?? '').trim() === '');
  if (missing.length > 0) {
    throw new ConfigError(
      `config-k8s needs ${missing.join(', ')}; set ${missing.length > 1 ? 'them' : 'it'} in the CI's environment`,
      {
        key: missing[0]!,
      },
    );
  }
  return names.map((n) => env[n]!.trim());
}

/**
 * `config_k8s.sh`: writes a kubeconfig (mode 0600) for the EKS (`AWS_DEFAULT_REGION`,
 * `AWS_CLUSTER_NAME`) or GKE (`GOOGLE_PROJECT_ID`, `GOOGLE_COMPUTE_ZONE`, `GOOGLE_CLUSTER_NAME`,
 * `GCLOUD_SERVICE_KEY` or `GCLOUD_SERVICE_KEY_BASE64`) cluster, without aws, gcloud or kubectl.
 * The file holds a short-lived bearer token.
 *
 * @param options - environment, output path, injected clients
 * @throws ConfigError naming every missing variable
 */
export async function configK8s(options: ConfigK8sOptions): Promise<ConfigK8sResult> {
  const env = options.env;
  const provider = (env.CLOUD_PROVIDER ?? 'aws').trim().toLowerCase() || 'aws';
  const path =
    options.output ?? (env.KUBECONFIG?.split(':')[0] || join(homedir(), '.kube', 'config'));
  if (provider === 'aws') {
    const [region, cluster] = required(env, ['AWS_DEFAULT_REGION', 'AWS_CLUSTER_NAME']) as [
      string,
      string,
    ];
    const eks = options.eks ?? new EKSClient({ region });
    try {
      const { kc, expiresAt } = await eksKubeConfig({ eks, clusterName: cluster, region });
      writeKubeConfig(path, kc);
      return { path, provider, server: kc.getCurrentCluster()!.server, expiresAt };
    } finally {
      if (options.eks === undefined) eks.destroy();
    }
  }
  if (provider === 'gcp') {
    const [project, location, cluster] = required(env, [
      'GOOGLE_PROJECT_ID',
      'GOOGLE_COMPUTE_ZONE',
      'GOOGLE_CLUSTER_NAME',
    ]) as [string, string, string];
    const keyText = env.GCLOUD_SERVICE_KEY ?? env.GCLOUD_SERVICE_KEY_BASE64;
    if (keyText === undefined || keyText.trim() === '') {
      throw new ConfigError(
        'config-k8s on gcp needs GCLOUD_SERVICE_KEY (JSON) or GCLOUD_SERVICE_KEY_BASE64',
        {
          key: 'GCLOUD_SERVICE_KEY',
        },
      );
    }
    const key = parseServiceAccountKey(Secret.of(keyText));
    const { kc, expiresAt } = await gkeKubeConfig(
      { project, location, cluster, key },
      options.google ?? {},
    );
    writeKubeConfig(path, kc);
    return { path, provider, server: kc.getCurrentCluster()!.server, expiresAt };
  }
  throw new ConfigError(
    `CLOUD_PROVIDER must be aws or gcp, not ${JSON.stringify(env.CLOUD_PROVIDER)}`,
    {
      key: 'CLOUD_PROVIDER',
    },
  );
}
