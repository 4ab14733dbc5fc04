import { Redactor } from '@deploytag/core';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureStream } from '../test-support.js';

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout = captureStream();
  const stderr = captureStream();
  const code = await main(argv, { stdout, stderr, env, redactor: new Redactor() });
  return { code, out: stdout.text(), err: stderr.text() };
}

describe('deploytag parse-helm-vars (the original parse_helm_vars.rb)', () => {
  it('turns a=1,b=2 into a YAML values document', async () => {
    expect(await cli(['parse-helm-vars', 'a=1,b=2'])).toEqual({
      code: 0,
      out: 'a: 1\nb: 2\n',
      err: '',
    });
  });

  it('nests dotted keys, indexes lists, types values as helm --set does, and keeps \\,', async () => {
    const r = await cli([
      'parse-helm-vars',
      'image.tag=abc,hosts[1]=b.example,debug=true,name=a\\,b,empty=,n=007',
    ]);
    expect(r.code).toBe(0);
    expect(parse(r.out)).toEqual({
      image: { tag: 'abc' },
      hosts: [null, 'b.example'],
      debug: true,
      name: 'a,b',
      empty: '',
      n: '007', // a leading zero keeps it a string, as in helm
    });
  });

  it('reads HELM_VARS when no argument is given, and prints JSON with --json', async () => {
    const r = await cli(['parse-helm-vars', '--json'], { HELM_VARS: 'replicas=2,a.b=c' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ replicas: 2, a: { b: 'c' } });
  });

  it('rejects an assignment without = with exit 2 and one line saying the form', async () => {
    for (const bad of ['oops', 'a=1,=2', 'a=1,b']) {
      const r = await cli(['parse-helm-vars', bad]);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(
        /^error: cannot read ".*" in the helm variables: each assignment is KEY=VALUE, separated by commas \(a=1,b=2\)\n$/,
      );
    }
  });

  it('without an argument or HELM_VARS: exit 2 and what to give', async () => {
    expect(await cli(['parse-helm-vars'])).toEqual({
      code: 2,
      out: '',
      err: 'error: give the assignments (a=1,b=2) as an argument or in HELM_VARS\n',
    });
  });
});
