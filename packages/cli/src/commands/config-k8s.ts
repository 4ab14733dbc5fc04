import { defineCommand } from '../command.js';

/** Options of `deploytag config-k8s`. */
export interface ConfigK8sCommandOptions {
  output?: string;
}

/** `deploytag config-k8s`: the original `config_k8s.sh`, without the aws or gcloud CLI. */
export const configK8sCommand = defineCommand<ConfigK8sCommandOptions>({
  name: 'config-k8s',
  original: 'config_k8s.sh',
  summary: 'write the kubeconfig for the EKS or GKE cluster (mode 0600)',
  define(cmd) {
    cmd
      .option('-o, --output <file>', 'where to write (default: $KUBECONFIG, else ~/.kube/config)')
      .addHelpText(
        'after',
        '\nExamples:\n  AWS_DEFAULT_REGION=eu-west-1 AWS_CLUSTER_NAME=prod deploytag config-k8s\n  CLOUD_PROVIDER=gcp GOOGLE_PROJECT_ID=p GOOGLE_COMPUTE_ZONE=europe-west1-b GOOGLE_CLUSTER_NAME=c GCLOUD_SERVICE_KEY="$(cat key.json)" deploytag config-k8s\n\nThe file holds a short-lived token (15 minutes on EKS, 1 hour on GKE).\nCLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER sets another GKE API endpoint, as for gcloud.',
      );
  },
  async run(_args, options, io) {
    const { configK8s } = await import('@deploytag/kube');
    // gcloud's own override of the GKE API endpoint (regional or private endpoints); the AWS SDK
    // reads AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_EKS itself.
    const containerApi = io.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER?.trim();
    const result = await configK8s({
      env: io.env,
      ...(options.output === undefined ? {} : { output: options.output }),
      ...(containerApi ? { google: { containerApi } } : {}),
    });
    io.out(
      io.json
        ? JSON.stringify(result)
        : `wrote ${result.path} for ${result.server} (${result.provider}; token valid until ${result.expiresAt.toISOString()})`,
    );
    return 0;
  },
});
