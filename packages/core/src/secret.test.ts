import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { format, inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Secret } from './secret.js';

const VALUE = 'correct-horse-battery-staple';

describe('Secret', () => {
  it('reveals its value', () => {
    expect(Secret.of(VALUE).reveal()).toBe(VALUE);
    expect(Secret.of('').reveal()).toBe('');
  });

  it('prints as *** through every string conversion', () => {
    const secret = Secret.of(VALUE);
    expect(String(secret)).toBe('***');
    expect(secret.toString()).toBe('***');
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- under test
    expect(`${secret}`).toBe('***');
    expect(`token=${String(secret)}`).toBe('token=***');
    expect('token=' + (secret as unknown as string)).toBe('token=***');
    expect([secret, secret].join(',')).toBe('***,***');
  });

  it('prints as *** in JSON, also nested', () => {
    const secret = Secret.of(VALUE);
    expect(JSON.stringify(secret)).toBe('"***"');
    const nested = { db: { password: secret, list: [secret] } };
    expect(JSON.stringify(nested)).toBe('{"db":{"password":"***","list":["***"]}}');
  });

  it('prints as *** with util.inspect, also nested and deep', () => {
    const secret = Secret.of(VALUE);
    expect(inspect(secret)).toBe('***');
    const nested = {
      a: { b: { c: { d: secret } } },
      list: [secret],
      map: new Map([['k', secret]]),
    };
    const text = inspect(nested, { depth: Infinity, showHidden: true });
    expect(text).not.toContain(VALUE);
    expect(text).toContain('d: ***');
    expect(inspect(new Set([secret]))).not.toContain(VALUE);
  });

  it('prints as *** through console.log formatting (util.format)', () => {
    const secret = Secret.of(VALUE);
    for (const pattern of ['%s', '%o', '%O', '%j']) {
      expect(format(pattern, secret)).not.toContain(VALUE);
      expect(format(pattern, { secret })).not.toContain(VALUE);
    }
    expect(format('%s', secret)).toBe('***');
    expect(format(secret)).toBe('***');
    expect(format('value', { secret })).toBe('value { secret: *** }');
  });

  it('prints as *** through a real console.log', () => {
    const chunks: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    const secret = Secret.of(VALUE);
    const console = new Console({ stdout: sink, stderr: sink });
    console.log(secret);
    console.log('config %o', { nested: { secret } });
    // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- under test
    console.error(`token ${secret}`);
    console.table([{ secret }]);
    const output = chunks.join('');
    expect(output).not.toContain(VALUE);
    expect(output).toContain('***\n');
    expect(output).toContain('token ***');
  });

  it('exposes nothing through property enumeration, spread or cloning', () => {
    const secret = Secret.of(VALUE);
    expect(Object.keys(secret)).toEqual([]);
    expect(Object.entries(secret)).toEqual([]);
    expect(Object.values(secret)).toEqual([]);
    expect(Object.getOwnPropertyNames(secret)).toEqual([]);
    // eslint-disable-next-line @typescript-eslint/no-misused-spread -- under test
    expect({ ...secret }).toEqual({});
    const symbolValues = Object.getOwnPropertySymbols(secret).map(
      (key) => (secret as unknown as Record<symbol, unknown>)[key],
    );
    expect(symbolValues).not.toContain(VALUE);
    expect(JSON.stringify(structuredClone(secret))).not.toContain(VALUE);
    const all: unknown[] = [];
    for (const key in secret) all.push(key);
    expect(all).toEqual([]);
  });

  it('is immutable', () => {
    const secret = Secret.of(VALUE);
    expect(Object.isFrozen(secret)).toBe(true);
    expect(() => {
      (secret as unknown as Record<string, unknown>).extra = 1;
    }).toThrow(TypeError);
  });

  it('recognises secrets', () => {
    expect(Secret.isSecret(Secret.of(VALUE))).toBe(true);
    expect(Secret.isSecret(VALUE)).toBe(false);
    expect(Secret.isSecret({ reveal: () => VALUE })).toBe(false);
    expect(Secret.isSecret(null)).toBe(false);
    const foreign = {};
    Object.defineProperty(foreign, Symbol.for('deploytag.core.secret'), { value: true });
    expect(Secret.isSecret(foreign)).toBe(true);
  });
});
