/**
 * Five pipelines of five different branches (the sample service against the local stack) at
 * once, against the same five one after another: each branch gets its own namespace, database
 * and release, so nothing should make them wait for each other (the deploy Lease and the
 * database init lock are per release and per database). Each pipeline is a `runPush` with its own
 * clients, as five CI jobs would be; the images exist (warmed once), so each push re-tags them,
 * creates, migrates and seeds a database and installs a release. The two ways alternate, each
 * round on fresh branches. Needs the whole stack. Run: `npm run bench -- concurrent`.
 *
 * The ratio is the wall time of five at once over five one after another: 0.2 would be perfect
 * parallelism, 1 no gain at all. Machines with few cores share them between the five.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { compare, summarise } from '@deploytag/bench';
import type { BenchContext, BenchResult } from '@deploytag/bench';
import { silentLogger } from '@deploytag/core';
import { connectServer, dropDatabase, loadDatabaseConfig } from '@deploytag/db';
import { prepareSampleProject } from '@deploytag/harness';
import { connectPushClients, runPush } from '../src/index.js';

const BRANCHES = 5;

export default async function bench(ctx: BenchContext): Promise<BenchResult[]> {
  for (const name of ['KUBECONFIG', 'DOCKER_HOST', 'DEPLOYTAG_REGISTRY', 'AWS_ENDPOINT_URL']) {
    if (ctx.env[name] === undefined) {
      ctx.log(`${name} is not set: the concurrent pipelines benchmark needs the whole stack`);
      return [];
    }
  }
  const run = Date.now().toString(36);
  const dir = join(ctx.tmp, 'concurrent-sample');
  mkdirSync(dir, { recursive: true });
  const project = await prepareSampleProject({
    dir,
    branch: `feature/cbench-${run}`,
    name: `cbench-${run}`,
    stackEnv: ctx.env,
  });
  const env = { ...project.env, PROJECT_ID: `cbench-${run}` };
  let n = 0;
  const made: { namespace: string; database: string }[] = [];
  /** One pipeline of a new branch, with clients of its own (a CI job of its own). */
  const push = async (branch: string): Promise<void> => {
    const clients = await connectPushClients(env, silentLogger);
    try {
      const result = await runPush({ dir: project.dir, env, flags: { branch } }, clients, {
        deploy: { timeoutMs: 300_000, addressTimeoutMs: 60_000 },
      });
      made.push({ namespace: result.context.namespace, database: result.context.database });
      if (result.report?.ok !== true) {
        const failed = result.report?.steps.find((s) => s.status === 'failed');
        throw new Error(`push failed at ${failed?.id ?? '?'}: ${failed?.error?.message ?? ''}`);
      }
    } finally {
      clients.close();
    }
  };
  const fresh = (): string[] =>
    Array.from({ length: BRANCHES }, () => `feature/cbench-${run}-${String(n++)}`);

  const atOnce: number[] = [];
  const oneByOne: number[] = [];
  const rounds = Math.max(1, Math.round(3 * ctx.scale));
  /** The two ways, alternating which goes first, each round on fresh branches. */
  const measure = async (): Promise<void> => {
    for (let round = 0; round < rounds; round++) {
      const ways = [
        async () => {
          const t0 = performance.now();
          await Promise.all(fresh().map((branch) => push(branch)));
          atOnce.push(performance.now() - t0);
        },
        async () => {
          const t0 = performance.now();
          for (const branch of fresh()) await push(branch);
          oneByOne.push(performance.now() - t0);
        },
      ];
      // Alternate which way goes first, so neither always meets a warmer (or busier) stack.
      if (round % 2 === 1) ways.reverse();
      for (const way of ways) await way();
      ctx.log(
        `round ${String(round + 1)}/${String(rounds)}: at once ${(atOnce.at(-1)! / 1000).toFixed(1)} s, one by one ${(oneByOne.at(-1)! / 1000).toFixed(1)} s`,
      );
    }
  };
  /** Deletes the benchmark's namespaces (their releases go with them) and databases. */
  const removeEnvironments = async (): Promise<void> => {
    const clients = await connectPushClients(env, silentLogger);
    const server = connectServer(
      loadDatabaseConfig({ env, cwd: project.dir, database: 'postgres' }),
    );
    try {
      for (const { namespace, database } of made) {
        await clients.deploy.kube.core.deleteNamespace({ name: namespace }).catch(() => undefined);
        await dropDatabase(server, database, {
          kind: 'preview',
          force: true,
          terminateSessions: true,
        }).catch(() => undefined);
      }
    } finally {
      await server.close();
      clients.close();
    }
  };

  try {
    // Build the images once: every timed push re-tags them.
    await push(`feature/cbench-${run}-warm`);
    await measure();
  } finally {
    await removeEnvironments();
  }
  return [
    compare(
      'pipeline-five-branches',
      `${String(BRANCHES)} pipelines of ${String(BRANCHES)} branches (new namespace, database and release each): at once vs one after another`,
      { label: `${String(BRANCHES)} one after another`, timing: summarise(oneByOne) },
      { label: `${String(BRANCHES)} at once`, timing: summarise(atOnce) },
      { branches: BRANCHES, rounds },
    ),
  ];
}
