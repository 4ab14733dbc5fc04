import type { V1Namespace } from '@kubernetes/client-node';
import { dnsLabel } from '@deploytag/context';
import type { Logger } from '@deploytag/core';
import { silentLogger } from '@deploytag/core';
import type { KubeClients } from './clients.js';
import { KubeError, KubeErrorCodes, apiError, isConflict, isNotFound } from './errors.js';

/** The label every object DeployTag creates carries. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** Its value. */
export const MANAGED_BY = 'deploytag';
/** Label: the repository (label-safe form). */
export const REPO_LABEL = 'deploytag.dev/repo';
/** Label: the environment kind (`preview`, `staging`, …). */
export const ENVIRONMENT_LABEL = 'deploytag.dev/environment';
/** Annotation: the raw branch name. */
export const BRANCH_ANNOTATION = 'deploytag.dev/branch';
/** Annotation: when the last deploy started (ISO time). */
export const DEPLOYED_AT_ANNOTATION = 'deploytag.dev/deployed-at';

/** What a namespace should be. */
export interface NamespaceWant {
  /** Exact name. */
  name: string;
  /** The repository name. */
  repo: string;
  /** The environment kind. */
  kind: string;
  /** The raw branch, if any. */
  branch: string | undefined;
  /** The deploy time recorded in the annotation. */
  now: Date;
}

/** What {@link planNamespace} decided. */
export type NamespacePlan =
  | { action: 'create'; body: V1Namespace }
  | { action: 'update'; body: V1Namespace }
  | { action: 'refuse'; reason: string };

/** A label value for any text: kept when valid, else made a DNS label (stable, hashed). */
export function labelValue(text: string): string {
  return /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/.test(text)
    ? text
    : dnsLabel(text);
}

/**
 * Decides what to do about a branch's namespace, given what exists (found by exact name).
 * Creates it when missing; updates the deploy time when it is ours for the same repository and
 * branch; refuses an unlabelled namespace (never adopted) or one that records another branch or
 * repository (two branches may map to one name).
 *
 * @param existing - the namespace of that exact name, or undefined
 * @param want - the wanted name, owner facts and time
 */
export function planNamespace(
  existing: V1Namespace | undefined,
  want: NamespaceWant,
): NamespacePlan {
  const labels = {
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [REPO_LABEL]: labelValue(want.repo),
    [ENVIRONMENT_LABEL]: labelValue(want.kind),
  };
  const annotations: Record<string, string> = { [DEPLOYED_AT_ANNOTATION]: want.now.toISOString() };
  if (want.branch !== undefined) annotations[BRANCH_ANNOTATION] = want.branch;
  if (existing === undefined) {
    return { action: 'create', body: { metadata: { name: want.name, labels, annotations } } };
  }
  const have = existing.metadata?.labels ?? {};
  const notes = existing.metadata?.annotations ?? {};
  if (have[MANAGED_BY_LABEL] !== MANAGED_BY) {
    return {
      action: 'refuse',
      reason: `namespace ${want.name} exists but was not created by DeployTag (no ${MANAGED_BY_LABEL}=${MANAGED_BY} label); it is never adopted: delete or rename it, or deploy with another namespace`,
    };
  }
  if (have[REPO_LABEL] !== undefined && have[REPO_LABEL] !== labels[REPO_LABEL]) {
    return {
      action: 'refuse',
      reason: `namespace ${want.name} belongs to repository ${have[REPO_LABEL]}, not ${want.repo}; set a different namespace for one of them`,
    };
  }
  const owner = notes[BRANCH_ANNOTATION];
  if (owner !== undefined && want.branch !== undefined && owner !== want.branch) {
    return {
      action: 'refuse',
      reason: `namespace ${want.name} belongs to branch ${JSON.stringify(owner)}, not ${JSON.stringify(want.branch)} (both map to the same name); rename one branch or remove the other's environment first`,
    };
  }
  if (existing.metadata?.deletionTimestamp !== undefined) {
    return {
      action: 'refuse',
      reason: `namespace ${want.name} is being deleted; wait until it is gone and deploy again`,
    };
  }
  const body = structuredClone(existing);
  body.metadata = body.metadata ?? {};
  body.metadata.labels = { ...have, ...labels };
  body.metadata.annotations = { ...notes, ...annotations };
  return { action: 'update', body };
}

/**
 * Ensures a branch's namespace exists and is ours (see {@link planNamespace}), creating or
 * updating it.
 *
 * @param clients - the API clients
 * @param want - the wanted namespace
 * @param logger - progress
 * @returns whether it was created
 * @throws KubeError `E_KUBE_NAMESPACE_NOT_OURS` when it must not be touched
 */
export async function ensureNamespace(
  clients: KubeClients,
  want: NamespaceWant,
  logger: Logger = silentLogger,
): Promise<{ created: boolean }> {
  for (let attempt = 0; ; attempt++) {
    let existing: V1Namespace | undefined;
    try {
      existing = await clients.core.readNamespace({ name: want.name });
    } catch (error) {
      if (!isNotFound(error)) throw apiError(`reading namespace ${want.name}`, error);
    }
    const plan = planNamespace(existing, want);
    try {
      if (plan.action === 'refuse') {
        throw new KubeError(KubeErrorCodes.NAMESPACE_NOT_OURS, plan.reason, {
          details: { namespace: want.name },
        });
      }
      if (plan.action === 'create') {
        await clients.core.createNamespace({ body: plan.body });
        logger.info(`created namespace ${want.name}`);
        return { created: true };
      }
      await clients.core.replaceNamespace({ name: want.name, body: plan.body });
      logger.debug(`namespace ${want.name} is ours; recorded the deploy time`);
      return { created: false };
    } catch (error) {
      if (error instanceof KubeError) throw error;
      if (isConflict(error) && attempt < 5) continue;
      throw apiError(
        `${plan.action === 'create' ? 'creating' : 'updating'} namespace ${want.name}`,
        error,
      );
    }
  }
}

/**
 * Whether a namespace exists (by exact name).
 *
 * @param clients - the API clients
 * @param name - the namespace
 */
export async function namespaceExists(clients: KubeClients, name: string): Promise<boolean> {
  try {
    await clients.core.readNamespace({ name });
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw apiError(`reading namespace ${name}`, error);
  }
}
