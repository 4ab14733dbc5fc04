import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  databaseName,
  dnsLabel,
  imageTag,
  isDatabaseName,
  isDnsLabel,
  isImageTag,
  namespaceFor,
  namespaceName,
  releaseName,
} from './naming.js';

/** The documented hash: 8 hex characters of SHA-256 of the raw UTF-8 input. */
const hash8 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 8);

describe('the example from the issue', () => {
  it('CIRCLE_BRANCH=feature/login, repo shop, chart web', () => {
    expect(databaseName('shop', 'feature/login')).toBe('shop-feature-login');
    expect(releaseName('feature/login', 'web')).toBe('feature-login-web');
    expect(namespaceName('feature/login')).toBe('feature-login');
    expect(imageTag('feature/login')).toBe('feature-login');
  });
});

describe('namespaceName', () => {
  it.each([
    ['feature/login', 'feature-login'],
    ['bug/123', 'bug-123'],
    ['epic/checkout/v2', 'epic-checkout-v2'],
    ['feature-login', 'feature-login'],
    ['master', 'master'],
    ['a', 'a'],
  ])('keeps the simple name of %j: %s', (branch, expected) => {
    expect(namespaceName(branch)).toBe(expected);
  });

  it.each([
    ['Feature/Login', 'feature-login'],
    ['feature/a.b', 'feature-a-b'],
    ['feature/a_b', 'feature-a-b'],
    ['feature//a', 'feature-a'],
    ['feature/a--b', 'feature-a-b'],
    ['feature/', 'feature'],
    ['-feature', 'feature'],
    ['123-fix', 'x-123-fix'],
    ['café', 'cafe'],
    ['default', 'default'],
    ['kube-system', 'kube-system'],
    ['🚀', 'x'],
    ['', 'x'],
    ['..', 'x'],
  ])('hashes %j with the prefix %j', (branch, prefix) => {
    expect(namespaceName(branch)).toBe(`${prefix}--${hash8(branch)}`);
  });

  it('cuts long names to 63 characters, keeping the start and the hash', () => {
    const branch = `feature/${'very-long-description-'.repeat(4)}end`;
    const name = namespaceName(branch);
    expect(name).toHaveLength(63);
    expect(name.startsWith('feature-very-long-description-')).toBe(true);
    expect(name.endsWith(`--${hash8(branch)}`)).toBe(true);
    expect(isDnsLabel(name)).toBe(true);
  });

  it('keeps a simple name of exactly 63 characters and hashes one of 64', () => {
    const at = `f/${'a'.repeat(61)}`;
    expect(namespaceName(at)).toBe(at.replace('/', '-'));
    expect(namespaceName(`${at}a`)).toMatch(/^f-a+--[0-9a-f]{8}$/);
  });

  it('never strips a trailing dash into a `---`', () => {
    const branch = `${'a'.repeat(52)}-bbbbbbbbb`;
    expect(namespaceName(branch.toUpperCase())).toBe(
      `${'a'.repeat(52)}--${hash8(branch.toUpperCase())}`,
    );
  });
});

describe('dnsLabel', () => {
  it('accepts a smaller limit', () => {
    const name = dnsLabel('feature/a-very-long-branch', { maxLength: 20 });
    expect(name).toBe(`feature-a--${hash8('feature/a-very-long-branch')}`);
    expect(name.length).toBeLessThanOrEqual(20);
  });

  it('rejects a limit without room for a hash', () => {
    expect(() => dnsLabel('x', { maxLength: 10 })).toThrow(RangeError);
  });

  it('hashes reserved names', () => {
    expect(dnsLabel('admin', { reserved: ['admin'] })).toBe(`admin--${hash8('admin')}`);
  });
});

describe('releaseName', () => {
  it.each([
    ['feature/login', 'web', 'feature-login-web'],
    ['bug/12', 'api', 'bug-12-api'],
    ['feature/login', 'Web_UI', 'feature-login-web-ui'],
    ['default', 'web', 'default-web'],
  ])('%j + %j → %j as the original', (branch, chart, expected) => {
    expect(releaseName(branch, chart)).toBe(expected);
  });

  it('hashes a lossy branch with the branch and chart', () => {
    const digest = createHash('sha256')
      .update(JSON.stringify(['Feature/Login', 'web']))
      .digest('hex')
      .slice(0, 8);
    expect(releaseName('Feature/Login', 'web')).toBe(`feature-login-web--${digest}`);
  });

  it('cuts at 53 characters', () => {
    const branch = `feature/${'x'.repeat(43)}`;
    expect(`${branch}-web`.length).toBe(55);
    const name = releaseName(branch, 'web');
    expect(name).toHaveLength(53);
    expect(isDnsLabel(name, 53)).toBe(true);
  });

  it('differs between charts of the same lossy branch', () => {
    expect(releaseName('feature/a.b', 'web')).not.toBe(releaseName('feature/a.b', 'api'));
  });
});

describe('databaseName', () => {
  it.each([
    ['shop', undefined, 'shop-staging'],
    ['shop', '', 'shop-staging'],
    ['my_app', undefined, 'my-app-staging'],
    ['Shop.API', 'feature/login', 'Shop-API-feature-login'],
    ['shop', 'feature/Login', 'shop-feature-Login'],
    ['shop', '123', 'shop-123'],
  ])('%j + %j → %j as the original', (repo, branch, expected) => {
    expect(databaseName(repo, branch)).toBe(expected);
  });

  it('names the other shared environments', () => {
    expect(databaseName('shop', undefined, { environment: 'production' })).toBe('shop-production');
    expect(databaseName('shop', undefined, { environment: 'beta' })).toBe('shop-beta');
  });

  it.each(['staging', 'Staging', 'beta', 'production'])(
    'never gives branch %j a shared database',
    (branch) => {
      const name = databaseName('shop', branch);
      expect(name).toMatch(new RegExp(`^shop-${branch}--[0-9a-f]{8}$`));
    },
  );

  it('hashes lossy branches distinctly', () => {
    const dotted = databaseName('shop', 'feature/a.b');
    const dashed = databaseName('shop', 'feature/a-b');
    expect(dashed).toBe('shop-feature-a-b');
    expect(dotted).toMatch(/^shop-feature-a-b--[0-9a-f]{8}$/);
  });

  it('respects the engine limit: 63 for PostgreSQL, 64 for MySQL', () => {
    const branch = `f/${'a'.repeat(57)}`; // shop-f-aaa… is 64 characters
    expect(databaseName('shop', branch, { engine: 'mysql' })).toBe(`shop-f-${'a'.repeat(57)}`);
    const postgres = databaseName('shop', branch, { engine: 'postgresql' });
    expect(postgres).toHaveLength(63);
    expect(postgres).toMatch(/--[0-9a-f]{8}$/);
    expect(isDatabaseName(postgres, 'postgresql')).toBe(true);
  });

  it('keeps the repository in the hash, so two repositories never share a hashed name', () => {
    expect(databaseName('shop', 'x'.repeat(80))).not.toBe(databaseName('shop2', 'x'.repeat(80)));
  });
});

describe('imageTag', () => {
  it.each([
    ['feature/login', 'feature-login'],
    ['Feature/Login', 'Feature-Login'],
    ['feature/snake_case', 'feature-snake_case'],
    ['0123456789abcdef0123456789abcdef01234567', '0123456789abcdef0123456789abcdef01234567'],
    ['feature/', 'feature-'],
    ['master', 'master'],
  ])('%j → %j as the original', (branch, expected) => {
    expect(imageTag(branch)).toBe(expected);
  });

  it.each([
    ['release/1.2', 'release-1.2'],
    ['-leading', 'leading'],
    ['.hidden', 'hidden'],
    ['latest', 'latest'],
    ['feature/über', 'feature-uber'],
  ])('hashes %j with the prefix %j', (branch, prefix) => {
    expect(imageTag(branch)).toBe(`${prefix}--${hash8(branch)}`);
  });

  it('cuts at 128 characters', () => {
    const tag = imageTag('y'.repeat(300));
    expect(tag).toHaveLength(128);
    expect(isImageTag(tag)).toBe(true);
  });

  it('takes other reserved tags', () => {
    expect(imageTag('latest', { reserved: [] })).toBe('latest');
    expect(imageTag('stable', { reserved: ['stable'] })).toBe(`stable--${hash8('stable')}`);
  });
});

describe('namespaceFor', () => {
  it.each([
    ['staging', 'master', 'default'],
    ['beta', undefined, 'default'],
    ['production', undefined, 'default'],
    ['preview', 'feature/login', 'feature-login'],
  ] as const)('%s of %j → %j', (kind, branch, expected) => {
    expect(namespaceFor(kind, branch)).toBe(expected);
  });

  it('takes another shared namespace', () => {
    expect(namespaceFor('staging', 'main', { sharedNamespace: 'shop' })).toBe('shop');
  });

  it('refuses a preview without a branch', () => {
    expect(() => namespaceFor('preview', undefined)).toThrow(TypeError);
  });
});

describe('hash encoding', () => {
  it('tells lone surrogates apart, although UTF-8 would turn both into U+FFFD', () => {
    expect(namespaceName('\uD800')).not.toBe(namespaceName('\uD801'));
    expect(namespaceName('\uD800')).not.toBe(namespaceName('\uFFFD'));
  });
});

describe('validators', () => {
  it.each([
    ['a', true],
    ['a-1', true],
    ['1a', false],
    ['a-', false],
    ['A', false],
    ['a_b', false],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
  ])('isDnsLabel(%j) is %s', (name, valid) => {
    expect(isDnsLabel(name)).toBe(valid);
  });

  it.each([
    ['v1.2.3', true],
    ['_x', true],
    ['.x', false],
    ['-x', false],
    ['a/b', false],
    ['', false],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
  ])('isImageTag(%j) is %s', (tag, valid) => {
    expect(isImageTag(tag)).toBe(valid);
  });
});
