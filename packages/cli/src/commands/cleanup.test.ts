import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureStream } from '../test-support.js';
import { cleanupCommand } from './cleanup.js';

const empty = mkdtempSync(join(tmpdir(), 'deploytag-cleanup-cli-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

function io() {
  return {
    stdout: captureStream(),
    stderr: captureStream(),
    commands: [cleanupCommand] as never,
    env: {},
    cwd: empty,
  };
}

describe('deploytag cleanup', () => {
  it('declares its options', () => {
    const cmd = new Command('cleanup');
    cleanupCommand.define(cmd);
    const help = cmd.helpInformation();
    for (const flag of [
      '--older-than <duration>',
      '--branch <name...>',
      '--drop-databases',
      '--prune-images',
      '--dry-run',
      '--repo <name>',
      '--remote <url>',
      '--concurrency <n>',
    ]) {
      expect(help).toContain(flag);
    }
  });

  it('refuses a bad duration or timeout before touching anything (exit code 2)', async () => {
    const bad = io();
    expect(await main(['cleanup', '--older-than', 'a week'], bad)).toBe(2);
    expect(bad.stderr.text()).toContain('"a week" is not a duration');
    expect(await main(['cleanup', '--older-than', '7d', '--timeout', 'soon'], io())).toBe(2);
    for (const n of ['0', '2.5', 'all']) {
      const c = io();
      expect(await main(['cleanup', '--older-than', '7d', '--concurrency', n], c)).toBe(2);
      expect(c.stderr.text()).toContain(
        `--concurrency takes a whole number of environments, 1 or more, not "${n}"`,
      );
    }
  });

  it('refuses to run when nothing could make a preview stale (exit code 2)', async () => {
    const none = io();
    expect(await main(['cleanup', '--repo', 'shop'], none)).toBe(2);
    expect(none.stderr.text()).toContain('nothing decides which previews are stale');
    const unknown = io();
    expect(await main(['cleanup', '--older-than', '7d'], unknown)).toBe(2);
    expect(unknown.stderr.text()).toContain('the repository whose previews to clean is unknown');
  });
});
