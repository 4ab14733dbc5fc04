import { captureStream } from './test-support.js';
import { ConfigError, DeploytagError, Secret, Redactor } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import { defineCommand } from './command.js';
import { main } from './main.js';

const secret = Secret.of('s3cr3t-value');
const echo = defineCommand<{ upper?: boolean; fail?: string }>({
  name: 'echo',
  summary: 'prints its arguments',
  define(cmd) {
    cmd
      .argument('[words...]')
      .option('--upper', 'upper-case')
      .option('--fail <kind>', 'fail on purpose');
  },
  // eslint-disable-next-line @typescript-eslint/require-await -- the command contract is async
  async run(args, options, io) {
    if (options.fail === 'config')
      throw new ConfigError('set DOMAIN to the cluster domain', { key: 'DOMAIN' });
    if (options.fail === 'expected')
      throw new DeploytagError('E_TEST', `cannot reach ${secret.reveal()}`);
    if (options.fail === 'bug') throw new TypeError('boom');
    io.out(options.upper ? args.join(' ').toUpperCase() : args.join(' '));
    return 0;
  },
});

async function run(argv: string[]) {
  const stdout = captureStream();
  const stderr = captureStream();
  const redactor = new Redactor().add(secret);
  const code = await main(argv, { stdout, stderr, commands: [echo] as never, redactor });
  return { code, out: stdout.text(), err: stderr.text() };
}

describe('deploytag main', () => {
  it('runs a subcommand with its arguments and options', async () => {
    const r = await run(['echo', 'a', 'b', '--upper']);
    expect(r).toMatchObject({ code: 0, out: 'A B\n' });
  });

  it('prints help and exits 0 for --help, 2 with no command', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('echo');
    expect(help.out).toContain('prints its arguments');
    expect((await run([])).code).toBe(2);
  });

  it('exits 2 for an unknown command or option', async () => {
    const r = await run(['ehco']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown command');
    expect((await run(['echo', '--nope'])).code).toBe(2);
  });

  it('prints one line for an expected error, with secrets redacted', async () => {
    const cfg = await run(['echo', '--fail', 'config']);
    expect(cfg.code).toBe(2);
    expect(cfg.err.trim().split('\n')).toHaveLength(1);
    expect(cfg.err).toContain('set DOMAIN');
    const expected = await run(['echo', '--fail', 'expected']);
    expect(expected.code).toBe(1);
    expect(expected.err).not.toContain('s3cr3t-value');
    expect(expected.err).toContain('***');
  });

  it('prints the stack for a bug', async () => {
    const r = await run(['echo', '--fail', 'bug']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('TypeError');
    expect(r.err.split('\n').length).toBeGreaterThan(2);
  });

  it('writes subcommand help and errors to the given streams', async () => {
    const help = await run(['echo', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('--upper');
    const bad = await run(['echo', '--nope']);
    expect(bad.err).toContain("unknown option '--nope'");
  });

  it('prints its version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
