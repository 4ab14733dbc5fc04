import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import * as git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processCommandLines, requireEnv } from '../test-env.js';

const exec = promisify(execFile);
const author = { name: 'DeployTag Test', email: 'test@deploytag.invalid' };

/** The real git CLI, isolated from the machine's configuration. */
async function realGit(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await exec('git', args, {
    env: {
      PATH: process.env['PATH'],
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      ...env,
    },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** `git ls-remote` as a map from ref name to object id. */
async function lsRemote(url: string): Promise<Map<string, string>> {
  const out = await realGit(['ls-remote', url]);
  return new Map(
    out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [oid, ref] = line.split('\t');
        return [ref!, oid!] as const;
      }),
  );
}

/** pkt-line framing of the git protocol. */
function pkt(line: string): string {
  return `${(line.length + 4).toString(16).padStart(4, '0')}${line}`;
}

describe('git component (smart HTTP remote)', () => {
  const base = requireEnv('DEPLOYTAG_GIT_URL');
  const root = requireEnv('DEPLOYTAG_GIT_ROOT');
  const token = requireEnv('DEPLOYTAG_GIT_TOKEN');
  const work = fs.mkdtempSync(join(tmpdir(), 'deploytag-git-test-'));
  const name = `repo-${randomBytes(4).toString('hex')}.git`;
  const url = `${base}/${name}`;
  const local = join(work, 'local');
  const onAuth = () => ({ username: 'x-access-token', password: token });
  let commitOid = '';
  let tagOid = '';

  beforeAll(async () => {
    await realGit(['init', '--quiet', '--bare', '--initial-branch=main', join(root, name)]);
    await git.init({ fs, dir: local, defaultBranch: 'main' });
    fs.writeFileSync(join(local, 'README.md'), '# hello\n');
    fs.mkdirSync(join(local, 'src'));
    fs.writeFileSync(join(local, 'src', 'app.txt'), 'v1\n');
    await git.add({ fs, dir: local, filepath: '.' });
    commitOid = await git.commit({ fs, dir: local, message: 'first commit', author });
    await git.annotatedTag({
      fs,
      dir: local,
      ref: 'v1.0.0',
      message: 'release 1.0.0',
      tagger: author,
    });
    tagOid = await git.resolveRef({ fs, dir: local, ref: 'refs/tags/v1.0.0' });
  });
  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(join(root, name), { recursive: true, force: true });
  });

  it('exports a loopback URL, the repository root and a token', () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(fs.statSync(root).isDirectory()).toBe(true);
    expect(token.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses a push without the token with 401 and a basic-auth challenge', async () => {
    await expect(git.push({ fs, http, dir: local, url, ref: 'main' })).rejects.toMatchObject({
      code: 'HttpError',
      data: { statusCode: 401 },
    });
    const res = await fetch(`${url}/info/refs?service=git-receive-pack`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="deploytag"');
    const wrong = await fetch(`${url}/info/refs?service=git-receive-pack`, {
      headers: { Authorization: `Basic ${Buffer.from(`x:${token}x`).toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    // A percent-encoded service name reaches http-backend decoded: it must be guarded too.
    const sneaky = await fetch(`${url}/git%2Dreceive-pack`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-git-receive-pack-request' },
      body: '0000',
    });
    expect(sneaky.status).toBe(401);
    expect((await lsRemote(url)).size).toBe(0);
  });

  it('accepts a branch and an annotated tag pushed with the token (isomorphic-git)', async () => {
    const branch = await git.push({ fs, http, dir: local, url, ref: 'main', onAuth });
    expect(branch.ok).toBe(true);
    const tag = await git.push({ fs, http, dir: local, url, ref: 'refs/tags/v1.0.0', onAuth });
    expect(tag.ok).toBe(true);

    const refs = await lsRemote(url);
    expect(refs.get('refs/heads/main')).toBe(commitOid);
    expect(refs.get('refs/tags/v1.0.0')).toBe(tagOid);
    expect(tagOid).not.toBe(commitOid); // annotated: the tag is its own object…
    expect(refs.get('refs/tags/v1.0.0^{}')).toBe(commitOid); // …that points at the commit
  });

  it('serves an anonymous clone and fetch (isomorphic-git)', async () => {
    const clone = join(work, 'clone');
    await git.clone({ fs, http, dir: clone, url, ref: 'main', singleBranch: true });
    expect(fs.readFileSync(join(clone, 'src', 'app.txt'), 'utf8')).toBe('v1\n');
    expect(await git.resolveRef({ fs, dir: clone, ref: 'HEAD' })).toBe(commitOid);
    await git.fetch({ fs, http, dir: clone, url, ref: 'main', tags: true });
    expect(await git.resolveRef({ fs, dir: clone, ref: 'refs/tags/v1.0.0' })).toBe(tagOid);
  });

  it('inflates a gzip-encoded upload-pack request', async () => {
    const body = `${pkt(`want ${commitOid}\n`)}0000${pkt('done\n')}`;
    const res = await fetch(`${url}/git-upload-pack`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-git-upload-pack-request',
        'Content-Encoding': 'gzip',
      },
      body: gzipSync(body),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-git-upload-pack-result');
    const out = Buffer.from(await res.arrayBuffer());
    expect(out.subarray(0, 8).toString()).toBe('0008NAK\n');
    expect(out.includes('PACK')).toBe(true);
  });

  it('streams a large push from the real git client (chunked body), with the token from its environment', async () => {
    const big = join(work, 'big');
    await realGit(['clone', '--quiet', url, big]);
    fs.writeFileSync(join(big, 'blob.bin'), randomBytes(3 * 1024 * 1024));
    await realGit(['-C', big, 'add', 'blob.bin']);
    await realGit([
      '-C',
      big,
      '-c',
      `user.name=${author.name}`,
      '-c',
      `user.email=${author.email}`,
      'commit',
      '--quiet',
      '-m',
      'big',
    ]);
    const header = `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
    await realGit(['-C', big, 'push', '--quiet', 'origin', 'HEAD:refs/heads/big'], {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: header,
    });
    const head = (await realGit(['-C', big, 'rev-parse', 'HEAD'])).trim();
    expect((await lsRemote(url)).get('refs/heads/big')).toBe(head);
  });

  it('never shows the token in a process command line', () => {
    const lines = processCommandLines();
    expect(lines.some((l) => l.includes('git-http.ts'))).toBe(true);
    expect(lines.filter((l) => l.includes(token))).toEqual([]);
  });
});
