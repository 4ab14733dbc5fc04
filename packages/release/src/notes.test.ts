import { describe, expect, it } from 'vitest';
import { bumpFromCommits, parseConventionalCommit } from './notes.js';

const c = (subject: string, body = '') => ({ subject, body });

describe('parseConventionalCommit', () => {
  it.each([
    ['feat: add page', { type: 'feat', breaking: false, description: 'add page' }],
    [
      'Fix(API): handle 404',
      { type: 'fix', scope: 'API', breaking: false, description: 'handle 404' },
    ],
    ['refactor!: drop node 18', { type: 'refactor', breaking: true, description: 'drop node 18' }],
    [
      'feat(ui)!: new nav (#12)',
      { type: 'feat', scope: 'ui', breaking: true, description: 'new nav', pr: 12 },
    ],
    ['update readme', { breaking: false, description: 'update readme' }],
    ['feat:missing space', { breaking: false, description: 'feat:missing space' }],
    ['WIP: (#7)', { breaking: false, description: 'WIP:', pr: 7 }],
  ])('%s', (subject, expected) => {
    expect(parseConventionalCommit(c(subject))).toEqual(expected);
  });

  it('reads a breaking-change footer and GitHub merge commits', () => {
    expect(parseConventionalCommit(c('fix: x', 'text\n\nBREAKING CHANGE: y')).breaking).toBe(true);
    expect(parseConventionalCommit(c('fix: x', 'mentions BREAKING CHANGE: inline')).breaking).toBe(
      false,
    );
    expect(
      parseConventionalCommit(
        c('Merge pull request #31 from acme/feat-x', 'feat(cart): coupons\n\nmore'),
      ),
    ).toEqual({
      type: 'feat',
      scope: 'cart',
      breaking: false,
      description: 'coupons',
      pr: 31,
    });
    expect(parseConventionalCommit(c('Merge pull request #5 from acme/y'))).toMatchObject({
      pr: 5,
      description: 'Merge pull request #5 from acme/y',
    });
  });
});

describe('bumpFromCommits', () => {
  it('takes the largest change', () => {
    expect(bumpFromCommits([])).toBe('patch');
    expect(bumpFromCommits([c('docs: a'), c('x')])).toBe('patch');
    expect(bumpFromCommits([c('fix: a'), c('feat: b')])).toBe('minor');
    expect(bumpFromCommits([c('feat: b'), c('chore!: c')])).toBe('major');
  });
});
