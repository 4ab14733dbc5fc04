import type { Logger } from '@deploytag/core';
import { silentLogger } from '@deploytag/core';
import { HelmError, HelmErrorCodes } from './errors.js';
import type { Helm } from './helm.js';
import type { Values } from './values.js';

/** Helm's release states. */
export type ReleaseStatus =
  | 'unknown'
  | 'deployed'
  | 'uninstalled'
  | 'superseded'
  | 'failed'
  | 'uninstalling'
  | 'pending-install'
  | 'pending-upgrade'
  | 'pending-rollback';

/** One revision of `helm history -o json`. */
export interface ReleaseRevision {
  /** The revision number. */
  revision: number;
  /** When it was made. */
  updated: string;
  /** Its state. */
  status: ReleaseStatus;
  /** `name-version` of the chart. */
  chart: string;
  /** The app version. */
  app_version?: string;
  /** What happened. */
  description: string;
}

/** The parts of `helm status -o json` used here. */
export interface ReleaseStatusInfo {
  /** Release name. */
  name: string;
  /** Namespace. */
  namespace: string;
  /** Current revision. */
  version: number;
  /** Info: status, times, description, notes. */
  info: { status: ReleaseStatus; description?: string; last_deployed?: string; notes?: string };
}

function isNotFound(stderr: string): boolean {
  return /not found/i.test(stderr);
}

function lastLine(stderr: string): string {
  return stderr.trim().split('\n').pop() ?? '';
}

/**
 * `helm status -o json`, or undefined when the release does not exist.
 *
 * @param helm - the helm runner
 * @param release - the release
 * @param namespace - its namespace
 */
export async function releaseStatus(
  helm: Helm,
  release: string,
  namespace: string,
): Promise<ReleaseStatusInfo | undefined> {
  const r = await helm.run(['status', release, '--output', 'json'], {
    namespace,
    allowFailure: true,
    quiet: true,
    timeoutMs: 60_000,
  });
  if (r.code !== 0) {
    if (isNotFound(r.stderr)) return undefined;
    throw new HelmError(
      HelmErrorCodes.NOT_FOUND,
      `helm status ${release} failed: ${lastLine(r.stderr)}`,
    );
  }
  return JSON.parse(r.stdout) as ReleaseStatusInfo;
}

/**
 * `helm history -o json` (oldest first), empty when the release does not exist.
 *
 * @param helm - the helm runner
 * @param release - the release
 * @param namespace - its namespace
 * @param max - most revisions to read
 */
export async function releaseHistory(
  helm: Helm,
  release: string,
  namespace: string,
  max = 20,
): Promise<ReleaseRevision[]> {
  const r = await helm.run(['history', release, '--max', String(max), '--output', 'json'], {
    namespace,
    allowFailure: true,
    quiet: true,
    timeoutMs: 60_000,
  });
  if (r.code !== 0) {
    if (isNotFound(r.stderr)) return [];
    throw new HelmError(
      HelmErrorCodes.NOT_FOUND,
      `helm history ${release} failed: ${lastLine(r.stderr)}`,
    );
  }
  return (JSON.parse(r.stdout) as ReleaseRevision[]).sort((a, b) => a.revision - b.revision);
}

/**
 * `helm get values -o json` (the user-supplied values, or all with `all`).
 *
 * @param helm - the helm runner
 * @param release - the release
 * @param namespace - its namespace
 * @param all - include the chart's defaults
 */
export async function releaseValues(
  helm: Helm,
  release: string,
  namespace: string,
  all = false,
): Promise<Values> {
  const args = ['get', 'values', release, '--output', 'json', ...(all ? ['--all'] : [])];
  const r = await helm.run(args, { namespace, timeoutMs: 60_000 });
  const parsed = JSON.parse(r.stdout || 'null') as Values | null;
  return parsed ?? {};
}

/**
 * `helm get manifest`, or undefined when the release does not exist.
 *
 * @param helm - the helm runner
 * @param release - the release
 * @param namespace - its namespace
 */
export async function releaseManifest(
  helm: Helm,
  release: string,
  namespace: string,
): Promise<string | undefined> {
  const r = await helm.run(['get', 'manifest', release], {
    namespace,
    allowFailure: true,
    quiet: true,
    timeoutMs: 60_000,
  });
  if (r.code !== 0) {
    if (isNotFound(r.stderr)) return undefined;
    throw new HelmError(
      HelmErrorCodes.NOT_FOUND,
      `helm get manifest ${release} failed: ${lastLine(r.stderr)}`,
    );
  }
  return r.stdout;
}

/**
 * `helm uninstall --wait`; a release that does not exist is not an error.
 *
 * @param helm - the helm runner
 * @param release - the release
 * @param namespace - its namespace
 * @param timeoutMs - how long to wait for its resources to go
 * @returns whether there was something to uninstall
 */
export async function uninstallRelease(
  helm: Helm,
  release: string,
  namespace: string,
  timeoutMs = 300_000,
): Promise<boolean> {
  const r = await helm.run(
    ['uninstall', release, '--wait', '--timeout', `${Math.ceil(timeoutMs / 1000)}s`],
    { namespace, allowFailure: true, timeoutMs: timeoutMs + 30_000 },
  );
  if (r.code === 0) return true;
  if (isNotFound(r.stderr)) return false;
  throw new HelmError(
    HelmErrorCodes.NOT_FOUND,
    `helm uninstall ${release} failed: ${lastLine(r.stderr)}`,
  );
}

/** What {@link planRecovery} decided. */
export type RecoveryPlan =
  | { action: 'none' }
  | { action: 'rollback'; revision: number; stuck: ReleaseRevision; reason: string }
  | { action: 'uninstall'; stuck: ReleaseRevision; reason: string };

const PENDING = new Set<ReleaseStatus>(['pending-install', 'pending-upgrade', 'pending-rollback']);

/** How helm describes a revision it marked failed because it was stopped (SIGTERM, SIGINT). */
const INTERRUPTED = /\bcontext canceled\b/;

/**
 * Decides how to unstick a release from its history (pure). A last revision left pending (a
 * cancelled or killed helm) is rolled back to the newest revision that was deployed, or
 * uninstalled when none ever was; so is a last revision helm marked failed because it was stopped
 * part way ("context canceled"): its changes are partly live, and an upgrade would not undo them
 * (helm diffs against the last deployed revision). A release left `uninstalling` (an uninstall
 * that was killed) or `unknown`, and one whose revisions all failed (Helm's "has no deployed
 * releases"), is uninstalled so the next install starts clean. Anything else needs nothing.
 *
 * @param history - oldest first
 */
export function planRecovery(history: readonly ReleaseRevision[]): RecoveryPlan {
  const last = history[history.length - 1];
  if (last === undefined) return { action: 'none' };
  const good = [...history]
    .reverse()
    .find(
      (r) => r.revision !== last.revision && (r.status === 'deployed' || r.status === 'superseded'),
    );
  if (PENDING.has(last.status)) {
    if (good !== undefined) {
      return {
        action: 'rollback',
        revision: good.revision,
        stuck: last,
        reason: `revision ${last.revision} was left ${last.status} (a deploy was interrupted); rolling back to revision ${good.revision}, the last one deployed`,
      };
    }
    return {
      action: 'uninstall',
      stuck: last,
      reason: `revision ${last.revision} was left ${last.status} and no revision was ever deployed; uninstalling so that it can be installed again`,
    };
  }
  if (last.status === 'failed' && good !== undefined && INTERRUPTED.test(last.description)) {
    return {
      action: 'rollback',
      revision: good.revision,
      stuck: last,
      reason: `revision ${last.revision} was stopped part way (${last.description}); rolling back to revision ${good.revision}, the last one deployed, so that none of its changes stay live`,
    };
  }
  if (last.status === 'uninstalling' || last.status === 'unknown') {
    // helm upgrade refuses such a release ("has no deployed releases"): finish the uninstall.
    return {
      action: 'uninstall',
      stuck: last,
      reason: `revision ${last.revision} was left ${last.status} (${last.status === 'uninstalling' ? 'an uninstall was interrupted' : 'helm does not know its state'}); uninstalling it fully so that it can be installed again`,
    };
  }
  if (history.every((r) => r.status === 'failed')) {
    return {
      action: 'uninstall',
      stuck: last,
      reason:
        'the release has no deployed revision (every revision failed); uninstalling so that it can be installed again',
    };
  }
  return { action: 'none' };
}

/**
 * Applies a {@link RecoveryPlan} (run it while holding the deploy lock), saying what it does in
 * one line.
 *
 * @param helm - the helm runner
 * @param release - the release
 * @param namespace - its namespace
 * @param plan - from {@link planRecovery}
 * @param options - time limit and logger
 */
export async function recoverRelease(
  helm: Helm,
  release: string,
  namespace: string,
  plan: RecoveryPlan,
  options: { timeoutMs?: number; logger?: Logger } = {},
): Promise<void> {
  const logger = options.logger ?? silentLogger;
  const timeoutMs = options.timeoutMs ?? 300_000;
  if (plan.action === 'none') return;
  logger.warn(`release ${release}: ${plan.reason}`);
  if (plan.action === 'rollback') {
    await helm.run(
      [
        'rollback',
        release,
        String(plan.revision),
        '--wait',
        '--timeout',
        `${Math.ceil(timeoutMs / 1000)}s`,
      ],
      { namespace, timeoutMs: timeoutMs + 30_000 },
    );
  } else {
    await uninstallRelease(helm, release, namespace, timeoutMs);
  }
}
