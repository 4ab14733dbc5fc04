import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBundle } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'deploytag-bundle-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('runBundle without Ruby on the machine', () => {
  it('says clearly that Ruby is missing, naming the first program it tried', async () => {
    writeFileSync(join(dir, 'Gemfile'), "source 'https://rubygems.org'\ngem 'rake'\n");
    writeFileSync(join(dir, 'Gemfile.lock'), 'GEM\n  specs:\n\nBUNDLED WITH\n   2.4.22\n');
    // An empty PATH for the child guarantees the programs are absent, whatever the machine has.
    const error = await runBundle({ cwd: dir, env: { PATH: dir } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_RUBY_MISSING', details: { program: 'gem' } });
    expect((error as Error).message).toMatch(
      /gem is not installed or not on PATH: bundle needs Ruby with RubyGems/,
    );
  });

  it('plans without running in dry-run mode, and needs a Gemfile', async () => {
    const plan = await runBundle({ cwd: dir, env: { RAILS_ENV: 'test' }, dryRun: true });
    expect(plan.commands.map((c) => [c.program, ...c.args].join(' '))).toEqual([
      'gem install bundler -v 2.4.22 --no-document --conservative',
      'bundle _2.4.22_ install',
    ]);
    await expect(runBundle({ cwd: tmpdir() + '/deploytag-no-such-folder' })).rejects.toThrow(
      /has no Gemfile/,
    );
  });
});
