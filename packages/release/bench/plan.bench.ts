/**
 * Planning a release on a long history: a repository of 10,000 commits and 2,000 annotated tags
 * (generated with `git fast-import`), the library's facts + plan and the built bin's dry run,
 * each against `git describe --tags` plus `git log <tag>..HEAD` on the same repository.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { compare, time } from '@deploytag/bench';
import type { BenchContext, BenchResult } from '@deploytag/bench';
import { gatherReleaseFacts, planRelease } from '../src/index.js';

const repoRoot = resolve(import.meta.dirname, '../../..');
const gitEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

function git(cwd: string, args: string[], input?: string): string {
  const r = spawnSync('git', args, {
    cwd,
    env: gitEnv,
    input,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function data(text: string): string {
  return `data ${Buffer.byteLength(text)}\n${text}\n`;
}

/** A fast-import stream: `commits` commits on main, a tag every `commits / tags` commits. */
function history(commits: number, tags: number): string {
  const every = Math.max(1, Math.floor(commits / tags));
  const kinds = ['feat', 'fix', 'chore', 'docs', 'refactor'];
  const parts: string[] = [];
  let t = 1_600_000_000;
  let tagged = 0;
  for (let i = 1; i <= commits; i++) {
    t += 60;
    parts.push(
      `commit refs/heads/main\nmark :${i}\ncommitter Dev <dev@example.invalid> ${t} +0000\n`,
      data(`${kinds[i % kinds.length]!}: change ${i}\n\nbody of change ${i}\n`),
      i > 1 ? `from :${i - 1}\n` : '',
      `M 644 inline src/file-${i % 50}.txt\n`,
      data(`content ${i}\n`),
    );
    // Tags stop 3 commits before the end, so there is something to release.
    if ((i - 2) % every === 0 && tagged < tags && i <= commits - 3) {
      tagged++;
      const minor = Math.floor(tagged / 4);
      const name = tagged % 4 === 0 ? `v1.${minor}.0` : `v1.${minor + 1}.0-pre.${tagged % 4}`;
      parts.push(
        `tag ${name}\nfrom :${i}\ntagger Dev <dev@example.invalid> ${t} +0000\n`,
        data(`release ${name}\n`),
      );
    }
  }
  return parts.join('');
}

export default async function bench(ctx: BenchContext): Promise<BenchResult[]> {
  const commits = Math.max(50, Math.round(10_000 * ctx.scale));
  const tags = Math.max(10, Math.round(2_000 * ctx.scale));
  const dir = resolve(ctx.tmp, 'repo');
  const started = Date.now();
  git(ctx.tmp, ['init', '--quiet', '--initial-branch=main', dir]);
  git(dir, ['fast-import', '--quiet'], history(commits, tags));
  git(dir, ['pack-refs', '--all']);
  git(dir, ['reset', '--quiet', '--hard', 'main']);
  const tagCount = git(dir, ['tag']).trim().split('\n').length;
  ctx.log(`generated ${commits} commits and ${tagCount} tags in ${Date.now() - started} ms`);

  // The baseline: what a shell script would run to find the last tag and the commits since.
  const baseline = (): Promise<void> => {
    const last = git(dir, ['describe', '--tags', '--abbrev=0']).trim();
    git(dir, ['log', '--format=%H%x00%an%x00%aI%x00%s%x00%b', `${last}..HEAD`]);
    return Promise.resolve();
  };
  const library = async (): Promise<void> => {
    const facts = await gatherReleaseFacts(dir, { channel: 'beta' });
    const plan = planRelease(facts, { channel: 'beta' });
    if (plan.action !== 'create') throw new Error(`unexpected plan ${plan.action}`);
  };
  // Check the subject computes what we expect before timing it.
  const facts = await gatherReleaseFacts(dir, { channel: 'beta' });
  const plan = planRelease(facts, { channel: 'beta' });
  ctx.log(
    `plan: ${plan.action === 'none' ? plan.reason : `${plan.tag} after ${plan.baseTag ?? '-'} (${plan.commitCount} commits)`}`,
  );

  const runs = ctx.scale < 1 ? 3 : 5;
  const gitTiming = await time(baseline, runs);
  const libTiming = await time(library, runs);
  const bin = resolve(repoRoot, 'packages/release/dist/bin/release.js');
  const binTiming = await time(() => {
    const r = spawnSync(process.execPath, [bin, 'beta', '--dry-run', '-p', dir], {
      env: { PATH: process.env['PATH'] ?? '' },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`release bin failed: ${r.stderr}`);
    return Promise.resolve();
  }, runs);
  const extra = { commits, tags: tagCount, planned: plan.action === 'none' ? 'none' : plan.tag };
  return [
    compare(
      'release-plan-library',
      `gatherReleaseFacts + planRelease (beta) on ${commits} commits / ${tagCount} tags vs git describe --tags + git log`,
      { label: 'git describe + git log', timing: gitTiming },
      { label: 'gather + plan (in process)', timing: libTiming },
      extra,
    ),
    compare(
      'release-plan-bin',
      `release beta --dry-run (built bin, node start included) on ${commits} commits / ${tagCount} tags vs git describe --tags + git log`,
      { label: 'git describe + git log', timing: gitTiming },
      { label: 'release beta --dry-run', timing: binTiming },
      extra,
    ),
  ];
}
