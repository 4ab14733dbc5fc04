/**
 * `isAncestor` against repositories made by the real git CLI: a linear history, a side branch
 * merged back, shallow clones (whose history stops early) and commits that are not there at all.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAncestor } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'deploytag-git-ancestry-'));
const dir = join(work, 'repo');
let clock = 1_700_000_000;

function git(cwd: string, args: string[]): string {
  clock += 60;
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: work,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@deploytag.invalid',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@deploytag.invalid',
      GIT_AUTHOR_DATE: `@${clock} +0000`,
      GIT_COMMITTER_DATE: `@${clock} +0000`,
    },
  }).trim();
}

function commit(file: string, text: string): string {
  writeFileSync(join(dir, file), text);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '--quiet', '-m', `${file}: ${text}`]);
  return git(dir, ['rev-parse', 'HEAD']);
}

/** master: a → b → c → m (merge of side); side: a → d. */
const sha = { a: '', b: '', c: '', d: '', m: '' };

beforeAll(() => {
  mkdirSync(dir, { recursive: true });
  git(dir, ['init', '--quiet', '--initial-branch=master']);
  sha.a = commit('one.txt', 'a');
  sha.b = commit('one.txt', 'b');
  sha.c = commit('one.txt', 'c');
  git(dir, ['checkout', '--quiet', '-b', 'side', sha.a]);
  sha.d = commit('two.txt', 'd');
  git(dir, ['checkout', '--quiet', 'master']);
  git(dir, ['merge', '--quiet', '--no-ff', '-m', 'merge side', 'side']);
  sha.m = git(dir, ['rev-parse', 'HEAD']);
  // Packed objects too, so that lookups go through pack indexes as in a real clone.
  git(dir, ['gc', '--quiet']);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('isAncestor', () => {
  it('follows first and second parents, like git merge-base --is-ancestor', async () => {
    expect(await isAncestor(dir, sha.a, sha.c)).toBe(true);
    expect(await isAncestor(dir, sha.b, sha.m)).toBe(true);
    expect(await isAncestor(dir, sha.d, sha.m)).toBe(true);
    expect(await isAncestor(dir, sha.c, sha.a)).toBe(false);
    expect(await isAncestor(dir, sha.d, sha.c)).toBe(false);
    expect(await isAncestor(dir, sha.c, sha.d)).toBe(false);
    for (const [older, newer] of [
      [sha.a, sha.c],
      [sha.c, sha.a],
      [sha.d, sha.c],
      [sha.d, sha.m],
    ] as const) {
      const cli = (() => {
        try {
          git(dir, ['merge-base', '--is-ancestor', older, newer]);
          return true;
        } catch {
          return false;
        }
      })();
      expect(await isAncestor(dir, older, newer)).toBe(cli);
    }
  });

  it('counts a commit as its own ancestor and accepts branch names and short shas', async () => {
    expect(await isAncestor(dir, sha.b, sha.b)).toBe(true);
    expect(await isAncestor(dir, 'side', 'master')).toBe(true);
    expect(await isAncestor(dir, 'master', 'side')).toBe(false);
    expect(await isAncestor(dir, sha.a.slice(0, 10), sha.c.slice(0, 10))).toBe(true);
  });

  it('refuses a commit that is not in the repository', async () => {
    const unknown = 'f'.repeat(40);
    await expect(isAncestor(dir, sha.a, unknown)).rejects.toMatchObject({
      code: 'E_GIT_UNKNOWN_REF',
      message: expect.stringContaining(`commit ${unknown} is not in the repository`) as string,
    });
    await expect(isAncestor(dir, unknown, sha.a)).rejects.toMatchObject({
      code: 'E_GIT_UNKNOWN_REF',
    });
    await expect(isAncestor(dir, 'no-such-branch', sha.a)).rejects.toMatchObject({
      code: 'E_GIT_UNKNOWN_REF',
    });
    await expect(isAncestor(work, sha.a, sha.b)).rejects.toMatchObject({
      code: 'E_GIT_NOT_A_REPOSITORY',
    });
  });

  it('stops where a shallow clone stops', async () => {
    const shallow = join(work, 'shallow');
    git(work, ['clone', '--quiet', '--depth', '2', '--branch', 'master', `file://${dir}`, shallow]);
    // The merge and its two parents are there; the history behind them is not.
    expect(await isAncestor(shallow, sha.c, sha.m)).toBe(true);
    expect(await isAncestor(shallow, sha.d, sha.m)).toBe(true);
    expect(await isAncestor(shallow, sha.m, sha.c)).toBe(false);
    await expect(isAncestor(shallow, sha.a, sha.m)).rejects.toMatchObject({
      code: 'E_GIT_UNKNOWN_REF',
    });
  });
});
