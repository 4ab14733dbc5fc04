/**
 * The image commands (`should-build-base`, `build`, `build-docker-image`) run from source as CI
 * runs the bins, against podman's engine API and the harness registry.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { requireEnv } from '@deploytag/harness';
import { afterAll, describe, expect, it } from 'vitest';

const bin = resolve(import.meta.dirname, '../bin/deploytag.ts');
const tsx = pathToFileURL(
  resolve(import.meta.dirname, '../../../../node_modules/tsx/dist/loader.mjs'),
).href;
const dir = mkdtempSync(join(tmpdir(), 'deploytag-cli-image-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function deploytag(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@deploytag/source', '--import', tsx, bin, ...args],
      {
        cwd: dir,
        env: { ...process.env, ...env },
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, out, err }));
  });
}

function git(...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@t',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@t',
    },
  }).trim();
}

describe('image commands', () => {
  const registry = requireEnv('DEPLOYTAG_REGISTRY');
  const project = `cli-${randomBytes(4).toString('hex')}`;
  mkdirSync(join(dir, 'deps'));
  mkdirSync(join(dir, 'docker-config'));
  writeFileSync(join(dir, 'deps', 'list.txt'), 'dep\n');
  writeFileSync(
    join(dir, 'Dockerfile.base'),
    `FROM ${requireEnv('DEPLOYTAG_BASE_IMAGE')}\nCOPY deps/ /deps/\n`,
  );
  writeFileSync(
    join(dir, 'Dockerfile'),
    'FROM ${BASE_IMAGE_REF}\nARG NODE_ENV\nRUN echo "$NODE_ENV" > /env.txt\n',
  );
  writeFileSync(
    join(dir, 'Dockerfile.worker'),
    `FROM ${requireEnv('DEPLOYTAG_BASE_IMAGE')}\nARG QUEUE\nRUN echo "$QUEUE" > /queue.txt\n`,
  );
  git('init', '-q', '-b', 'feature/cli');
  git('add', '-A');
  git('commit', '-q', '-m', 'first');
  const sha = git('rev-parse', 'HEAD');
  const env = {
    DEPLOYTAG_BRANCH: 'feature/cli',
    DEPLOYTAG_SHA: sha,
    DEPLOYTAG_REPO: 'shop',
    CONTAINER_REGISTRY: registry,
    PROJECT_ID: project,
    IMAGE: 'web',
    DOCKER_CONFIG: join(dir, 'docker-config'),
    DOCKER_BUILD_ARGS: '--build-arg NODE_ENV=production',
  };

  it('should-build-base says yes, build --dry-run prints the plan, build pushes, then nothing to do', async () => {
    const yes = await deploytag(['should-build-base'], env);
    expect(yes.code, yes.err).toBe(0);
    expect(yes.err).toMatch(/build the base image: .*_base:content-[0-9a-f]{32} does not exist/);

    const dry = await deploytag(['build', '--dry-run'], env);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toContain(`would push ${registry}/${project}/web_base:feature-cli`);
    expect(dry.out).toContain(`app built FROM ${registry}/${project}/web_base:feature-cli`);
    expect(dry.out).toContain(`would push ${registry}/${project}/web:${sha}`);

    const built = await deploytag(['build'], env);
    expect(built.code, built.err).toBe(0);
    expect(built.out).toContain('base: build; app: build');
    expect(built.out).toContain(`pushed ${registry}/${project}/web:feature-cli`);

    const no = await deploytag(['should-build-base'], env);
    expect(no.code, no.err).toBe(1);
    expect(no.err).toMatch(/no base build needed/);

    const again = await deploytag(['build', '--json'], env);
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out)).toEqual({ base: 'up-to-date', app: 'up-to-date', pushed: [] });

    const forced = await deploytag(['should-build-base'], { ...env, FORCE_BASE_BUILD: '1' });
    expect(forced.code).toBe(0);
    expect(forced.err).toContain('FORCE_BASE_BUILD is set');
  });

  it('build-docker-image builds one image from DOCKER_FILE with DOCKER_BUILD_ARGS', async () => {
    const run = await deploytag(['build-docker-image'], {
      ...env,
      IMAGE: 'worker',
      DOCKER_FILE: 'Dockerfile.worker',
      DOCKER_BUILD_ARGS: 'QUEUE=mail',
    });
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain(`pushed ${registry}/${project}/worker:feature-cli`);
  });

  it('refuses a secret build argument, naming it, with exit 1', async () => {
    const run = await deploytag(['build-docker-image', '--dry-run'], {
      ...env,
      DOCKER_BUILD_ARGS: 'NPM_TOKEN=abc',
    });
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/NPM_TOKEN look like secrets/);
    expect(run.err.split('\n').filter((l) => l.trim() !== '')).toHaveLength(1);
  });
});
