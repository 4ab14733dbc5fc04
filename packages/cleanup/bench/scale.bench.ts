/**
 * Scale: how planning, deploying and cleaning up grow with the number of preview environments
 * in the cluster, each figure a ratio measured in the same run.
 * - planning: `runCleanup --dry-run` over 200 previews of one repository vs over 20;
 * - deploying: a new preview's first deploy with 200 other preview namespaces present vs with
 *   none (the same chart, the same cluster);
 * - cleanup: removing 100 stale previews vs removing 10, per environment;
 * - cleanup concurrency: removing 20 stale previews four at a time (the default) vs one by one.
 * The previews are labelled namespaces (as a deploy leaves them) without workloads, so the figures
 * show DeployTag's own cost, not the cluster's. Needs the kube and helm components.
 * Run: `DEPLOYTAG_STACK_COMPONENTS=kube,helm npm run bench -- scale`.
 */
import { fileURLToPath } from 'node:url';
import { compare, time } from '@deploytag/bench';
import type { BenchContext, BenchResult, Timing } from '@deploytag/bench';
import { buildDeployContext, namespaceName } from '@deploytag/context';
import { silentLogger } from '@deploytag/core';
import { connectDeployClients, deploy, readChartFacts } from '@deploytag/helm';
import {
  BRANCH_ANNOTATION,
  DEPLOYED_AT_ANNOTATION,
  ENVIRONMENT_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  REPO_LABEL,
} from '@deploytag/kube';
import type { KubeClients } from '@deploytag/kube';
import { runCleanup } from '../src/index.js';

const chart = fileURLToPath(new URL('../../helm/test-fixtures/web', import.meta.url));
const OLD = new Date('2026-01-01T00:00:00Z');

/** Creates `count` labelled preview namespaces of `repo`, deployed long ago. */
async function previews(kube: KubeClients, repo: string, from: number, count: number) {
  const made: string[] = [];
  for (let i = from; i < from + count; i += 10) {
    const batch = Array.from({ length: Math.min(10, from + count - i) }, (_, k) => i + k);
    await Promise.all(
      batch.map(async (n) => {
        // Named as a deploy names a branch's namespace, so that cleanup recognises it as ours.
        const branch = `feature/${repo}-pr-${n}`;
        const name = namespaceName(branch);
        await kube.core.createNamespace({
          body: {
            metadata: {
              name,
              labels: {
                [MANAGED_BY_LABEL]: MANAGED_BY,
                [REPO_LABEL]: repo,
                [ENVIRONMENT_LABEL]: 'preview',
              },
              annotations: {
                [BRANCH_ANNOTATION]: branch,
                [DEPLOYED_AT_ANNOTATION]: OLD.toISOString(),
              },
            },
          },
        });
        made.push(name);
      }),
    );
  }
  return made;
}

/** Waits until no namespace of `repo` is left (deleted ones linger while they terminate). */
async function waitGone(kube: KubeClients, repo: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const list = await kube.core.listNamespace({ labelSelector: `${REPO_LABEL}=${repo}` });
    if (list.items.length === 0) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`the namespaces of ${repo} were not deleted within 10 minutes`);
}

function single(ms: number): Timing {
  return { runs: 1, medianMs: ms, minMs: ms, maxMs: ms };
}

export default async function bench(ctx: BenchContext): Promise<BenchResult[]> {
  if (ctx.env.KUBECONFIG === undefined || ctx.env.HELM_BIN === undefined) {
    ctx.log('KUBECONFIG or HELM_BIN is not set: run with DEPLOYTAG_STACK_COMPONENTS=kube,helm');
    return [];
  }
  const connected = await connectDeployClients({ env: ctx.env });
  const { kube, helm } = connected;
  const run = Date.now().toString(36);
  const repo = `scale-${run}`;
  const created: string[] = [];
  const cleanupOf = (dryRun: boolean, concurrency?: number) => () =>
    runCleanup({
      repo,
      olderThan: '7d',
      dryRun,
      ...(concurrency === undefined ? {} : { concurrency }),
      env: ctx.env,
      cwd: ctx.tmp,
      logger: silentLogger,
      timeoutMs: 300_000,
    });
  const deployPreview = async (branch: string) => {
    const context = buildDeployContext({
      env: {
        CIRCLE_BRANCH: branch,
        CIRCLE_SHA1: 'c'.repeat(40),
        CIRCLE_PROJECT_REPONAME: `${repo}-app`,
        CHART_NAME: chart,
        DOMAIN: 'example.test',
        CONTAINER_REGISTRY: 'registry.local',
      },
    });
    created.push(context.namespace);
    await deploy(
      { context, chart: readChartFacts(chart), options: { addressTimeoutMs: 60_000 } },
      { kube, helm },
    );
  };
  try {
    const runs = Math.max(2, Math.round(3 * ctx.scale));
    // Deploying with no other previews of this run in the cluster, then with 200.
    let n = 0;
    const deployFew = await time(() => deployPreview(`feature/scale-${run}-a${n++}`), runs, 0);
    created.push(...(await previews(kube, repo, 0, 20)));
    const planFew = await time(cleanupOf(true), runs);
    created.push(...(await previews(kube, repo, 20, 180)));
    const planMany = await time(cleanupOf(true), runs);
    const deployMany = await time(() => deployPreview(`feature/scale-${run}-b${n++}`), runs, 0);

    // Cleanup of 10, then of 100 stale previews (the 200 above are deleted directly first).
    await Promise.all(
      created.splice(0).map((name) => kube.core.deleteNamespace({ name }).catch(() => undefined)),
    );
    await waitGone(kube, repo);
    /** Removes every stale preview and returns the time per environment. */
    const removeAll = async (count: number, concurrency?: number): Promise<number> => {
      const t0 = performance.now();
      const result = await cleanupOf(false, concurrency)();
      const ms = performance.now() - t0;
      const removed = result.report?.removed ?? 0;
      if (removed !== count || (result.report?.failed ?? 0) > 0)
        throw new Error(
          `expected ${count} previews removed, got ${removed} (${result.report?.failed ?? 0} failed)`,
        );
      return ms / count;
    };
    await previews(kube, repo, 1000, 10);
    const ten = await removeAll(10);
    await previews(kube, repo, 2000, 100);
    const hundred = await removeAll(100);
    await previews(kube, repo, 3000, 20);
    const oneByOne = await removeAll(20, 1);
    await previews(kube, repo, 4000, 20);
    const fourAtOnce = await removeAll(20);

    return [
      compare(
        'scale-plan',
        'cleanup planning (dry run) over 200 previews vs over 20',
        { label: '20 previews', timing: planFew },
        { label: '200 previews', timing: planMany },
      ),
      compare(
        'scale-deploy',
        'first deploy of a preview with 200 other preview namespaces vs with none',
        { label: 'no other previews', timing: deployFew },
        { label: '200 other previews', timing: deployMany },
      ),
      compare(
        'scale-cleanup',
        'cleanup time per environment: 100 stale previews vs 10',
        { label: 'per environment, 10 stale', timing: single(ten) },
        { label: 'per environment, 100 stale', timing: single(hundred) },
      ),
      compare(
        'scale-cleanup-concurrency',
        'cleanup of 20 stale previews: four at a time (the default) vs one after another',
        { label: 'one after another', timing: single(oneByOne * 20) },
        { label: 'four at a time', timing: single(fourAtOnce * 20) },
      ),
    ];
  } finally {
    await Promise.all(
      created.map((name) => kube.core.deleteNamespace({ name }).catch(() => undefined)),
    );
    connected.close();
  }
}
