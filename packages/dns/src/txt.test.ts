import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteTxt, unquoteTxt } from './txt.js';

describe('quoteTxt / unquoteTxt', () => {
  it('quotes and escapes the zone-file way Route 53 wants', () => {
    expect(quoteTxt('heritage=deploytag,deploytag/owner=a/b')).toBe(
      '"heritage=deploytag,deploytag/owner=a/b"',
    );
    expect(quoteTxt('say "hi" \\ now')).toBe('"say \\"hi\\" \\\\ now"');
    expect(quoteTxt('tab\there')).toBe('"tab\\011here"');
    expect(quoteTxt('é')).toBe('"\\303\\251"');
    expect(quoteTxt('')).toBe('""');
  });

  it('cuts long values into strings of at most 255 bytes, never inside a character', () => {
    const quoted = quoteTxt('a'.repeat(300));
    expect(quoted).toBe(`"${'a'.repeat(255)}" "${'a'.repeat(45)}"`);
    const wide = quoteTxt(`${'a'.repeat(254)}é`);
    expect(wide.startsWith(`"${'a'.repeat(254)}" "`)).toBe(true);
  });

  it('reads the quoted form back, joining strings and decoding escapes', () => {
    expect(unquoteTxt('"a b" "c"')).toBe('a bc');
    expect(unquoteTxt('"say \\"hi\\""')).toBe('say "hi"');
    expect(unquoteTxt('"\\303\\251t\\351"')).toBe('ét\uFFFD');
  });

  it('returns unquoted or malformed text as it is', () => {
    expect(unquoteTxt('heritage=deploytag')).toBe('heritage=deploytag');
    expect(unquoteTxt('"open')).toBe('"open');
    expect(unquoteTxt('"a" b')).toBe('"a" b');
  });

  it('round-trips any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 700 }), (text) => {
        expect(unquoteTxt(quoteTxt(text))).toBe(text);
      }),
    );
  });
});
