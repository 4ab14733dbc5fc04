/**
 * The push-to-deploy pipeline on the sample service against the local stack:
 * - concurrency: a full preview deploy (base and app images built, a new database migrated and
 *   seeded, a new namespace and release) with independent steps at once, against the same steps
 *   one after another (`concurrency: 1`), alternating, each run on a fresh branch;
 * - no-op push: the same commit pushed again, against the first push of a branch, and against the
 *   sum of the round trips it cannot avoid, each timed on its own in the same run (registry HEADs
 *   of the two content tags, the secrets read, a database login and its state read, the release's
 *   history, workloads and Services read).
 * Needs the whole stack. Run: `npm run bench -- push`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { compare, summarise, time } from '@deploytag/bench';
import type { BenchContext, BenchResult, Timing } from '@deploytag/bench';
import { silentLogger } from '@deploytag/core';
import { connectServer, loadDatabaseConfig, readInitState, waitForDatabase } from '@deploytag/db';
import { releaseHistory } from '@deploytag/helm';
import { RegistryClient } from '@deploytag/image';
import { readRolloutSnapshot, waitForAddresses } from '@deploytag/kube';
import { loadSecrets } from '@deploytag/secrets';
import { prepareSampleProject } from '@deploytag/harness';
import { connectPushClients, runPush } from '../src/index.js';
import type { PushResult } from '../src/index.js';

/** The sum of several timings' medians (and of their minima and maxima). */
function sum(parts: Timing[]): Timing {
  const add = (pick: (t: Timing) => number) => parts.reduce((total, t) => total + pick(t), 0);
  return {
    runs: Math.min(...parts.map((t) => t.runs)),
    medianMs: add((t) => t.medianMs),
    minMs: add((t) => t.minMs),
    maxMs: add((t) => t.maxMs),
  };
}

export default async function bench(ctx: BenchContext): Promise<BenchResult[]> {
  for (const name of ['KUBECONFIG', 'DOCKER_HOST', 'DEPLOYTAG_REGISTRY', 'AWS_ENDPOINT_URL']) {
    if (ctx.env[name] === undefined) {
      ctx.log(`${name} is not set: the push benchmark needs the whole stack`);
      return [];
    }
  }
  const run = Date.now().toString(36);
  const dir = join(ctx.tmp, 'push-sample');
  mkdirSync(dir, { recursive: true });
  const project = await prepareSampleProject({
    dir,
    branch: `feature/bench-${run}`,
    name: `bench-${run}`,
    stackEnv: ctx.env,
  });
  const env = { ...project.env, PROJECT_ID: `bench-${run}` };
  const clients = await connectPushClients(env, silentLogger);
  let n = 0;
  const push = async (
    branch: string,
    options: { concurrency?: number; forceBase?: boolean } = {},
  ): Promise<PushResult> => {
    const result = await runPush({ dir: project.dir, env, flags: { branch } }, clients, {
      ...options,
      deploy: { timeoutMs: 180_000, addressTimeoutMs: 60_000 },
    });
    if (result.report?.ok !== true) {
      const failed = result.report?.steps.find((s) => s.status === 'failed');
      throw new Error(`push failed at ${failed?.id ?? '?'}: ${failed?.error?.message ?? ''}`);
    }
    return result;
  };
  try {
    const runs = Math.max(2, Math.round(4 * ctx.scale));
    // Warm the engine's layer cache and the registry paths once.
    await push(`feature/bench-${run}-warm`, { forceBase: true });
    const concurrent: number[] = [];
    const sequential: number[] = [];
    for (let i = 0; i < runs; i++) {
      for (const [list, concurrency] of [
        [concurrent, undefined],
        [sequential, 1],
      ] as const) {
        const t0 = performance.now();
        await push(`feature/bench-${run}-full-${n++}`, {
          forceBase: true,
          ...(concurrency === undefined ? {} : { concurrency }),
        });
        list.push(performance.now() - t0);
      }
    }
    // The first push of a branch (images exist: re-tagged, not built) against an unchanged re-push.
    const firstPushes: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await push(`feature/bench-${run}-first-${n++}`);
      firstPushes.push(performance.now() - t0);
    }
    const branch = `feature/bench-${run}-noop`;
    const deployed = await push(branch);
    const noop = await time(async () => {
      const result = await push(branch);
      const deploy = result.report?.steps.find((s) => s.id === 'deploy');
      if (deploy?.outputs?.['action'] !== 'unchanged')
        throw new Error(`expected an unchanged release, got ${deploy?.outputs?.['action'] ?? '?'}`);
    }, runs);

    // The round trips a no-op push cannot avoid, one by one.
    const { context } = deployed;
    const registry = new RegistryClient(context.registry);
    const appRepo = context.image.repository.split('/').slice(1).join('/');
    const baseRepo = context.baseImage.repository.split('/').slice(1).join('/');
    const tags = async () => {
      await Promise.all([
        registry.tagExists(appRepo, context.image.shaTag),
        registry.tagExists(baseRepo, context.image.shaTag),
      ]);
    };
    const source = await clients.secrets();
    const secrets = async () => {
      await loadSecrets({ ids: context.secretIds, source, env });
    };
    const dbConfig = loadDatabaseConfig({ env, cwd: project.dir, database: context.database });
    const database = async () => {
      await waitForDatabase(dbConfig, { timeoutMs: 5000 });
      const server = connectServer(dbConfig);
      try {
        await readInitState(server, context.database);
      } finally {
        await server.close();
      }
    };
    const { kube, helm } = clients.deploy;
    const cluster = async () => {
      await releaseHistory(helm, context.release, context.namespace);
      await readRolloutSnapshot(kube, context.namespace, context.release);
      await waitForAddresses(kube, {
        namespace: context.namespace,
        release: context.release,
        timeoutMs: 5000,
      });
    };
    const floor = sum([
      await time(tags, runs),
      await time(secrets, runs),
      await time(database, runs),
      await time(cluster, runs),
    ]);

    return [
      compare(
        'push-concurrency',
        'full preview deploy (base + app built, new database and release): steps at once vs one after another',
        { label: 'steps one after another', timing: summarise(sequential) },
        { label: 'independent steps at once', timing: summarise(concurrent) },
      ),
      compare(
        'push-noop-vs-first',
        'no-op push (same commit again) vs the first push of a branch (images re-tagged)',
        { label: 'first push of a branch', timing: summarise(firstPushes) },
        { label: 'no-op push', timing: noop },
      ),
      compare(
        'push-noop-vs-round-trips',
        'no-op push vs the sum of the round trips it cannot avoid (registry, secrets, database, cluster)',
        { label: 'unavoidable round trips', timing: floor },
        { label: 'no-op push', timing: noop },
      ),
    ];
  } finally {
    clients.close();
  }
}
