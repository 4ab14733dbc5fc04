import { isDnsLabel } from '@deploytag/context';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DnsError } from './errors.js';
import {
  DEFAULT_RECORD_TEMPLATE,
  expandRecordTemplate,
  parseRecordTemplates,
  recordTemplateVars,
} from './template.js';

const vars = recordTemplateVars({
  branch: 'feature/login',
  namespace: 'feature-login',
  release: 'feature-login-web',
  repo: 'shop',
  kind: 'preview',
  subdomain: 'feature-login-web',
  sha: '0123456789abcdef0123456789abcdef01234567',
});

describe('expandRecordTemplate', () => {
  it("expands the original's {.Branch}-app", () => {
    expect(expandRecordTemplate(DEFAULT_RECORD_TEMPLATE, vars, 'example.com')).toBe(
      'feature-login-app.example.com',
    );
  });

  it('knows every placeholder', () => {
    expect(
      expandRecordTemplate(
        '{.Release}.{.Namespace}.{.Repo}.{.Environment}.{.Subdomain}',
        vars,
        'Example.com.',
      ),
    ).toBe('feature-login-web.feature-login.shop.preview.feature-login-web.example.com');
    // A label must start with a letter: a sha gets a prefix and a hash.
    expect(expandRecordTemplate('{.ShortSha}', vars, 'example.com')).toMatch(
      /^x-0123456--[0-9a-f]{8}\.example\.com$/,
    );
    expect(expandRecordTemplate('v{.Sha}', vars, 'example.com')).toBe(
      'v0123456789abcdef0123456789abcdef01234567.example.com',
    );
  });

  it('keeps every label valid, at most 63 characters, and distinct per branch', () => {
    const long = expandRecordTemplate(
      '{.Branch}-app',
      { Branch: `feature/${'very-long-name-'.repeat(6)}` },
      'example.com',
    );
    const label = long.split('.')[0]!;
    expect(label.length).toBeLessThanOrEqual(63);
    expect(isDnsLabel(label)).toBe(true);
    const upper = expandRecordTemplate('{.Branch}-app', { Branch: 'Feature/Login' }, 'example.com');
    expect(upper).not.toBe('feature-login-app.example.com');
    expect(upper).toMatch(/^feature-login-app--[0-9a-f]{8}\.example\.com$/);
    // A dot inside a value stays inside its label.
    expect(
      expandRecordTemplate('{.Branch}', { Branch: 'release/1.2' }, 'example.com').split('.'),
    ).toHaveLength(3);
  });

  it('accepts static labels, the apex and full names', () => {
    expect(expandRecordTemplate('{.Branch}.preview', vars, 'example.com')).toBe(
      'feature-login.preview.example.com',
    );
    expect(expandRecordTemplate('@', vars, 'example.com')).toBe('example.com');
    expect(expandRecordTemplate('{.Branch}.Example.com', vars, 'example.com')).toBe(
      'feature-login.example.com',
    );
    expect(expandRecordTemplate('www', vars, 'example.com')).toBe('www.example.com');
  });

  it('refuses bad templates with a clear reason', () => {
    const expand =
      (t: string, v = vars, zone = 'example.com') =>
      () =>
        expandRecordTemplate(t, v, zone);
    expect(expand('{.Brnach}-app')).toThrow('{.Brnach}, which does not exist');
    expect(expand('{.Branch}-app', { Release: 'web' })).toThrow('a tag build has no branch');
    expect(expand('{Branch}-app')).toThrow('brace');
    expect(expand('{.Branch}}-app')).toThrow('brace');
    expect(expand('a..b')).toThrow('empty label');
    expect(expand('under_score')).toThrow('not a DNS label');
    expect(expand('')).toThrow('empty');
    expect(expand('{.Branch}', vars, 'not a zone')).toThrow(DnsError);
    expect(expand(Array(6).fill('{.Branch}-{.Release}-{.Namespace}').join('.'))).toThrow(
      'more than DNS allows',
    );
  });

  it('gives a valid host name for any branch', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 120 }), (branch) => {
        const name = expandRecordTemplate('{.Branch}-app', { Branch: branch }, 'example.com');
        const labels = name.split('.');
        expect(labels).toHaveLength(3);
        expect(isDnsLabel(labels[0]!)).toBe(true);
        expect(expandRecordTemplate('{.Branch}-app', { Branch: branch }, 'example.com')).toBe(name);
      }),
    );
  });
});

describe('parseRecordTemplates / recordTemplateVars', () => {
  it('splits DNS_RECORDS on commas', () => {
    expect(parseRecordTemplates(' {.Branch}-app, {.Branch}-api ,,')).toEqual([
      '{.Branch}-app',
      '{.Branch}-api',
    ]);
  });

  it('leave Branch out for a build without one', () => {
    const v = recordTemplateVars({
      branch: undefined,
      namespace: 'default',
      release: 'web',
      repo: 'shop',
      kind: 'production',
      subdomain: 'www',
      sha: 'abcdef0123',
    });
    expect(v.Branch).toBeUndefined();
    expect(v.ShortSha).toBe('abcdef0');
    expect(v.Environment).toBe('production');
  });
});
