/**
 * helm killed mid-deploy, ten times in a row, against the kwok cluster with the real helm: each
 * deploy's `helm upgrade --install` child is found in this process's process tree and SIGKILLed at
 * a point of the upgrade picked at random (as soon as it starts, once it has written the pending
 * revision, once it has applied the new Deployment and waits), plus a random delay. The next
 * deploy must recover on its own and end deployed.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildDeployContext } from '@deploytag/context';
import { createLogger, isDeploytagError } from '@deploytag/core';
import type { LogRecord, Logger } from '@deploytag/core';
import { requireEnv } from '@deploytag/harness';
import { createKubeClients, loadKubeConfig } from '@deploytag/kube';
import type { KubeClients } from '@deploytag/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyDeploy,
  createHelm,
  findHelm,
  planDeploy,
  readChartFacts,
  releaseHistory,
  releaseStatus,
} from './index.js';
import type { DeployResult, Helm } from './index.js';

const chartDir = fileURLToPath(new URL('../test-fixtures/web', import.meta.url));
const run = randomBytes(2).toString('hex');
const sha = (n: number): string => `${n.toString(16).padStart(8, '0')}${'f'.repeat(32)}`;
let kube: KubeClients;
let helm: Helm;
let helmBin: string;
const namespaces = new Set<string>();

function recorder(): { logger: Logger; lines: LogRecord[] } {
  const lines: LogRecord[] = [];
  return {
    logger: createLogger({ level: 'debug', reporter: { write: (r) => lines.push(r) } }),
    lines,
  };
}

function planFor(branch: string, commit: number): ReturnType<typeof planDeploy> {
  const context = buildDeployContext({
    env: {
      CIRCLE_BRANCH: branch,
      CIRCLE_SHA1: sha(commit),
      CIRCLE_PROJECT_REPONAME: 'shop',
      CHART_NAME: chartDir,
      DOMAIN: 'example.test',
      CONTAINER_REGISTRY: 'registry.local',
    },
  });
  namespaces.add(context.namespace);
  return planDeploy({
    context,
    chart: readChartFacts(chartDir),
    options: {
      timeoutMs: 120_000,
      addressTimeoutMs: 0,
      lockDurationSeconds: 15,
    },
  });
}

async function deploy(branch: string, commit: number, logger?: Logger): Promise<DeployResult> {
  return await applyDeploy(planFor(branch, commit), undefined, {
    kube,
    helm,
    ...(logger === undefined ? {} : { logger }),
  });
}

/** This process's helm children running `helm <verb> <release>` (pid and arguments). */
function helmChildren(verb: string, release: string): number[] {
  const me = String(process.pid);
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
        if (ppid !== me) return [];
        const args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        if (args[0] !== helmBin) return [];
        const i = args.indexOf(verb);
        return i !== -1 && args.includes(release) ? [Number(p)] : [];
      } catch {
        return [];
      }
    });
}

/** helm's release records (Secrets labelled owner=helm), oldest first: revision and status. */
async function helmRevisions(
  release: string,
  namespace: string,
): Promise<{ version: number; status: string }[]> {
  const secrets = await kube.core.listNamespacedSecret({
    namespace,
    labelSelector: `owner=helm,name=${release}`,
  });
  return secrets.items
    .map((s) => ({
      version: Number(s.metadata?.labels?.['version'] ?? 0),
      status: s.metadata?.labels?.['status'] ?? '',
    }))
    .sort((a, b) => a.version - b.version);
}

/** Where in an upgrade helm is killed. */
type KillPoint = 'started' | 'pending' | 'applied';

async function poll(test: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_400; i++) {
    if (await test()) return;
    await sleep(25);
  }
  throw new Error(`gave up waiting until ${what}`);
}

/** Whether helm's newest revision is newer than `before` and in a state matching `status`. */
function newestRevision(
  release: string,
  namespace: string,
  before: number,
  status: RegExp,
): () => Promise<boolean> {
  return async () => {
    const newest = (await helmRevisions(release, namespace)).at(-1);
    return newest !== undefined && newest.version > before && status.test(newest.status);
  };
}

/** The condition of a kill point (`before` is the newest revision before the deploy started). */
function reached(
  point: KillPoint,
  release: string,
  namespace: string,
  commit: number,
  before: number,
): () => Promise<boolean> | boolean {
  switch (point) {
    case 'started':
      return () => true;
    case 'pending':
      // helm leaves a killed revision marked pending for good: wait for a newer one.
      return newestRevision(release, namespace, before, /^pending-/);
    case 'applied':
      return async () => {
        const d = await kube.apps
          .readNamespacedDeployment({ name: release, namespace })
          .catch(() => undefined);
        return d?.spec?.template.spec?.containers[0]?.image?.endsWith(`:${sha(commit)}`) === true;
      };
  }
}

/**
 * Waits for the deploy's `helm <verb> <release>` child, then for `until`, then a random 0–150 ms
 * more, and SIGKILLs it. Resolves with whether the signal reached a live helm.
 */
async function killHelm(
  verb: 'upgrade' | 'rollback' | 'uninstall',
  release: string,
  until: () => Promise<boolean> | boolean,
): Promise<{ landed: boolean; delayMs: number }> {
  let pid: number | undefined;
  await poll(() => {
    pid = helmChildren(verb, release)[0];
    return pid !== undefined;
  }, `helm ${verb} ${release} runs`);
  await poll(until, `the kill point of helm ${verb} ${release}`);
  const delayMs = randomInt(0, 150);
  await sleep(delayMs);
  try {
    process.kill(pid!, 'SIGKILL');
    return { landed: true, delayMs };
  } catch {
    return { landed: false, delayMs };
  }
}

beforeAll(async () => {
  helmBin = requireEnv('HELM_BIN');
  kube = createKubeClients(loadKubeConfig({ file: requireEnv('KUBECONFIG') }));
  helm = createHelm(await findHelm({ HELM_BIN: helmBin }), {
    kubeconfig: requireEnv('KUBECONFIG'),
  });
});

afterAll(async () => {
  for (const name of namespaces) {
    await kube.core.deleteNamespace({ name }).catch(() => undefined);
  }
});

describe('helm killed mid-upgrade', () => {
  it(
    'ten times in a row: each next deploy recovers with no manual step and ends deployed',
    { timeout: 1_200_000 },
    async () => {
      const branch = `feature/killed-${run}`;
      const { release, namespace } = planFor(branch, 1);
      // Each kill point three or four times, in a random order; the first kill hits the install.
      const points: KillPoint[] = (['started', 'pending', 'applied'] as const)
        .flatMap((p) => [p, p, p, p])
        .sort(() => Math.random() - 0.5)
        .slice(0, 10);
      const seen: string[] = [];
      let commit = 1;
      for (const [round, point] of points.entries()) {
        let kill: { landed: boolean; delayMs: number } | undefined;
        let outcome: unknown;
        // A kill that came after helm had already finished is no kill: do that round again.
        for (let tries = 0; tries < 5 && kill?.landed !== true; tries++) {
          commit += 1;
          const before = (await helmRevisions(release, namespace)).at(-1)?.version ?? 0;
          const killed = deploy(branch, commit).then(
            () => undefined,
            (e: unknown) => e,
          );
          kill = await killHelm(
            'upgrade',
            release,
            reached(point, release, namespace, commit, before),
          );
          outcome = await killed;
        }
        const where = `round ${round + 1}, killed at ${point} + ${kill?.delayMs ?? '?'} ms`;
        expect(kill?.landed, where).toBe(true);
        expect(isDeploytagError(outcome) && outcome.code, where).toBe('E_HELM_UPGRADE');
        expect((outcome as Error).message, where).toBe(
          `helm upgrade of release ${release} in ${namespace} was killed by signal SIGKILL before it finished; deploy again: the next deploy first rolls back (or uninstalls) what it left pending`,
        );
        const left = (await releaseStatus(helm, release, namespace))?.info.status ?? 'none';
        seen.push(`${point}: ${left}`);

        const { logger, lines } = recorder();
        commit += 1;
        const next = await deploy(branch, commit, logger);
        expect(['installed', 'upgraded'], where).toContain(next.action);
        if (left.startsWith('pending-'))
          expect(next.recovered?.action, where).toBe(
            left === 'pending-install' ? 'uninstall' : 'rollback',
          );
        expect((await releaseStatus(helm, release, namespace))?.info.status, where).toBe(
          'deployed',
        );
        const d = await kube.apps.readNamespacedDeployment({ name: release, namespace });
        expect(d.spec?.template.spec?.containers[0]?.image, where).toBe(
          `registry.local/web:${sha(commit)}`,
        );
        expect(d.status?.readyReplicas, where).toBe(1);
        expect(
          lines.filter((l) => l.level === 'error'),
          where,
        ).toEqual([]);
      }
      // Killed once it had written its pending revision, helm left it pending (the next deploy
      // rolled it back, or uninstalled a first install) unless it had just finished; killed as it
      // started, it may not have written anything yet.
      const pending = (round: number): string =>
        round === 0 ? 'pending-install' : 'pending-upgrade';
      const before = (round: number): string => (round === 0 ? 'none' : 'deployed');
      for (const [round, p] of points.entries()) {
        const allowed = `${pending(round)}|${p === 'started' ? before(round) : 'deployed'}`;
        expect(seen[round], seen.join('; ')).toMatch(new RegExp(`^${p}: (${allowed})$`));
      }
      expect(
        seen.filter((s) => s.endsWith('pending-upgrade')).length,
        seen.join('; '),
      ).toBeGreaterThan(0);
      const history = await releaseHistory(helm, release, namespace);
      expect(history.at(-1)?.status).toBe('deployed');
      expect(history.filter((h) => h.status === 'deployed')).toHaveLength(1);
    },
  );

  it(
    'a deploy killed while it rolls back or uninstalls what an earlier kill left is recovered too',
    { timeout: 600_000 },
    async () => {
      for (const [verb, state] of [
        ['rollback', 'pending-rollback'],
        ['uninstall', 'uninstalling'],
      ] as const) {
        const branch = `feature/${verb}-${run}`;
        const { release, namespace } = planFor(branch, 1);
        let commit = 1;
        // An upgrade (after a first install), or the first install, is killed once it has applied
        // the new Deployment: the release is left pending.
        if (verb === 'rollback') await deploy(branch, ++commit);
        let killed: { landed: boolean } | undefined;
        let first: unknown;
        // A kill that came after helm had finished (its wait can end within the random delay on a
        // loaded machine) left nothing pending: set the scene again with the next commit.
        for (
          let tries = 0;
          tries < 5 && !(killed?.landed === true && isDeploytagError(first));
          tries++
        ) {
          const before = (await helmRevisions(release, namespace)).at(-1)?.version ?? 0;
          const deploying = deploy(branch, ++commit).catch((e: unknown) => e);
          killed = await killHelm(
            'upgrade',
            release,
            reached('applied', release, namespace, commit, before),
          );
          first = await deploying;
          if (verb === 'uninstall' && !isDeploytagError(first)) {
            // The scene is a killed first install: remove the one that went through.
            await helm.run(['uninstall', release, '--wait'], { namespace, timeoutMs: 120_000 });
          }
        }
        expect(killed?.landed, verb).toBe(true);
        expect(isDeploytagError(first), verb).toBe(true);
        // Hold the recovery's helm in its wait, so that it is killed mid-way for sure: a rollback
        // needs a new pod, which a quota of one pod forbids; an uninstall waits for a Deployment
        // that a finalizer keeps.
        await poll(async () => {
          const d = await kube.apps.readNamespacedDeployment({ name: release, namespace });
          return (
            d.status?.replicas === 1 &&
            d.status.updatedReplicas === 1 &&
            d.status.readyReplicas === 1
          );
        }, `the rollout of ${release} settled`);
        if (verb === 'rollback') {
          await kube.core.createNamespacedResourceQuota({
            namespace,
            body: { metadata: { name: 'hold' }, spec: { hard: { pods: '1' } } },
          });
        } else {
          const d = await kube.apps.readNamespacedDeployment({ name: release, namespace });
          d.metadata!.finalizers = ['example.com/hold'];
          await kube.apps.replaceNamespacedDeployment({ name: release, namespace, body: d });
        }
        // The next deploy starts to recover the release and is killed in turn.
        const second = deploy(branch, ++commit).catch((e: unknown) => e);
        const kill = await killHelm(
          verb,
          release,
          newestRevision(release, namespace, 0, new RegExp(`^${state}$`)),
        );
        expect(kill.landed, verb).toBe(true);
        expect(isDeploytagError(await second), verb).toBe(true);
        expect((await releaseStatus(helm, release, namespace))?.info.status, verb).toBe(state);
        if (verb === 'rollback') {
          await kube.core.deleteNamespacedResourceQuota({ name: 'hold', namespace });
        } else {
          const d = await kube.apps.readNamespacedDeployment({ name: release, namespace });
          d.metadata!.finalizers = [];
          await kube.apps.replaceNamespacedDeployment({ name: release, namespace, body: d });
        }
        // Then a deploy left alone finishes the recovery and ends deployed.
        const { logger, lines } = recorder();
        const next = await deploy(branch, ++commit, logger);
        expect(next.recovered?.action, verb).toBe(verb);
        expect(next.action, verb).toBe(verb === 'rollback' ? 'upgraded' : 'installed');
        expect(
          lines.some((l) => l.level === 'warn' && l.message.includes(`was left ${state}`)),
          verb,
        ).toBe(true);
        expect((await releaseStatus(helm, release, namespace))?.info.status, verb).toBe('deployed');
        const d = await kube.apps.readNamespacedDeployment({ name: release, namespace });
        expect(d.spec?.template.spec?.containers[0]?.image, verb).toBe(
          `registry.local/web:${sha(commit)}`,
        );
        expect(d.status?.readyReplicas, verb).toBe(1);
      }
    },
  );
});
