/**
 * The files around the deploy image, read as the tools that use them will: the Dockerfile's
 * stages and pins, the build context its .dockerignore leaves, the /scripts overrides, this
 * repository's CircleCI config and the deploy configs teams copy (parsed with `yaml`).
 */
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseDockerfile, readContextFilter } from '@deploytag/image';
import { commands } from './commands/index.js';

const repo = resolve(import.meta.dirname, '../../..');
const read = (file: string): string => readFileSync(join(repo, file), 'utf8');
const yamlOf = (file: string): Record<string, unknown> =>
  parse(read(file)) as Record<string, unknown>;

describe('Dockerfile', () => {
  const instructions = parseDockerfile(read('Dockerfile'));
  const args = new Map(
    instructions
      .filter((i) => i.keyword === 'ARG' && i.args.includes('='))
      .map((i) => [i.args.slice(0, i.args.indexOf('=')), i.args.slice(i.args.indexOf('=') + 1)]),
  );
  const stages = instructions
    .filter((i) => i.keyword === 'FROM')
    .map((i) => /\bAS\s+(\S+)$/i.exec(i.args)?.[1]);

  it('pins its base by version and helm by version and checksum', () => {
    expect(args.get('NODE_IMAGE')).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim$/);
    expect(args.get('HELM_VERSION')).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(args.get('HELM_SHA256_AMD64')).toMatch(/^[0-9a-f]{64}$/);
    expect(args.get('HELM_SHA256_ARM64')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('has a stage for each value of HELM_FROM and APP_FROM, the defaults the online ones', () => {
    expect(args.get('HELM_FROM')).toBe('download');
    expect(args.get('APP_FROM')).toBe('source');
    for (const s of ['helm-download', 'helm-context', 'app-source', 'app-context']) {
      expect(stages).toContain(s);
    }
    expect(instructions.filter((i) => i.keyword === 'FROM').map((i) => i.args)).toEqual(
      expect.arrayContaining(['helm-${HELM_FROM} AS helm', 'app-${APP_FROM} AS app']),
    );
  });

  it('ends as the non-root node user with the bins on PATH', () => {
    const last = instructions.slice(instructions.findLastIndex((i) => i.keyword === 'FROM'));
    expect(last.filter((i) => i.keyword === 'USER').map((i) => i.args)).toEqual(['node']);
    expect(last.find((i) => i.keyword === 'ENV')?.args).toMatch(/^PATH=\/opt\/deploytag\/bin:/);
  });
});

describe('.dockerignore', () => {
  const filter = readContextFilter(repo);

  it('sends the sources and manifests the build needs', () => {
    for (const file of [
      'Dockerfile',
      'package.json',
      'package-lock.json',
      '.npmrc',
      'nx.json',
      'tsconfig.base.json',
      'packages/cli/package.json',
      'packages/cli/src/main.ts',
      'tools/harness/package.json',
      'docker/assemble-app.mjs',
      'docker/scripts/set_env.sh',
    ]) {
      expect({ file, excluded: filter.excludes(file) }).toEqual({ file, excluded: false });
    }
  });

  it('leaves out installed and built output, git and the examples', () => {
    for (const file of [
      'node_modules',
      'packages/cli/node_modules',
      'packages/cli/dist',
      '.git',
      '.nx',
      'examples',
    ]) {
      expect({ file, excluded: filter.excludes(file) }).toEqual({ file, excluded: true });
    }
  });
});

describe('docker/scripts', () => {
  const originals = new Set(
    commands.flatMap((c) => (c.original === undefined ? [] : [c.original])),
  );

  it('holds only executable sh scripts named after an original script', () => {
    const dir = join(repo, 'docker/scripts');
    for (const file of readdirSync(dir)) {
      expect(originals).toContain(file);
      accessSync(join(dir, file), constants.X_OK);
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text.startsWith('#!/bin/sh\n')).toBe(true);
      expect(text).toContain('exec @DEPLOYTAG@ ');
    }
  });
});

/** A CircleCI job's `run` commands. */
function circleRuns(job: Record<string, unknown>): string[] {
  const steps = (job['steps'] ?? []) as unknown[];
  return steps.flatMap((s) => {
    if (typeof s !== 'object' || s === null) return [];
    const run = (s as Record<string, unknown>)['run'];
    if (typeof run === 'string') return [run];
    if (typeof run === 'object' && run !== null) {
      const command = (run as Record<string, unknown>)['command'];
      return typeof command === 'string' ? [command] : [];
    }
    const when = (s as Record<string, { steps?: unknown[] } | undefined>)['when'];
    return when?.steps === undefined ? [] : circleRuns({ steps: when.steps });
  });
}

/** Checks a CircleCI config's shape: version, executors, and that workflows name real jobs. */
function expectCircleConfig(
  config: Record<string, unknown>,
): Record<string, Record<string, unknown>> {
  expect(config['version']).toBe(2.1);
  const jobs = config['jobs'] as Record<string, Record<string, unknown>>;
  const executors = Object.keys(config['executors'] ?? {});
  for (const [name, job] of Object.entries(jobs)) {
    const runsOn = ['docker', 'machine', 'executor'].filter((k) => k in job);
    expect({ name, runsOn: runsOn.length }).toEqual({ name, runsOn: 1 });
    if (typeof job['executor'] === 'string') expect(executors).toContain(job['executor']);
  }
  const workflows = config['workflows'] as Record<string, { jobs: unknown[] }>;
  for (const wf of Object.values(workflows)) {
    for (const entry of wf.jobs) {
      const [name, options] =
        typeof entry === 'string'
          ? [entry, {}]
          : (Object.entries(entry as Record<string, { requires?: string[] }>)[0] ?? ['', {}]);
      expect(Object.keys(jobs)).toContain(name);
      for (const r of options.requires ?? []) expect(Object.keys(jobs)).toContain(r);
    }
  }
  return jobs;
}

describe('.circleci/config.yml', () => {
  const jobs = expectCircleConfig(yamlOf('.circleci/config.yml'));

  it('installs, checks, tests and builds the deploy image', () => {
    expect(Object.keys(jobs)).toEqual(['install', 'check', 'test', 'build-image']);
    expect(circleRuns(jobs['install']!).join('\n')).toContain('npm ci');
    expect(circleRuns(jobs['check']!)).toContain('npm run check');
    expect(circleRuns(jobs['test']!).join('\n')).toContain('npm test');
    const build = circleRuns(jobs['build-image']!).join('\n');
    expect(build).toContain('docker build');
    expect(build).toContain('for script in /scripts/*; do "$script" --help');
  });

  it('caches npm by the lock file', () => {
    const text = read('.circleci/config.yml');
    expect(text).toContain('npm-v1-{{ checksum "package-lock.json" }}');
  });
});

/** The names of the secrets the deploy examples expect from the CI's settings. */
const SECRETS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'DATABASE_URL'];

describe('examples/ci/deploy.circleci.yml', () => {
  const jobs = expectCircleConfig(yamlOf('examples/ci/deploy.circleci.yml'));
  const deploy = jobs['deploy']!;

  it('runs deploytag pipeline in the deploy image, with a remote engine', () => {
    const docker = deploy['docker'] as { image: string }[];
    expect(docker[0]?.image).toMatch(/\/deploytag:\d+\.\d+\.\d+$/);
    expect(deploy['steps']).toEqual(expect.arrayContaining(['checkout', 'setup_remote_docker']));
    expect(circleRuns(deploy)).toEqual([
      'deploytag config-k8s',
      'deploytag pipeline --dir "$SERVICE_DIR"',
    ]);
  });

  it('takes the secrets from the project settings, not from the file', () => {
    const environment = Object.keys(deploy['environment'] ?? {});
    for (const name of SECRETS) expect(environment).not.toContain(name);
  });
});

describe('examples/ci/deploy.github-actions.yml', () => {
  const workflow = yamlOf('examples/ci/deploy.github-actions.yml');
  const deploy = (workflow['jobs'] as Record<string, Record<string, unknown>>)['deploy']!;
  const steps = deploy['steps'] as { uses?: string; run?: string }[];

  it('runs deploytag pipeline in the deploy image on pushes to deployable branches', () => {
    const on = workflow['on'] as { push: { branches: string[] } };
    expect(on.push.branches).toEqual(expect.arrayContaining(['main', 'feature/**']));
    expect((deploy['container'] as { image: string }).image).toMatch(/\/deploytag:\d+\.\d+\.\d+$/);
    expect(steps[0]?.uses).toMatch(/^actions\/checkout@v\d+$/);
    expect(steps.at(-1)?.run).toBe('deploytag pipeline --dir "$SERVICE_DIR"');
  });

  it('reads every secret from the repository secrets', () => {
    const env = deploy['env'] as Record<string, string>;
    for (const name of SECRETS) expect(env[name]).toBe(`\${{ secrets.${name} }}`);
  });
});
