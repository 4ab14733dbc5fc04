import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureStream } from '../test-support.js';
import { releaseCommand } from './release.js';

describe('deploytag release', () => {
  it('declares the original options', () => {
    const cmd = new Command('release');
    releaseCommand.define(cmd);
    const help = cmd.helpInformation();
    for (const flag of [
      '<channel>',
      '-c, --target-commitish',
      '-p, --project-dir',
      '--bump',
      '--dry-run',
      '--allow-empty',
      '--no-github',
    ]) {
      expect(help).toContain(flag);
    }
  });

  it('accepts only production or beta (exit code 2)', async () => {
    const io = {
      stdout: captureStream(),
      stderr: captureStream(),
      commands: [releaseCommand] as never,
      env: {},
    };
    expect(await main(['release', 'staging'], io)).toBe(2);
    expect(await main(['release', 'beta', '--bump', 'huge'], io)).toBe(2);
  });
});
