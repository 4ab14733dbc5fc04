import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretsError } from './errors.js';
import {
  isEnvName,
  parseEnvLines,
  parseJsonObject,
  parseSecretBinary,
  parseSecretText,
} from './parse.js';
import type { SecretEntry } from './parse.js';
import { renderDotenv } from './render.js';

const plain = (entries: SecretEntry[]): [string, string][] =>
  entries.map(({ name, value }) => [name, value.reveal()]);

function errorOf(fn: () => unknown): SecretsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SecretsError);
    return err as SecretsError;
  }
  throw new Error('expected a SecretsError');
}

describe('parseEnvLines', () => {
  it('reads the original KEY=VALUE lines literally', () => {
    const text =
      'DATABASE_URL=postgres://u:p@db/app?x=1\nFLAG=on\n\n# comment\nEMPTY=\nSPACED=a b $HOME `x` #no-comment\n';
    expect(plain(parseEnvLines(text, 'staging/app'))).toEqual([
      ['DATABASE_URL', 'postgres://u:p@db/app?x=1'],
      ['FLAG', 'on'],
      ['EMPTY', ''],
      ['SPACED', 'a b $HOME `x` #no-comment'],
    ]);
  });

  it('understands export, quotes, escapes, multi-line values and CRLF', () => {
    const text = [
      'export A="x\\ny \\"q\\" \\$HOME \\\\"',
      "B='it\"s'",
      "C='literal \\n $X'",
      'D="-----BEGIN KEY-----',
      'abc',
      '-----END KEY-----" # trailing comment',
      'E=crlf\r',
      '  F = spaced',
    ].join('\n');
    expect(plain(parseEnvLines(text, 's'))).toEqual([
      ['A', 'x\ny "q" $HOME \\'],
      ['B', 'it"s'],
      ['C', 'literal \\n $X'],
      ['D', '-----BEGIN KEY-----\nabc\n-----END KEY-----'],
      ['E', 'crlf'],
      ['F', ' spaced'],
    ]);
  });

  it('names the line and the secret, never the value, for bad lines', () => {
    const bad = errorOf(() => parseEnvLines('A=1\nsecret-value-here\n', 'staging/app'));
    expect(bad.message).toBe('secret "staging/app": line 2 is not KEY=VALUE (nor a # comment)');
    expect(bad.code).toBe('E_SECRET_INVALID');
    const name = errorOf(() => parseEnvLines('A=1\nMY-KEY=hunter2\n', 'x'));
    expect(name.message).toContain('"MY-KEY" (line 2) is not a valid environment variable name');
    expect(name.message).not.toContain('hunter2');
    expect(errorOf(() => parseEnvLines('1A=x', 'x')).message).toContain('not a valid');
    expect(errorOf(() => parseEnvLines('A="open\nB=2', 'x')).message).toContain('never closed');
    expect(errorOf(() => parseEnvLines('A="v" junk', 'x')).message).toContain(
      'after the closing quote',
    );
  });

  it('reports line numbers after multi-line values', () => {
    expect(errorOf(() => parseEnvLines('A="1\n2\n3"\nbad', 'x')).message).toContain('line 4');
  });
});

describe('parseJsonObject', () => {
  it('reads strings, numbers and booleans', () => {
    expect(plain(parseJsonObject('{"A":"x y","N":5432,"B":true,"U":"ü\\n"}', 'j'))).toEqual([
      ['A', 'x y'],
      ['N', '5432'],
      ['B', 'true'],
      ['U', 'ü\n'],
    ]);
  });

  it('refuses nested values, bad names, NUL, lone surrogates, non-objects, bad JSON', () => {
    expect(errorOf(() => parseJsonObject('{"A":{"b":1}}', 'j')).message).toContain(
      'the value of "A" is an object',
    );
    expect(errorOf(() => parseJsonObject('{"A":null}', 'j')).message).toContain('null');
    expect(errorOf(() => parseJsonObject('{"a.b":"x"}', 'j')).message).toContain('"a.b"');
    expect(errorOf(() => parseJsonObject('{"A":"x\\u0000y"}', 'j')).message).toContain('NUL');
    expect(errorOf(() => parseJsonObject('{"A":"\\ud800"}', 'j')).message).toContain('Unicode');
    expect(errorOf(() => parseJsonObject('[1]', 'j')).message).toContain('not an object');
    const bad = errorOf(() => parseJsonObject('{"A":"hunter2"', 'j'));
    expect(bad.message).toContain('not valid JSON');
    expect(bad.message).not.toContain('hunter2');
  });
});

describe('parseSecretText and parseSecretBinary', () => {
  it('chooses the shape by the first character', () => {
    expect(plain(parseSecretText('  {"A":"1"}', 's'))).toEqual([['A', '1']]);
    expect(plain(parseSecretText('\uFEFFA={1}', 's'))).toEqual([['A', '{1}']]);
  });

  it('reads UTF-8 binary secrets and refuses other bytes', () => {
    expect(plain(parseSecretBinary(new TextEncoder().encode('A=ü'), 'b'))).toEqual([['A', 'ü']]);
    expect(
      errorOf(() => parseSecretBinary(Uint8Array.from([0xff, 0xfe, 0x00]), 'b')).message,
    ).toContain('binary secret that is not UTF-8 text');
  });
});

describe('env names', () => {
  it('accepts exactly [A-Za-z_][A-Za-z0-9_]*', () => {
    for (const ok of ['A', '_', 'a_b9', 'PATH']) expect(isEnvName(ok)).toBe(true);
    for (const bad of ['', '9A', 'A-B', 'A B', 'Ä', 'A=B', 'A.B'])
      expect(isEnvName(bad)).toBe(false);
  });
});

const envName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/);
const hostile = fc
  .oneof(
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary' }),
    fc.constantFrom(
      '',
      ' ',
      "'",
      '"',
      '$HOME',
      '`id`',
      '\\',
      '\n',
      '\r\n',
      '#',
      '=',
      '\'"\'"',
      '${X:-y}',
      '$(echo hi)',
      'a\\nb',
    ),
  )
  .filter(
    (v) =>
      !v.includes('\0') &&
      !/[\uD800-\uDFFF]/.test(v.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '')),
  );

describe('dotenv round trip (property)', () => {
  it('parseEnvLines(renderDotenv(x)) gives back x for any name and value', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(envName, hostile), { selector: ([n]) => n, maxLength: 8 }),
        (pairs) => {
          const text = renderDotenv(new Map(pairs));
          expect(plain(parseEnvLines(text, 'p'))).toEqual(pairs);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the JSON shape reads back any value', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(envName, hostile), { selector: ([n]) => n, maxLength: 8 }),
        (pairs) => {
          const text = JSON.stringify(Object.fromEntries(pairs));
          expect(plain(parseSecretText(text, 'p')).sort()).toEqual([...pairs].sort());
        },
      ),
    );
  });
});
