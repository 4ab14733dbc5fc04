/**
 * The no-op decision for an unchanged commit: `prepareBuild` (git content digests of the base
 * and app inputs, registry lookups of every tag, the plan) on a commit whose images are already
 * in the registry, against the original's decision input, `git log -1 -- Dockerfile.base`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compare, time, timeCommand, type BenchContext, type BenchResult } from '@deploytag/bench';
import { applyBuild, clientsFromEnv, prepareBuild, type BuildOptions } from '../src/index.js';

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'b',
      GIT_AUTHOR_EMAIL: 'b@b',
      GIT_COMMITTER_NAME: 'b',
      GIT_COMMITTER_EMAIL: 'b@b',
    },
  }).trim();
}

export default async function bench(ctx: BenchContext): Promise<BenchResult[]> {
  const registry = ctx.env['DEPLOYTAG_REGISTRY'];
  const baseImage = ctx.env['DEPLOYTAG_BASE_IMAGE'];
  const dockerHost = ctx.env['DOCKER_HOST'];
  if (registry === undefined || baseImage === undefined || dockerHost === undefined) {
    throw new Error('decide.bench needs the engine and registry components');
  }
  const dir = join(ctx.tmp, 'repo');
  const files = Math.max(100, Math.round(5_000 * ctx.scale));
  for (let i = 0; i < files; i++) {
    const sub = join(dir, 'src', `m${i % 100}`);
    if (i < 100) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.js`), `export const v${i} = ${i};\n`);
  }
  mkdirSync(join(dir, 'deps'), { recursive: true });
  writeFileSync(join(dir, 'deps', 'list.txt'), 'a\nb\n');
  writeFileSync(join(dir, 'Dockerfile.base'), `FROM ${baseImage}\nCOPY deps/ /deps/\n`);
  writeFileSync(join(dir, 'Dockerfile'), 'FROM ${BASE_IMAGE_REF}\nCOPY src/ /src/\n');
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'bench');
  const sha = git(dir, 'rev-parse', 'HEAD');
  const repository = `${registry}/bench-${Date.now().toString(36)}/web`;
  const options: BuildOptions = {
    dir,
    sha,
    original: { sha, branch: 'main', latest: true },
    repository,
    base: { repository: `${repository}_base` },
    env: {},
  };
  const clients = clientsFromEnv({
    DOCKER_HOST: dockerHost,
    DOCKER_CONFIG: join(ctx.tmp, 'no-docker-config'),
  });
  await applyBuild(await prepareBuild(options, clients), options, clients);
  const check = await prepareBuild(options, clients);
  if (check.base.action !== 'up-to-date' || check.app.action !== 'up-to-date') {
    throw new Error(`expected a no-op, got base ${check.base.action}, app ${check.app.action}`);
  }
  const baseline = await timeCommand(
    'git',
    ['-C', dir, 'log', '-1', '--format=%H', '--', 'Dockerfile.base'],
    10,
  );
  const subject = await time(async () => {
    await prepareBuild(options, clients);
  }, 10);
  return [
    compare(
      'image-noop-decision',
      `decide that an unchanged commit (${files} files) needs no base or app build: digests + registry lookups`,
      { label: 'git log -1 -- Dockerfile.base (original)', timing: baseline },
      { label: 'prepareBuild (no-op)', timing: subject },
      { files, registryLookups: 8 },
    ),
  ];
}
