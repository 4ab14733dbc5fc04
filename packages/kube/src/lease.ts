import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { V1MicroTime } from '@kubernetes/client-node';
import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from '@deploytag/core';
import { silentLogger } from '@deploytag/core';
import type { KubeClients } from './clients.js';
import { KubeError, KubeErrorCodes, apiError, isConflict, isNotFound } from './errors.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from './namespace.js';

/** A lease as far as locking is concerned. */
export interface LeaseState {
  /** Current holder, if any. */
  holder: string | undefined;
  /** Last renewal (or acquisition). */
  renewedAt: Date | undefined;
  /** Seconds the holder may go without renewing. */
  durationSeconds: number;
}

/** What {@link planLease} decided. */
export type LeasePlan =
  | { action: 'create' }
  | { action: 'take'; takeover: boolean; previous: string | undefined }
  | { action: 'wait'; holder: string; expiresAt: Date };

/**
 * Decides whether `me` may take a lease (pure): create it when missing, take it when free, held
 * by `me`, or expired (a takeover), else wait for its holder.
 *
 * @param lease - the lease, or undefined when there is none
 * @param me - this process's holder identity
 * @param now - the time
 */
export function planLease(lease: LeaseState | undefined, me: string, now: Date): LeasePlan {
  if (lease === undefined) return { action: 'create' };
  if (lease.holder === undefined || lease.holder === '' || lease.holder === me) {
    return { action: 'take', takeover: false, previous: lease.holder };
  }
  const renewed = lease.renewedAt?.getTime() ?? 0;
  const expiresAt = new Date(renewed + lease.durationSeconds * 1000);
  if (expiresAt.getTime() <= now.getTime()) {
    return { action: 'take', takeover: true, previous: lease.holder };
  }
  return { action: 'wait', holder: lease.holder, expiresAt };
}

/** A holder identity: host, process and a random part, plus a description (the CI job). */
export function holderIdentity(description?: string): string {
  const base = `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  return description ? `${description} (${base})` : base;
}

function stateOf(lease: V1Lease): LeaseState {
  const renew = lease.spec?.renewTime ?? lease.spec?.acquireTime;
  return {
    holder: lease.spec?.holderIdentity,
    renewedAt: renew === undefined ? undefined : new Date(renew),
    durationSeconds: lease.spec?.leaseDurationSeconds ?? 60,
  };
}

/** Options of {@link acquireLease}. */
export interface AcquireLeaseOptions {
  /** Namespace of the lease. */
  namespace: string;
  /** Lease name (see {@link lockName}). */
  name: string;
  /** Holder identity (see {@link holderIdentity}). */
  holder: string;
  /** Seconds the lease lasts without renewal; 60 by default. It is renewed every third of it. */
  durationSeconds?: number;
  /** Longest wait for another holder; 15 minutes by default. */
  waitTimeoutMs?: number;
  /** Poll interval while waiting; 2 s by default. */
  pollMs?: number;
  /** Stops waiting. */
  signal?: AbortSignal;
  /** Progress: one line when waiting, one on a takeover. */
  logger?: Logger;
}

/** A held lease; `release()` gives it up and stops the renewal. */
export interface HeldLease {
  /** The holder identity. */
  holder: string;
  /** Gives the lease up (deletes it when still ours) and stops renewing. */
  release(): Promise<void>;
}

/** The name of a release's deploy lease. */
export function lockName(release: string): string {
  return `deploytag-deploy-${release}`;
}

/**
 * Takes a `coordination.k8s.io` Lease (one deploy at a time per release): creates it, takes a free
 * or expired one, or waits for its holder, saying who holds it. While held it is renewed in the
 * background every third of its duration.
 *
 * @param clients - the API clients
 * @param options - lease, holder, timing
 * @throws KubeError `E_KUBE_LOCKED` when the wait times out
 */
export async function acquireLease(
  clients: KubeClients,
  options: AcquireLeaseOptions,
): Promise<HeldLease> {
  const logger = options.logger ?? silentLogger;
  const duration = options.durationSeconds ?? 60;
  const waitTimeout = options.waitTimeoutMs ?? 900_000;
  const started = Date.now();
  const { namespace, name, holder } = options;
  let waitingFor: string | undefined;
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason;
    let live: V1Lease | undefined;
    try {
      live = await clients.coordination.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (!isNotFound(error)) throw apiError(`reading lease ${namespace}/${name}`, error);
    }
    const now = new Date();
    const plan = planLease(live === undefined ? undefined : stateOf(live), holder, now);
    const spec = {
      holderIdentity: holder,
      leaseDurationSeconds: duration,
      acquireTime: new V1MicroTime(now.getTime()),
      renewTime: new V1MicroTime(now.getTime()),
    };
    try {
      if (plan.action === 'create') {
        await clients.coordination.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } }, spec },
        });
        break;
      }
      if (plan.action === 'take') {
        await clients.coordination.replaceNamespacedLease({
          name,
          namespace,
          body: {
            metadata: live?.metadata ?? { name, namespace },
            spec: {
              ...spec,
              leaseTransitions:
                (live?.spec?.leaseTransitions ?? 0) + (plan.previous === holder ? 0 : 1),
            },
          },
        });
        if (plan.takeover)
          logger.warn(
            `took over the deploy lock ${name} from ${plan.previous ?? '?'}, whose lease had expired`,
          );
        break;
      }
    } catch (error) {
      if (isConflict(error)) continue; // someone else was faster; look again
      throw apiError(`taking lease ${namespace}/${name}`, error);
    }
    {
      if (waitingFor !== plan.holder) {
        logger.info(
          `waiting for the deploy lock ${name}: held by ${plan.holder} (expires ${plan.expiresAt.toISOString()} unless renewed)`,
        );
        waitingFor = plan.holder;
      }
      if (Date.now() - started > waitTimeout) {
        throw new KubeError(
          KubeErrorCodes.LOCKED,
          `another deploy of this release is still running (lock ${namespace}/${name} held by ${plan.holder}); try again when it has finished`,
          { details: { holder: plan.holder } },
        );
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 2000));
    }
  }
  logger.debug(`holding the deploy lock ${name} as ${holder}`);
  const renewal = setInterval(
    () => {
      void (async () => {
        try {
          const lease = await clients.coordination.readNamespacedLease({ name, namespace });
          if (lease.spec?.holderIdentity !== holder) return;
          lease.spec.renewTime = new V1MicroTime();
          await clients.coordination.replaceNamespacedLease({ name, namespace, body: lease });
        } catch (error) {
          logger.debug(
            `renewing the deploy lock failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      })();
    },
    (duration * 1000) / 3,
  );
  renewal.unref();
  let released = false;
  return {
    holder,
    async release() {
      if (released) return;
      released = true;
      clearInterval(renewal);
      try {
        const lease = await clients.coordination.readNamespacedLease({ name, namespace });
        if (lease.spec?.holderIdentity !== holder) return;
        await clients.coordination.deleteNamespacedLease({
          name,
          namespace,
          body: { preconditions: { resourceVersion: lease.metadata?.resourceVersion } },
        });
      } catch (error) {
        if (!isNotFound(error) && !isConflict(error)) {
          logger.warn(
            `could not release the deploy lock ${name}: ${error instanceof Error ? error.message : String(error)}; it expires by itself`,
          );
        }
      }
    },
  };
}
