import { createHash } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { Logger, Secret } from '@deploytag/core';
import { ConfigError, silentLogger } from '@deploytag/core';
import type { KubeClients } from './clients.js';
import { apiError, isConflict, isNotFound } from './errors.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from './namespace.js';

/** Annotation holding the checksum of an environment Secret's data. */
export const CHECKSUM_ANNOTATION = 'deploytag.dev/checksum';

/** The environment Secret of a release. */
export interface EnvSecretSpec {
  /** Namespace. */
  namespace: string;
  /** Secret name (see {@link envSecretName}). */
  name: string;
  /** The release it belongs to (label `app.kubernetes.io/instance`). */
  release: string;
  /** The application's variables. */
  data: Readonly<Record<string, Secret>>;
}

/** The environment Secret's name for a release: `<release>-env`. */
export function envSecretName(release: string): string {
  return `${release}-env`;
}

/**
 * SHA-256 (hex) of the data, independent of key order: hand it to the chart as a pod annotation
 * so that pods roll exactly when a value changes.
 *
 * @param data - the variables
 */
export function envChecksum(data: Readonly<Record<string, Secret>>): string {
  const hash = createHash('sha256');
  for (const key of Object.keys(data).sort()) {
    hash.update(`${key.length}:${key}`);
    const value = data[key]!.reveal();
    hash.update(`${Buffer.byteLength(value)}:${value}`);
  }
  return hash.digest('hex');
}

const ENV_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * The Secret object for a spec (pure). Keys must be valid Secret keys.
 *
 * @param spec - namespace, name, release and data
 * @throws ConfigError for a key Kubernetes does not accept
 */
export function envSecretBody(spec: EnvSecretSpec): V1Secret {
  const data: Record<string, string> = {};
  for (const key of Object.keys(spec.data).sort()) {
    if (!ENV_KEY.test(key)) {
      throw new ConfigError(
        `the environment variable name ${JSON.stringify(key)} cannot be a Secret key; use letters, digits, '-', '_' and '.' only`,
        { key },
      );
    }
    data[key] = Buffer.from(spec.data[key]!.reveal(), 'utf8').toString('base64');
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, 'app.kubernetes.io/instance': spec.release },
      annotations: { [CHECKSUM_ANNOTATION]: envChecksum(spec.data) },
    },
    data,
  };
}

function sameData(
  a: Record<string, string> | undefined,
  b: Record<string, string> | undefined,
): boolean {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b ?? {}).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a?.[k] === b?.[k]);
}

/**
 * Applies the environment Secret idempotently: creates it, replaces it when its data differs,
 * and leaves it alone (no write) when it is already as wanted.
 *
 * @param clients - the API clients
 * @param spec - the Secret
 * @param logger - progress (never the values)
 * @returns the checksum to hand to the chart, and what was done
 */
export async function applyEnvSecret(
  clients: KubeClients,
  spec: EnvSecretSpec,
  logger: Logger = silentLogger,
): Promise<{ checksum: string; action: 'created' | 'updated' | 'unchanged' }> {
  const body = envSecretBody(spec);
  const checksum = body.metadata!.annotations![CHECKSUM_ANNOTATION]!;
  for (let attempt = 0; ; attempt++) {
    let live: V1Secret | undefined;
    try {
      live = await clients.core.readNamespacedSecret({
        name: spec.name,
        namespace: spec.namespace,
      });
    } catch (error) {
      if (!isNotFound(error))
        throw apiError(`reading Secret ${spec.namespace}/${spec.name}`, error);
    }
    try {
      if (live === undefined) {
        await clients.core.createNamespacedSecret({ namespace: spec.namespace, body });
        logger.info(`created Secret ${spec.name} with ${Object.keys(spec.data).length} variables`);
        return { checksum, action: 'created' };
      }
      if (
        sameData(live.data, body.data) &&
        live.type === 'Opaque' &&
        live.metadata?.annotations?.[CHECKSUM_ANNOTATION] === checksum
      ) {
        logger.debug(`Secret ${spec.name} is unchanged`);
        return { checksum, action: 'unchanged' };
      }
      const replacement = envSecretBody(spec);
      replacement.metadata!.resourceVersion = live.metadata?.resourceVersion;
      await clients.core.replaceNamespacedSecret({
        name: spec.name,
        namespace: spec.namespace,
        body: replacement,
      });
      logger.info(`updated Secret ${spec.name} (${Object.keys(spec.data).length} variables)`);
      return { checksum, action: 'updated' };
    } catch (error) {
      if ((isConflict(error) || isNotFound(error)) && attempt < 5) continue;
      throw apiError(`writing Secret ${spec.namespace}/${spec.name}`, error);
    }
  }
}
