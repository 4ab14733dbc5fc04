import { defineCommand } from '../command.js';
import { branchNamespace } from './branch-namespace.js';

/** Options of `deploytag apply-registry-secret`. */
export interface ApplyRegistrySecretOptions {
  namespace?: string;
  name?: string;
  registry?: string;
  username?: string;
}

/** `deploytag apply-registry-secret`: the original `apply_registry_secret.sh`. */
export const applyRegistrySecretCommand = defineCommand<ApplyRegistrySecretOptions>({
  name: 'apply-registry-secret',
  original: 'apply_registry_secret.sh',
  summary: "give the branch's namespace its image pull secret (GCP: copy gcrsecret; AWS: nothing)",
  define(cmd) {
    cmd
      .option(
        '-n, --namespace <name>',
        "the namespace (default: the branch's, from the CI variables)",
      )
      .option('--name <secret>', 'the pull secret name', 'gcrsecret')
      .option(
        '--registry <host>',
        'make the secret from credentials for this registry (password in DEPLOYTAG_REGISTRY_PASSWORD)',
      )
      .option('--username <user>', 'the registry user for --registry')
      .addHelpText(
        'after',
        '\nExamples:\n  CLOUD_PROVIDER=gcp deploytag apply-registry-secret\n  DEPLOYTAG_REGISTRY_PASSWORD=… deploytag apply-registry-secret --registry ghcr.io --username bot -n feature-x',
      );
  },
  async run(_args, options, io) {
    const { ConfigError, Secret, UsageError } = await import('@deploytag/core');
    const kube = await import('@deploytag/kube');
    const namespace = options.namespace ?? (await branchNamespace(io.env));
    const cloud = (io.env.CLOUD_PROVIDER ?? '').trim().toLowerCase() || 'aws';
    if (cloud !== 'aws' && cloud !== 'gcp') {
      throw new ConfigError(`CLOUD_PROVIDER must be aws or gcp, not ${JSON.stringify(cloud)}`, {
        key: 'CLOUD_PROVIDER',
      });
    }
    let credentials;
    if (options.registry !== undefined) {
      const password = io.env.DEPLOYTAG_REGISTRY_PASSWORD;
      if (options.username === undefined || password === undefined || password === '') {
        throw new UsageError(
          '--registry needs --username and the password in DEPLOYTAG_REGISTRY_PASSWORD',
        );
      }
      credentials = {
        registry: options.registry,
        username: options.username,
        password: Secret.of(password),
      };
      io.redactor.add(credentials.password);
    }
    const plan = kube.planRegistrySecret({
      cloudProvider: cloud,
      namespace,
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(credentials === undefined ? {} : { credentials }),
    });
    const clients = kube.createKubeClients(kube.loadKubeConfig({ env: io.env }));
    await kube.applyRegistrySecret(clients, plan, io.logger);
    io.out(
      io.json
        ? JSON.stringify({ namespace, action: plan.kind })
        : plan.kind === 'none'
          ? `nothing to do: ${plan.reason}`
          : `pull secret applied in ${namespace}`,
    );
    return 0;
  },
});
