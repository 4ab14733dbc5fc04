/**
 * `runCleanup` against the real stack: previews and staging deployed with helm into the kwok
 * cluster, branches on the harness's smart-HTTP git server, databases on PostgreSQL, image tags
 * in the registry. Every name carries this run's id, so other tests run alongside.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildDeployContext, databaseName, imageTag, namespaceName } from '@deploytag/context';
import { createLogger } from '@deploytag/core';
import type { LogRecord } from '@deploytag/core';
import {
  connectServer,
  createDatabase,
  databaseExists,
  quoteIdentifier,
  resolveDatabaseConfig,
} from '@deploytag/db';
import type { DatabaseServer } from '@deploytag/db';
import { requireEnv } from '@deploytag/harness';
import {
  applyDeploy,
  createHelm,
  findHelm,
  planDeploy,
  readChartFacts,
  releaseStatus,
} from '@deploytag/helm';
import type { Helm } from '@deploytag/helm';
import { EngineClient, RegistryClient, engineConnectionFromEnv } from '@deploytag/image';
import {
  BRANCH_ANNOTATION,
  DEPLOYED_AT_ANNOTATION,
  ENVIRONMENT_LABEL,
  REPO_LABEL,
  createKubeClients,
  loadKubeConfig,
  namespaceExists,
} from '@deploytag/kube';
import type { KubeClients } from '@deploytag/kube';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLEANUP_ANNOTATION, parseCleanupRecord, runCleanup } from './index.js';
import type { EnvironmentPlan, RunCleanupOptions } from './index.js';

const exec = promisify(execFile);
const run = randomBytes(3).toString('hex');
const repo = `cln-${run}`;
const registryHost = requireEnv('DEPLOYTAG_REGISTRY');
const imagePath = `${repo}/app`;
const imageRepository = `${registryHost}/${imagePath}`;
const gitBase = requireEnv('DEPLOYTAG_GIT_URL');
const gitRoot = requireEnv('DEPLOYTAG_GIT_ROOT');
const gitToken = requireEnv('DEPLOYTAG_GIT_TOKEN');
const remoteUrl = `${gitBase}/${repo}.git`;
const postgresUrl = requireEnv('DEPLOYTAG_POSTGRES_URL');

const branch = {
  alive: `feature/${run}-alive`,
  gone: `feature/${run}-gone`,
  old: `feature/${run}-old`,
};
/** A branch whose namespace exists but was not made by DeployTag. */
const ghost = `feature/${run}-ghost`;
const stagingNamespace = `${repo}-staging`;
const ns = {
  alive: namespaceName(branch.alive),
  gone: namespaceName(branch.gone),
  old: namespaceName(branch.old),
  ghost: namespaceName(ghost),
};
const sha = (n: number): string => `${n.toString(16).padStart(8, '0')}${run}${'c'.repeat(26)}`;
/** Staging runs S; `old` runs X; `gone` ran S, then X, then A; `alive` runs A. */
const S = sha(1);
const X = sha(2);
const A = sha(3);

const work = fs.mkdtempSync(join(tmpdir(), 'deploytag-cleanup-'));
const chartDir = join(work, 'chart');
let kube: KubeClients;
let helm: Helm;
let db: DatabaseServer;
let registry: RegistryClient;
const releases = new Map<string, string>(); // namespace → release
/** When cleanup looks: just over an hour after `old`'s deploy, under an hour after the others'. */
let now: Date;

function writeChart(): void {
  fs.mkdirSync(join(chartDir, 'templates'), { recursive: true });
  fs.writeFileSync(
    join(chartDir, 'Chart.yaml'),
    'apiVersion: v2\nname: app\ndescription: cleanup test chart\nversion: 0.1.0\n',
  );
  fs.writeFileSync(
    join(chartDir, 'values.yaml'),
    `image:\n  repository: ${imageRepository}\n  tag: unset\n`,
  );
  fs.writeFileSync(
    join(chartDir, 'templates', 'deployment.yaml'),
    [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: {{ .Release.Name }}',
      '  labels:',
      '    app.kubernetes.io/instance: {{ .Release.Name }}',
      'spec:',
      '  replicas: 1',
      '  selector:',
      '    matchLabels:',
      '      app.kubernetes.io/instance: {{ .Release.Name }}',
      '  template:',
      '    metadata:',
      '      labels:',
      '        app.kubernetes.io/instance: {{ .Release.Name }}',
      '    spec:',
      '      containers:',
      '        - name: app',
      '          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"',
      '',
    ].join('\n'),
  );
}

async function deploy(branchName: string | undefined, commit: string): Promise<void> {
  const context = buildDeployContext({
    env: {
      CIRCLE_BRANCH: branchName ?? 'main',
      CIRCLE_SHA1: commit,
      CIRCLE_PROJECT_REPONAME: repo,
      CHART_NAME: chartDir,
      DOMAIN: 'example.test',
      CONTAINER_REGISTRY: registryHost,
    },
    sharedNamespace: stagingNamespace,
  });
  const plan = planDeploy({
    context,
    chart: readChartFacts(chartDir),
    options: { timeoutMs: 120_000, addressTimeoutMs: 0, lockDurationSeconds: 15 },
  });
  const result = await applyDeploy(plan, undefined, { kube, helm });
  releases.set(result.namespace, result.release);
}

/** Pushes one small image, then gives each tag its own manifest (an annotation differs). */
async function pushTags(tags: string[]): Promise<void> {
  const engine = new EngineClient(engineConnectionFromEnv(process.env));
  await engine.tag(requireEnv('DEPLOYTAG_BASE_IMAGE'), `${imageRepository}:seed`);
  await engine.push(`${imageRepository}:seed`);
  const seed = await registry.getManifest(imagePath, 'seed');
  if (seed === undefined) throw new Error('the seed image was not pushed');
  for (const tag of tags) {
    const body = JSON.parse(seed.body.toString('utf8')) as Record<string, unknown>;
    body['annotations'] = { 'dev.deploytag.test/tag': tag };
    await registry.putManifest(imagePath, tag, {
      ...seed,
      body: Buffer.from(JSON.stringify(body)),
    });
  }
  await registry.deleteTag(imagePath, 'seed');
}

async function pushBranches(): Promise<void> {
  await exec('git', [
    'init',
    '--quiet',
    '--bare',
    '--initial-branch=main',
    join(gitRoot, `${repo}.git`),
  ]);
  const dir = join(work, 'checkout');
  await git.init({ fs, dir, defaultBranch: 'main' });
  fs.writeFileSync(join(dir, 'README'), 'cleanup test\n');
  await git.add({ fs, dir, filepath: 'README' });
  await git.commit({
    fs,
    dir,
    message: 'first',
    author: { name: 'Test', email: 't@example.test' },
  });
  const onAuth = () => ({ username: 'x-access-token', password: gitToken });
  for (const name of Object.values(branch)) await git.branch({ fs, dir, ref: name });
  for (const ref of ['main', ...Object.values(branch)]) {
    await git.push({ fs, http, dir, url: remoteUrl, ref, onAuth });
  }
  // The branch is deleted on the remote, as after merging a pull request.
  await git.push({ fs, http, dir, url: remoteUrl, ref: branch.gone, delete: true, onAuth });
}

async function deployedAt(namespace: string): Promise<number> {
  const found = await kube.core.readNamespace({ name: namespace });
  return Date.parse(found.metadata?.annotations?.[DEPLOYED_AT_ANNOTATION] ?? '');
}

function options(extra: Partial<RunCleanupOptions> = {}): RunCleanupOptions {
  return {
    repo,
    remote: remoteUrl,
    olderThan: '1h',
    branches: [ghost],
    dropDatabases: true,
    pruneImages: true,
    now,
    cwd: work,
    timeoutMs: 120_000,
    env: {
      KUBECONFIG: requireEnv('KUBECONFIG'),
      HELM_BIN: requireEnv('HELM_BIN'),
      DATABASE_URL: postgresUrl,
      CONTAINER_REGISTRY: registryHost,
      PROJECT_ID: repo,
      IMAGE: 'app',
      DEPLOYTAG_GIT_TOKEN: gitToken,
    },
    ...extra,
  };
}

const previewDbs = {
  alive: databaseName(repo, branch.alive),
  gone: databaseName(repo, branch.gone),
  old: databaseName(repo, branch.old),
};
const stagingDb = databaseName(repo, undefined);

async function tags(): Promise<string[]> {
  return (await registry.listTags(imagePath)).sort();
}

beforeAll(async () => {
  kube = createKubeClients(loadKubeConfig({ file: requireEnv('KUBECONFIG') }));
  helm = createHelm(await findHelm({ HELM_BIN: requireEnv('HELM_BIN') }), {
    kubeconfig: requireEnv('KUBECONFIG'),
  });
  db = connectServer(
    resolveDatabaseConfig({ env: { DATABASE_URL: postgresUrl }, databaseOptional: true }),
  );
  registry = new RegistryClient(registryHost);
  writeChart();
  await pushBranches();
  await pushTags([S, X, A, imageTag(branch.alive), imageTag(branch.gone), imageTag(branch.old)]);
  for (const name of [...Object.values(previewDbs), stagingDb]) await createDatabase(db, name);

  // `old` first, so that it is the only preview last deployed more than an hour before `now`.
  await deploy(branch.old, X);
  await deploy(undefined, S);
  await deploy(branch.gone, S);
  await deploy(branch.gone, X);
  await deploy(branch.gone, A);
  await deploy(branch.alive, A);
  const oldAt = await deployedAt(ns.old);
  const othersAt = Math.min(await deployedAt(ns.gone), await deployedAt(ns.alive));
  expect(othersAt).toBeGreaterThan(oldAt);
  now = new Date(oldAt + 3_600_000 + (othersAt - oldAt) / 2);

  // Looks like a preview of this repository whose branch is gone, but DeployTag did not make it.
  await kube.core.createNamespace({
    body: {
      metadata: {
        name: ns.ghost,
        labels: { [REPO_LABEL]: repo, [ENVIRONMENT_LABEL]: 'preview' },
        annotations: { [BRANCH_ANNOTATION]: ghost },
      },
    },
  });
});

afterAll(async () => {
  for (const name of [...Object.values(ns), stagingNamespace]) {
    await kube.core.deleteNamespace({ name }).catch(() => undefined);
  }
  for (const name of [...Object.values(previewDbs), stagingDb]) {
    await db.admin
      .raw(`drop database if exists ${quoteIdentifier(name, 'postgresql')} with (force)`)
      .catch(() => undefined);
  }
  await db.close();
  for (const tag of await tags().catch(() => [])) {
    await registry.deleteTag(imagePath, tag).catch(() => undefined);
  }
  fs.rmSync(join(gitRoot, `${repo}.git`), { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

function byNamespace(environments: EnvironmentPlan[], namespace: string): EnvironmentPlan {
  const found = environments.find((e) => e.namespace === namespace);
  if (found === undefined) throw new Error(`no plan for ${namespace}`);
  return found;
}

describe('deploytag cleanup against the stack', () => {
  it('--dry-run names exactly the deleted branch and the expired one, and changes nothing', async () => {
    const { plan, dryRun, report } = await runCleanup(options({ dryRun: true }));
    expect(dryRun).toBe(true);
    expect(report).toBeUndefined();
    expect(plan.environments.filter((e) => e.stale).map((e) => e.namespace)).toEqual(
      [ns.gone, ns.old].sort(),
    );
    expect(plan.environments.map((e) => e.namespace).sort()).toEqual(
      [ns.alive, ns.gone, ns.old, stagingNamespace].sort(),
    );
    const gone = byNamespace(plan.environments, ns.gone);
    const old = byNamespace(plan.environments, ns.old);
    expect(gone.reasons.map((r) => r.code)).toEqual(['branch-gone']);
    expect(old.reasons.map((r) => r.code)).toEqual(['expired']);
    expect(byNamespace(plan.environments, ns.alive).reasons.map((r) => r.code)).toEqual(['active']);
    expect(byNamespace(plan.environments, stagingNamespace).reasons.map((r) => r.code)).toEqual([
      'shared-environment',
    ]);
    // The unlabelled look-alike is not even seen, though its branch was named.
    expect(plan.unmatchedBranches).toEqual([ghost]);

    expect(gone.actions.map((a) => a.type)).toEqual([
      'lock',
      'record',
      'uninstall',
      'drop-database',
      'delete-image-tags',
      'delete-namespace',
    ]);
    expect(gone.actions).toContainEqual(
      expect.objectContaining({ type: 'drop-database', database: previewDbs.gone }),
    );
    const deletes = (e: EnvironmentPlan): string[] =>
      e.actions.flatMap((a) => (a.type === 'delete-image-tags' ? a.tags.map((t) => t.tag) : []));
    // A is what `alive` runs and S what staging runs: kept. X, which only the two stale
    // previews ran, is deleted once, by the second, after the first is gone.
    expect(deletes(gone)).toEqual([imageTag(branch.gone)]);
    expect(gone.notes.sort()).toEqual(
      [
        `kept image tag ${A}: namespace ${ns.alive} still uses it`,
        `kept image tag ${S}: namespace ${stagingNamespace} still uses it`,
        `image tag ${X} is shared with ${ns.old}, also removed; it is deleted with namespace ${ns.old}`,
      ].sort(),
    );
    const oldTags = old.actions.flatMap((a) => (a.type === 'delete-image-tags' ? a.tags : []));
    expect(oldTags.map((t) => [t.tag, t.after])).toEqual(
      [
        [imageTag(branch.old), undefined],
        [X, [ns.gone]],
      ].sort(),
    );

    // Nothing changed.
    expect((await releaseStatus(helm, releases.get(ns.gone)!, ns.gone))?.info.status).toBe(
      'deployed',
    );
    const goneNs = await kube.core.readNamespace({ name: ns.gone });
    expect(goneNs.metadata?.annotations?.[CLEANUP_ANNOTATION]).toBeUndefined();
    expect(await databaseExists(db, previewDbs.gone)).toBe(true);
    expect(await tags()).toHaveLength(6);
  });

  it('a cleanup stopped after the first uninstall is finished by the next run', async () => {
    const stop = new AbortController();
    const first = await runCleanup(
      options({
        // One at a time, so that the stop lands between the two environments.
        concurrency: 1,
        signal: stop.signal,
        onStep: (event) => {
          if (event.action.type === 'uninstall') stop.abort();
        },
      }),
    );
    const [firstEnv, secondEnv] = [ns.gone, ns.old].sort();
    expect(first.report?.environments.map((e) => [e.namespace, e.status])).toEqual([
      [firstEnv, 'interrupted'],
      [secondEnv, 'interrupted'],
    ]);
    expect(first.report?.environments[0]?.steps.map((s) => s.type)).toEqual([
      'lock',
      'record',
      'uninstall',
    ]);
    expect(first.report?.failed).toBe(2);
    // Half done: the first release is gone, but its namespace, record, database and tags remain.
    const half = firstEnv!;
    const halfDb = half === ns.gone ? previewDbs.gone : previewDbs.old;
    expect(await releaseStatus(helm, releases.get(half)!, half)).toBeUndefined();
    const recorded = await kube.core.readNamespace({ name: half });
    const record = parseCleanupRecord(recorded.metadata?.annotations?.[CLEANUP_ANNOTATION]);
    expect(record?.releases).toEqual([releases.get(half)]);
    expect(await databaseExists(db, halfDb)).toBe(true);
    expect(await tags()).toHaveLength(6);
    expect((await releaseStatus(helm, releases.get(secondEnv!)!, secondEnv!))?.info.status).toBe(
      'deployed',
    );

    const lines: LogRecord[] = [];
    const logger = createLogger({ level: 'debug', reporter: { write: (r) => lines.push(r) } });
    const events: string[] = [];
    const second = await runCleanup(
      options({ logger, onStep: (e) => events.push(`${e.namespace} ${e.action.type}`) }),
    );
    expect(second.report?.environments.map((e) => [e.namespace, e.status])).toEqual([
      [firstEnv, 'removed'],
      [secondEnv, 'removed'],
    ]);
    // Removed at the same time (the default concurrency).
    expect(events.indexOf(`${ns.old} lock`)).toBeLessThan(
      events.indexOf(`${ns.gone} delete-namespace`),
    );
    expect(byNamespace(second.plan.environments, half).reasons.map((r) => r.code)).toContain(
      'resume',
    );
    expect(second.report).toMatchObject({ removed: 2, failed: 0, skipped: 0 });

    // Removed: releases, namespaces, databases, the branches' own image tags.
    for (const namespace of [ns.gone, ns.old]) {
      expect(await namespaceExists(kube, namespace)).toBe(false);
      expect(await releaseStatus(helm, releases.get(namespace)!, namespace)).toBeUndefined();
    }
    expect(await databaseExists(db, previewDbs.gone)).toBe(false);
    expect(await databaseExists(db, previewDbs.old)).toBe(false);
    // Kept: the third preview, staging, the look-alike, and every tag a live release runs.
    expect(await databaseExists(db, previewDbs.alive)).toBe(true);
    expect(await databaseExists(db, stagingDb)).toBe(true);
    expect(await tags()).toEqual([S, A, imageTag(branch.alive)].sort());
    for (const namespace of [ns.alive, stagingNamespace]) {
      expect((await releaseStatus(helm, releases.get(namespace)!, namespace))?.info.status).toBe(
        'deployed',
      );
    }
    expect(await namespaceExists(kube, ns.ghost)).toBe(true);

    // Progress was reported, and no credential reached a log line.
    const logged = JSON.stringify(lines);
    expect(logged).toContain(`deleted namespace ${half}`);
    expect(logged).not.toContain(gitToken);
    expect(logged).not.toContain(decodeURIComponent(new URL(postgresUrl).password));
  });

  it('removes several at once; a tag they share goes with the last, once the others are gone', async () => {
    // Two previews of branches that are not on the remote, both running the image Y.
    const pair = [`feature/${run}-pair-a`, `feature/${run}-pair-b`];
    const [first, second] = pair.map((b) => namespaceName(b)) as [string, string];
    const Y = sha(4);
    await pushTags([Y, ...pair.map((b) => imageTag(b))]);
    for (const b of pair) await deploy(b, Y);
    const events: string[] = [];
    const result = await runCleanup(
      options({
        branches: [],
        dropDatabases: false,
        onStep: (e) => events.push(`${e.namespace} ${e.action.type}`),
      }),
    );
    const planned = byNamespace(result.plan.environments, second).actions.flatMap((a) =>
      a.type === 'delete-image-tags' ? a.tags.map((t) => [t.tag, t.after]) : [],
    );
    expect(planned).toContainEqual([Y, [first]]);
    expect(result.report).toMatchObject({ removed: 2, failed: 0, skipped: 0 });
    for (const namespace of [first, second]) {
      expect(await namespaceExists(kube, namespace)).toBe(false);
    }
    // At the same time: the second had started before the first's namespace was gone…
    const at = (what: string): number => events.indexOf(what);
    expect(at(`${second} lock`)).toBeGreaterThanOrEqual(0);
    expect(at(`${second} lock`)).toBeLessThan(at(`${first} delete-namespace`));
    // …yet it deleted Y only after that, so Y was never pulled from under a live preview.
    expect(at(`${second} delete-image-tags`)).toBeGreaterThan(at(`${first} delete-namespace`));
    expect(await tags()).toEqual([S, A, imageTag(branch.alive)].sort());
  });

  it('a further run finds nothing stale and succeeds', async () => {
    const again = await runCleanup(options());
    expect(again.plan.environments.filter((e) => e.stale)).toEqual([]);
    expect(again.report).toEqual({ environments: [], removed: 0, failed: 0, skipped: 0 });
  });
});
