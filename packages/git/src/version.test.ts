import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareTagNames, parseTagVersion, sortTagsByVersion } from './version.js';

describe('parseTagVersion', () => {
  it('reads versions with and without v, pre-release and build', () => {
    expect(parseTagVersion('v1.2.3')).toEqual({
      prefix: 'v',
      major: 1,
      minor: 2,
      patch: 3,
      prerelease: [],
      build: '',
    });
    expect(parseTagVersion('1.2.3-pre.4+b.5')).toMatchObject({
      prefix: '',
      prerelease: ['pre', 4],
      build: 'b.5',
    });
    expect(parseTagVersion('v1.2.4-pre9')?.prerelease).toEqual(['pre', 9]);
    expect(parseTagVersion('v1.0.0-rc.1')?.prerelease).toEqual(['rc', 1]);
  });

  it.each(['1.2', 'v01.2.3', 'release-1', 'v1.2.3-01', 'v1.2.3-', 'latest', 'vv1.2.3'])(
    'rejects %s',
    (name) => {
      expect(parseTagVersion(name)).toBeUndefined();
    },
  );
});

describe('compareTagNames', () => {
  it('orders by SemVer with legacy -preN read as -pre.N', () => {
    const names = [
      'v1.2.4',
      'v1.2.4-pre10',
      'v1.2.4-pre.2',
      'v1.2.4-pre9',
      'v1.2.3',
      'v1.10.0',
      'nightly',
      'v1.2.4-pre.11',
    ];
    expect(sortTagsByVersion(names.map((name) => ({ name }))).map((t) => t.name)).toEqual([
      'nightly',
      'v1.2.3',
      'v1.2.4-pre.2',
      'v1.2.4-pre9',
      'v1.2.4-pre10',
      'v1.2.4-pre.11',
      'v1.2.4',
      'v1.10.0',
    ]);
  });

  it('is a total order consistent with itself', () => {
    const version = fc
      .tuple(
        fc.constantFrom('', 'v'),
        fc.nat(3),
        fc.nat(3),
        fc.nat(3),
        fc.option(
          fc.oneof(
            fc.nat(12).map((n) => `pre${n}`),
            fc.nat(12).map((n) => `pre.${n}`),
            fc.constant('rc.1'),
          ),
        ),
      )
      .map(([p, a, b, c, pre]) => `${p}${a}.${b}.${c}${pre === null ? '' : `-${pre}`}`);
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        // antisymmetric (written as a sum: -0 and 0 differ under Object.is)
        expect(Math.sign(compareTagNames(a, b)) + Math.sign(compareTagNames(b, a))).toBe(0);
        expect(compareTagNames(a, a)).toBe(0);
        if (compareTagNames(a, b) <= 0 && compareTagNames(b, c) <= 0) {
          expect(compareTagNames(a, c)).toBeLessThanOrEqual(0);
        }
      }),
    );
  });
});
