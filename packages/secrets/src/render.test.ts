import { spawnSync } from 'node:child_process';
import { Secret } from '@deploytag/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretsError } from './errors.js';
import {
  kubernetesSecretManifest,
  renderDotenv,
  renderJson,
  renderKubernetesSecret,
  renderShell,
  shellQuote,
} from './render.js';

/**
 * The oracle: bash evaluates the rendered text read from stdin, then prints each variable's value
 * NUL-terminated, which is compared byte for byte with the UTF-8 of the value.
 */
function evalInBash(text: string, names: readonly string[], shell = 'bash'): Buffer {
  const script = 'eval "$(cat)"; for n in "$@"; do eval "printf \'%s\\0\' \\"\\${$n}\\""; done';
  const r = spawnSync(shell, ['-c', script, 'oracle', ...names], {
    input: text,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
  });
  if (r.status !== 0) throw new Error(`${shell} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

function expected(values: readonly string[]): Buffer {
  return Buffer.concat(
    values.map((v) => Buffer.concat([Buffer.from(v, 'utf8'), Buffer.from([0])])),
  );
}

const name = fc.stringMatching(/^[A-Za-z0-9_]{1,12}$/).map((s) => `T_${s}`);
const noLoneSurrogate = (v: string): boolean =>
  !/[\uD800-\uDFFF]/.test(v.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));
const hostile = fc
  .oneof(
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({
      unit: fc.constantFrom(
        "'",
        '"',
        '$',
        '`',
        '\\',
        '\n',
        '\r',
        ' ',
        '!',
        '#',
        ';',
        '&',
        '|',
        '(',
        ')',
        '{',
        '}',
        '*',
        '?',
        '~',
        '\t',
        'é',
        '😀',
        'a',
      ),
      maxLength: 30,
    }),
    fc.constantFrom(
      '',
      "'",
      "''",
      '$(id)',
      '`id`',
      '${HOME}',
      '\n',
      'a\n',
      '\n\n',
      "'\\''",
      '-n',
      '-e',
      '--',
      '%s',
      'x\u00a0y',
      '\u2028',
    ),
  )
  .filter((v) => !v.includes('\0') && noLoneSurrogate(v));

describe('renderShell', () => {
  it('writes unset lines and single-quoted exports', () => {
    const text = renderShell(
      new Map<string, string | Secret>([
        ['A', "it's"],
        ['B', Secret.of('$x')],
      ]),
      { unset: ['OLD'] },
    );
    expect(text).toBe("unset OLD\nexport A='it'\\''s'\nexport B='$x'\n");
    expect(renderShell(new Map())).toBe('');
    expect(shellQuote('')).toBe("''");
  });

  it('bash reproduces every hostile value byte for byte (property, bash as oracle)', () => {
    // Each run is one bash process holding up to 40 variables.
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(name, hostile), {
          selector: ([n]) => n,
          minLength: 1,
          maxLength: 40,
        }),
        (pairs) => {
          const text = renderShell(new Map(pairs.map(([n, v]) => [n, Secret.of(v)])));
          const out = evalInBash(
            text,
            pairs.map(([n]) => n),
          );
          expect(out.toString('hex')).toBe(expected(pairs.map(([, v]) => v)).toString('hex'));
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);

  it('bash reproduces 2000 hostile values in one evaluation', () => {
    const values = fc.sample(hostile, 2000);
    const pairs = values.map((v, i): [string, string] => [`V_${i}`, v]);
    const out = evalInBash(
      renderShell(pairs),
      pairs.map(([n]) => n),
    );
    expect(out.toString('hex')).toBe(expected(values).toString('hex'));
  }, 60_000);

  it('a POSIX sh reproduces them too', () => {
    const sh = spawnSync('sh', ['-c', 'true']).status === 0 ? 'sh' : undefined;
    if (sh === undefined) return;
    const pairs = fc.sample(
      fc.uniqueArray(fc.tuple(name, hostile), {
        selector: ([n]) => n,
        minLength: 50,
        maxLength: 50,
      }),
      1,
    )[0]!;
    const text = renderShell(new Map(pairs));
    expect(
      evalInBash(
        text,
        pairs.map(([n]) => n),
        sh,
      ).equals(expected(pairs.map(([, v]) => v))),
    ).toBe(true);
  });

  it('unset removes variables already in the environment', () => {
    const r = spawnSync('bash', ['-c', 'eval "$(cat)"; echo "${GONE-unset}"'], {
      input: renderShell([['KEEP', '1']], { unset: ['GONE'] }),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GONE: 'was here' },
    });
    expect(r.stdout.toString()).toBe('unset\n');
  });

  it('refuses NUL (impossible in an environment) and invalid names, naming only the name', () => {
    expect(() => renderShell([['A', Secret.of('x\0hunter2')]])).toThrow(SecretsError);
    expect(() => renderShell([['A', Secret.of('x\0hunter2')]])).toThrow(/A .*NUL/);
    expect(() => renderShell([['A;rm', 'x']])).toThrow(/not a valid environment variable name/);
    expect(() => renderShell([], { unset: ['$(x)'] })).toThrow(/not a valid/);
  });
});

describe('renderJson, renderDotenv and the Kubernetes Secret', () => {
  const values = new Map<string, string | Secret>([
    ['A', Secret.of('x y')],
    ['B', 'plain'],
    ['C', Secret.of('ü\n"')],
  ]);

  it('JSON holds the revealed values in order', () => {
    expect(JSON.parse(renderJson(values))).toEqual({ A: 'x y', B: 'plain', C: 'ü\n"' });
    expect(Object.keys(JSON.parse(renderJson(values)) as object)).toEqual(['A', 'B', 'C']);
  });

  it('dotenv quotes only what needs it', () => {
    expect(renderDotenv(values)).toBe('A="x y"\nB=plain\nC="ü\\n\\""\n');
  });

  it('the manifest base64-encodes the UTF-8 of each value', () => {
    const manifest = kubernetesSecretManifest(values, {
      name: 'app-env',
      namespace: 'feature-x',
      labels: { app: 'web' },
    });
    expect(manifest).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app-env', namespace: 'feature-x', labels: { app: 'web' } },
      type: 'Opaque',
      data: {
        A: Buffer.from('x y').toString('base64'),
        B: Buffer.from('plain').toString('base64'),
        C: Buffer.from('ü\n"').toString('base64'),
      },
    });
    expect(JSON.parse(renderKubernetesSecret(values, { name: 'x' }))).toMatchObject({
      metadata: { name: 'x' },
    });
    expect(() => kubernetesSecretManifest(values, { name: 'Bad_Name' })).toThrow(
      /not a Kubernetes Secret name/,
    );
  });

  it('JSON round-trips any value (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(name, hostile), { selector: ([n]) => n }), (pairs) => {
        expect(JSON.parse(renderJson(new Map(pairs)))).toEqual(Object.fromEntries(pairs));
      }),
    );
  });
});
