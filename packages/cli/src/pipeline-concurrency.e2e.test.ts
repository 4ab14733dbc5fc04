/**
 * Concurrent `deploytag pipeline` processes (the built bin) against the local stack, on the sample
 * service pushed to the harness git server:
 * - two, then five pipelines of one branch at different commits, started at once, each from its
 *   own clone checked out at its commit: all succeed, the release's revisions follow one another
 *   (one deploy at a time under the release's Lease, none left pending), and the release ends on
 *   the newest commit whatever order they took the lock in;
 * - a pipeline of an older commit after a newer one was deployed: superseded, nothing changed;
 * - five pipelines of five branches at once: all succeed, and none waited for another's lock.
 * No timing is asserted (the benchmark packages/pipeline/bench/concurrent.bench.ts measures it).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitIn, gitTokenEnv, prepareSampleProject, requireEnv } from '@deploytag/harness';
import type { SampleProject } from '@deploytag/harness';
import { parseRevisionDescription } from '@deploytag/helm';
import { lockName } from '@deploytag/kube';

const bin = resolve(import.meta.dirname, '../dist/bin/deploytag.js');
const scratch = mkdtempSync(join(tmpdir(), 'deploytag-concurrency-e2e-'));
const run = randomBytes(3).toString('hex');
const name = `conc-${run}`;
const branch = `feature/conc-${run}`;
const kubectl = requireEnv('DEPLOYTAG_KUBECTL');
const kubeconfig = requireEnv('KUBECONFIG');
const helmBin = requireEnv('HELM_BIN');
const registryHost = requireEnv('DEPLOYTAG_REGISTRY');

interface Report {
  ok: boolean;
  context: { namespace: string; release: string; database: string; sha: string };
  steps: { id: string; status: string; outputs?: Record<string, string> }[];
}

interface Finished {
  code: number | null;
  report: Report;
  /** The NDJSON log lines' messages. */
  messages: string[];
  stderr: string;
}

let project: SampleProject;
let remote = '';
const namespaces = new Set<string>();
const databases = new Set<string>();

/** A clone of the sample project checked out (detached) at `sha`, with the same remote. */
function cloneAt(sha: string, label: string): string {
  const dir = join(scratch, label);
  gitIn(scratch, ['clone', '--quiet', '--no-checkout', project.dir, dir]);
  gitIn(dir, ['checkout', '--quiet', '--detach', sha]);
  gitIn(dir, ['remote', 'set-url', 'origin', remote]);
  return dir;
}

/** Runs the built bin's `pipeline --json` in `dir`; resolves when it exits. */
function pipeline(dir: string, args: string[] = []): Promise<Finished> {
  const child = spawn(process.execPath, [bin, 'pipeline', '--json', '--timeout', '600', ...args], {
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...project.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => {
      const messages = err
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => (JSON.parse(l) as { message: string }).message);
      let report: Report;
      try {
        report = JSON.parse(out) as Report;
      } catch {
        fail(new Error(`deploytag pipeline exited ${String(code)} without a report:\n${err}`));
        return;
      }
      namespaces.add(report.context.namespace);
      databases.add(report.context.database);
      done({ code, report, messages, stderr: err });
    });
  });
}

function expectSucceeded(finished: Finished): void {
  if (finished.code !== 0)
    throw new Error(`deploytag pipeline exited ${String(finished.code)}:\n${finished.stderr}`);
  expect(finished.report.ok).toBe(true);
}

const deployOutputs = (f: Finished) => f.report.steps.find((s) => s.id === 'deploy')?.outputs;

interface Revision {
  revision: number;
  status: string;
  description: string;
}

function history(namespace: string, release: string): Revision[] {
  return (
    JSON.parse(
      execFileSync(
        helmBin,
        [
          'history',
          release,
          '-n',
          namespace,
          '--kubeconfig',
          kubeconfig,
          '--max',
          '100',
          '-o',
          'json',
        ],
        { encoding: 'utf8' },
      ),
    ) as Revision[]
  ).sort((a, b) => a.revision - b.revision);
}

function kube(args: string[]): unknown {
  return JSON.parse(
    execFileSync(kubectl, ['--kubeconfig', kubeconfig, ...args, '-o', 'json'], {
      encoding: 'utf8',
    }),
  );
}

function deployedImage(namespace: string, release: string): string | undefined {
  const deployment = kube(['get', 'deployment', '-n', namespace, release]) as {
    spec: { template: { spec: { containers: { image: string }[] } } };
  };
  return deployment.spec.template.spec.containers[0]?.image;
}

/** Whether the release's deploy Lease is gone (it is deleted when the deploy gives it up). */
function leaseReleased(namespace: string, release: string): boolean {
  const listed = kube(['get', 'leases', '-n', namespace]) as {
    items: { metadata: { name: string }; spec?: { holderIdentity?: string } }[];
  };
  const lease = listed.items.find((l) => l.metadata.name === lockName(release));
  return lease === undefined || (lease.spec?.holderIdentity ?? '') === '';
}

/**
 * Makes `count` commits on the branch (each changes a file the images do not read, so the app
 * image is re-tagged rather than rebuilt), oldest first.
 */
function commits(count: number, label: string): string[] {
  return Array.from({ length: count }, (_, i) =>
    project.commit(
      { [`notes/${label}-${String(i)}.md`]: `${label} ${String(i)}\n` },
      `${label} ${String(i)}`,
    ),
  );
}

/**
 * What the pipelines of `shas` (oldest first), run at once, must leave: every run succeeded; the
 * revisions made meanwhile follow one another (one per run that upgraded, none pending or
 * failed), each a newer commit than the one before; the release runs the newest commit.
 */
function expectSerialisedOnNewest(before: Revision[], shas: string[], finished: Finished[]): void {
  for (const f of finished) expectSucceeded(f);
  const { namespace, release } = finished[0]!.report.context;
  const after = history(namespace, release);
  const made = after.filter((r) => r.revision > (before.at(-1)?.revision ?? 0));
  const upgraded = finished.filter((f) => deployOutputs(f)?.['action'] === 'upgraded');
  for (const f of finished)
    expect(['upgraded', 'superseded']).toContain(deployOutputs(f)?.['action']);
  // One revision per run that upgraded, numbered one after another.
  expect(made.map((r) => r.revision)).toEqual(
    upgraded.map((_, i) => (before.at(-1)?.revision ?? 0) + i + 1),
  );
  expect(after.filter((r) => r.status.startsWith('pending') || r.status === 'failed')).toEqual([]);
  expect(made.map((r) => r.status)).toEqual(
    made.map((_, i) => (i === made.length - 1 ? 'deployed' : 'superseded')),
  );
  // Each revision deployed a newer commit than the one before it: none went back.
  const order = made.map((r) => shas.indexOf(parseRevisionDescription(r.description).sha ?? ''));
  expect(order.every((n) => n >= 0)).toBe(true);
  expect(order).toEqual([...order].sort((a, b) => a - b));
  expect(new Set(order).size).toBe(order.length);
  // The newest commit's run deployed it; a run that found a newer commit live did nothing.
  const newest = shas.at(-1)!;
  expect(order.at(-1)).toBe(shas.length - 1);
  expect(deployOutputs(finished.at(-1)!)?.['action']).toBe('upgraded');
  for (const f of finished.filter((x) => deployOutputs(x)?.['action'] === 'superseded')) {
    const by = deployOutputs(f)?.['supersededBy'] ?? '';
    expect(shas.indexOf(by)).toBeGreaterThan(shas.indexOf(f.report.context.sha));
    expect(f.messages).toContain(
      `${branch}: a newer commit ${by.slice(0, 7)} is already deployed; nothing to do`,
    );
  }
  expect(parseRevisionDescription(after.at(-1)?.description).sha).toBe(newest);
  expect(deployedImage(namespace, release)).toBe(
    `${registryHost}/${name}/sample-service:${newest}`,
  );
  expect(leaseReleased(namespace, release)).toBe(true);
}

describe('concurrent pipelines', () => {
  let first: Finished;

  beforeAll(async () => {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npm run build)`);
    project = await prepareSampleProject({
      dir: join(scratch, 'sample'),
      branch,
      name,
      stackEnv: process.env,
    });
    project.env['PROJECT_ID'] = name;
    remote = gitIn(project.dir, ['remote', 'get-url', 'origin']);
    // The branch's first deploy: images built, database created, release installed.
    first = await pipeline(project.dir);
    expectSucceeded(first);
  }, 1_200_000);

  afterAll(() => {
    for (const namespace of namespaces) {
      if (namespace === 'default') continue;
      try {
        execFileSync(
          kubectl,
          ['--kubeconfig', kubeconfig, 'delete', 'namespace', namespace, '--wait=false'],
          {
            stdio: 'ignore',
          },
        );
      } catch {
        // already gone
      }
    }
    const url = new URL(requireEnv('DEPLOYTAG_POSTGRES_URL'));
    for (const database of databases) {
      try {
        execFileSync(
          join(requireEnv('DEPLOYTAG_POSTGRES_BIN'), 'psql'),
          [
            '-h',
            url.hostname,
            '-p',
            url.port,
            '-U',
            decodeURIComponent(url.username),
            '-d',
            'postgres',
          ],
          {
            input: `drop database if exists "${database}" with (force);`,
            env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) },
            stdio: ['pipe', 'ignore', 'ignore'],
          },
        );
      } catch {
        // best effort
      }
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  it(
    'two pipelines of one branch deploy one at a time and end on the newer commit',
    { timeout: 1_800_000 },
    async () => {
      const { namespace, release } = first.report.context;
      const before = history(namespace, release);
      const shas = commits(2, 'two');
      const dirs = shas.map((sha, i) => cloneAt(sha, `two-${String(i)}`));
      const finished = await Promise.all(
        dirs.map((dir, i) => pipeline(dir, ['--branch', branch, '--sha', shas[i]!])),
      );
      expectSerialisedOnNewest(before, shas, finished);
    },
  );

  it(
    'five pipelines of one branch deploy one at a time and end on the newest commit',
    { timeout: 3_600_000 },
    async () => {
      const { namespace, release } = first.report.context;
      const before = history(namespace, release);
      const shas = commits(5, 'five');
      const dirs = shas.map((sha, i) => cloneAt(sha, `five-${String(i)}`));
      const finished = await Promise.all(
        dirs.map((dir, i) => pipeline(dir, ['--branch', branch, '--sha', shas[i]!])),
      );
      expectSerialisedOnNewest(before, shas, finished);
    },
  );

  it(
    'a pipeline of an older commit after a newer one is deployed changes nothing',
    { timeout: 1_200_000 },
    async () => {
      const { namespace, release } = first.report.context;
      const before = history(namespace, release);
      const live = parseRevisionDescription(before.at(-1)?.description).sha ?? '';
      const older = gitIn(project.dir, ['rev-parse', `${live}~2`]);
      const finished = await pipeline(cloneAt(older, 'older'), [
        '--branch',
        branch,
        '--sha',
        older,
      ]);
      expectSucceeded(finished);
      expect(deployOutputs(finished)).toMatchObject({ action: 'superseded', supersededBy: live });
      expect(finished.messages).toContain(
        `${branch}: a newer commit ${live.slice(0, 7)} is already deployed; nothing to do`,
      );
      expect(history(namespace, release)).toEqual(before);
      expect(deployedImage(namespace, release)).toBe(
        `${registryHost}/${name}/sample-service:${live}`,
      );
      expect(leaseReleased(namespace, release)).toBe(true);
      // Without --json, the last line says it was not deployed, and why.
      const plain = execFileSync(
        process.execPath,
        [bin, 'pipeline', '--progress', 'plain', '--branch', branch, '--sha', older],
        {
          cwd: join(scratch, 'older'),
          env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...project.env },
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      expect(plain.trim().split('\n').at(-1)).toMatch(
        new RegExp(
          `^not deployed: ${release} in namespace ${namespace} already runs the newer commit ${live.slice(0, 12)} \\(this is ${older.slice(0, 12)}\\): http`,
        ),
      );
      expect(history(namespace, release)).toEqual(before);
    },
  );

  it(
    'five pipelines of five branches at once do not wait for each other',
    { timeout: 3_600_000 },
    async () => {
      const sha = project.sha();
      const auth = gitTokenEnv(requireEnv('DEPLOYTAG_GIT_TOKEN'));
      const branches = Array.from({ length: 5 }, (_, i) => `feature/conc-${run}-b${String(i)}`);
      for (const b of branches)
        gitIn(project.dir, ['push', '--quiet', 'origin', `${sha}:refs/heads/${b}`], { env: auth });
      const finished = await Promise.all(
        branches.map((b, i) =>
          pipeline(cloneAt(sha, `branch-${String(i)}`), ['--branch', b, '--sha', sha]),
        ),
      );
      for (const f of finished) expectSucceeded(f);
      const releases = finished.map((f) => f.report.context);
      // Five environments, five locks: no run ever waited for another's.
      expect(new Set(releases.map((c) => c.namespace)).size).toBe(5);
      expect(new Set(releases.map((c) => lockName(c.release))).size).toBe(5);
      expect(new Set(releases.map((c) => c.database)).size).toBe(5);
      for (const f of finished) {
        expect(
          f.messages.filter((m) => /^waiting for the (deploy lock|init lock)/.test(m)),
        ).toEqual([]);
        expect(deployOutputs(f)?.['action']).toBe('installed');
        const { namespace, release } = f.report.context;
        expect(history(namespace, release).map((r) => r.status)).toEqual(['deployed']);
        expect(deployedImage(namespace, release)).toBe(
          `${registryHost}/${name}/sample-service:${sha}`,
        );
        expect(leaseReleased(namespace, release)).toBe(true);
      }
    },
  );
});
