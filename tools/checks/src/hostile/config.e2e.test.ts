/**
 * Bad config files, bad values files and bad HELM_VARS through the built bin, on the sample service
 * pushed to the harness git server: `deploytag pipeline` (for real and with `--dry-run`),
 * `deploytag deploy --dry-run` and `deploytag parse-helm-vars` each exit with code 2 and print one
 * line naming the file (or HELM_VARS) and the key or line; and nothing was started: no namespace,
 * no image in the registry, no database.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseName, namespaceName } from '@deploytag/context';
import { prepareSampleProject } from '@deploytag/harness';
import type { SampleProject } from '@deploytag/harness';
import { CORPUS_DIR, configCases, valuesCases } from './corpus.js';
import {
  allNamespaces,
  databasesStartingWith,
  removeTestEnvironments,
  requireBin,
  runBin,
  tagsOf,
} from './stack.js';

const run = randomBytes(3).toString('hex');
const repo = `hostile-c-${run}`;
const branch = `feature/h${run}-config`;
const scratch = mkdtempSync(join(tmpdir(), 'deploytag-hostile-config-'));
let project: SampleProject;
let valuesPreview: string;
let originalValues: string;

/** The pipeline, for real (nothing may start) and as a dry run. */
const PIPELINE_RUNS = [{ args: ['pipeline'] }, { args: ['pipeline', '--dry-run'] }];

/** The project's variables, without those the corpus files set (the environment would win). */
function envFor(withoutEnv: readonly string[] = []): Record<string, string> {
  const env = { ...project.env };
  for (const name of ['DOMAIN', ...withoutEnv]) Reflect.deleteProperty(env, name);
  return env;
}

/** What `deploy` needs besides the file: it reads the CI variables, not the checkout. */
const ciEnv = () => ({
  CIRCLE_BRANCH: branch,
  CIRCLE_SHA1: project.sha(),
  CIRCLE_PROJECT_REPONAME: repo,
});

/** Checks a run was refused as bad input: exit code 2, one line naming every text in `names`. */
function expectRefused(
  r: { status: number | null; stdout: string; stderr: string },
  names: string[],
) {
  expect(r.status, r.stderr + r.stdout).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  for (const name of names) expect(lines[0]).toContain(name);
  expect(r.stdout).toBe('');
}

beforeAll(async () => {
  requireBin();
  project = await prepareSampleProject({
    dir: join(scratch, 'sample'),
    branch,
    name: repo,
    stackEnv: process.env,
  });
  project.env['PROJECT_ID'] = repo;
  valuesPreview = join(project.dir, 'charts/sample-service/values-preview.yaml');
  originalValues = readFileSync(valuesPreview, 'utf8');
}, 120_000);
afterAll(() => {
  removeTestEnvironments(repo);
  rmSync(scratch, { recursive: true, force: true });
});

describe.each(configCases())('config $file ($note)', (c) => {
  const file = join(CORPUS_DIR, 'config', c.file);
  const names = [file, ...c.names];

  it.each(PIPELINE_RUNS)('deploytag $args refuses it', ({ args }) => {
    expectRefused(
      runBin([...args, '--config', file], { cwd: project.dir, env: envFor(c.withoutEnv) }),
      names,
    );
  });

  it.runIf(c.deploy !== false)('deploytag deploy --dry-run refuses it', () => {
    const env = { ...envFor(c.withoutEnv), ...ciEnv() };
    expectRefused(
      runBin(['deploy', '--dry-run', '--config', file], { cwd: project.dir, env }),
      names,
    );
  });
});

describe.each(valuesCases().files)('values $file ($note)', (c) => {
  const file = join(CORPUS_DIR, 'values', c.file!);

  describe("as the chart's values-preview.yaml", () => {
    beforeAll(() => copyFileSync(file, valuesPreview));
    afterAll(() => writeFileSync(valuesPreview, originalValues));
    const names = () => [valuesPreview, ...c.names];

    it.each(PIPELINE_RUNS)('deploytag $args refuses it', ({ args }) => {
      expectRefused(runBin(args, { cwd: project.dir, env: project.env }), names());
    });

    it('deploytag deploy --dry-run refuses it', () => {
      const env = { ...project.env, ...ciEnv(), CHART_NAME: './charts/sample-service' };
      expectRefused(runBin(['deploy', '--dry-run'], { cwd: project.dir, env }), names());
    });
  });

  describe('as a HELM_VARS -f file', () => {
    const names = ['HELM_VARS', file, ...c.names];

    it.each(PIPELINE_RUNS)('deploytag $args refuses it', ({ args }) => {
      const env = { ...project.env, HELM_VARS: `-f ${file}` };
      expectRefused(runBin(args, { cwd: project.dir, env }), names);
    });

    it('deploytag deploy --dry-run refuses it', () => {
      const env = {
        ...project.env,
        ...ciEnv(),
        CHART_NAME: './charts/sample-service',
        HELM_VARS: `-f ${file}`,
      };
      expectRefused(runBin(['deploy', '--dry-run'], { cwd: project.dir, env }), names);
    });
  });
});

describe.each(valuesCases().helmVars)('HELM_VARS $text ($note)', (c) => {
  const text = c.text!;

  it.each(PIPELINE_RUNS)('deploytag $args refuses it', ({ args }) => {
    expectRefused(
      runBin(args, { cwd: project.dir, env: { ...project.env, HELM_VARS: text } }),
      c.names,
    );
  });

  it('deploytag deploy --dry-run refuses it', () => {
    const env = {
      ...project.env,
      ...ciEnv(),
      CHART_NAME: './charts/sample-service',
      HELM_VARS: text,
    };
    expectRefused(runBin(['deploy', '--dry-run'], { cwd: project.dir, env }), c.names);
  });

  it.runIf(c.parse === true)('deploytag parse-helm-vars refuses it', () => {
    const r = runBin(['parse-helm-vars'], { cwd: scratch, env: { HELM_VARS: text } });
    expectRefused(
      r,
      c.names.filter((n) => n !== 'HELM_VARS'),
    );
  });
});

describe('after every refusal', () => {
  it('nothing was started: no namespace, no image, no database', async () => {
    expect(allNamespaces().map((ns) => ns.metadata.name)).not.toContain(namespaceName(branch));
    expect(await tagsOf(`${repo}/sample-service`)).toEqual([]);
    expect(await tagsOf(`${repo}/sample-service_base`)).toEqual([]);
    expect(databasesStartingWith(repo)).toEqual([]);
    expect(databaseName(repo, branch).startsWith(repo)).toBe(true);
  });

  it('and the same project then deploys: the refusals were about the inputs alone', async () => {
    const r = runBin(['pipeline', '--json'], { cwd: project.dir, env: project.env });
    expect(r.status, r.stderr).toBe(0);
    expect(allNamespaces().map((ns) => ns.metadata.name)).toContain(namespaceName(branch));
    expect(await tagsOf(`${repo}/sample-service`)).toContain(project.sha());
    expect(databasesStartingWith(repo)).toEqual([databaseName(repo, branch)]);
  });
});
