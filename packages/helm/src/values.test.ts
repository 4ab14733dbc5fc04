import { describe, expect, it } from 'vitest';
import {
  generatedValues,
  helmVarsToYaml,
  maskValues,
  mergeValues,
  parseHelmVars,
  parseHelmVarsArgs,
  substituteEnv,
} from './values.js';

describe('parseHelmVars (parse-helm-vars)', () => {
  it('turns a=1,b=2 into values, typed like helm --set', () => {
    expect(parseHelmVars('a=1,b=2')).toEqual({ a: 1, b: 2 });
    expect(parseHelmVars('flag=true,off=false,none=null,word=x1,big=12345678901234567')).toEqual({
      flag: true,
      off: false,
      none: null,
      word: 'x1',
      big: '12345678901234567',
    });
    expect(helmVarsToYaml('a=1,b=two')).toBe('a: 1\nb: two\n');
  });

  it('nests dotted keys and indexes lists; \\, keeps a comma; = in a value stays', () => {
    expect(parseHelmVars('image.tag=abc,hosts[1].name=x,note=a\\,b,url=a=b')).toEqual({
      image: { tag: 'abc' },
      hosts: [null, { name: 'x' }],
      note: 'a,b',
      url: 'a=b',
    });
  });

  it('keeps strings with asString and rejects an assignment without =', () => {
    expect(parseHelmVars('a=1,b=true', true)).toEqual({ a: '1', b: 'true' });
    expect(() => parseHelmVars('a=1,oops')).toThrow(/KEY=VALUE/);
    expect(() => parseHelmVars('=1')).toThrow(/KEY=VALUE/);
    expect(parseHelmVars(' ,, ')).toEqual({});
  });
});

describe('substituteEnv', () => {
  it('substitutes $X, ${X}, ${X:-d} and $$, reporting unset names', () => {
    expect(substituteEnv('a=$A,b=${B},c=${C:-dflt},d=$$A,e=$MISSING', { A: '1', B: '2' })).toEqual({
      text: 'a=1,b=2,c=dflt,d=$A,e=',
      missing: ['MISSING'],
    });
  });
});

describe('parseHelmVarsArgs (HELM_VARS)', () => {
  it('reads --set, --set-string, -f/--values in both spellings and bare assignments', () => {
    expect(
      parseHelmVarsArgs(
        `--set a=1 --set-string b=2 -f x.yaml --values=y.yaml,z.yaml c.d=3 --set "e=hello world"`,
      ),
    ).toEqual({
      files: ['x.yaml', 'y.yaml', 'z.yaml'],
      values: { a: 1, b: '2', c: { d: 3 }, e: 'hello world' },
    });
  });

  it('refuses other flags, a flag without a value and an open quote', () => {
    expect(() => parseHelmVarsArgs('--force')).toThrow(/only --set/);
    expect(() => parseHelmVarsArgs('--set')).toThrow(/needs a value/);
    expect(() => parseHelmVarsArgs('--set "a=1')).toThrow(/unclosed/);
    expect(parseHelmVarsArgs('')).toEqual({ files: [], values: {} });
  });
});

describe('mergeValues', () => {
  it('merges mappings deeply, replaces lists and scalars, and null removes', () => {
    expect(
      mergeValues(
        { a: { b: 1, c: [1, 2] }, d: 1, e: 1 },
        { a: { c: [3], f: 2 }, d: { x: 1 }, e: null },
      ),
    ).toEqual({ a: { b: 1, c: [3], f: 2 }, d: { x: 1 } });
  });

  it('does not share nested objects with its inputs', () => {
    const input = { a: { b: 1 } };
    const out = mergeValues(input);
    (out.a as { b: number }).b = 2;
    expect(input.a.b).toBe(1);
  });
});

describe('generatedValues', () => {
  it("sets what the original set with --set, plus the env Secret's name and checksum", () => {
    expect(
      generatedValues({
        host: 'feature-x-web.example.com',
        release: 'feature-x-web',
        imageTag: 'abc123',
        envSecret: { name: 'feature-x-web-env', checksum: 'c0ffee' },
      }),
    ).toEqual({
      image: { tag: 'abc123' },
      ingress: {
        hosts: [{ host: 'feature-x-web.example.com' }],
        tls: [{ hosts: ['feature-x-web.example.com'], secretName: 'feature-x-web-staging-cert' }],
      },
      envSecret: { name: 'feature-x-web-env', checksum: 'c0ffee' },
    });
  });
});

describe('maskValues', () => {
  it('masks secret-looking keys at any depth, but not names', () => {
    expect(
      maskValues({
        db: { password: 'x', host: 'h' },
        apiToken: 't',
        list: [{ secret: 's' }],
        secretName: 'n',
        token: '',
      }),
    ).toEqual({
      db: { password: '***', host: 'h' },
      apiToken: '***',
      list: [{ secret: '***' }],
      secretName: 'n',
      token: '',
    });
  });
});
