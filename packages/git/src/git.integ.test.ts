import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Secret } from '@deploytag/core';
import { requireEnv } from '@deploytag/harness';
import * as git from 'isomorphic-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commitsBetween,
  contentDigest,
  createAnnotatedTag,
  lastCommitTouching,
  listRemoteBranches,
  listRemoteTags,
  listTags,
  pushTag,
  readRepoFacts,
  sortTagsByVersion,
} from './index.js';

const exec = promisify(execFile);
const author = { name: 'Test', email: 'test@deploytag.invalid' };

async function realGit(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await exec('git', args, {
    cwd,
    env: { PATH: process.env['PATH'], GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
  });
  return stdout.trim();
}

let clock = 1_700_000_000;
async function commitFiles(dir: string, files: Record<string, string | null>, message: string) {
  for (const [p, content] of Object.entries(files)) {
    const full = join(dir, p);
    if (content === null) {
      fs.rmSync(full, { recursive: true, force: true });
      await git.remove({ fs, dir, filepath: p });
    } else {
      fs.mkdirSync(join(full, '..'), { recursive: true });
      fs.writeFileSync(full, content);
      await git.add({ fs, dir, filepath: p });
    }
  }
  clock += 60;
  const who = { ...author, timestamp: clock, timezoneOffset: 0 };
  return await git.commit({ fs, dir, message, author: who, committer: who });
}

describe('@deploytag/git against real repositories', () => {
  const work = fs.mkdtempSync(join(tmpdir(), 'deploytag-git-lib-'));
  const dir = join(work, 'repo');
  const shas: string[] = [];

  beforeAll(async () => {
    await git.init({ fs, dir, defaultBranch: 'main' });
    shas.push(
      await commitFiles(dir, { 'Dockerfile.base': 'FROM a\n', 'app/a.txt': '1' }, 'feat: one'),
    );
    shas.push(await commitFiles(dir, { 'app/b.txt': '2' }, 'fix: two\n\nbody line\n\nCloses #4'));
    shas.push(await commitFiles(dir, { 'README.md': 'hi' }, 'docs: three'));
    shas.push(await commitFiles(dir, { 'Dockerfile.base': 'FROM b\n' }, 'chore: base'));
    shas.push(await commitFiles(dir, { 'README.md': 'hello' }, 'docs: five'));
    await git.tag({ fs, dir, ref: 'v0.1.0', object: shas[1] });
    await git.annotatedTag({
      fs,
      dir,
      ref: 'v0.2.0-pre.1',
      object: shas[3],
      message: 'b',
      tagger: author,
    });
    await git.annotatedTag({
      fs,
      dir,
      ref: 'v0.1.1-pre9',
      object: shas[2],
      message: 'legacy',
      tagger: author,
    });
    await git.addRemote({
      fs,
      dir,
      remote: 'origin',
      url: 'https://tok:secret@github.com/acme/shop.git',
    });
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('reads the branch, sha and remote, and CI hints in a detached HEAD', async () => {
    const facts = await readRepoFacts(join(dir, 'app'));
    expect(facts).toEqual({
      branch: 'main',
      sha: shas[4],
      detached: false,
      remoteUrl: 'https://github.com/acme/shop.git',
      remote: { host: 'github.com', owner: 'acme', repo: 'shop', path: 'acme/shop' },
    });
    await git.checkout({ fs, dir, ref: shas[3]! });
    try {
      const bare = await readRepoFacts(dir);
      expect(bare.detached).toBe(true);
      expect(bare.branch).toBeUndefined();
      const hinted = await readRepoFacts(dir, { env: { CIRCLE_BRANCH: 'feature/x' } });
      expect(hinted).toMatchObject({ branch: 'feature/x', sha: shas[3], detached: true });
      const gh = await readRepoFacts(dir, { env: { GITHUB_REF: 'refs/heads/fix/y' } });
      expect(gh.branch).toBe('fix/y');
    } finally {
      await git.checkout({ fs, dir, ref: 'main' });
    }
    await git.checkout({ fs, dir, ref: shas[4]! });
    try {
      // The only branch at this commit names it.
      expect((await readRepoFacts(dir)).branch).toBe('main');
    } finally {
      await git.checkout({ fs, dir, ref: 'main' });
    }
  });

  it('lists annotated and lightweight tags with their commits, agreeing with git', async () => {
    const tags = sortTagsByVersion(await listTags(dir));
    expect(tags).toEqual([
      { name: 'v0.1.0', sha: shas[1], annotated: false },
      { name: 'v0.1.1-pre9', sha: shas[2], annotated: true },
      { name: 'v0.2.0-pre.1', sha: shas[3], annotated: true },
    ]);
    for (const t of tags)
      expect(await realGit(dir, ['rev-parse', `${t.name}^{commit}`])).toBe(t.sha);
    // packed refs (with peeled lines) read the same
    await realGit(dir, ['pack-refs', '--all']);
    expect(sortTagsByVersion(await listTags(dir))).toEqual(tags);
  });

  it('digests paths from tree ids: stable, order-free, sensitive to change and absence', async () => {
    const paths = ['Dockerfile.base', 'app', 'missing.txt'];
    const atHead = await contentDigest(dir, { paths });
    expect(atHead).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(
      await contentDigest(dir, { paths: ['missing.txt', 'app/', './Dockerfile.base', 'app'] }),
    ).toBe(atHead);
    // Commit 4 only touches README.md: same digest.
    expect(await contentDigest(dir, { paths, ref: shas[3] })).toBe(atHead);
    expect(await contentDigest(dir, { paths, ref: shas[2] })).not.toBe(atHead);
    expect(await contentDigest(dir, { paths: ['Dockerfile.base'], ref: shas[0] })).not.toBe(
      await contentDigest(dir, { paths: ['Dockerfile.base'] }),
    );
    // An absent path is not the same as no path.
    expect(await contentDigest(dir, { paths: ['Dockerfile.base', 'app'] })).not.toBe(atHead);
    // The clean work tree gives the commit's digest; an edit changes it, until reverted.
    expect(await contentDigest(dir, { paths, includeWorkingTree: true })).toBe(atHead);
    fs.writeFileSync(join(dir, 'app', 'c.txt'), 'untracked');
    expect(await contentDigest(dir, { paths, includeWorkingTree: true })).not.toBe(atHead);
    expect(await contentDigest(dir, { paths })).toBe(atHead);
    fs.rmSync(join(dir, 'app', 'c.txt'));
    fs.writeFileSync(join(dir, '.gitignore'), 'app/*.log\n');
    fs.writeFileSync(join(dir, 'app', 'debug.log'), 'ignored');
    expect(await contentDigest(dir, { paths, includeWorkingTree: true })).toBe(atHead);
    fs.chmodSync(join(dir, 'app', 'a.txt'), 0o755);
    expect(await contentDigest(dir, { paths, includeWorkingTree: true })).not.toBe(atHead);
    fs.chmodSync(join(dir, 'app', 'a.txt'), 0o644);
    fs.rmSync(join(dir, 'app', 'debug.log'));
    fs.rmSync(join(dir, '.gitignore'));
  });

  it('finds the last commit touching a path on first-parent history, like git log', async () => {
    expect(await lastCommitTouching(dir, 'Dockerfile.base')).toBe(shas[3]);
    expect(await lastCommitTouching(dir, 'app')).toBe(shas[1]);
    expect(await lastCommitTouching(dir, 'README.md', { ref: shas[3] })).toBe(shas[2]);
    expect(await lastCommitTouching(dir, 'nope')).toBeUndefined();
    for (const p of ['Dockerfile.base', 'app', 'README.md']) {
      expect(await lastCommitTouching(dir, p)).toBe(
        await realGit(dir, ['log', '-1', '--first-parent', '--format=%H', '--', p]),
      );
    }
    const removed = await commitFiles(dir, { 'app/b.txt': null }, 'refactor: drop b');
    expect(await lastCommitTouching(dir, 'app/b.txt')).toBe(removed);
    expect(await lastCommitTouching(dir, 'app')).toBe(removed);
  });

  it('lists commits between refs like git log from..to, merges included', async () => {
    const range = await commitsBetween(dir, 'v0.1.0', 'HEAD');
    expect(range.map((c) => c.sha)).toEqual(
      (await realGit(dir, ['log', '--format=%H', 'v0.1.0..HEAD'])).split('\n'),
    );
    expect(range.at(-1)).toMatchObject({
      subject: 'docs: three',
      body: '',
      author: { name: 'Test' },
    });
    const all = await commitsBetween(dir, undefined, 'v0.1.0');
    expect(all.map((c) => c.subject)).toEqual(['fix: two', 'feat: one']);
    expect(all[0]!.body).toBe('body line\n\nCloses #4');
    expect(all[0]!.date).toBe(new Date((1_700_000_000 + 120) * 1000).toISOString());
    expect(await commitsBetween(dir, 'HEAD', 'HEAD')).toEqual([]);
    // A side branch merged back: its commits count once; the range from the side branch excludes them.
    await git.branch({ fs, dir, ref: 'side', object: shas[4] });
    await git.checkout({ fs, dir, ref: 'side' });
    const side = await commitFiles(dir, { 'side.txt': 's' }, 'feat: side');
    await git.checkout({ fs, dir, ref: 'main' });
    const main2 = await commitFiles(dir, { 'main.txt': 'm' }, 'fix: main');
    clock += 60;
    const who = { ...author, timestamp: clock, timezoneOffset: 0 };
    await git.merge({
      fs,
      dir,
      ours: 'main',
      theirs: 'side',
      author: who,
      committer: who,
      message: 'Merge pull request #7 from acme/side',
    });
    const merged = await commitsBetween(dir, shas[4], 'main');
    expect(merged.map((c) => c.sha).sort()).toEqual(
      (await realGit(dir, ['log', '--format=%H', `${shas[4]}..main`])).split('\n').sort(),
    );
    expect(merged.map((c) => c.sha)).toContain(side);
    expect(merged.map((c) => c.sha)).toContain(main2);
    expect((await commitsBetween(dir, 'side', 'main')).map((c) => c.sha)).not.toContain(side);
  });

  it('creates annotated tags idempotently and refuses to move one', async () => {
    const first = await createAnnotatedTag(dir, {
      tag: 'v9.0.0',
      target: shas[2]!.slice(0, 8),
      message: 'nine',
    });
    expect(first).toMatchObject({ sha: shas[2], created: true });
    expect(await realGit(dir, ['cat-file', '-t', 'v9.0.0'])).toBe('tag');
    const again = await createAnnotatedTag(dir, {
      tag: 'v9.0.0',
      target: shas[2]!,
      message: 'nine',
    });
    expect(again).toEqual({ ...first, created: false });
    await expect(
      createAnnotatedTag(dir, { tag: 'v9.0.0', target: 'main', message: 'nine' }),
    ).rejects.toMatchObject({ code: 'E_GIT_TAG_CONFLICT' });
    await expect(
      createAnnotatedTag(dir, { tag: 'v9.0.1', target: 'no-such-branch', message: 'x' }),
    ).rejects.toMatchObject({ code: 'E_GIT_UNKNOWN_REF' });
  });

  it('explains a folder that is not a repository', async () => {
    await expect(readRepoFacts(work)).rejects.toMatchObject({ code: 'E_GIT_NOT_A_REPOSITORY' });
  });
});

describe('@deploytag/git against the smart-HTTP remote', () => {
  const base = requireEnv('DEPLOYTAG_GIT_URL');
  const root = requireEnv('DEPLOYTAG_GIT_ROOT');
  const token = Secret.of(requireEnv('DEPLOYTAG_GIT_TOKEN'));
  const work = fs.mkdtempSync(join(tmpdir(), 'deploytag-git-remote-'));
  const name = `lib-${randomBytes(4).toString('hex')}.git`;
  const url = `${base}/${name}`;
  const dir = join(work, 'local');
  let head = '';

  beforeAll(async () => {
    await exec('git', ['init', '--quiet', '--bare', '--initial-branch=main', join(root, name)]);
    await git.init({ fs, dir, defaultBranch: 'main' });
    head = await commitFiles(dir, { 'a.txt': 'a' }, 'first');
    await git.branch({ fs, dir, ref: 'feature/x' });
    const onAuth = () => ({ username: 'x', password: token.reveal() });
    await git.push({
      fs,
      http: (await import('isomorphic-git/http/node')).default,
      dir,
      url,
      ref: 'main',
      onAuth,
    });
    await git.push({
      fs,
      http: (await import('isomorphic-git/http/node')).default,
      dir,
      url,
      ref: 'feature/x',
      onAuth,
    });
  });
  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(join(root, name), { recursive: true, force: true });
  });

  it('lists remote branches anonymously', async () => {
    const branches = await listRemoteBranches(url);
    expect(branches.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'feature/x', sha: head },
      { name: 'main', sha: head },
    ]);
  });

  it('pushes an annotated tag with the token and lists it peeled', async () => {
    await createAnnotatedTag(dir, { tag: 'v1.0.0', target: 'HEAD', message: 'one' });
    await expect(pushTag(dir, { url, tag: 'v1.0.0' })).rejects.toMatchObject({
      code: 'E_GIT_AUTH',
    });
    await expect(
      pushTag(dir, { url, tag: 'v1.0.0', auth: { token: Secret.of('wrong-token-value') } }),
    ).rejects.toMatchObject({ code: 'E_GIT_AUTH' });
    await pushTag(dir, { url, tag: 'v1.0.0', auth: { token } });
    expect(await listRemoteTags(url)).toEqual([{ name: 'v1.0.0', sha: head, annotated: true }]);
    expect(await realGit(work, ['ls-remote', url, 'refs/tags/v1.0.0^{}'])).toContain(head);
  });

  it('gives up on a remote that accepts but never answers', async () => {
    const server = createServer(() => undefined); // never responds
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    try {
      const started = Date.now();
      const error: unknown = await listRemoteTags(`http://127.0.0.1:${port}/x.git`, {
        timeoutMs: 300,
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'E_GIT_REMOTE' });
      expect((error as Error).message).toContain('timed out after 0.3 s');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
  });

  it('fails clearly when the remote is unreachable, without showing credentials', async () => {
    const error: unknown = await listRemoteBranches('http://user:pw-123@127.0.0.1:9/x.git').catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'E_GIT_REMOTE' });
    expect((error as Error).message).not.toContain('pw-123');
  });
});
