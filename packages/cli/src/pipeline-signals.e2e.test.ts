/**
 * SIGTERM and SIGINT sent to the built `deploytag pipeline` while each step does its work, on the
 * sample service against the local stack: a migration waiting on the server, the tests, an image
 * build, and helm waiting for a rollout. Each time the bin exits 143 or 130 with the step
 * cancelled; none of the processes it started is left; the database's init lock is free and no
 * statement of the migration still runs; the release's deploy Lease is given up and the release
 * is not left pending; and the next plain run deploys (exit 0).
 *
 * The slow parts are in a commit of the test project, each switched on by a variable only the
 * interrupted runs set (a migration that sleeps on the server, tests that sleep, a RUN step that
 * sleeps, a node selector no node matches).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockKey } from '@deploytag/db';
import { prepareSampleProject, requireEnv } from '@deploytag/harness';
import type { SampleProject } from '@deploytag/harness';
import { RegistryClient } from '@deploytag/image';
import { lockName } from '@deploytag/kube';

const bin = resolve(import.meta.dirname, '../dist/bin/deploytag.js');
const scratch = mkdtempSync(join(tmpdir(), 'deploytag-signals-e2e-'));
const run = randomBytes(3).toString('hex');
const name = `sig-${run}`;
const branch = `feature/sig-${run}`;
const kubectl = requireEnv('DEPLOYTAG_KUBECTL');
const kubeconfig = requireEnv('KUBECONFIG');
const helmBin = requireEnv('HELM_BIN');
const postgres = new URL(requireEnv('DEPLOYTAG_POSTGRES_URL'));
const registry = new RegistryClient(requireEnv('DEPLOYTAG_REGISTRY'));
const SLOW_MIGRATION = '20260103000000_slow_signal.cjs';

type Signal = 'SIGTERM' | 'SIGINT';
const SIGNALS: readonly Signal[] = ['SIGTERM', 'SIGINT'];
const exitCodeOf = (signal: Signal): number => (signal === 'SIGINT' ? 130 : 143);

interface Report {
  ok: boolean;
  context: { namespace: string; release: string; database: string; sha: string };
  steps: { id: string; status: string; reason?: string; outputs?: Record<string, string> }[];
}

interface Finished {
  code: number | null;
  report: Report | undefined;
  messages: string[];
  stderr: string;
  /** Processes the pipeline started (found while it ran) that are still there after it exited. */
  leftovers: string[];
}

let project: SampleProject;
let context: Report['context'];

/** `/proc/<pid>/stat`: state, parent and start time, or undefined when the process is gone. */
function stat(pid: number): { state: string; ppid: number; start: string } | undefined {
  try {
    const text = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', ppid: Number(fields[1]), start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8')
      .replaceAll('\0', ' ')
      .trim();
  } catch {
    return '';
  }
}

/** Records every descendant of `root` seen while it runs (pid, start time, command line). */
function watchDescendants(root: number): {
  stop(): void;
  seen: Map<number, { start: string; command: string }>;
} {
  const seen = new Map<number, { start: string; command: string }>();
  const scan = (): void => {
    const parent = new Map<number, number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const s = stat(Number(entry));
      if (s !== undefined) parent.set(Number(entry), s.ppid);
    }
    for (const pid of parent.keys()) {
      if (seen.has(pid)) continue;
      let p = parent.get(pid);
      for (let depth = 0; p !== undefined && p > 1 && depth < 64; depth++) {
        if (p === root) {
          const s = stat(pid);
          if (s !== undefined) seen.set(pid, { start: s.start, command: commandLine(pid) });
          break;
        }
        p = parent.get(p);
      }
    }
  };
  scan();
  const timer = setInterval(scan, 150);
  return { seen, stop: () => clearInterval(timer) };
}

interface Started {
  /** Messages of the NDJSON log so far. */
  messages: string[];
  /** Whether the process has exited. */
  exited: () => boolean;
  /** Sends a signal. */
  kill: (signal: Signal) => void;
  /** Resolves when it has exited. */
  finished: Promise<Finished>;
}

/** Starts the built bin's `pipeline --json` in the project with extra variables. */
function start(extraEnv: Record<string, string> = {}): Started {
  const child = spawn(
    process.execPath,
    [bin, 'pipeline', '--json', '--timeout', '600', '--address-timeout', '120'],
    {
      cwd: project.dir,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '',
        ...project.env,
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const watcher = watchDescendants(child.pid ?? -1);
  const messages: string[] = [];
  let out = '';
  let err = '';
  let partial = '';
  let exited = false;
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines)
      if (line.startsWith('{')) messages.push((JSON.parse(line) as { message: string }).message);
  });
  const finished = new Promise<Finished>((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => {
      exited = true;
      watcher.stop();
      const leftovers = [...watcher.seen]
        .filter(([pid, seen]) => {
          const now = stat(pid);
          return now !== undefined && now.start === seen.start && now.state !== 'Z';
        })
        .map(([pid, seen]) => `${String(pid)} ${seen.command}`);
      let report: Report | undefined;
      try {
        report = JSON.parse(out) as Report;
      } catch {
        report = undefined;
      }
      done({ code, report, messages, stderr: err, leftovers });
    });
  });
  return {
    messages,
    exited: () => exited,
    kill: (signal) => child.kill(signal),
    finished,
  };
}

async function succeeds(
  extraEnv: Record<string, string> = {},
): Promise<{ report: Report; messages: string[] }> {
  const f = await start(extraEnv).finished;
  if (f.code !== 0 || f.report === undefined)
    throw new Error(`deploytag pipeline exited ${String(f.code)}:\n${f.stderr}`);
  expect(f.report.ok).toBe(true);
  expect(f.leftovers).toEqual([]);
  return { report: f.report, messages: f.messages };
}

/** Waits until `ready()` holds while the pipeline runs, then sends `signal` and waits for the exit. */
async function interrupt(
  signal: Signal,
  extraEnv: Record<string, string>,
  ready: (messages: string[]) => boolean | Promise<boolean>,
): Promise<Finished> {
  const started = start(extraEnv);
  for (;;) {
    if (started.exited()) {
      const f = await started.finished;
      throw new Error(`the pipeline ended before it could be interrupted:\n${f.stderr}`);
    }
    if (await ready(started.messages)) break;
    await sleep(250);
  }
  started.kill(signal);
  return await started.finished;
}

function psql(sql: string, database = 'postgres'): string {
  return execFileSync(
    join(requireEnv('DEPLOYTAG_POSTGRES_BIN'), 'psql'),
    [
      '-h',
      postgres.hostname,
      '-p',
      postgres.port,
      '-U',
      decodeURIComponent(postgres.username),
      '-d',
      database,
      '-At',
    ],
    {
      encoding: 'utf8',
      input: sql,
      env: { ...process.env, PGPASSWORD: decodeURIComponent(postgres.password) },
    },
  ).trim();
}

/** Statements of the slow migration running on the branch's database. */
function slowStatements(): number {
  return Number(
    psql(
      `select count(*) from pg_stat_activity where datname = '${context.database}' and state = 'active' and query like '%slow migration%' and pid <> pg_backend_pid();`,
    ),
  );
}

function helmStatus(): string {
  const status = JSON.parse(
    execFileSync(
      helmBin,
      [
        'status',
        context.release,
        '-n',
        context.namespace,
        '--kubeconfig',
        kubeconfig,
        '-o',
        'json',
      ],
      { encoding: 'utf8' },
    ),
  ) as { info: { status: string } };
  return status.info.status;
}

function kube(args: string[]): unknown {
  return JSON.parse(
    execFileSync(kubectl, ['--kubeconfig', kubeconfig, ...args, '-o', 'json'], {
      encoding: 'utf8',
    }),
  );
}

/** Whether a pod of the release cannot be scheduled (helm is waiting for it). */
function unschedulablePod(): boolean {
  const pods = kube(['get', 'pods', '-n', context.namespace]) as {
    items: { status?: { conditions?: { type: string; status: string; reason?: string }[] } }[];
  };
  return pods.items.some((p) =>
    (p.status?.conditions ?? []).some(
      (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
    ),
  );
}

/** Whether a process on this machine runs exactly `command`. */
function running(command: string): boolean {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .some((p) => commandLine(Number(p)) === command);
}

/** What every interrupted run must leave behind: nothing running, nothing locked. */
function expectStoppedCleanly(f: Finished, signal: Signal, step: string): void {
  expect(f.code, f.stderr).toBe(exitCodeOf(signal));
  expect(f.stderr).toContain(`${signal}: stopping the running steps`);
  expect(f.report?.ok).toBe(false);
  expect(f.report?.steps.find((s) => s.id === step)).toMatchObject({
    status: 'cancelled',
    reason: 'the run was cancelled',
  });
  expect(f.report?.steps.filter((s) => s.status === 'failed')).toEqual([]);
  // No child, grandchild (a test's sleep, helm) or later descendant is left.
  expect(f.leftovers).toEqual([]);
  // The database: the init lock is free, no statement of the migration runs.
  const key = lockKey(context.database).bigint;
  expect(psql(`select pg_try_advisory_lock(${key}); select pg_advisory_unlock(${key});`)).toBe(
    't\nt',
  );
  expect(slowStatements()).toBe(0);
  // The release: its deploy lock given up, not left pending.
  const leases = kube(['get', 'leases', '-n', context.namespace]) as {
    items: { metadata: { name: string }; spec?: { holderIdentity?: string } }[];
  };
  const lease = leases.items.find((l) => l.metadata.name === lockName(context.release));
  expect(lease?.spec?.holderIdentity ?? '').toBe('');
  expect(helmStatus()).not.toMatch(/^pending/);
}

describe('SIGTERM and SIGINT to deploytag pipeline', () => {
  beforeAll(async () => {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npm run build)`);
    project = await prepareSampleProject({
      dir: join(scratch, 'sample'),
      branch,
      name,
      stackEnv: process.env,
    });
    project.env['PROJECT_ID'] = name;
    context = (await succeeds()).report.context;
    // The slow parts, off unless their variable is set.
    const chart = join(project.dir, 'charts/sample-service/templates/deployment.yaml');
    const deployment = readFileSync(chart, 'utf8').replace(
      '    spec:\n      containers:',
      '    spec:\n      {{- with .Values.nodeSelector }}\n      nodeSelector:\n        {{- toYaml . | nindent 8 }}\n      {{- end }}\n      containers:',
    );
    const dockerfile = readFileSync(join(project.dir, 'Dockerfile'), 'utf8').replace(
      'EXPOSE 8080',
      'ARG SLOW_BUILD=\nCOPY build/slow-build.sh /tmp/slow-build.sh\nRUN sh /tmp/slow-build.sh\nEXPOSE 8080',
    );
    project.commit(
      {
        [`migrations/${SLOW_MIGRATION}`]:
          '/** Waits on the server for SLOW_MIGRATION seconds when it is set (signal tests). */\n' +
          'exports.up = (knex) => {\n' +
          "  const seconds = Number(process.env.SLOW_MIGRATION ?? '0');\n" +
          '  return seconds > 0\n' +
          '    ? knex.raw(`select pg_sleep(${seconds}) /* slow migration */`)\n' +
          "    : knex.schema.createTable('signal_marks', (t) => { t.increments('id'); });\n" +
          '};\n' +
          "exports.down = (knex) => knex.schema.dropTableIfExists('signal_marks');\n",
        'scripts/slow-test.sh':
          '#!/bin/sh\n# The tests, after SLOW_TESTS seconds when it is set (signal tests).\n' +
          'echo "slow tests: started"\n' +
          'if [ -n "${SLOW_TESTS:-}" ]; then sleep "$SLOW_TESTS"; fi\n' +
          'exec sh ./scripts/test.sh\n',
        'build/slow-build.sh':
          'if [ -n "${SLOW_BUILD:-}" ]; then echo "slow build: ${SLOW_BUILD}s"; sleep "$SLOW_BUILD"; fi\n',
        Dockerfile: dockerfile,
        'charts/sample-service/templates/deployment.yaml': deployment,
      },
      'slow parts for the signal tests',
    );
  }, 1_200_000);

  afterAll(() => {
    try {
      execFileSync(
        kubectl,
        ['--kubeconfig', kubeconfig, 'delete', 'namespace', context.namespace, '--wait=false'],
        { stdio: 'ignore' },
      );
      psql(`drop database if exists "${context.database}" with (force);`);
    } catch {
      // best effort
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  it(
    'during a migration: the statement is cancelled on the server',
    { timeout: 1_800_000 },
    async () => {
      for (const signal of SIGNALS) {
        const f = await interrupt(
          signal,
          { SLOW_MIGRATION: '600' },
          (messages) => messages.includes(`migration ${SLOW_MIGRATION}`) && slowStatements() > 0,
        );
        expectStoppedCleanly(f, signal, 'database');
        expect(f.messages).toContain(
          `cancelling the statement running on database ${context.database}`,
        );
        // The migration did not finish: the next run runs it.
        expect(
          psql(
            `select count(*) from knex_migrations where name = '${SLOW_MIGRATION}';`,
            context.database,
          ),
        ).toBe('0');
      }
      const { report } = await succeeds();
      expect(report.steps.find((s) => s.id === 'database')?.status).toBe('done');
      expect(
        psql(
          `select count(*) from knex_migrations where name = '${SLOW_MIGRATION}';`,
          context.database,
        ),
      ).toBe('1');
    },
  );

  it(
    'during the tests: the test command and its children are stopped',
    { timeout: 1_800_000 },
    async () => {
      for (const signal of SIGNALS) {
        const f = await interrupt(
          signal,
          { TEST_COMMAND: 'sh ./scripts/slow-test.sh', SLOW_TESTS: '600' },
          (messages) => messages.includes('slow tests: started'),
        );
        expectStoppedCleanly(f, signal, 'tests');
      }
      await succeeds();
    },
  );

  it(
    'during an image build: the build is abandoned and nothing is pushed',
    { timeout: 1_800_000 },
    async () => {
      const repository = `${name}/sample-service`;
      const pushed = await registry.manifestDigest(repository, project.sha());
      for (const [i, signal] of SIGNALS.entries()) {
        // A different wait each time, so the engine's layer cache never serves the step.
        const seconds = String(150 + (Number.parseInt(run, 16) % 50) * 2 + i);
        const f = await interrupt(
          signal,
          { DOCKER_BUILD_ARGS: `SLOW_BUILD=${seconds}` },
          (messages) =>
            messages.some((m) => /^STEP \d+\/\d+: RUN sh \/tmp\/slow-build\.sh/.test(m)) &&
            running(`sleep ${seconds}`),
        );
        expectStoppedCleanly(f, signal, 'app-image');
        expect(f.report?.steps.find((s) => s.id === 'deploy')?.status).toBe('cancelled');
        // The build never finished here: the commit's tag still names the image pushed before.
        expect(await registry.manifestDigest(repository, project.sha())).toBe(pushed);
      }
      await succeeds();
    },
  );

  it(
    'while helm waits for the rollout: helm is stopped and the release is not left pending',
    { timeout: 1_800_000 },
    async () => {
      for (const signal of SIGNALS) {
        const f = await interrupt(
          signal,
          { HELM_VARS: '--set-string nodeSelector.deploytag-e2e=nowhere' },
          () => unschedulablePod() && helmStatus() === 'pending-upgrade',
        );
        expectStoppedCleanly(f, signal, 'deploy');
        expect(helmStatus()).toBe('failed');
      }
      // The next run first rolls the stopped revision back (its node selector is live), then deploys.
      const { report, messages } = await succeeds();
      expect(messages).toContainEqual(
        expect.stringMatching(
          /revision \d+ was stopped part way \(.*context canceled\); rolling back/,
        ),
      );
      expect(report.steps.find((s) => s.id === 'deploy')?.outputs?.['action']).toBe('upgraded');
      expect(helmStatus()).toBe('deployed');
      const deployment = kube(['get', 'deployment', '-n', context.namespace, context.release]) as {
        spec: { template: { spec: { nodeSelector?: Record<string, string> } } };
      };
      expect(deployment.spec.template.spec.nodeSelector).toBeUndefined();
    },
  );
});
