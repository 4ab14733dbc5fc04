import type {
  V1Deployment,
  V1Job,
  V1LabelSelector,
  V1Pod,
  V1StatefulSet,
} from '@kubernetes/client-node';
import type { Logger } from '@deploytag/core';
import { silentLogger } from '@deploytag/core';
import type { KubeClients } from './clients.js';

/** Annotation Helm puts on every object of a release. */
export const HELM_RELEASE_ANNOTATION = 'meta.helm.sh/release-name';

/** Why a rollout cannot finish. */
export type RolloutProblemReason =
  | 'ImagePullBackOff'
  | 'CrashLoopBackOff'
  | 'Unschedulable'
  | 'JobFailed'
  | 'ProgressDeadlineExceeded'
  | 'CreateContainerConfigError';

/** One reason a rollout is stuck. */
export interface RolloutProblem {
  /** The kind of problem. */
  reason: RolloutProblemReason;
  /** The object concerned, `Kind/name`. */
  object: string;
  /** One line for people. */
  message: string;
  /** For a pod's container: its name (to fetch logs). */
  pod?: string;
  /** The container concerned. */
  container?: string;
}

/** The release's workloads and pods at one moment. */
export interface RolloutSnapshot {
  /** Deployments of the release. */
  deployments: V1Deployment[];
  /** StatefulSets of the release. */
  statefulSets: V1StatefulSet[];
  /** Jobs of the release. */
  jobs: V1Job[];
  /** Pods of those workloads. */
  pods: V1Pod[];
}

/** What {@link diagnoseRollout} found. */
export interface RolloutDiagnosis {
  /** Every workload is ready (Deployments available and updated, Jobs complete). */
  ready: boolean;
  /** One line per workload, such as `Deployment/web 1/2 ready`. */
  progress: string[];
  /** Reasons the rollout is stuck, worst first. */
  problems: RolloutProblem[];
}

const PULL_REASONS = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'ErrImageNeverPull',
]);

function podProblems(pod: V1Pod): RolloutProblem[] {
  const name = pod.metadata?.name ?? '?';
  const object = `Pod/${name}`;
  const out: RolloutProblem[] = [];
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  for (const status of statuses) {
    const waiting = status.state?.waiting;
    const reason = waiting?.reason ?? '';
    if (PULL_REASONS.has(reason)) {
      out.push({
        reason: 'ImagePullBackOff',
        object,
        pod: name,
        container: status.name,
        message: `${object}: container ${status.name} cannot pull image ${status.image || '?'} (${reason}${waiting?.message ? `: ${waiting.message}` : ''}); check the image tag was pushed and the pull secret`,
      });
    } else if (reason === 'CrashLoopBackOff') {
      const exit = status.lastState?.terminated;
      out.push({
        reason: 'CrashLoopBackOff',
        object,
        pod: name,
        container: status.name,
        message: `${object}: container ${status.name} keeps crashing (CrashLoopBackOff, ${status.restartCount} restarts${exit ? `, last exit code ${exit.exitCode}${exit.reason ? ` ${exit.reason}` : ''}` : ''})`,
      });
    } else if (reason === 'CreateContainerConfigError') {
      out.push({
        reason: 'CreateContainerConfigError',
        object,
        pod: name,
        container: status.name,
        message: `${object}: container ${status.name} cannot start: ${waiting?.message ?? reason}`,
      });
    }
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    out.push({
      reason: 'Unschedulable',
      object,
      pod: name,
      message: `${object} cannot be scheduled: ${scheduled.message ?? 'no node fits'}; lower its resource requests or add nodes`,
    });
  }
  return out;
}

function matches(
  selector: V1LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  const wanted = selector?.matchLabels ?? {};
  const keys = Object.keys(wanted);
  if (keys.length === 0 && (selector?.matchExpressions ?? []).length === 0) return false;
  return keys.every((k) => labels?.[k] === wanted[k]);
}

/**
 * Pods that belong to the given workloads (by their selectors, or a Job's `job-name`) (pure).
 *
 * @param snapshot - workloads and all pods of the namespace
 */
export function podsOfWorkloads(snapshot: RolloutSnapshot): V1Pod[] {
  return snapshot.pods.filter((pod) => {
    const labels = pod.metadata?.labels;
    return (
      snapshot.deployments.some((d) => matches(d.spec?.selector, labels)) ||
      snapshot.statefulSets.some((s) => matches(s.spec?.selector, labels)) ||
      snapshot.jobs.some((j) => labels?.['job-name'] === j.metadata?.name)
    );
  });
}

/**
 * Says whether a release's rollout is done, how far it is, and why it is stuck (pure).
 *
 * @param snapshot - the release's workloads and their pods
 */
export function diagnoseRollout(snapshot: RolloutSnapshot): RolloutDiagnosis {
  const progress: string[] = [];
  const problems: RolloutProblem[] = [];
  let ready = true;
  for (const d of snapshot.deployments) {
    const name = `Deployment/${d.metadata?.name ?? '?'}`;
    const want = d.spec?.replicas ?? 1;
    const status = d.status ?? {};
    const current =
      (status.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
      (status.updatedReplicas ?? 0) >= want &&
      (status.availableReplicas ?? 0) >= want &&
      (status.replicas ?? 0) <= want;
    if (!current) ready = false;
    progress.push(`${name} ${status.readyReplicas ?? 0}/${want} ready`);
    const deadline = status.conditions?.find(
      (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
    );
    if (deadline !== undefined) {
      problems.push({
        reason: 'ProgressDeadlineExceeded',
        object: name,
        message: `${name} exceeded its progress deadline: ${deadline.message ?? ''}`.trim(),
      });
    }
  }
  for (const s of snapshot.statefulSets) {
    const name = `StatefulSet/${s.metadata?.name ?? '?'}`;
    const want = s.spec?.replicas ?? 1;
    if ((s.status?.readyReplicas ?? 0) < want || (s.status?.updatedReplicas ?? 0) < want)
      ready = false;
    progress.push(`${name} ${s.status?.readyReplicas ?? 0}/${want} ready`);
  }
  for (const j of snapshot.jobs) {
    const name = `Job/${j.metadata?.name ?? '?'}`;
    const failed = j.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
    const complete = j.status?.conditions?.some(
      (c) => c.type === 'Complete' && c.status === 'True',
    );
    if (!complete) ready = false;
    progress.push(`${name} ${complete ? 'complete' : failed ? 'failed' : 'running'}`);
    if (failed !== undefined) {
      problems.push({
        reason: 'JobFailed',
        object: name,
        message: `${name} failed (${failed.reason ?? 'Failed'}${failed.message ? `: ${failed.message}` : ''}, ${j.status?.failed ?? 0} failed pods)`,
      });
    }
  }
  for (const pod of podsOfWorkloads(snapshot)) {
    if (pod.metadata?.deletionTimestamp !== undefined) continue;
    problems.push(...podProblems(pod));
  }
  const order: RolloutProblemReason[] = [
    'ImagePullBackOff',
    'CrashLoopBackOff',
    'CreateContainerConfigError',
    'JobFailed',
    'Unschedulable',
    'ProgressDeadlineExceeded',
  ];
  problems.sort((a, b) => order.indexOf(a.reason) - order.indexOf(b.reason));
  return { ready, progress, problems };
}

/**
 * Reads a release's workloads (by Helm's release annotation) and the namespace's pods.
 *
 * @param clients - the API clients
 * @param namespace - the release's namespace
 * @param release - the release name
 */
export async function readRolloutSnapshot(
  clients: KubeClients,
  namespace: string,
  release: string,
): Promise<RolloutSnapshot> {
  const ours = <T extends { metadata?: { annotations?: Record<string, string> } }>(
    items: T[],
  ): T[] => items.filter((i) => i.metadata?.annotations?.[HELM_RELEASE_ANNOTATION] === release);
  const [deployments, statefulSets, jobs, pods] = await Promise.all([
    clients.apps.listNamespacedDeployment({ namespace }),
    clients.apps.listNamespacedStatefulSet({ namespace }),
    clients.batch.listNamespacedJob({ namespace }),
    clients.core.listNamespacedPod({ namespace }),
  ]);
  const jobList = ours(jobs.items);
  const jobNames = new Set(jobList.map((j) => j.metadata?.name));
  return {
    deployments: ours(deployments.items),
    statefulSets: ours(statefulSets.items),
    // Hook Jobs carry no release annotation; they are found by their pods' job-name label below.
    jobs: [
      ...jobList,
      ...jobs.items.filter(
        (j) =>
          !jobNames.has(j.metadata?.name) &&
          j.metadata?.annotations?.['helm.sh/hook'] !== undefined,
      ),
    ],
    pods: pods.items,
  };
}

/**
 * The last lines a crashing container wrote, when the cluster can give them (undefined when not).
 *
 * @param clients - the API clients
 * @param namespace - the pod's namespace
 * @param problem - a problem naming a pod and container
 * @param lines - how many lines
 */
export async function lastLogLines(
  clients: KubeClients,
  namespace: string,
  problem: RolloutProblem,
  lines = 20,
): Promise<string | undefined> {
  if (problem.pod === undefined) return undefined;
  try {
    const text = await clients.core.readNamespacedPodLog({
      name: problem.pod,
      namespace,
      ...(problem.container === undefined ? {} : { container: problem.container }),
      previous: true,
      tailLines: lines,
    });
    return typeof text === 'string' && text.trim() !== '' ? text.trimEnd() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Problems that do not go away by waiting, and may end a rollout early. `Unschedulable` is not
 * one of them: a cluster autoscaler (or a node coming back) often resolves it, so it is reported
 * and left to helm's own timeout.
 */
export const FATAL_REASONS: ReadonlySet<RolloutProblemReason> = new Set<RolloutProblemReason>([
  'ImagePullBackOff',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'JobFailed',
  'ProgressDeadlineExceeded',
]);

/** Options of {@link watchRollout}. */
export interface WatchRolloutOptions {
  /** The release's namespace. */
  namespace: string;
  /** The release. */
  release: string;
  /** Stops the watch. */
  signal: AbortSignal;
  /** Poll interval; 1 s by default. */
  intervalMs?: number;
  /**
   * A problem that lasts this long is reported as fatal through `onStuck`; 20 s by default
   * (a pull can fail once and then succeed).
   */
  stuckAfterMs?: number;
  /** Called once when a fatal problem (see {@link FATAL_REASONS}) has lasted `stuckAfterMs` (the deploy may then stop helm). */
  onStuck?: (problems: RolloutProblem[]) => void;
  /** Progress and problems. */
  logger?: Logger;
}

/**
 * Watches a release's rollout while helm waits: logs progress when it changes, warns once per
 * new problem (with the last log lines of a crashing container when the cluster has them), and
 * calls `onStuck` when a problem persists. Resolves with the last diagnosis when aborted.
 *
 * @param clients - the API clients
 * @param options - namespace, release, signal, timing, callbacks
 */
export async function watchRollout(
  clients: KubeClients,
  options: WatchRolloutOptions,
): Promise<RolloutDiagnosis> {
  const logger = options.logger ?? silentLogger;
  const interval = options.intervalMs ?? 1000;
  const stuckAfter = options.stuckAfterMs ?? 20_000;
  const firstSeen = new Map<string, number>();
  const warned = new Set<string>();
  let stuckReported = false;
  let lastProgress = '';
  let last: RolloutDiagnosis = { ready: false, progress: [], problems: [] };
  while (!options.signal.aborted) {
    try {
      last = diagnoseRollout(
        await readRolloutSnapshot(clients, options.namespace, options.release),
      );
      const progress = last.progress.join(', ');
      if (progress !== lastProgress && progress !== '') logger.info(progress);
      lastProgress = progress;
      const now = Date.now();
      const current = new Set<string>();
      for (const problem of last.problems) {
        const key = `${problem.reason} ${problem.object}`;
        current.add(key);
        if (!firstSeen.has(key)) firstSeen.set(key, now);
        if (!warned.has(key)) {
          warned.add(key);
          let message = problem.message;
          if (problem.reason === 'CrashLoopBackOff') {
            const logs = await lastLogLines(clients, options.namespace, problem);
            if (logs !== undefined) {
              problem.message = `${message}; last log lines:\n${logs}`;
              message = problem.message;
            }
          }
          logger.warn(message, { reason: problem.reason });
        }
      }
      for (const key of firstSeen.keys()) if (!current.has(key)) firstSeen.delete(key);
      const stuck = last.problems.filter(
        (p) =>
          FATAL_REASONS.has(p.reason) &&
          now - (firstSeen.get(`${p.reason} ${p.object}`) ?? now) >= stuckAfter,
      );
      if (stuck.length > 0 && !stuckReported) {
        stuckReported = true;
        options.onStuck?.(stuck);
      }
    } catch (error) {
      logger.debug(`rollout watch: ${error instanceof Error ? error.message : String(error)}`);
    }
    await new Promise<void>((resolve) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        options.signal.removeEventListener('abort', onAbort);
        resolve();
      }, interval);
      options.signal.addEventListener('abort', onAbort, { once: true });
    });
  }
  return last;
}
