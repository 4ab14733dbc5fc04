/**
 * The superseded-commit guard against the kwok cluster and the real helm: each revision records
 * its commit, and a deploy whose commit is older than the live one (as the caller's
 * `isSuperseded` says) changes nothing and reports `superseded`.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { buildDeployContext } from '@deploytag/context';
import { Secret, createLogger } from '@deploytag/core';
import type { LogRecord } from '@deploytag/core';
import { requireEnv } from '@deploytag/harness';
import { createKubeClients, envSecretName, loadKubeConfig, lockName } from '@deploytag/kube';
import type { KubeClients } from '@deploytag/kube';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyDeploy,
  createHelm,
  findHelm,
  parseRevisionDescription,
  planDeploy,
  readChartFacts,
  releaseHistory,
} from './index.js';
import type { DeployResult, Helm } from './index.js';

const chartDir = fileURLToPath(new URL('../test-fixtures/web', import.meta.url));
const run = randomBytes(3).toString('hex');
const branch = `feature/guard-${run}`;
/** Commit n of a made-up linear history: a higher n is newer. */
const sha = (n: number): string => `${n.toString(16).padStart(8, '0')}${'c'.repeat(32)}`;
const order = (text: string): number => parseInt(text.slice(0, 8), 16);

let kube: KubeClients;
let helm: Helm;
let namespace = '';
let release = '';
const questions: string[] = [];

async function deploy(
  commit: number,
  options: { guard?: boolean; secret?: string; lines?: LogRecord[] } = {},
): Promise<DeployResult> {
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
  namespace = context.namespace;
  release = context.release;
  const appEnv = { VERSION: Secret.of(options.secret ?? String(commit)) };
  const plan = planDeploy({
    context,
    chart: readChartFacts(chartDir),
    appEnv,
    options: { timeoutMs: 120_000, addressTimeoutMs: 0, lockDurationSeconds: 15 },
  });
  const lines = options.lines ?? [];
  return await applyDeploy(plan, appEnv, {
    kube,
    helm,
    logger: createLogger({ level: 'debug', reporter: { write: (r) => lines.push(r) } }),
    ...(options.guard === false
      ? {}
      : {
          // The pipeline asks git; here the made-up history is ordered by number.
          isSuperseded: (live: string) => {
            questions.push(live);
            return Promise.resolve(order(live) > commit);
          },
        }),
  });
}

async function envSecretValue(): Promise<string> {
  const secret = await kube.core.readNamespacedSecret({
    namespace,
    name: envSecretName(release),
  });
  return Buffer.from(secret.data?.['VERSION'] ?? '', 'base64').toString();
}

beforeAll(async () => {
  kube = createKubeClients(loadKubeConfig({ file: requireEnv('KUBECONFIG') }));
  helm = createHelm(await findHelm({ HELM_BIN: requireEnv('HELM_BIN') }), {
    kubeconfig: requireEnv('KUBECONFIG'),
  });
});

afterAll(async () => {
  if (namespace !== '') await kube.core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

describe('a deploy of a commit older than the live one', () => {
  it('records the commit of every revision it makes', { timeout: 300_000 }, async () => {
    const first = await deploy(2);
    expect(first.action).toBe('installed');
    // Nothing was live: nothing to ask.
    expect(questions).toEqual([]);
    const history = await releaseHistory(helm, release, namespace);
    expect(parseRevisionDescription(history.at(-1)?.description).sha).toBe(sha(2));
  });

  it('is skipped: no new revision, the environment Secret untouched', async () => {
    const lines: LogRecord[] = [];
    const before = await releaseHistory(helm, release, namespace);
    const result = await deploy(1, { secret: 'older', lines });
    expect(result.action).toBe('superseded');
    expect(result.supersededBy).toBe(sha(2));
    expect(result.revision).toBe(before.at(-1)?.revision);
    expect(result.envSecret).toBe('none');
    expect(questions).toEqual([sha(2)]);
    expect(lines.map((l) => l.message)).toContain(
      `${branch}: a newer commit ${sha(2).slice(0, 7)} is already deployed; nothing to do`,
    );
    expect(await releaseHistory(helm, release, namespace)).toEqual(before);
    expect(await envSecretValue()).toBe('2');
    // The lock was given up.
    await expect(
      kube.coordination.readNamespacedLease({ namespace, name: lockName(release) }),
    ).rejects.toMatchObject({ code: 404 });
  });

  it('a newer commit is deployed over it', { timeout: 300_000 }, async () => {
    const result = await deploy(3);
    expect(result.action).toBe('upgraded');
    expect(questions.at(-1)).toBe(sha(2));
    const history = await releaseHistory(helm, release, namespace);
    expect(history.map((r) => [r.status, parseRevisionDescription(r.description).sha])).toEqual([
      ['superseded', sha(2)],
      ['deployed', sha(3)],
    ]);
    expect(await envSecretValue()).toBe('3');
  });

  it('the same commit again is not asked about (unchanged)', async () => {
    const asked = questions.length;
    const result = await deploy(3);
    expect(result.action).toBe('unchanged');
    expect(questions.length).toBe(asked);
  });

  it(
    'without isSuperseded, an older commit is deployed as before',
    { timeout: 300_000 },
    async () => {
      const result = await deploy(1, { guard: false });
      expect(result.action).toBe('upgraded');
      const history = await releaseHistory(helm, release, namespace);
      expect(parseRevisionDescription(history.at(-1)?.description).sha).toBe(sha(1));
    },
  );
});
