import { Secret } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import { readDnsSettings } from './settings.js';

describe('readDnsSettings', () => {
  it('defaults to Route 53, the original record template and a 300 s TTL', () => {
    expect(readDnsSettings({})).toEqual({
      provider: 'route53',
      zone: undefined,
      zoneId: undefined,
      templates: ['{.Branch}-app'],
      ttl: 300,
      owner: undefined,
      cloudflareToken: undefined,
      cloudflareApiUrl: undefined,
    });
  });

  it('picks Cloudflare when a token is set, and keeps the token secret', () => {
    const s = readDnsSettings({
      CLOUDFLARE_API_TOKEN: 'tok-123456',
      CLOUDFLARE_ZONE_ID: 'z1',
      CLOUDFLARE_API_URL: 'http://127.0.0.1:1/client/v4',
    });
    expect(s.provider).toBe('cloudflare');
    expect(s.zoneId).toBe('z1');
    expect(Secret.isSecret(s.cloudflareToken)).toBe(true);
    expect(s.cloudflareToken?.reveal()).toBe('tok-123456');
    expect(JSON.stringify(s)).not.toContain('tok-123456');
    expect(readDnsSettings({ CLOUDFLARE_API_TOKEN: 't', DNS_PROVIDER: 'Route53' }).provider).toBe(
      'route53',
    );
  });

  it('reads zone, templates, TTL and owner', () => {
    const s = readDnsSettings({
      DNS_PROVIDER: 'cloudflare',
      DNS_ZONE: 'example.com',
      DNS_ZONE_ID: 'abc',
      DNS_RECORDS: '{.Branch}-app, {.Branch}-api',
      DNS_TTL: '60',
      DNS_OWNER: 'me/x',
    });
    expect(s).toMatchObject({
      zone: 'example.com',
      zoneId: 'abc',
      templates: ['{.Branch}-app', '{.Branch}-api'],
      ttl: 60,
      owner: 'me/x',
    });
  });

  it('names the variable that is wrong', () => {
    expect(() => readDnsSettings({ DNS_PROVIDER: 'gcp' })).toThrow('DNS_PROVIDER');
    expect(() => readDnsSettings({ DNS_TTL: 'soon' })).toThrow('DNS_TTL');
    expect(() => readDnsSettings({ DNS_RECORDS: ' , ' })).toThrow('DNS_RECORDS');
  });
});
