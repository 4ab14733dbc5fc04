/**
 * Hostile branch names through the built `deploytag pipeline`, on the sample service pushed to the
 * harness git server: each branch of the corpus marked `deploy` (case variants, shell
 * metacharacters, Unicode, two 255-character names that differ in their last character) is pushed
 * and deployed, and what it made is found in the cluster, the registry and the database server
 * under exactly the names `@deploytag/context` gives it, all distinct. A branch named
 * `$(touch …)` must create no file. Names git refuses are given to `set-env` as `--branch`, and its
 * output is evaluated in bash.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseName, imageTag, namespaceName, releaseName } from '@deploytag/context';
import { prepareSampleProject } from '@deploytag/harness';
import type { SampleProject } from '@deploytag/harness';
import { branchCorpus } from './corpus.js';
import {
  BIN,
  databasesStartingWith,
  helmStatus,
  kubeGet,
  removeTestEnvironments,
  requireBin,
  runBin,
  tagsOf,
} from './stack.js';
import type { NamespaceObject } from './stack.js';

const run = randomBytes(3).toString('hex');
const repo = `hostile-b-${run}`;
const scratch = mkdtempSync(join(tmpdir(), 'deploytag-hostile-branches-'));
/** The file the `$(touch …)` branches would create if anything ran them. */
const pwned = join(scratch, 'pwned');
const corpus = branchCorpus().branches;

/**
 * The corpus branch made unique to this run (the cluster is shared): `h<run>-` after the first
 * `/`, written over the next characters when inserting it would make the name longer than 255.
 */
function unique(branch: string): string {
  const cut = branch.indexOf('/') + 1;
  const tag = `h${run}-`;
  const rest = branch.slice(cut);
  const body = branch.length + tag.length > 255 ? rest.slice(tag.length) : rest;
  return `${branch.slice(0, cut)}${tag}${body}`.replaceAll('@PWNED@', pwned);
}

const deployed = corpus.filter((e) => e.deploy === true).map((e) => unique(e.branch));

interface Report {
  ok: boolean;
  context: { namespace: string; release: string; database: string; branch: string; kind: string };
  steps: { id: string; status: string; outputs?: Record<string, string> }[];
}

let project: SampleProject;
const reports = new Map<string, Report>();
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('hostile branch names deployed by deploytag pipeline', () => {
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
  afterAll(() => removeTestEnvironments(repo));

  it('deploys a handful of them, from case variants to 255 characters', () => {
    expect(deployed.length).toBeGreaterThanOrEqual(5);
    expect(deployed.some((b) => b.length === 255)).toBe(true);
    expect(deployed.some((b) => b.includes('$(touch'))).toBe(true);
  });

  it.each(deployed.map((b) => [JSON.stringify(b).slice(0, 60), b] as const))(
    '%s: deployed under the names the naming rules give it',
    async (_label, branch) => {
      project.checkout(branch);
      const r = runBin(['pipeline', '--json'], { cwd: project.dir, env: project.env });
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as Report;
      reports.set(branch, report);
      expect(report.ok).toBe(true);
      const { context } = report;
      expect(context.kind).toBe('preview');
      expect(context.branch).toBe(branch);
      expect(context.namespace).toBe(namespaceName(branch));
      expect(context.release).toBe(releaseName(branch, 'sample-service'));
      expect(context.database).toBe(databaseName(repo, branch));

      const ns = kubeGet('namespace', context.namespace) as NamespaceObject | undefined;
      expect(ns?.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('deploytag');
      expect(ns?.metadata.annotations?.['deploytag.dev/branch']).toBe(branch);
      expect(helmStatus(context.namespace, context.release)?.info.status).toBe('deployed');
      expect(databasesStartingWith(context.database)).toContain(context.database);
      expect(await tagsOf(`${repo}/sample-service`)).toContain(imageTag(branch));
      expect(existsSync(pwned)).toBe(false);
    },
  );

  it('gave every branch its own namespace, release, database and image tag', () => {
    expect([...reports.keys()]).toEqual(deployed);
    for (const field of ['namespace', 'release', 'database'] as const) {
      const names = [...reports.values()].map((r) => r.context[field]);
      expect(new Set(names).size, field).toBe(deployed.length);
    }
    expect(new Set(deployed.map((b) => imageTag(b))).size).toBe(deployed.length);
    expect(existsSync(pwned)).toBe(false);
  });
});

describe('hostile branch names git refuses, through set-env evaluated in bash', () => {
  const env = {
    CIRCLE_SHA1: 'd'.repeat(40),
    CIRCLE_PROJECT_REPONAME: repo,
    CHART_NAME: './charts/sample-service',
    DOMAIN: 'sample.test',
    CONTAINER_REGISTRY: 'registry.test:5000',
  };
  const refused = corpus.filter((e) => e.git === false && e.env !== false);

  it.each(refused.map((e) => [JSON.stringify(e.branch).slice(0, 60), e.branch] as const))(
    '%s: exported exactly, nothing run',
    (_label, raw) => {
      const branch = raw.replaceAll('@PWNED@', pwned);
      // The bin runs inside bash; the branch reaches it as one argument, never through the shell.
      const script =
        'eval "$("$@")" || exit 9; printf "%s\\0" "$DEPLOYTAG_NAMESPACE" "$HELM_NAME" "$DATABASE" "$DEPLOYTAG_ENVIRONMENT"';
      const r = spawnSync(
        'bash',
        [
          '--norc',
          '--noprofile',
          '-c',
          script,
          'bash',
          process.execPath,
          BIN,
          'set-env',
          '--no-git',
          '--no-secrets',
          '--branch',
          branch,
        ],
        {
          cwd: scratch,
          encoding: 'utf8',
          env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: scratch, ...env },
        },
      );
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const trimmed = branch.trim();
      expect(r.stdout.split('\0').slice(0, 4)).toEqual([
        namespaceName(trimmed),
        releaseName(trimmed, 'sample-service'),
        databaseName(repo, trimmed),
        'preview',
      ]);
      expect(existsSync(pwned)).toBe(false);
    },
  );
});
