/**
 * `deploytag completion` from the built bin, loaded into the real shells: bash completes through
 * the generated function with the words bash itself would pass (COMP_WORDS / COMP_CWORD, `=` a
 * word of its own). zsh is checked with `zsh -n` where it is installed; it is not on this machine,
 * so there the script is only parsed by bash, which catches quoting and structure mistakes but not
 * zsh-specific ones.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgram } from '../main.js';
import { describeForCompletion } from './completion.js';

const bin = resolve(import.meta.dirname, '../../dist/bin/deploytag.js');
const dir = mkdtempSync(join(tmpdir(), 'deploytag-completion-'));
const hasZsh = spawnSync('zsh', ['-c', 'true']).status === 0;

function script(shell: 'bash' | 'zsh'): string {
  const r = spawnSync(process.execPath, [bin, 'completion', shell], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout;
}

/** Runs the completion function for each command line; one line of candidates per case. */
function complete(...lines: string[][]): string[][] {
  const cases = lines
    .map((words) => {
      const quoted = words.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(' ');
      return `COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _deploytag; printf '%s\\t' "\${COMPREPLY[@]}"; echo`;
    })
    .join('\n');
  const r = spawnSync(
    'bash',
    ['--norc', '--noprofile', '-c', `source ./deploytag.bash\n${cases}`],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout
    .split('\n')
    .slice(0, lines.length)
    .map((l) => l.split('\t').filter((w) => w !== ''));
}

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('deploytag completion bash, loaded into bash', () => {
  beforeAll(() => {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npm run build)`);
    writeFileSync(join(dir, 'deploytag.bash'), script('bash'));
    mkdirSync(join(dir, 'charts'));
    writeFileSync(join(dir, 'values staging.yaml'), '');
    writeFileSync(join(dir, 'values.yaml'), '');
  });
  it('completes subcommands and the program options', () => {
    expect(complete(['deploytag', 'pip'], ['deploytag', 'db-'], ['deploytag', '--v'])).toEqual([
      ['pipeline'],
      ['db-wait', 'db-exists', 'db-alter-owner', 'db-add-extensions', 'db-connect'],
      ['--version'],
    ]);
  });

  it('completes every command’s long options, as commander defines them', () => {
    const spec = describeForCompletion(createProgram());
    const named = spec.commands.filter((c) => c.name !== 'help');
    const got = complete(...named.map((c) => ['deploytag', c.name, '--']));
    named.forEach((c, i) => {
      const longs = c.options.flatMap((o) => o.flags.filter((f) => f.startsWith('--')));
      expect({ command: c.name, options: got[i] }).toEqual({ command: c.name, options: longs });
    });
  });

  it('completes option values with choices, also after "="', () => {
    expect(
      complete(
        ['deploytag', 'release', '--bump', ''],
        ['deploytag', 'release', '--bump', '=', 'ma'],
        ['deploytag', 'release', '--bump', '='],
        ['deploytag', 'completion', ''],
      ),
    ).toEqual([
      ['major', 'minor', 'patch', 'auto'],
      ['major'],
      ['major', 'minor', 'patch', 'auto'],
      ['bash', 'zsh'],
    ]);
  });

  it('completes arguments by position, skipping options and their values', () => {
    expect(
      complete(
        ['deploytag', 'release', ''],
        ['deploytag', 'release', '-c', 'main', 'b'],
        ['deploytag', 'release', 'beta', ''],
        ['deploytag', 'help', 'rel'],
      ),
    ).toEqual([['production', 'beta'], ['beta'], [], ['release']]);
  });

  it('completes file and folder names where a value names one, spaces kept', () => {
    const [files, folders] = complete(
      ['deploytag', 'config-yaml', 'val'],
      ['deploytag', 'release', '--project-dir', 'ch'],
    );
    expect(files?.sort()).toEqual(['values staging.yaml', 'values.yaml']);
    expect(folders).toEqual(['charts']);
  });

  it('completes for the per-script bins, whose command is their name', () => {
    expect(complete(['deploytag-set-env', '--no-'], ['/usr/bin/deploytag-release', ''])).toEqual([
      ['--no-secrets', '--no-git'],
      ['production', 'beta'],
    ]);
  });
});

describe('deploytag completion zsh', () => {
  it('parses as shell syntax (bash -n; zsh -n where zsh is installed)', () => {
    const file = join(dir, '_deploytag');
    writeFileSync(file, script('zsh'));
    expect(spawnSync('bash', ['-n', file], { encoding: 'utf8' }).stderr).toBe('');
    if (hasZsh) expect(spawnSync('zsh', ['-n', file], { encoding: 'utf8' }).stderr).toBe('');
  });
});
