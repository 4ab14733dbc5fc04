import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extract } from 'tar-fs';
import { pipeline } from 'node:stream/promises';
import { lstatSync, readFileSync, readlinkSync, existsSync } from 'node:fs';
import { createContextFilter, parseDockerignore, readContextFilter } from './ignore.js';
import { packContext } from './pack.js';

/**
 * Cases from Docker's documentation of `.dockerignore` (docs.docker.com, "Dockerignore files"):
 * each row is [patterns, path, sent?].
 */
const table: [string, string, boolean][] = [
  // `*/temp*`: names starting with temp in any immediate subdirectory of the root.
  ['*/temp*', 'somedir/temporary.txt', false],
  ['*/temp*', 'somedir/temp', false],
  ['*/temp*', 'temp.txt', true],
  ['*/temp*', 'a/b/temporary.txt', true],
  // `*/*/temp*`: two levels below the root.
  ['*/*/temp*', 'somedir/subdir/temporary.txt', false],
  ['*/*/temp*', 'somedir/temporary.txt', true],
  // `temp?`: one character.
  ['temp?', 'tempa', false],
  ['temp?', 'tempab', true],
  ['temp?', 'dir/tempa', true],
  // `**` matches any number of directories, including none.
  ['**/*.go', 'main.go', false],
  ['**/*.go', 'a/b/c/main.go', false],
  ['**/*.go', 'a/b/c/main.js', true],
  // A name matches only at the root (unlike .gitignore).
  ['abc', 'abc', false],
  ['abc', 'dir/abc', true],
  // A matched directory excludes everything below it.
  ['node_modules', 'node_modules/x/index.js', false],
  ['node_modules', 'src/node_modules/x.js', true],
  // Leading slash and ./ are dropped; trailing slash too.
  ['/build', 'build/out.o', false],
  ['./build/', 'build/out.o', false],
  // Exceptions: the last matching line wins.
  ['*.md\n!README*.md\nREADME-secret.md', 'CHANGES.md', false],
  ['*.md\n!README*.md\nREADME-secret.md', 'README.md', true],
  ['*.md\n!README*.md\nREADME-secret.md', 'README-secret.md', false],
  ['*.md\nREADME-secret.md\n!README*.md', 'README-secret.md', true],
  // An exception re-includes a file inside an excluded directory.
  ['dir\n!dir/keep.txt', 'dir/keep.txt', true],
  ['dir\n!dir/keep.txt', 'dir/drop.txt', false],
  // Comments and blank lines are ignored.
  ['# secret\n\n  secret.txt  ', 'secret.txt', false],
  ['# secret.txt', 'secret.txt', true],
  // The Dockerfile and .dockerignore are always sent.
  ['*', 'Dockerfile', true],
  ['*', '.dockerignore', true],
  ['*', 'src', false],
  ['Dockerfile\n.dockerignore', 'Dockerfile', true],
];

describe('ignore rules (Docker documented behaviour)', () => {
  it.each(table)('patterns %j: %s sent=%s', (patterns, path, sent) => {
    const filter = createContextFilter(parseDockerignore(patterns));
    expect(filter.excludes(path)).toBe(!sent);
  });

  it('always sends the Dockerfile named in the options and its own ignore file', () => {
    const filter = createContextFilter(['*'], { dockerfile: 'docker/Dockerfile.base' });
    expect(filter.excludes('docker/Dockerfile.base')).toBe(false);
    expect(filter.excludes('docker/Dockerfile.base.dockerignore')).toBe(false);
    expect(filter.excludes('Dockerfile')).toBe(true);
    expect(filter.mayIncludeUnder('docker')).toBe(true);
  });

  it('walks an excluded directory only when an exception may reach inside', () => {
    const filter = createContextFilter(parseDockerignore('dir\nother\n!dir/keep.txt'));
    expect(filter.mayIncludeUnder('dir')).toBe(true);
    expect(filter.mayIncludeUnder('other')).toBe(false);
  });
});

const scratch = mkdtempSync(join(tmpdir(), 'deploytag-image-unit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const entryNames: string[] = [];

async function roundTrip(
  dir: string,
  dockerfile?: string,
  extra?: { name: string; content: string }[],
): Promise<string> {
  const out = mkdtempSync(join(scratch, 'out-'));
  const filter = readContextFilter(dir, dockerfile === undefined ? {} : { dockerfile });
  entryNames.length = 0;
  const ignore = (_name: string, header?: { name: string; type: string }): boolean => {
    if (header !== undefined) entryNames.push(`${header.type}:${header.name}`);
    return false;
  };
  await pipeline(
    packContext(dir, { filter, ...(extra ? { extraFiles: extra } : {}) }),
    extract(out, { umask: 0, ignore } as never),
  );
  return out;
}

describe('packContext', () => {
  it('honours .dockerignore and keeps symlinks, empty dirs, modes and long paths', async () => {
    const dir = mkdtempSync(join(scratch, 'ctx-'));
    writeFileSync(join(dir, 'Dockerfile'), 'FROM x\n');
    writeFileSync(join(dir, '.dockerignore'), 'secret.txt\nlogs\n!logs/keep.log\n*.tmp\n');
    writeFileSync(join(dir, 'secret.txt'), 'nope');
    writeFileSync(join(dir, 'a.tmp'), 'nope');
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs', 'keep.log'), 'kept');
    writeFileSync(join(dir, 'logs', 'drop.log'), 'dropped');
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(dir, 'run.sh'), 0o751);
    symlinkSync('run.sh', join(dir, 'link'));
    writeFileSync(join(dir, 'zero.txt'), '');
    const big = Buffer.alloc(600 * 1024, 'x');
    big.write('end', big.length - 3);
    writeFileSync(join(dir, 'big.bin'), big);
    const long = join(dir, 'd'.repeat(90), 'e'.repeat(90));
    mkdirSync(long, { recursive: true });
    writeFileSync(join(long, `${'f'.repeat(100)}.txt`), 'long');

    const out = await roundTrip(dir);
    expect(readFileSync(join(out, 'Dockerfile'), 'utf8')).toBe('FROM x\n');
    expect(existsSync(join(out, '.dockerignore'))).toBe(true);
    expect(existsSync(join(out, 'secret.txt'))).toBe(false);
    expect(existsSync(join(out, 'a.tmp'))).toBe(false);
    expect(readFileSync(join(out, 'logs', 'keep.log'), 'utf8')).toBe('kept');
    expect(existsSync(join(out, 'logs', 'drop.log'))).toBe(false);
    // The excluded folder is walked for its exception, but its own entry is not sent.
    expect(entryNames).toContain('file:logs/keep.log');
    expect(entryNames.filter((n) => n.startsWith('directory:logs'))).toEqual([]);
    expect(entryNames).toContain('directory:empty');
    expect(lstatSync(join(out, 'empty')).isDirectory()).toBe(true);
    expect(lstatSync(join(out, 'run.sh')).mode & 0o777).toBe(0o751);
    expect(readlinkSync(join(out, 'link'))).toBe('run.sh');
    expect(readFileSync(join(out, 'zero.txt'), 'utf8')).toBe('');
    expect(readFileSync(join(out, 'big.bin')).equals(big)).toBe(true);
    expect(
      readFileSync(join(out, 'd'.repeat(90), 'e'.repeat(90), `${'f'.repeat(100)}.txt`), 'utf8'),
    ).toBe('long');
  });

  it('walks depth first in name order, so it holds one path of folders, not every file', async () => {
    const dir = mkdtempSync(join(scratch, 'ctx-'));
    for (const d of ['c/d', 'b', 'a-dir/x']) mkdirSync(join(dir, d), { recursive: true });
    for (const f of ['c/d/e', 'c/a', 'b/z', 'a.txt', 'a-dir/x/y', 'Dockerfile'])
      writeFileSync(join(dir, f), f);
    await roundTrip(dir);
    expect(entryNames).toEqual([
      'file:Dockerfile',
      'directory:a-dir',
      'directory:a-dir/x',
      'file:a-dir/x/y',
      'file:a.txt',
      'directory:b',
      'file:b/z',
      'directory:c',
      'file:c/a',
      'directory:c/d',
      'file:c/d/e',
    ]);
  });

  it('fails with the path of a FIFO, which a build cannot copy', async () => {
    const dir = mkdtempSync(join(scratch, 'ctx-'));
    writeFileSync(join(dir, 'Dockerfile'), 'FROM x\n');
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    await expect(roundTrip(dir)).rejects.toThrow(
      'pipe: unsupported file type in the build context (not a file, folder or link); remove it or list it in .dockerignore',
    );
  });

  it('prefers <Dockerfile>.dockerignore over .dockerignore and adds extra files', async () => {
    const dir = mkdtempSync(join(scratch, 'ctx-'));
    writeFileSync(join(dir, 'Dockerfile.base'), 'FROM x\n');
    writeFileSync(join(dir, 'Dockerfile.base.dockerignore'), '*\n!deps.txt\n');
    writeFileSync(join(dir, '.dockerignore'), 'deps.txt\n');
    writeFileSync(join(dir, 'deps.txt'), 'deps');
    writeFileSync(join(dir, 'app.js'), 'app');
    const out = await roundTrip(dir, 'Dockerfile.base', [
      { name: '.rendered', content: 'FROM y\n' },
    ]);
    expect(existsSync(join(out, 'deps.txt'))).toBe(true);
    expect(existsSync(join(out, 'app.js'))).toBe(false);
    expect(existsSync(join(out, 'Dockerfile.base'))).toBe(true);
    expect(readFileSync(join(out, '.rendered'), 'utf8')).toBe('FROM y\n');
  });
});
