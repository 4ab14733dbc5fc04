/**
 * Commits that break one step of the sample service's pipeline (a chart that cannot render, a
 * Dockerfile whose RUN fails, a migration that fails), each the first push of its own branch,
 * through the built `deploytag pipeline`: the run exits non-zero with one line naming the step and
 * the cause; no namespace is left without DeployTag's labels; and the next push of the branch, with
 * the break undone, deploys, reusing what the failed run made (the same namespace, the database
 * migrated on).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { namespaceName, releaseName } from '@deploytag/context';
import { SAMPLE_SERVICE_DIR, gitIn, prepareSampleProject } from '@deploytag/harness';
import type { SampleProject } from '@deploytag/harness';
import { CORPUS_DIR, failingCases } from './corpus.js';
import {
  databasesStartingWith,
  helmStatus,
  kubeGet,
  removeTestEnvironments,
  requireBin,
  runBin,
} from './stack.js';

const run = randomBytes(3).toString('hex');
const repo = `hostile-f-${run}`;
const scratch = mkdtempSync(join(tmpdir(), 'deploytag-hostile-failures-'));
let project: SampleProject;

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string, root = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name), root) : [relative(root, join(dir, e.name))],
  );
}

interface NamespaceFull {
  metadata: {
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

beforeAll(async () => {
  requireBin();
  project = await prepareSampleProject({
    dir: join(scratch, 'sample'),
    branch: `feature/h${run}-start`,
    name: repo,
    stackEnv: process.env,
  });
  project.env['PROJECT_ID'] = repo;
}, 120_000);
afterAll(() => {
  removeTestEnvironments(repo);
  rmSync(scratch, { recursive: true, force: true });
});

describe.each(failingCases())('a commit where $note', (c) => {
  const branch = `feature/h${run}-${c.dir}`;
  const namespace = namespaceName(branch);
  const overlay = join(CORPUS_DIR, 'failing', c.dir);
  const files = filesUnder(overlay);
  let uidAfterFailure: string | undefined;

  it(`fails the ${c.step} step with one line naming it and the cause`, () => {
    project.checkout(branch);
    project.commit(
      Object.fromEntries(files.map((f) => [f, readFileSync(join(overlay, f), 'utf8')])),
      `break the ${c.step} step`,
    );
    const r = runBin(['pipeline', '--progress', 'plain'], { cwd: project.dir, env: project.env });
    expect(r.status, r.stderr).toBe(1);
    const last = r.stdout.trimEnd().split('\n').at(-1) ?? '';
    expect(last, r.stderr.slice(-3000)).toMatch(new RegExp(`^not deployed: ${c.step} failed \\(`));
    for (const name of c.names) expect(last).toContain(name);
    // The summary shows one line for the step too.
    const row = r.stdout.split('\n').find((l) => l.startsWith(`${c.step} `));
    expect(row).toContain('✗ failed');
  });

  it('leaves no namespace without its labels: none, or one marked as this branch', () => {
    const ns = kubeGet('namespace', namespace) as NamespaceFull | undefined;
    if (ns !== undefined) {
      expect(ns.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('deploytag');
      expect(ns.metadata.labels?.['deploytag.dev/repo']).toBe(repo);
      expect(ns.metadata.annotations?.['deploytag.dev/branch']).toBe(branch);
      uidAfterFailure = ns.metadata.uid;
    }
    // Only the deploy step makes a namespace: the image and migration failures stop before it.
    expect(ns !== undefined).toBe(c.step === 'deploy');
    const status = helmStatus(namespace, releaseName(branch, 'sample-service'));
    expect(status?.info.status).not.toBe('deployed');
  });

  it('the next push, with the break undone, deploys and reuses what was made', () => {
    for (const f of files) {
      if (existsSync(join(SAMPLE_SERVICE_DIR, f))) continue;
      gitIn(project.dir, ['rm', '--quiet', '--', f]);
    }
    project.commit(
      Object.fromEntries(
        files
          .filter((f) => existsSync(join(SAMPLE_SERVICE_DIR, f)))
          .map((f) => [f, readFileSync(join(SAMPLE_SERVICE_DIR, f), 'utf8')]),
      ),
      `undo the break of the ${c.step} step`,
    );
    const r = runBin(['pipeline', '--json'], { cwd: project.dir, env: project.env });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const report = JSON.parse(r.stdout) as {
      context: { namespace: string; release: string; database: string };
      steps: { id: string; outputs?: Record<string, string> }[];
    };
    expect(report.context.namespace).toBe(namespace);
    const ns = kubeGet('namespace', namespace) as NamespaceFull | undefined;
    expect(ns?.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('deploytag');
    if (uidAfterFailure !== undefined) expect(ns?.metadata.uid).toBe(uidAfterFailure);
    expect(helmStatus(namespace, report.context.release)?.info.status).toBe('deployed');
    expect(databasesStartingWith(report.context.database)).toContain(report.context.database);
    // The failed migration's run had created the database: this one goes on where it stopped.
    const mode = report.steps.find((s) => s.id === 'database')?.outputs?.['mode'];
    if (c.step === 'database') expect(mode).toBe('resume');
  });
});
