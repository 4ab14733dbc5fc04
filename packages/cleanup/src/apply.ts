import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@deploytag/core';
import { TimeoutError, isDeploytagError, silentLogger } from '@deploytag/core';
import { dropDatabase } from '@deploytag/db';
import type { DatabaseServer } from '@deploytag/db';
import { uninstallRelease } from '@deploytag/helm';
import type { Helm } from '@deploytag/helm';
import type { RegistryClient } from '@deploytag/image';
import {
  BRANCH_ANNOTATION,
  DEPLOYED_AT_ANNOTATION,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  acquireLease,
  apiStatus,
  holderIdentity,
  isNotFound,
  lockName,
} from '@deploytag/kube';
import type { HeldLease, KubeClients } from '@deploytag/kube';
import { CleanupError, CleanupErrorCodes } from './errors.js';
import { registryPath } from './gather.js';
import { kubeError } from './kube-errors.js';
import { CLEANUP_ANNOTATION } from './plan.js';
import type { CleanupAction, CleanupPlan, EnvironmentPlan } from './plan.js';

/** The environment a DNS removal hook is called for. */
export interface CleanupTarget {
  /** Its namespace. */
  namespace: string;
  /** Its raw branch. */
  branch: string | undefined;
  /** Its Helm releases (a release's name is its default subdomain). */
  releases: string[];
}

/** What {@link applyCleanup} talks to. */
export interface CleanupClients {
  /** Kubernetes API clients. */
  kube: KubeClients;
  /** The helm runner, pointed at the same cluster. */
  helm: Helm;
  /** The database server; needed when the plan drops databases. */
  database?: DatabaseServer;
  /** A client of the image repository's registry; needed when the plan deletes image tags. */
  registry?: RegistryClient;
  /** Removes the environment's DNS records; needed when the plan has a `remove-dns` step. */
  removeDns?: (target: CleanupTarget) => Promise<void>;
  /** Progress: one line per step. */
  logger?: Logger;
}

/** A finished step, as given to {@link ApplyCleanupOptions.onStep}. */
export interface StepEvent {
  /** The environment's namespace. */
  namespace: string;
  /** The step. */
  action: CleanupAction;
  /** What it did, in a few words. */
  result: string;
}

/** Choices of {@link applyCleanup}. */
export interface ApplyCleanupOptions {
  /** Stops the run between steps (and while waiting); what is left is reported `interrupted`. */
  signal?: AbortSignal;
  /** Longest wait for a deploy holding an environment's lock; 2 minutes by default. */
  lockTimeoutMs?: number;
  /** Who holds the locks (such as the CI job URL), shown to a deploy that waits. */
  lockHolder?: string;
  /** Longest wait for `helm uninstall` and for a namespace to go; 5 minutes by default. */
  timeoutMs?: number;
  /** How often a namespace being deleted is looked at; 1 s by default. */
  pollMs?: number;
  /** Called after each finished step (progress, or a test stopping the run at a given point). */
  onStep?: (event: StepEvent) => void;
  /**
   * How many environments are removed at once (each mostly waits: for helm, the database, its
   * namespace to go). 4 by default; 1 removes them one after another.
   */
  concurrency?: number;
}

/** Environments removed at once by default. */
export const DEFAULT_CLEANUP_CONCURRENCY = 4;

/** How removing one environment ended. */
export type EnvironmentStatus = 'removed' | 'failed' | 'skipped' | 'interrupted';

/** One finished step of an environment. */
export interface StepOutcome {
  /** The step's type. */
  type: CleanupAction['type'];
  /** What it did. */
  result: string;
}

/** What happened to one stale environment. */
export interface EnvironmentOutcome {
  /** Its namespace. */
  namespace: string;
  /** Its raw branch. */
  branch: string | undefined;
  /** `removed`; `failed` (see `error`; a re-run continues); `skipped` (changed since planning); `interrupted`. */
  status: EnvironmentStatus;
  /** The steps that finished, in order. */
  steps: StepOutcome[];
  /** Why it was skipped. */
  reason?: string;
  /** Why it failed or stopped. */
  error?: { code: string; message: string };
}

/** What {@link applyCleanup} did. */
export interface CleanupReport {
  /** One entry per stale environment of the plan, in its order. */
  environments: EnvironmentOutcome[];
  /** How many were removed. */
  removed: number;
  /** How many failed or were interrupted (a re-run finishes them). */
  failed: number;
  /** How many were skipped because they changed since planning. */
  skipped: number;
}

/** Raised inside a step to leave an environment alone without failing. */
class Skip extends Error {}

function interruptedError(): CleanupError {
  return new CleanupError(
    CleanupErrorCodes.INTERRUPTED,
    'the cleanup was stopped before this environment was finished; run it again to finish',
  );
}

function describe(error: unknown): { code: string; message: string } {
  if (isDeploytagError(error)) return { code: error.code, message: error.message };
  return { code: 'E_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

function need<T>(client: T | undefined, what: string, env: EnvironmentPlan): T {
  if (client !== undefined) return client;
  throw new CleanupError(
    CleanupErrorCodes.MISSING_CLIENT,
    `the plan for ${env.namespace} needs ${what}, which was not given; configure it or plan without that step`,
  );
}

interface Run {
  env: EnvironmentPlan;
  clients: CleanupClients;
  options: ApplyCleanupOptions;
  logger: Logger;
  leases: HeldLease[];
  /** Resolves once the removal of each of these environments (earlier in this run) has ended. */
  waitFor: (namespaces: readonly string[]) => Promise<void>;
}

type NamespaceObject = Awaited<ReturnType<KubeClients['core']['readNamespace']>>;

async function readNamespace(
  kube: KubeClients,
  name: string,
): Promise<NamespaceObject | undefined> {
  try {
    return await kube.core.readNamespace({ name });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw kubeError(`reading namespace ${name}`, error);
  }
}

/** Refuses a namespace that is no longer this environment's (labels or branch changed). */
function assertOurs(ns: NamespaceObject, env: EnvironmentPlan): void {
  const labels = ns.metadata?.labels ?? {};
  const branch = ns.metadata?.annotations?.[BRANCH_ANNOTATION];
  if (labels[MANAGED_BY_LABEL] !== MANAGED_BY || branch !== env.branch) {
    throw new CleanupError(
      CleanupErrorCodes.NOT_OURS,
      `namespace ${env.namespace} no longer carries DeployTag's labels for branch ${env.branch ?? '?'}; it was left alone`,
      { details: { namespace: env.namespace } },
    );
  }
}

async function lock(run: Run, releases: string[]): Promise<string> {
  const { env, clients, options } = run;
  for (const release of releases) {
    run.leases.push(
      await acquireLease(clients.kube, {
        namespace: env.namespace,
        name: lockName(release),
        holder: holderIdentity(options.lockHolder ?? 'deploytag cleanup'),
        waitTimeoutMs: options.lockTimeoutMs ?? 120_000,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        logger: run.logger,
      }),
    );
  }
  return `holding the deploy lock of ${releases.join(', ')}`;
}

async function record(
  run: Run,
  action: Extract<CleanupAction, { type: 'record' }>,
): Promise<string> {
  const { env, clients } = run;
  for (let attempt = 0; ; attempt++) {
    const ns = await readNamespace(clients.kube, env.namespace);
    if (ns === undefined) return 'the namespace is already gone';
    assertOurs(ns, env);
    if (ns.metadata?.deletionTimestamp !== undefined)
      return 'the namespace is already being deleted';
    const deployedAt = ns.metadata?.annotations?.[DEPLOYED_AT_ANNOTATION];
    if (deployedAt !== action.deployedAt) {
      throw new Skip(
        `it was deployed again (${deployedAt ?? '?'}) after the plan was made; the next cleanup decides again`,
      );
    }
    const body = structuredClone(ns);
    body.metadata = body.metadata ?? {};
    body.metadata.annotations = {
      ...body.metadata.annotations,
      [CLEANUP_ANNOTATION]: JSON.stringify(action.record),
    };
    try {
      await clients.kube.core.replaceNamespace({ name: env.namespace, body });
      return `recorded the cleanup on namespace ${env.namespace}`;
    } catch (error) {
      if (apiStatus(error) === 409 && attempt < 5) continue;
      throw kubeError(`recording the cleanup on namespace ${env.namespace}`, error);
    }
  }
}

async function deleteTags(
  run: Run,
  action: Extract<CleanupAction, { type: 'delete-image-tags' }>,
): Promise<string> {
  const registry = need(run.clients.registry, 'a registry client', run.env);
  const { path } = registryPath(action.repository);
  const deleted: string[] = [];
  const gone: string[] = [];
  const moved: string[] = [];
  const shared: string[] = [];
  for (const { tag, digest, after } of action.tags) {
    // Removed at the same time: let their removal end before looking whether they are gone.
    await run.waitFor(after ?? []);
    const remaining: string[] = [];
    for (const other of after ?? []) {
      if ((await readNamespace(run.clients.kube, other)) !== undefined) remaining.push(other);
    }
    if (remaining.length > 0) {
      shared.push(`${tag} (namespace ${remaining.join(', ')} still uses it)`);
      continue;
    }
    const current = await registry.manifestDigest(path, tag);
    if (current === undefined) {
      gone.push(tag);
    } else if (current !== digest) {
      moved.push(tag);
      run.logger.warn(
        `image tag ${action.repository}:${tag} was pushed again after the plan was made; it is kept`,
      );
    } else if (await registry.deleteTag(path, tag)) {
      deleted.push(tag);
    } else {
      gone.push(tag);
    }
  }
  const parts: string[] = [];
  if (deleted.length > 0) parts.push(`deleted image tag(s) ${deleted.join(', ')}`);
  if (gone.length > 0) parts.push(`already gone: ${gone.join(', ')}`);
  if (moved.length > 0) parts.push(`kept (pushed again since): ${moved.join(', ')}`);
  if (shared.length > 0) parts.push(`kept: ${shared.join(', ')}`);
  return parts.join('; ');
}

async function deleteNamespace(run: Run): Promise<string> {
  const { env, clients, options } = run;
  const { kube } = clients;
  const ns = await readNamespace(kube, env.namespace);
  if (ns === undefined) return `namespace ${env.namespace} is already gone`;
  assertOurs(ns, env);
  if (ns.metadata?.deletionTimestamp === undefined) {
    try {
      await kube.core.deleteNamespace({
        name: env.namespace,
        body: { preconditions: { uid: ns.metadata?.uid } },
      });
    } catch (error) {
      if (!isNotFound(error)) throw kubeError(`deleting namespace ${env.namespace}`, error);
    }
  }
  const timeoutMs = options.timeoutMs ?? 300_000;
  const deadline = Date.now() + timeoutMs;
  while ((await readNamespace(kube, env.namespace)) !== undefined) {
    if (options.signal?.aborted === true) throw interruptedError();
    if (Date.now() > deadline) {
      throw new TimeoutError(
        `namespace ${env.namespace} was still being deleted after ${Math.round(timeoutMs / 1000)} s; ` +
          `look for finalizers that hold it (kubectl get namespace ${env.namespace} -o yaml) and run cleanup again`,
        timeoutMs,
        { details: { namespace: env.namespace } },
      );
    }
    await sleep(options.pollMs ?? 1000);
  }
  return `deleted namespace ${env.namespace}`;
}

async function step(run: Run, action: CleanupAction): Promise<string> {
  const { env, clients, options } = run;
  switch (action.type) {
    case 'lock':
      return await lock(run, action.releases);
    case 'record':
      return await record(run, action);
    case 'uninstall': {
      const removed = await uninstallRelease(
        clients.helm,
        action.release,
        env.namespace,
        options.timeoutMs ?? 300_000,
      );
      return removed
        ? `uninstalled release ${action.release}`
        : `release ${action.release} was already gone`;
    }
    case 'drop-database': {
      const server = need(clients.database, 'a database server', env);
      const dropped = await dropDatabase(server, action.database, {
        kind: 'preview',
        repo: action.repo,
        branch: action.branch,
        terminateSessions: server.engine === 'postgresql',
        logger: run.logger,
      });
      return dropped
        ? `dropped database ${action.database}`
        : `database ${action.database} did not exist`;
    }
    case 'delete-image-tags':
      return await deleteTags(run, action);
    case 'remove-dns': {
      const hook = need(clients.removeDns, 'a DNS removal hook', env);
      await hook({
        namespace: env.namespace,
        branch: env.branch,
        releases: env.releases.map((r) => r.name),
      });
      return 'removed the DNS records';
    }
    case 'delete-namespace':
      return await deleteNamespace(run);
  }
}

async function removeEnvironment(
  env: EnvironmentPlan,
  clients: CleanupClients,
  options: ApplyCleanupOptions,
  waitFor: Run['waitFor'],
): Promise<EnvironmentOutcome> {
  const logger = (clients.logger ?? silentLogger).child({
    tag: 'cleanup',
    fields: { namespace: env.namespace },
  });
  const run: Run = { env, clients, options, logger, leases: [], waitFor };
  const steps: StepOutcome[] = [];
  const outcome = (status: EnvironmentStatus): EnvironmentOutcome => ({
    namespace: env.namespace,
    branch: env.branch,
    status,
    steps,
  });
  logger.info(`removing ${env.namespace}: ${env.reasons.map((r) => r.text).join('; ')}`);
  try {
    for (const action of env.actions) {
      if (options.signal?.aborted === true) throw interruptedError();
      const result = await step(run, action);
      steps.push({ type: action.type, result });
      logger.info(`${env.namespace}: ${result}`);
      options.onStep?.({ namespace: env.namespace, action, result });
    }
    return outcome('removed');
  } catch (error) {
    if (error instanceof Skip) {
      logger.warn(`${env.namespace} is left alone: ${error.message}`);
      return { ...outcome('skipped'), reason: error.message };
    }
    const stopped = options.signal?.aborted === true;
    const described = stopped ? describe(interruptedError()) : describe(error);
    logger.error(`${env.namespace}: ${described.message}`);
    return { ...outcome(stopped ? 'interrupted' : 'failed'), error: described };
  } finally {
    for (const lease of run.leases) await lease.release();
  }
}

/**
 * Removes the stale environments of a plan, a few at a time (`concurrency`) and each
 * independently: a failure is reported in that environment's outcome and the others continue.
 * Every step is idempotent (a release, database, tag or namespace already gone is fine), and the
 * namespace, which carries the record of what to remove, goes last, so a re-run finishes whatever
 * a failed or interrupted run left. An image tag shared by several stale environments is deleted
 * by the last of them once the others' removals have ended, and only if their namespaces are gone.
 *
 * @param plan - from {@link planCleanup}
 * @param clients - Kubernetes, helm, and as the plan needs them a database server, a registry
 *   client and a DNS hook
 * @param options - cancellation, time limits, lock holder, progress callback, concurrency
 */
export async function applyCleanup(
  plan: CleanupPlan,
  clients: CleanupClients,
  options: ApplyCleanupOptions = {},
): Promise<CleanupReport> {
  const stale = plan.environments.filter((e) => e.stale);
  const concurrency = options.concurrency ?? DEFAULT_CLEANUP_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a whole number, 1 or more, not ${concurrency}`);
  }
  const position = new Map(stale.map((env, i) => [env.namespace, i]));
  const ended = stale.map(() => {
    let resolve = (): void => undefined;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    return { promise, resolve };
  });
  const environments: EnvironmentOutcome[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < stale.length; i = next++) {
      const env = stale[i];
      if (env === undefined) break;
      // Waits go only to environments earlier in the run, which started before this one: no
      // environment ever waits for one that cannot start.
      const waitFor = async (namespaces: readonly string[]): Promise<void> => {
        const earlier = namespaces.flatMap((n) => {
          const at = position.get(n);
          const end = at !== undefined && at < i ? ended[at] : undefined;
          return end === undefined ? [] : [end.promise];
        });
        await Promise.all(earlier);
      };
      try {
        environments[i] =
          options.signal?.aborted === true
            ? {
                namespace: env.namespace,
                branch: env.branch,
                status: 'interrupted',
                steps: [],
                error: describe(interruptedError()),
              }
            : await removeEnvironment(env, clients, options, waitFor);
      } finally {
        ended[i]?.resolve();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, stale.length) }, worker));
  const count = (...statuses: EnvironmentStatus[]): number =>
    environments.filter((e) => statuses.includes(e.status)).length;
  return {
    environments,
    removed: count('removed'),
    failed: count('failed', 'interrupted'),
    skipped: count('skipped'),
  };
}
