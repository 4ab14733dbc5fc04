import { ConfigError, DeploytagError, isDeploytagError } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import {
  NOT_DEPLOYABLE_EXIT_CODE,
  NotDeployableError,
  assertDeployable,
  classifyBranch,
  parseReleaseTag,
} from './kind.js';
import type { Classification, ClassifyOptions } from './kind.js';

describe('classifyBranch', () => {
  const cases: [string | undefined, ClassifyOptions, Classification['kind']][] = [
    // staging: master, main, empty (the original)
    ['master', {}, 'staging'],
    ['main', {}, 'staging'],
    [undefined, {}, 'staging'],
    ['', {}, 'staging'],
    ['  ', {}, 'staging'],
    // preview: the original prefixes, and in practice everything else
    ['feature/login', {}, 'preview'],
    ['bug/123', {}, 'preview'],
    ['epic/checkout', {}, 'preview'],
    ['hotfix-1', {}, 'preview'],
    ['Master', {}, 'preview'],
    ['develop', {}, 'preview'],
    // configured lists
    ['develop', { stagingBranches: ['develop'] }, 'staging'],
    ['master', { stagingBranches: ['develop'] }, 'preview'],
    ['hotfix/1', { previewAll: false }, 'none'],
    ['feature/x', { previewAll: false }, 'preview'],
    ['hotfix/1', { previewAll: false, previewPrefixes: ['hotfix/'] }, 'preview'],
    ['master', { previewAll: false }, 'staging'],
    [undefined, { previewAll: false }, 'staging'],
    // release tags
    [undefined, { tag: 'v1.2.3' }, 'production'],
    [undefined, { tag: 'v10.20.30' }, 'production'],
    [undefined, { tag: 'v1.2.3+build.5' }, 'production'],
    [undefined, { tag: 'v1.2.3-pre.4' }, 'beta'],
    [undefined, { tag: 'v1.2.3-pre4' }, 'beta'],
    [undefined, { tag: 'v1.2.3-beta.1' }, 'beta'],
    [undefined, { tag: 'v1.2.3-rc.1' }, 'beta'],
    ['master', { tag: 'v1.2.3' }, 'production'],
    // other tags
    [undefined, { tag: 'nightly' }, 'none'],
    [undefined, { tag: '1.2.3' }, 'none'],
    [undefined, { tag: 'v1.2' }, 'none'],
    [undefined, { tag: 'v1.2.3-' }, 'none'],
    ['feature/x', { tag: 'nightly' }, 'preview'],
    [undefined, { tag: '' }, 'staging'],
  ];

  it.each(cases)('%j with %j → %s', (branch, options, kind) => {
    expect(classifyBranch(branch, options).kind).toBe(kind);
  });

  it('explains why a branch is not deployable and what to do', () => {
    const result = classifyBranch('hotfix/1', { previewAll: false });
    expect(result).toEqual({
      kind: 'none',
      reason:
        'branch "hotfix/1" is neither a staging branch (master, main) nor under a preview prefix ' +
        '(feature/, bug/, epic/); rename the branch, add its prefix to the preview prefixes, ' +
        'or allow previews of every branch',
    });
  });

  it('explains why a tag is not deployable', () => {
    const result = classifyBranch(undefined, { tag: 'nightly' });
    expect(result.kind === 'none' && result.reason).toMatch(/tag "nightly" is not a release tag/);
  });
});

describe('parseReleaseTag', () => {
  it.each([
    ['v1.2.3', { major: 1, minor: 2, patch: 3 }],
    ['v1.2.3-pre.4', { major: 1, minor: 2, patch: 3, prerelease: 'pre.4' }],
    ['v1.2.3-pre4', { major: 1, minor: 2, patch: 3, prerelease: 'pre4' }],
    ['v0.0.0', { major: 0, minor: 0, patch: 0 }],
    ['1.2.3', undefined],
    ['v1.2.3.4', undefined],
    ['release-1', undefined],
  ])('%j → %j', (tag, expected) => {
    expect(parseReleaseTag(tag)).toEqual(expected);
  });
});

describe('NotDeployableError and assertDeployable', () => {
  it('is a DeploytagError with its own code and exit code', () => {
    const error = new NotDeployableError('no', { branch: 'hotfix/1' });
    expect(error).toBeInstanceOf(DeploytagError);
    expect(error).not.toBeInstanceOf(ConfigError);
    expect(isDeploytagError(error)).toBe(true);
    expect(error.code).toBe('E_NOT_DEPLOYABLE');
    expect(error.exitCode).toBe(3);
    expect(NOT_DEPLOYABLE_EXIT_CODE).toBe(3);
    expect(error.name).toBe('NotDeployableError');
    expect(error.message).toBe('not deployable: no');
    expect(error.reason).toBe('no');
    expect(error.toJSON().details).toEqual({ reason: 'no', branch: 'hotfix/1', tag: undefined });
  });

  it('throws for none and narrows otherwise', () => {
    const none = classifyBranch('hotfix/1', { previewAll: false });
    expect(() => {
      assertDeployable(none, { branch: 'hotfix/1' });
    }).toThrow(NotDeployableError);

    const preview = classifyBranch('feature/x');
    assertDeployable(preview);
    const kind: 'staging' | 'preview' | 'beta' | 'production' = preview.kind;
    expect(kind).toBe('preview');
  });
});
