import { describe, expect, it } from 'vitest';
import { DnsError } from './errors.js';
import {
  isHostName,
  isInZone,
  isRecordName,
  normalizeName,
  normalizeTarget,
  recordTypeFor,
} from './records.js';

describe('record helpers', () => {
  it('pick A for IPv4, AAAA for IPv6, CNAME for a host name', () => {
    expect(recordTypeFor('203.0.113.10')).toBe('A');
    expect(recordTypeFor('2001:db8::1')).toBe('AAAA');
    expect(recordTypeFor('a1b2-123.us-east-1.elb.amazonaws.com')).toBe('CNAME');
    expect(recordTypeFor('LB.Example.NET.')).toBe('CNAME');
  });

  it('refuse a target that is neither', () => {
    for (const bad of ['', '300.1.1.1.', 'http://lb', 'lb_1.example.com', '-lb.example.com']) {
      expect(() => recordTypeFor(bad)).toThrow(DnsError);
    }
  });

  it('normalise names and targets', () => {
    expect(normalizeName(' App.Example.COM. ')).toBe('app.example.com');
    expect(normalizeTarget('2001:DB8:0:0::0001')).toBe('2001:db8::1');
    expect(normalizeTarget('LB.example.net.')).toBe('lb.example.net');
    expect(normalizeTarget('10.0.0.1')).toBe('10.0.0.1');
  });

  it('tell host names, record names and zone membership', () => {
    expect(isHostName('a-1.example.com')).toBe(true);
    expect(isHostName('_x.example.com')).toBe(false);
    expect(isHostName(`${'a'.repeat(64)}.com`)).toBe(false);
    expect(isRecordName('_deploytag.a.example.com')).toBe(true);
    expect(isInZone('a.example.com', 'example.com')).toBe(true);
    expect(isInZone('example.com', 'example.com')).toBe(true);
    expect(isInZone('aexample.com', 'example.com')).toBe(false);
  });
});
