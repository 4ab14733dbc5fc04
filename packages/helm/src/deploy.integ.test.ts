import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildDeployContext, isDnsLabel } from '@deploytag/context';
import { Secret, createLogger, isDeploytagError } from '@deploytag/core';
import type { LogRecord, Logger } from '@deploytag/core';
import { requireEnv } from '@deploytag/harness';
import {
  BRANCH_ANNOTATION,
  MANAGED_BY_LABEL,
  createKubeClients,
  envChecksum,
  loadKubeConfig,
} from '@deploytag/kube';
import type { KubeClients } from '@deploytag/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyDeploy,
  connectDeployClients,
  createHelm,
  findHelm,
  planDeploy,
  planRecovery,
  previewDeploy,
  readChartFacts,
  releaseHistory,
  releaseStatus,
} from './index.js';
import type { DeployOptions, DeployResult, Helm } from './index.js';

const chartDir = fileURLToPath(new URL('../test-fixtures/web', import.meta.url));
const run = randomBytes(2).toString('hex');
const sha = (n: number): string => `${n.toString(16).padStart(8, '0')}${'a'.repeat(32)}`;

let kube: KubeClients;
let helm: Helm;
const namespaces = new Set<string>();

function recorder(): { logger: Logger; lines: LogRecord[] } {
  const lines: LogRecord[] = [];
  return {
    logger: createLogger({ level: 'debug', reporter: { write: (r) => lines.push(r) } }),
    lines,
  };
}

interface DeployArgs {
  branch: string;
  commit?: number;
  appEnv?: Record<string, string>;
  helmVars?: string;
  options?: DeployOptions;
  logger?: Logger;
}

function planFor(args: DeployArgs): ReturnType<typeof planDeploy> {
  const context = buildDeployContext({
    env: {
      CIRCLE_BRANCH: args.branch,
      CIRCLE_SHA1: sha(args.commit ?? 1),
      CIRCLE_PROJECT_REPONAME: 'shop',
      CHART_NAME: chartDir,
      DOMAIN: 'example.test',
      CONTAINER_REGISTRY: 'registry.local',
      ...(args.helmVars === undefined ? {} : { HELM_VARS: args.helmVars }),
    },
  });
  namespaces.add(context.namespace);
  const appEnv =
    args.appEnv === undefined
      ? undefined
      : Object.fromEntries(Object.entries(args.appEnv).map(([k, v]) => [k, Secret.of(v)]));
  return planDeploy({
    context,
    chart: readChartFacts(chartDir),
    ...(appEnv === undefined ? {} : { appEnv }),
    env: { IMAGE_REPO: 'registry.local/web' },
    options: {
      timeoutMs: 120_000,
      addressTimeoutMs: 60_000,
      lockDurationSeconds: 15,
      ...args.options,
    },
  });
}

async function deploy(args: DeployArgs): Promise<DeployResult> {
  const plan = planFor(args);
  const appEnv =
    args.appEnv === undefined
      ? undefined
      : Object.fromEntries(Object.entries(args.appEnv).map(([k, v]) => [k, Secret.of(v)]));
  return await applyDeploy(plan, appEnv, {
    kube,
    helm,
    ...(args.logger ? { logger: args.logger } : {}),
  });
}

async function podFacts(
  namespace: string,
  release: string,
): Promise<{ uids: string[]; revisions: string[] }> {
  const pods = await kube.core.listNamespacedPod({
    namespace,
    labelSelector: `app.kubernetes.io/instance=${release}`,
  });
  const sets = await kube.apps.listNamespacedReplicaSet({ namespace });
  return {
    uids: pods.items
      .filter((p) => p.metadata?.deletionTimestamp === undefined)
      .map((p) => p.metadata!.uid!)
      .sort(),
    revisions: sets.items
      .map(
        (r) =>
          `${r.metadata!.name!}@${r.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '?'}`,
      )
      .sort(),
  };
}

beforeAll(async () => {
  kube = createKubeClients(loadKubeConfig({ file: requireEnv('KUBECONFIG') }));
  helm = createHelm(await findHelm({ HELM_BIN: requireEnv('HELM_BIN') }), {
    kubeconfig: requireEnv('KUBECONFIG'),
  });
});

afterAll(async () => {
  for (const name of namespaces) {
    await kube.core.deleteNamespace({ name }).catch(() => undefined);
  }
});

describe('deploy a preview branch (kwok cluster, real helm)', () => {
  const branch = `feature/shop-${run}`;

  it('creates the namespace, env Secret and release; the Deployment is Ready and the LB address is found', async () => {
    const { logger, lines } = recorder();
    const result = await deploy({
      branch,
      appEnv: { DATABASE_URL: 'postgres://u:p4ss@db/x', MODE: 'a' },
      logger,
    });
    expect(result.action).toBe('installed');
    expect(result.namespaceCreated).toBe(true);
    expect(result.envSecret).toBe('created');
    expect(result.namespace).toBe(`feature-shop-${run}`);
    expect(result.url).toBe(`https://${result.release}.example.test`);
    expect(result.urls).toContain(`https://${result.release}.example.test`);
    expect(result.urls.some((u) => /^http:\/\/127\.0\.\d+\.\d+$/.test(u))).toBe(true);

    const ns = await kube.core.readNamespace({ name: result.namespace });
    expect(ns.metadata?.labels?.[MANAGED_BY_LABEL]).toBe('deploytag');
    expect(ns.metadata?.annotations?.[BRANCH_ANNOTATION]).toBe(branch);
    const secret = await kube.core.readNamespacedSecret({
      name: `${result.release}-env`,
      namespace: result.namespace,
    });
    expect(Buffer.from(secret.data!.MODE!, 'base64').toString()).toBe('a');
    const d = await kube.apps.readNamespacedDeployment({
      name: result.release,
      namespace: result.namespace,
    });
    expect(d.status?.readyReplicas).toBe(1);
    expect(d.spec?.template.spec?.containers[0]?.image).toBe(`registry.local/web:${sha(1)}`);
    expect(d.spec?.template.metadata?.annotations?.['checksum/env']).toBe(
      envChecksum({ DATABASE_URL: Secret.of('postgres://u:p4ss@db/x'), MODE: Secret.of('a') }),
    );
    expect((await releaseStatus(helm, result.release, result.namespace))?.info.status).toBe(
      'deployed',
    );
    // No secret value reached a log line.
    expect(JSON.stringify(lines)).not.toContain('p4ss');
  });

  it('a second deploy of the same commit changes nothing and restarts no pod', async () => {
    const plan = planFor({ branch });
    const before = await podFacts(plan.namespace, plan.release);
    const again = await deploy({
      branch,
      appEnv: { DATABASE_URL: 'postgres://u:p4ss@db/x', MODE: 'a' },
    });
    expect(again.action).toBe('unchanged');
    expect(again.envSecret).toBe('unchanged');
    // Even when helm is forced to run, it changes no pod.
    const forced = await deploy({
      branch,
      appEnv: { DATABASE_URL: 'postgres://u:p4ss@db/x', MODE: 'a' },
      options: { skipUnchanged: false },
    });
    expect(forced.action).toBe('upgraded');
    expect(forced.revision).toBe(2);
    await sleep(1500);
    expect(await podFacts(plan.namespace, plan.release)).toEqual(before);
  });

  it('changing a secret value rolls the pods', async () => {
    const plan = planFor({ branch });
    const before = await podFacts(plan.namespace, plan.release);
    const result = await deploy({
      branch,
      appEnv: { DATABASE_URL: 'postgres://u:p4ss@db/x', MODE: 'b' },
    });
    expect(result.envSecret).toBe('updated');
    expect(result.action).toBe('upgraded');
    const after = await podFacts(plan.namespace, plan.release);
    expect(after.uids).not.toEqual(before.uids);
    expect(after.revisions).not.toEqual(before.revisions);
  });

  it('dry run shows namespace, release, masked values and the manifest diff, and changes nothing', async () => {
    const plan = planFor({
      branch,
      commit: 2,
      appEnv: { DATABASE_URL: 'postgres://u:p4ss@db/x', MODE: 'b' },
      helmVars: '--set apiToken=$IMAGE_REPO',
    });
    const preview = await previewDeploy(plan, { helm });
    expect(preview.plan.namespace).toBe(`feature-shop-${run}`);
    expect(JSON.stringify(preview.maskedValues)).toContain('"apiToken":"***"');
    const change = preview.changes.find((c) => c.object === `Deployment/${plan.release}`);
    expect(change?.change).toBe('changed');
    expect(change?.lines).toContainEqual(
      expect.stringMatching(new RegExp(`^\\+ .*image: registry.local/web:${sha(2)}$`)),
    );
    expect(change?.lines).toContainEqual(
      expect.stringMatching(new RegExp(`^- .*image: registry.local/web:${sha(1)}$`)),
    );
    expect(preview.changes.map((c) => c.change)).toEqual(['changed']);
    expect((await releaseHistory(helm, plan.release, plan.namespace)).length).toBe(3);
  });
});

describe('failures and recovery', () => {
  it('a failing image pull is reported as ImagePullBackOff before helm times out', async () => {
    const branch = `bug/pull-${run}`;
    const { logger, lines } = recorder();
    const error = await deploy({
      branch,
      helmVars: '--set image.repository=registry.local/does-not-exist',
      options: { stuckAfterMs: 3000, timeoutMs: 170_000 },
      logger,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isDeploytagError(error) && error.code).toBe('E_HELM_ROLLOUT');
    expect((error as Error).message).toMatch(/ImagePullBackOff/);
    expect((error as Error).message).toContain('does-not-exist');
    // Stopped because of the diagnosis, not by helm's own timeout.
    expect(((error as Error).cause as { code?: string }).code).toBe('E_ABORTED');
    expect(lines.some((l) => l.level === 'warn' && l.message.includes('ImagePullBackOff'))).toBe(
      true,
    );
  });

  it(
    'a helm killed mid-upgrade leaves a pending release that the next deploy recovers',
    { timeout: 600_000 },
    async () => {
      const branch = `feature/kill-${run}`;
      const first = await deploy({ branch });
      expect(first.action).toBe('installed');
      // A CI job cancelled hard: helm upgrade waits on a rollout that cannot finish and is SIGKILLed.
      const child = spawn(
        requireEnv('HELM_BIN'),
        [
          'upgrade',
          '--install',
          first.release,
          chartDir,
          '--namespace',
          first.namespace,
          '--kubeconfig',
          requireEnv('KUBECONFIG'),
          '--set',
          'image.repository=registry.local/does-not-exist',
          '--wait',
          '--timeout',
          '300s',
        ],
        { stdio: 'ignore' },
      );
      try {
        for (let i = 0; i < 120; i++) {
          const status = await releaseStatus(helm, first.release, first.namespace);
          if (status?.info.status !== 'deployed') break;
          await sleep(250);
        }
      } finally {
        child.kill('SIGKILL');
      }
      await new Promise((r) => child.once('exit', r));
      expect((await releaseStatus(helm, first.release, first.namespace))?.info.status).toBe(
        'pending-upgrade',
      );

      const { logger, lines } = recorder();
      const next = await deploy({ branch, commit: 3, logger });
      expect(next.recovered?.action).toBe('rollback');
      expect(next.action).toBe('upgraded');
      expect(lines.filter((l) => l.message.includes('was left pending-upgrade'))).toHaveLength(1);
      const history = await releaseHistory(helm, first.release, first.namespace);
      // Helm leaves the interrupted revision marked as it was; the rollback (3) and the deploy (4) follow it.
      expect(history.map((h) => h.status)).toEqual([
        'superseded',
        'pending-upgrade',
        'superseded',
        'deployed',
      ]);
      expect(history[2]?.description).toBe('Rollback to 1');
      expect(planRecovery(history)).toEqual({ action: 'none' });
    },
  );

  it(
    'two concurrent deploys of one branch run one after the other',
    { timeout: 600_000 },
    async () => {
      const branch = `feature/race-${run}`;
      await deploy({ branch });
      const a = recorder();
      const b = recorder();
      const results = await Promise.all([
        deploy({ branch, commit: 4, logger: a.logger }),
        deploy({ branch, commit: 5, logger: b.logger }),
      ]);
      expect(results.map((r) => r.action)).toEqual(['upgraded', 'upgraded']);
      const waited = [...a.lines, ...b.lines].filter((l) =>
        l.message.startsWith('waiting for the deploy lock'),
      );
      expect(waited.length).toBeGreaterThanOrEqual(1);
      expect(waited[0]?.message).toMatch(/held by .+\/\d+\//);
      const { release, namespace } = results[1];
      const history = await releaseHistory(helm, release, namespace);
      expect(history.map((h) => h.status)).toEqual(['superseded', 'superseded', 'deployed']);
    },
  );

  it('refuses a namespace it did not create, and one that belongs to another branch', async () => {
    const name = `feature-taken-${run}`;
    namespaces.add(name);
    await kube.core.createNamespace({ body: { metadata: { name } } });
    await expect(deploy({ branch: `feature/taken-${run}` })).rejects.toMatchObject({
      code: 'E_KUBE_NAMESPACE_NOT_OURS',
    });
    // `feature/same-x` and `feature-same-x` share the name `feature-same-x`.
    await deploy({ branch: `feature/same-${run}`, options: { addressTimeoutMs: 0 } });
    await expect(deploy({ branch: `feature-same-${run}` })).rejects.toMatchObject({
      code: 'E_KUBE_NAMESPACE_NOT_OURS',
    });
    await expect(deploy({ branch: `feature-same-${run}` })).rejects.toThrow(
      `belongs to branch "feature/same-${run}"`,
    );
  });
});

describe('hostile branch names', () => {
  it('deploy into valid, distinct namespaces', { timeout: 600_000 }, async () => {
    const branches = [
      `feature/Ünïcode & spaces ${run}`,
      `feature/a.b-${run}`,
      `feature/a_b-${run}`,
      `feature/${'very-long-'.repeat(8)}${run}`,
    ];
    const results: DeployResult[] = [];
    for (const branch of branches) {
      results.push(await deploy({ branch, options: { addressTimeoutMs: 0 } }));
    }
    const names = results.map((r) => r.namespace);
    expect(new Set(names).size).toBe(branches.length);
    for (const r of results) {
      expect(isDnsLabel(r.namespace)).toBe(true);
      expect(r.release.length).toBeLessThanOrEqual(53);
      const ns = await kube.core.readNamespace({ name: r.namespace });
      expect(branches).toContain(ns.metadata?.annotations?.[BRANCH_ANNOTATION]);
      expect((await releaseStatus(helm, r.release, r.namespace))?.info.status).toBe('deployed');
    }
  });
});

describe('connectDeployClients', () => {
  it("warns that the original's Helm 2 (Tiller) variables are ignored, and still connects", async () => {
    const lines: LogRecord[] = [];
    const logger = createLogger({ level: 'debug', reporter: { write: (r) => lines.push(r) } });
    const connected = await connectDeployClients({
      env: { ...process.env, HELM_TLS: 'true', HELM_CA: '/ca.pem' },
      logger,
    });
    try {
      const warning = lines.find((l) => l.level === 'warn');
      expect(warning?.message).toMatch(/^HELM_TLS, HELM_CA: Helm 2 \(Tiller\) settings/);
      expect(connected.helm.binary.version.major).toBeGreaterThanOrEqual(3);
    } finally {
      connected.close();
    }
  });
});
