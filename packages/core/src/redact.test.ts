import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Redactor, globalRedactor } from './redact.js';
import { Secret } from './secret.js';

describe('Redactor', () => {
  it('leaves text alone when it knows no values', () => {
    expect(new Redactor().redact('nothing to hide')).toBe('nothing to hide');
  });

  it('replaces every occurrence of every value', () => {
    const redactor = new Redactor().add('alpha-secret').add(Secret.of('beta-secret'));
    expect(redactor.redact('a=alpha-secret b=beta-secret again alpha-secret')).toBe(
      'a=*** b=*** again ***',
    );
    expect(redactor.size).toBe(2);
    expect(redactor.has('alpha-secret')).toBe(true);
    expect(redactor.has(Secret.of('beta-secret'))).toBe(true);
    expect(redactor.has('gamma')).toBe(false);
  });

  it('ignores empty and short values (fewer than 4 characters by default)', () => {
    const redactor = new Redactor().add('').add('abc').add('on');
    expect(redactor.size).toBe(0);
    expect(redactor.redact('abc on')).toBe('abc on');
    const strict = new Redactor({ minLength: 1 }).add('abc');
    expect(strict.redact('xabcx')).toBe('x***x');
  });

  it('counts a value once however often it is added', () => {
    const redactor = new Redactor()
      .add('same-value')
      .add('same-value')
      .add(Secret.of('same-value'));
    expect(redactor.size).toBe(1);
  });

  it('hides the longest value where values overlap, leaving no fragment visible', () => {
    const redactor = new Redactor().add('password').add('password123').add('word123456');
    // "password123456": password123 and word123456 overlap; nothing of either may remain.
    expect(redactor.redact('x password123456 y')).toBe('x *** y');
    expect(redactor.redact('password123')).toBe('***');
    expect(redactor.redact('my password!')).toBe('my ***!');
    // A value contained in a longer one.
    const nested = new Redactor().add('inner').add('outer-inner-outer');
    expect(nested.redact('[outer-inner-outer] [inner]')).toBe('[***] [***]');
  });

  it('treats regular-expression characters literally', () => {
    const value = 'a.b*c+d?(e)[f]{g}|h^i$j\\k/l';
    const redactor = new Redactor().add(value);
    expect(redactor.redact(`x${value}y`)).toBe('x***y');
    expect(redactor.redact('aXb*c+d?(e)[f]{g}|h^i$j\\k/l')).toBe('aXb*c+d?(e)[f]{g}|h^i$j\\k/l');
    expect(new Redactor().add('.*.*').redact('abcd .*.*')).toBe('abcd ***');
  });

  it('recognises base64 and base64url, also inside a longer encoded string', () => {
    const password = 'p@ss/w0rd+?~';
    const redactor = new Redactor().add(password);
    const plain = Buffer.from(password).toString('base64');
    expect(redactor.redact(`token ${plain}`)).not.toContain(plain.replace(/=+$/, ''));
    for (const user of ['u', 'us', 'usr', 'user', 'admin']) {
      const basic = Buffer.from(`${user}:${password}`).toString('base64');
      const header = redactor.redact(`Authorization: Basic ${basic}`);
      // Only the characters that also encode the user name or the padding may stay visible.
      const match = /^Authorization: Basic ([A-Za-z0-9+/]*)\*\*\*([A-Za-z0-9+/=]*)$/.exec(header);
      expect(match).not.toBeNull();
      expect(match![1]!.length).toBeLessThanOrEqual(Math.ceil(((user.length + 1) * 4) / 3));
      expect(match![2]!.length).toBeLessThanOrEqual(3);
      const url = Buffer.from(`${user}:${password}`).toString('base64url');
      expect(redactor.redact(url)).toContain('***');
    }
  });

  it('recognises the URL-encoded and JSON-escaped forms', () => {
    const value = 'pa ss"word/&=\\x\n';
    const redactor = new Redactor().add(value);
    expect(redactor.redact(`https://u:${encodeURIComponent(value)}@host`)).toBe(
      'https://u:***@host',
    );
    const form = encodeURIComponent(value).replaceAll('%20', '+');
    expect(redactor.redact(`password=${form}`)).toBe('password=***');
    expect(redactor.redact(JSON.stringify({ password: value }))).toBe('{"password":"***"}');
  });

  it('recognises each line of a multi-line value', () => {
    const key = [
      '-----BEGIN PRIVATE KEY-----',
      'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7',
      'VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDu',
      '-----END PRIVATE KEY-----',
    ].join('\n');
    const redactor = new Redactor().add(key);
    const output = redactor.redact(
      'line 1: MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\r\n' +
        'line 2: VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDu',
    );
    expect(output).toBe('line 1: ***\r\nline 2: ***');
    expect(redactor.redact(key)).toBe('***');
  });

  it('picks up values added after an earlier redact call', () => {
    const redactor = new Redactor().add('first-value');
    expect(redactor.redact('first-value second-value')).toBe('*** second-value');
    redactor.add('second-value');
    expect(redactor.redact('first-value second-value')).toBe('*** ***');
  });

  it('handles many values and long text', () => {
    const redactor = new Redactor();
    const values = Array.from({ length: 2000 }, (_, i) => `secret-${i.toString(36)}-${i * 7919}`);
    for (const value of values) redactor.add(value);
    expect(redactor.size).toBe(2000);
    const filler = 'lorem ipsum dolor sit amet '.repeat(40);
    const pieces: string[] = [];
    for (let i = 0; i < values.length; i += 50) pieces.push(filler, values[i]!);
    const text = pieces.join(' ');
    const redacted = redactor.redact(text);
    for (const value of values) expect(redacted).not.toContain(value);
    expect(redacted.split('***')).toHaveLength(values.length / 50 + 1);
    // Repeated calls reuse the compiled matcher and give the same answer.
    expect(redactor.redact(text)).toBe(redacted);
  });

  it('matches a naive reference implementation on random inputs', () => {
    // With this alphabet no derived form (base64, URL, JSON) can occur in the text, so the
    // result must equal plain union-of-occurrences redaction.
    const alphabet = fc.constantFrom('a', 'b', 'c', '.', '*');
    const word = fc.string({ unit: alphabet, minLength: 4, maxLength: 7 });
    fc.assert(
      fc.property(
        fc.array(word, { maxLength: 6 }),
        fc.string({ unit: alphabet, maxLength: 60 }),
        (values, text) => {
          const redactor = new Redactor();
          for (const value of values) redactor.add(value);
          expect(redactor.redact(text)).toBe(naiveRedact(text, values));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('provides a shared global instance', () => {
    expect(globalRedactor).toBeInstanceOf(Redactor);
  });
});

/** Marks every character covered by any occurrence, then collapses covered runs to ***. */
function naiveRedact(text: string, values: readonly string[]): string {
  const covered = new Array<boolean>(text.length).fill(false);
  for (const value of values) {
    for (let at = text.indexOf(value); at !== -1; at = text.indexOf(value, at + 1)) {
      covered.fill(true, at, at + value.length);
    }
  }
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (!covered[i]) out += text.charAt(i);
    else if (i === 0 || !covered[i - 1]) out += '***';
  }
  return out;
}
