import { describe, expect, it } from 'vitest';
import { bundledWith, planBundle } from './bundle.js';

const lock = `GEM
  remote: https://rubygems.org/
  specs:
    rake (13.0.6)

PLATFORMS
  ruby

DEPENDENCIES
  rake

BUNDLED WITH
   2.4.22
`;

describe('bundledWith', () => {
  it('reads the version after BUNDLED WITH', () => {
    expect(bundledWith(lock)).toBe('2.4.22');
    expect(bundledWith(lock.replaceAll('\n', '\r\n'))).toBe('2.4.22');
    expect(bundledWith('GEM\n')).toBeUndefined();
    expect(() => bundledWith('BUNDLED WITH\n  $(rm -rf /)\n')).toThrow(/not a bundler version/);
  });
});

describe('planBundle', () => {
  it('installs the pinned bundler, then a frozen install without development and test (production by default)', () => {
    expect(planBundle({ gemfileLock: lock, env: {} })).toEqual({
      bundlerVersion: '2.4.22',
      environment: 'production',
      without: ['development', 'test'],
      commands: [
        {
          program: 'gem',
          args: ['install', 'bundler', '-v', '2.4.22', '--no-document', '--conservative'],
          env: {},
        },
        {
          program: 'bundle',
          args: ['_2.4.22_', 'install'],
          env: { BUNDLE_FROZEN: 'true', BUNDLE_WITHOUT: 'development:test' },
        },
      ],
    });
  });

  it('keeps the development and test groups in those environments', () => {
    for (const env of [{ RAILS_ENV: 'test' }, { RACK_ENV: 'development' }]) {
      const plan = planBundle({ gemfileLock: lock, env });
      expect(plan.without).toEqual([]);
      expect(plan.commands[1]?.env).toEqual({ BUNDLE_FROZEN: 'true' });
    }
    expect(planBundle({ gemfileLock: lock, env: { RAILS_ENV: 'staging' } }).without).toEqual([
      'development',
      'test',
    ]);
  });

  it('adds to groups already in BUNDLE_WITHOUT', () => {
    const plan = planBundle({ gemfileLock: lock, env: { BUNDLE_WITHOUT: 'assets:test' } });
    expect(plan.commands[1]?.env['BUNDLE_WITHOUT']).toBe('assets:test:development');
  });

  it('without a lockfile (or a pin), runs a plain bundle install', () => {
    expect(planBundle({ env: { RAILS_ENV: 'test' } }).commands).toEqual([
      { program: 'bundle', args: ['install'], env: {} },
    ]);
    expect(planBundle({ gemfileLock: 'GEM\n', env: { RAILS_ENV: 'test' } }).commands).toEqual([
      { program: 'bundle', args: ['install'], env: { BUNDLE_FROZEN: 'true' } },
    ]);
  });
});
