import { Argument, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { defineCommand } from '../command.js';
import { createProgram, main } from '../main.js';
import { captureStream } from '../test-support.js';
import {
  bashCompletion,
  describeForCompletion,
  zshCompletion,
  type CompletionSpec,
} from './completion.js';
import { commands } from './index.js';

const sample = [
  defineCommand({
    name: 'ship',
    summary: "ship the branch's build",
    define(cmd) {
      cmd
        .addArgument(new Argument('<channel>', 'where to').choices(['beta', 'production']))
        .option('-c, --config <file>', 'the config file')
        .option('--dir <folder>', 'the project [root]')
        .addOption(new Option('--level <level>', 'how much').choices(['low', 'high']))
        .option('--note <text>', 'a note')
        .option('--dry-run', 'change nothing');
    },
    run: () => Promise.resolve(0),
  }),
  defineCommand({
    name: 'exec',
    summary: 'run a command',
    define(cmd) {
      cmd.argument('<command...>', 'the command');
    },
    run: () => Promise.resolve(0),
  }),
];

describe('describeForCompletion', () => {
  const spec = describeForCompletion(createProgram(sample));

  it('lists the subcommands, the implicit help last, with their summaries', () => {
    expect(spec.program).toBe('deploytag');
    expect(spec.commands.map((c) => [c.name, c.summary])).toEqual([
      ['ship', "ship the branch's build"],
      ['exec', 'run a command'],
      ['help', 'display help for command'],
    ]);
    expect(spec.options.map((o) => o.flags)).toEqual([
      ['-V', '--version'],
      ['-h', '--help'],
    ]);
    expect(spec.options.every((o) => o.terminal)).toBe(true);
  });

  it('reads each option and what its value is from its definition', () => {
    const ship = spec.commands[0]!;
    const byFlag = new Map(ship.options.map((o) => [o.flags.at(-1), o]));
    expect(byFlag.get('--config')).toEqual({
      flags: ['-c', '--config'],
      description: 'the config file',
      value: { kind: 'file', name: 'file' },
      terminal: false,
    });
    expect(byFlag.get('--dir')?.value).toEqual({ kind: 'dir', name: 'folder' });
    expect(byFlag.get('--level')?.value).toEqual({
      kind: 'choices',
      name: 'level',
      choices: ['low', 'high'],
    });
    expect(byFlag.get('--note')?.value).toEqual({ kind: 'text', name: 'text' });
    expect(byFlag.get('--dry-run')?.value).toBeUndefined();
    // The options every subcommand takes, and help.
    expect([...byFlag.keys()]).toEqual(
      expect.arrayContaining(['--json', '--verbose', '--quiet', '--help']),
    );
    expect(byFlag.get('--help')?.terminal).toBe(true);
  });

  it('reads the arguments: choices, a variadic command, and subcommands for help', () => {
    const [ship, exec, help] = spec.commands;
    expect(ship?.arguments).toEqual([
      {
        value: { kind: 'choices', name: 'channel', choices: ['beta', 'production'] },
        variadic: false,
      },
    ]);
    expect(exec?.arguments).toEqual([
      { value: { kind: 'command', name: 'command' }, variadic: true },
    ]);
    expect(help?.arguments).toEqual([
      { value: { kind: 'choices', name: 'command', choices: ['ship', 'exec'] }, variadic: false },
    ]);
  });

  it('covers every deploytag command', () => {
    const all = describeForCompletion(createProgram());
    expect(all.commands.map((c) => c.name)).toEqual([...commands.map((c) => c.name), 'help']);
    for (const c of all.commands.filter((c) => c.name !== 'help')) {
      expect(c.options.map((o) => o.flags.at(-1))).toContain('--help');
    }
  });
});

describe('bashCompletion', () => {
  const script = bashCompletion(describeForCompletion(createProgram(sample)));

  it('registers one function for deploytag and every per-command bin', () => {
    expect(script).toContain('\ncomplete -F _deploytag deploytag deploytag-ship deploytag-exec');
    expect(script).not.toContain('deploytag-help');
  });

  it('knows each command, its options, which take values, and its arguments', () => {
    expect(script).toContain('__deploytag_words \'ship exec help\' "$cur"');
    expect(script).toContain(
      "ship) opts='--json --verbose --quiet --config --dir --level --note --dry-run --help'; valued=' -c --config --dir --level --note '; nargs=1; variadic=0 ;;",
    );
    expect(script).toContain(
      "exec) opts='--json --verbose --quiet --help'; valued='  '; nargs=1; variadic=1 ;;",
    );
    expect(script).toContain("'ship -c' | 'ship --config') __deploytag_files -f \"$cur\" ;;");
    expect(script).toContain('\'ship --dir\') __deploytag_files -d "$cur" ;;');
    expect(script).toContain("'ship --level') __deploytag_words 'low high' \"$cur\" ;;");
    expect(script).toContain("'ship --note') COMPREPLY=() ;;");
    expect(script).toContain("'ship #0') __deploytag_words 'beta production' \"$cur\" ;;");
    expect(script).toContain("'help #0') __deploytag_words 'ship exec' \"$cur\" ;;");
  });

  it('refuses a word it would have to quote', () => {
    const spec = describeForCompletion(createProgram(sample));
    const bad: CompletionSpec = {
      ...spec,
      commands: [{ ...spec.commands[0]!, name: 'ship$(reboot)' }],
    };
    expect(() => bashCompletion(bad)).toThrow(/cannot put command "ship\$\(reboot\)"/);
  });
});

describe('zshCompletion', () => {
  const script = zshCompletion(describeForCompletion(createProgram(sample)));

  it('is a #compdef function for deploytag and every per-command bin', () => {
    expect(script.split('\n')[0]).toBe('#compdef deploytag deploytag-ship deploytag-exec');
    expect(script).toContain('\n  compdef _deploytag deploytag deploytag-ship deploytag-exec\n');
    expect(script).toContain('if [[ $funcstack[1] == _deploytag ]]; then');
  });

  it('describes options and arguments in _arguments specs, quoted', () => {
    expect(script).toContain("'(-c --config)'{-c+,--config=}'[the config file]'':file:_files' \\");
    // Brackets in a description are escaped; values without choices show their name only.
    expect(script).toContain("--dir='[the project \\[root\\]]'':folder:_files -/' \\");
    expect(script).toContain("--level='[how much]'':level:(low high)' \\");
    expect(script).toContain("--note='[a note]'':text: ' \\");
    expect(script).toContain("--dry-run'[change nothing]' \\");
    expect(script).toContain("'(- *)'{-h,--help}'[display help for command]'");
    expect(script).toContain("'1:channel:(beta production)'");
    expect(script).toContain("'*:command:_command_names -e'");
    expect(script).toContain("'1:command:(ship exec)'");
    // An apostrophe in a summary closes and reopens the quotes.
    expect(script).toContain("'ship:ship the branch'\\''s build'");
  });

  it('quotes every line evenly (no quote left open)', () => {
    for (const line of script.split('\n')) {
      const quotes = line.replaceAll("'\\''", '').split("'").length - 1;
      expect({ line, even: quotes % 2 === 0 }).toEqual({ line, even: true });
    }
  });
});

describe('deploytag completion', () => {
  async function run(argv: string[]) {
    const stdout = captureStream();
    const stderr = captureStream();
    const code = await main(argv, { stdout, stderr, env: {} });
    return { code, out: stdout.text(), err: stderr.text() };
  }

  it.each(['bash', 'zsh'] as const)('prints the %s script for every command', async (shell) => {
    const spec = describeForCompletion(createProgram());
    const r = await run(['completion', shell]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${shell === 'bash' ? bashCompletion(spec) : zshCompletion(spec)}\n`);
    for (const c of commands) expect(r.out).toContain(c.name);
  });

  it('exits 2 for another shell', async () => {
    const r = await run(['completion', 'fish']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('bash, zsh');
  });
});
