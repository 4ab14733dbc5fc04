/**
 * The pipeline's answer to "is the live commit newer than ours?", from a clone made by the real
 * git CLI: an ancestor is superseded; the same commit, an older or unrelated one, and a commit the
 * clone does not have are not (the deploy goes ahead).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@deploytag/core';
import type { LogRecord } from '@deploytag/core';
import { commitFiles, gitIn } from '@deploytag/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newerCommitCheck } from './supersede.js';

const work = mkdtempSync(join(tmpdir(), 'deploytag-supersede-'));
const dir = join(work, 'repo');
const lines: LogRecord[] = [];
const logger = createLogger({ level: 'debug', reporter: { write: (r) => lines.push(r) } });
const sha = { one: '', two: '', three: '', side: '' };

beforeAll(() => {
  mkdirSync(dir);
  gitIn(dir, ['init', '--quiet', '--initial-branch=feature/x']);
  sha.one = commitFiles(dir, { 'a.txt': '1' }, 'one', { date: '@1700000000 +0000' });
  sha.two = commitFiles(dir, { 'a.txt': '2' }, 'two', { date: '@1700000060 +0000' });
  sha.three = commitFiles(dir, { 'a.txt': '3' }, 'three', { date: '@1700000120 +0000' });
  gitIn(dir, ['checkout', '--quiet', '-b', 'other', sha.one]);
  sha.side = commitFiles(dir, { 'b.txt': 'x' }, 'side', { date: '@1700000180 +0000' });
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('newerCommitCheck', () => {
  it('says a descendant of the pushed commit supersedes it', async () => {
    const check = newerCommitCheck(dir, sha.one, logger);
    expect(await check(sha.two)).toBe(true);
    expect(await check(sha.three)).toBe(true);
  });

  it('lets the push go ahead over the same, an older or an unrelated commit', async () => {
    const check = newerCommitCheck(dir, sha.two, logger);
    expect(await check(sha.two)).toBe(false);
    expect(await check(sha.one)).toBe(false);
    expect(await check(sha.side)).toBe(false);
  });

  it('lets the push go ahead over a commit the clone does not have, and says so', async () => {
    lines.length = 0;
    const unknown = 'e'.repeat(40);
    expect(await newerCommitCheck(dir, sha.three, logger)(unknown)).toBe(false);
    expect(lines.map((l) => l.message)).toEqual([
      expect.stringMatching(
        /^cannot tell whether the deployed commit eeeeeee is newer than [0-9a-f]{7} \(commit e{40} is not in the repository .*\); deploying$/,
      ),
    ]);
  });

  it('lets the push go ahead outside a git clone', async () => {
    expect(await newerCommitCheck(work, sha.one, logger)(sha.two)).toBe(false);
  });
});
