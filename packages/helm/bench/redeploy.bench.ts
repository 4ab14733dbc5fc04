/**
 * A no-op redeploy (same commit, nothing changed) against (1) the first deploy of a branch and
 * (2) the API round trips a redeploy cannot avoid, measured directly in the same run: read the
 * namespace, read the environment Secret, take and give back the Lease, read the release's
 * storage (what `helm history` lists), read the workloads and pods (readiness) and the Services
 * and Ingresses (addresses). Needs the kube and helm components.
 * Run: `DEPLOYTAG_STACK_COMPONENTS=kube,helm npm run bench -- redeploy`.
 */
import { fileURLToPath } from 'node:url';
import { compare, time } from '@deploytag/bench';
import type { BenchContext, BenchResult } from '@deploytag/bench';
import { buildDeployContext } from '@deploytag/context';
import { Secret } from '@deploytag/core';
import { createKubeClients, loadKubeConfig } from '@deploytag/kube';
import {
  applyDeploy,
  createHelm,
  findHelm,
  planDeploy,
  readChartFacts,
  releaseHistory,
} from '../src/index.js';
import type { DeployOptions } from '../src/index.js';

const chart = fileURLToPath(new URL('../test-fixtures/web', import.meta.url));

export default async function bench(ctx: BenchContext): Promise<BenchResult[]> {
  const kubeconfig = ctx.env.KUBECONFIG;
  const helmBin = ctx.env.HELM_BIN;
  if (kubeconfig === undefined || helmBin === undefined) {
    ctx.log('KUBECONFIG or HELM_BIN is not set: run with DEPLOYTAG_STACK_COMPONENTS=kube,helm');
    return [];
  }
  const kube = createKubeClients(loadKubeConfig({ file: kubeconfig }));
  const helm = createHelm(await findHelm({ HELM_BIN: helmBin }), { kubeconfig });
  const appEnv = { DATABASE_URL: Secret.of('postgres://app:pw@db/app'), MODE: Secret.of('bench') };
  const tag = Date.now().toString(36);
  const namespaces: string[] = [];
  const options: DeployOptions = { timeoutMs: 180_000, addressTimeoutMs: 60_000 };
  const planFor = (branch: string, extra: DeployOptions = {}) => {
    const context = buildDeployContext({
      env: {
        CIRCLE_BRANCH: branch,
        CIRCLE_SHA1: 'b'.repeat(40),
        CIRCLE_PROJECT_REPONAME: 'bench',
        CHART_NAME: chart,
        DOMAIN: 'example.test',
        CONTAINER_REGISTRY: 'registry.local',
      },
    });
    if (!namespaces.includes(context.namespace)) namespaces.push(context.namespace);
    return planDeploy({
      context,
      chart: readChartFacts(chart),
      appEnv,
      options: { ...options, ...extra },
    });
  };
  const deploy = async (branch: string, extra: DeployOptions = {}) =>
    await applyDeploy(planFor(branch, extra), appEnv, { kube, helm });

  try {
    const firstRuns = Math.max(2, Math.round(4 * ctx.scale));
    const runs = Math.max(3, Math.round(10 * ctx.scale));
    let n = 0;
    const first = await time(
      async () => {
        const r = await deploy(`feature/bench-first-${tag}-${n++}`);
        if (r.action !== 'installed') throw new Error(`expected an install, got ${r.action}`);
      },
      firstRuns,
      0,
    );

    const branch = `feature/bench-redeploy-${tag}`;
    await deploy(branch);
    const plan = planFor(branch);
    const noop = await time(async () => {
      const r = await deploy(branch);
      if (r.action !== 'unchanged') throw new Error(`expected no change, got ${r.action}`);
    }, runs);
    const forced = await time(async () => {
      const r = await deploy(branch, { skipUnchanged: false });
      if (r.action !== 'upgraded') throw new Error(`expected helm to run, got ${r.action}`);
    }, runs);

    const { namespace, release } = plan;
    const roundTrips = await time(async () => {
      await kube.core.readNamespace({ name: namespace });
      await kube.core.readNamespacedSecret({ name: `${release}-env`, namespace });
      await kube.coordination.createNamespacedLease({
        namespace,
        body: {
          metadata: { name: 'bench-lock' },
          spec: { holderIdentity: 'bench', leaseDurationSeconds: 60 },
        },
      });
      await kube.coordination.deleteNamespacedLease({ name: 'bench-lock', namespace });
      await kube.core.listNamespacedSecret({
        namespace,
        labelSelector: `owner=helm,name=${release}`,
      });
      await Promise.all([
        kube.apps.listNamespacedDeployment({ namespace }),
        kube.apps.listNamespacedStatefulSet({ namespace }),
        kube.batch.listNamespacedJob({ namespace }),
        kube.core.listNamespacedPod({ namespace }),
      ]);
      await Promise.all([
        kube.core.listNamespacedService({ namespace }),
        kube.networking.listNamespacedIngress({ namespace }),
      ]);
    }, runs);
    const helmHistory = await time(async () => releaseHistory(helm, release, namespace), runs);

    const extra = {
      helmHistoryProcessMs: Number(helmHistory.medianMs.toFixed(1)),
      helmUpgradeNoChangeMs: Number(forced.medianMs.toFixed(1)),
    };
    return [
      compare(
        'redeploy-vs-first',
        'no-op redeploy (same commit, nothing changed; helm upgrade skipped) vs the first deploy of a branch (namespace, Secret, install, rollout, LB address)',
        { label: 'first deploy', timing: first },
        { label: 'no-op redeploy', timing: noop },
        extra,
      ),
      compare(
        'redeploy-vs-round-trips',
        'no-op redeploy vs the sum of its unavoidable API round trips (namespace, Secret, Lease create+delete, release storage, 4 workload lists, Services+Ingresses), measured directly',
        { label: 'unavoidable round trips', timing: roundTrips },
        { label: 'no-op redeploy', timing: noop },
        extra,
      ),
      compare(
        'redeploy-skip-vs-helm',
        'no-op redeploy with the digest skip vs the same redeploy forcing helm upgrade --install --wait (which changes no pod)',
        { label: 'redeploy running helm upgrade', timing: forced },
        { label: 'no-op redeploy (skip)', timing: noop },
      ),
    ];
  } finally {
    for (const name of namespaces) await kube.core.deleteNamespace({ name }).catch(() => undefined);
  }
}
