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
        '\nExamples:\n  AWS_DEFAULT_REGION=eu-west-1 AWS_CLUSTER_NAME=prod deploytag config-k8s\n  CLOUD_PROVIDER=gcp GOOGLE_PROJECT_ID=p GOOGLE_COMPUTE_ZONE=europe-west1-b GOOGLE_CLUSTER_NAME=c GCLOUD_SERVICE_KEY="$(cat key.json)" deploytag config-k8s\n\nThe file holds a short-lived token (15 minutes on EKS, 1 hour on GKE).',
      );
  },
  async run(_args, options, io) {
    const { configK8s } = await import('@deploytag/kube');
    const result = await configK8s({
      env: io.env,
      ...(options.output === undefined ? {} : { output: options.output }),
    });
    io.out(
      io.json
        ? JSON.stringify(result)
        : `wrote ${result.path} for ${result.server} (${result.provider}; token valid until ${result.expiresAt.toISOString()})`,
    );
    return 0;
  },
});
