/**
 * Several deploys at once from one checkout of a chart with a `file://` subchart, against the
 * kwok cluster with real helm: `helm dependency build` rewrites the chart's `charts/` folder, so
 * unguarded deploys remove each other's downloads ("lstat …/charts/tmpcharts-N: no such file").
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDeployContext } from '@deploytag/context';
import { requireEnv } from '@deploytag/harness';
import { createKubeClients, loadKubeConfig } from '@deploytag/kube';
import type { KubeClients } from '@deploytag/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '@deploytag/core';
import type { LogRecord } from '@deploytag/core';
import { withChartLock } from './chart-lock.js';
import { applyDeploy, createHelm, findHelm, planDeploy, readChartFacts } from './index.js';
import type { Helm } from './index.js';

const run = randomBytes(2).toString('hex');
const work = mkdtempSync(join(tmpdir(), 'deploytag-chart-lock-'));
const chartDir = join(work, 'app');
const namespaces: string[] = [];
let kube: KubeClients;
let helm: Helm;

function writeChart(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

const configMap = (name: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-${name}\ndata:\n  from: ${name}\n`;

beforeAll(async () => {
  kube = createKubeClients(loadKubeConfig({ file: requireEnv('KUBECONFIG') }));
  helm = createHelm(await findHelm({ HELM_BIN: requireEnv('HELM_BIN') }), {
    kubeconfig: requireEnv('KUBECONFIG'),
  });
  writeChart(join(work, 'lib'), {
    'Chart.yaml': 'apiVersion: v2\nname: lib\nversion: 0.1.0\n',
    'templates/lib.yaml': configMap('lib'),
  });
  writeChart(chartDir, {
    'Chart.yaml':
      'apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: lib\n    version: 0.1.0\n    repository: file://../lib\n',
    'values.yaml': 'image:\n  repository: registry.local/app\n  tag: unset\n',
    'templates/app.yaml': configMap('app'),
  });
});

afterAll(async () => {
  for (const name of namespaces) await kube.core.deleteNamespace({ name }).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

function planFor(branch: string): ReturnType<typeof planDeploy> {
  const context = buildDeployContext({
    env: {
      CIRCLE_BRANCH: branch,
      CIRCLE_SHA1: `${'b'.repeat(36)}${run}`,
      CIRCLE_PROJECT_REPONAME: 'lockshop',
      CHART_NAME: chartDir,
      DOMAIN: 'example.test',
      CONTAINER_REGISTRY: 'registry.local',
    },
  });
  namespaces.push(context.namespace);
  return planDeploy({
    context,
    chart: readChartFacts(chartDir),
    options: { timeoutMs: 120_000, addressTimeoutMs: 0, lockDurationSeconds: 15 },
  });
}

describe('deploys at once from one chart folder', () => {
  it('six branches deploy the chart with its subchart, and the folder is left as helm leaves it', async () => {
    const branches = Array.from({ length: 6 }, (_, i) => `feature/lock-${run}-${i}`);
    const results = await Promise.all(
      branches.map(async (branch) => {
        const plan = planFor(branch);
        expect(plan.dependencyBuild).toBe(true);
        return await applyDeploy(plan, undefined, { kube, helm });
      }),
    );
    for (const result of results) {
      expect(result.action).toBe('installed');
      const maps = await kube.core.listNamespacedConfigMap({ namespace: result.namespace });
      const names = maps.items.map((m) => m.metadata?.name);
      expect(names).toContain(`${result.release}-app`);
      expect(names).toContain(`${result.release}-lib`);
    }
    expect(readdirSync(join(chartDir, 'charts'))).toEqual(['lib-0.1.0.tgz']);
    expect(existsSync(join(chartDir, 'Chart.lock'))).toBe(true);
  });

  it('builds the dependencies only once the chart lock is free', async () => {
    let releasedAt = 0;
    let held = (): void => undefined;
    const taken = new Promise<void>((resolve) => {
      held = resolve;
    });
    const holder = withChartLock(
      chartDir,
      async () => {
        held();
        await sleep(1_500);
        releasedAt = Date.now();
      },
      { timeoutMs: 10_000 },
    );
    await taken;
    const lines: LogRecord[] = [];
    const logger = createLogger({ level: 'info', reporter: { write: (r) => lines.push(r) } });
    const result = await applyDeploy(planFor(`feature/lock-${run}-late`), undefined, {
      kube,
      helm,
      logger,
    });
    await holder;
    expect(result.action).toBe('installed');
    const building = lines.find((l) => l.message === "building the chart's dependencies");
    expect(building?.time).toBeGreaterThanOrEqual(releasedAt);
  });
});
