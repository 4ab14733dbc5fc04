import { describe, expect, it } from 'vitest';
import { DnsError } from './errors.js';
import {
  assertOwnerId,
  dnsOwner,
  ownedName,
  ownershipRecordName,
  ownershipText,
  parseOwnership,
} from './ownership.js';

describe('ownership records', () => {
  it('live at _deploytag.<name>', () => {
    expect(ownershipRecordName('app.example.com')).toBe('_deploytag.app.example.com');
    expect(ownedName('_deploytag.app.example.com')).toBe('app.example.com');
    expect(ownedName('app.example.com')).toBeUndefined();
    expect(ownedName('_deploytag.')).toBeUndefined();
  });

  it('name the owner and read back', () => {
    const text = ownershipText('deploytag/shop/feature-login');
    expect(text).toBe('heritage=deploytag,deploytag/owner=deploytag/shop/feature-login');
    expect(parseOwnership(text)).toEqual({ owner: 'deploytag/shop/feature-login' });
    expect(parseOwnership('deploytag/owner=x, heritage=deploytag')).toEqual({ owner: 'x' });
  });

  it('are told apart from other TXT records', () => {
    expect(parseOwnership('heritage=external-dns,external-dns/owner=default')).toBeUndefined();
    expect(parseOwnership('v=spf1 -all')).toBeUndefined();
    expect(parseOwnership('heritage=deploytag')).toBeUndefined();
    expect(parseOwnership('heritage=deploytag,deploytag/owner=')).toBeUndefined();
  });

  it('refuse owner ids that would break the format', () => {
    for (const bad of ['', 'a,b', 'a=b', 'a b', '"a"', '-a', 'x'.repeat(201), 'a\\b']) {
      expect(() => {
        assertOwnerId(bad);
      }).toThrow(DnsError);
    }
    expect(() => {
      assertOwnerId('deploytag/my_app.v2/feature-x');
    }).not.toThrow();
  });

  it('derive the owner id from repository and namespace', () => {
    expect(dnsOwner('shop', 'feature-login')).toBe('deploytag/shop/feature-login');
  });
});
