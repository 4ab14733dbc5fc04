import type { V1Secret } from '@kubernetes/client-node';
import type { Logger, Secret } from '@deploytag/core';
import { silentLogger } from '@deploytag/core';
import type { KubeClients } from './clients.js';
import { apiError, isConflict, isNotFound, KubeError, KubeErrorCodes } from './errors.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from './namespace.js';

/** The pull secret the original copied on GCP. */
export const GCP_PULL_SECRET = 'gcrsecret';

/** Credentials for a registry, to build a `kubernetes.io/dockerconfigjson` Secret. */
export interface RegistryCredentials {
  /** Registry host (`ghcr.io`, `127.0.0.1:5000`). */
  registry: string;
  /** User name. */
  username: string;
  /** Password or token. */
  password: Secret;
}

/** What {@link applyRegistrySecret} does. */
export type RegistrySecretPlan =
  | { kind: 'none'; reason: string }
  | { kind: 'copy'; name: string; from: string; namespace: string }
  | { kind: 'credentials'; name: string; namespace: string; credentials: RegistryCredentials };

/** Input of {@link planRegistrySecret}. */
export interface RegistrySecretInput {
  /** `CLOUD_PROVIDER`. */
  cloudProvider: 'aws' | 'gcp';
  /** The namespace to give the pull secret. */
  namespace: string;
  /** Credentials of a registry (generic, any provider); beats the provider's behaviour. */
  credentials?: RegistryCredentials;
  /** Name of the pull secret; `gcrsecret` by default. */
  name?: string;
  /** Where the GCP pull secret is copied from; `default` by default. */
  sourceNamespace?: string;
}

/**
 * Decides how a namespace gets its image pull secret (pure): explicit credentials → a
 * dockerconfigjson Secret; GCP → copy `gcrsecret` from the default namespace; AWS → nothing
 * (EKS nodes pull from ECR with their instance role). Nothing is needed in the source namespace
 * itself.
 *
 * @param input - provider, namespace, optional credentials
 */
export function planRegistrySecret(input: RegistrySecretInput): RegistrySecretPlan {
  const name = input.name ?? GCP_PULL_SECRET;
  const from = input.sourceNamespace ?? 'default';
  if (input.credentials !== undefined) {
    return {
      kind: 'credentials',
      name,
      namespace: input.namespace,
      credentials: input.credentials,
    };
  }
  if (input.cloudProvider === 'aws') {
    return { kind: 'none', reason: 'on AWS the nodes pull from ECR themselves' };
  }
  if (input.namespace === from) {
    return { kind: 'none', reason: `${name} already lives in ${from}` };
  }
  return { kind: 'copy', name, from, namespace: input.namespace };
}

/** The `.dockerconfigjson` of registry credentials (pure). */
export function dockerConfigJson(credentials: RegistryCredentials): string {
  const auth = Buffer.from(`${credentials.username}:${credentials.password.reveal()}`).toString(
    'base64',
  );
  return JSON.stringify({ auths: { [credentials.registry]: { auth } } });
}

async function upsertSecret(clients: KubeClients, body: V1Secret): Promise<void> {
  const name = body.metadata!.name!;
  const namespace = body.metadata!.namespace!;
  for (let attempt = 0; ; attempt++) {
    try {
      let live: V1Secret | undefined;
      try {
        live = await clients.core.readNamespacedSecret({ name, namespace });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      if (live === undefined) {
        await clients.core.createNamespacedSecret({ namespace, body });
      } else if (
        JSON.stringify(live.data) !== JSON.stringify(body.data) ||
        live.type !== body.type
      ) {
        await clients.core.replaceNamespacedSecret({
          name,
          namespace,
          body: Object.assign(structuredClone(body), {
            metadata: Object.assign(structuredClone(body.metadata ?? {}), {
              resourceVersion: live.metadata?.resourceVersion,
            }),
          }),
        });
      }
      return;
    } catch (error) {
      if (isConflict(error) && attempt < 5) continue;
      throw apiError(`writing pull secret ${namespace}/${name}`, error);
    }
  }
}

async function addToDefaultServiceAccount(
  clients: KubeClients,
  namespace: string,
  name: string,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const sa = await clients.core.readNamespacedServiceAccount({ name: 'default', namespace });
      const refs = sa.imagePullSecrets ?? [];
      if (refs.some((r) => r.name === name)) return;
      sa.imagePullSecrets = [...refs, { name }];
      await clients.core.replaceNamespacedServiceAccount({ name: 'default', namespace, body: sa });
      return;
    } catch (error) {
      // A new namespace's default ServiceAccount appears a moment after the namespace.
      if ((isConflict(error) || isNotFound(error)) && attempt < 40) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      throw apiError(`adding ${name} to the default ServiceAccount of ${namespace}`, error);
    }
  }
}

/**
 * Gives a namespace its image pull secret (see {@link planRegistrySecret}) and adds it to the
 * namespace's default ServiceAccount. Idempotent.
 *
 * @param clients - the API clients
 * @param plan - from {@link planRegistrySecret}
 * @param logger - progress
 */
export async function applyRegistrySecret(
  clients: KubeClients,
  plan: RegistrySecretPlan,
  logger: Logger = silentLogger,
): Promise<void> {
  if (plan.kind === 'none') {
    logger.debug(`no pull secret needed: ${plan.reason}`);
    return;
  }
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY };
  if (plan.kind === 'copy') {
    let source: V1Secret;
    try {
      source = await clients.core.readNamespacedSecret({ name: plan.name, namespace: plan.from });
    } catch (error) {
      if (isNotFound(error)) {
        throw new KubeError(
          KubeErrorCodes.API,
          `the pull secret ${plan.name} does not exist in namespace ${plan.from}; create it there (kubectl create secret docker-registry ${plan.name} -n ${plan.from} …) or give registry credentials`,
        );
      }
      throw apiError(`reading pull secret ${plan.from}/${plan.name}`, error);
    }
    await upsertSecret(clients, {
      apiVersion: 'v1',
      kind: 'Secret',
      type: source.type ?? 'kubernetes.io/dockerconfigjson',
      metadata: { name: plan.name, namespace: plan.namespace, labels },
      data: source.data ?? {},
    });
  } else {
    await upsertSecret(clients, {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/dockerconfigjson',
      metadata: { name: plan.name, namespace: plan.namespace, labels },
      data: {
        '.dockerconfigjson': Buffer.from(dockerConfigJson(plan.credentials)).toString('base64'),
      },
    });
  }
  await addToDefaultServiceAccount(clients, plan.namespace, plan.name);
  logger.info(
    `pull secret ${plan.name} is in namespace ${plan.namespace} and used by its default ServiceAccount`,
  );
}
