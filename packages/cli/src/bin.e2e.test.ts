/**
 * The built, bundled `deploytag` bin (dist/bin/deploytag.js) as users run it: every command is
 * listed, the per-script `deploytag-<name>` bins work through their symlinked names, and a command
 * that loads its library lazily talks to the real PostgreSQL of the stack.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireEnv } from '@deploytag/harness';
import { commands } from './commands/index.js';

const bin = resolve(import.meta.dirname, '../dist/bin/deploytag.js');
const dir = mkdtempSync(join(tmpdir(), 'deploytag-bin-'));

function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [file, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('the built deploytag bin', () => {
  beforeAll(() => {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npm run build)`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints its version and lists every command in --help', () => {
    const version = run(bin, ['--version']);
    expect(version.code).toBe(0);
    expect(version.out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = run(bin, ['--help']);
    expect(help.code).toBe(0);
    for (const c of commands) expect(help.out).toContain(c.name);
  });

  it('exits 2 for an unknown command', () => {
    expect(run(bin, ['no-such-command']).code).toBe(2);
  });

  it('runs as deploytag-<name> through a symlink, as npm installs bins', () => {
    const link = join(dir, 'deploytag-parse-helm-vars');
    symlinkSync(bin, link);
    const r = run(link, ['replicas=3,image.tag=abc']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('replicas: 3\nimage:\n  tag: abc\n');
  });

  it('db-exists answers 0 and 1 against the real PostgreSQL (the original exit contract)', () => {
    const url = new URL(requireEnv('DEPLOYTAG_POSTGRES_URL'));
    const env = { DATABASE_URL: url.toString() };
    expect(run(bin, ['db-exists', '--database', 'postgres'], env).code).toBe(0);
    const missing = run(bin, ['db-exists', '--database', 'deploytag_e2e_missing'], env);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('does not exist');
    expect(missing.err + missing.out).not.toContain(url.password);
  });
});
