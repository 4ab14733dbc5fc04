import { describe, expect, it } from 'vitest';
import { readCiEnv, readCiEnvWithOrigins, repoNameFromRemoteUrl, resolveFacts } from './ci.js';
import type { CiFacts, Env } from './ci.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const MERGE_SHA = 'fedcba9876543210fedcba9876543210fedcba98';

describe('readCiEnv', () => {
  const cases: [string, Env, CiFacts][] = [
    // CircleCI
    [
      'CircleCI branch build',
      {
        CIRCLECI: 'true',
        CIRCLE_BRANCH: 'feature/login',
        CIRCLE_SHA1: SHA,
        CIRCLE_PROJECT_REPONAME: 'shop',
      },
      { provider: 'circleci', branch: 'feature/login', sha: SHA, repo: 'shop' },
    ],
    [
      'CircleCI tag build (no branch)',
      { CIRCLECI: 'true', CIRCLE_TAG: 'v1.2.3', CIRCLE_SHA1: SHA, CIRCLE_PROJECT_REPONAME: 'shop' },
      { provider: 'circleci', tag: 'v1.2.3', sha: SHA, repo: 'shop' },
    ],
    [
      'CircleCI forked pull request',
      { CIRCLECI: 'true', CIRCLE_BRANCH: 'pull/12', CIRCLE_PR_NUMBER: '12', CIRCLE_SHA1: SHA },
      { provider: 'circleci', branch: 'pull/12', sha: SHA, pullRequest: 12 },
    ],
    [
      'CircleCI pull request URL',
      {
        CIRCLECI: 'true',
        CIRCLE_BRANCH: 'feature/x',
        CIRCLE_PULL_REQUEST: 'https://github.com/acme/shop/pull/34',
      },
      { provider: 'circleci', branch: 'feature/x', pullRequest: 34 },
    ],
    [
      'the original contract set by hand, outside any CI',
      { CIRCLE_BRANCH: 'feature/login', CIRCLE_PROJECT_REPONAME: 'shop' },
      { provider: 'circleci', branch: 'feature/login', repo: 'shop' },
    ],
    [
      'blank CircleCI values count as unset',
      { CIRCLECI: 'true', CIRCLE_BRANCH: '', CIRCLE_SHA1: '  ', CIRCLE_PR_NUMBER: 'x' },
      { provider: 'circleci' },
    ],
    // GitHub Actions
    [
      'GitHub push to a branch',
      {
        GITHUB_ACTIONS: 'true',
        GITHUB_EVENT_NAME: 'push',
        GITHUB_REF: 'refs/heads/feature/login',
        GITHUB_REF_NAME: 'feature/login',
        GITHUB_REF_TYPE: 'branch',
        GITHUB_HEAD_REF: '',
        GITHUB_SHA: SHA,
        GITHUB_REPOSITORY: 'acme/shop',
      },
      { provider: 'github', branch: 'feature/login', sha: SHA, repo: 'shop' },
    ],
    [
      'GitHub push of a tag',
      {
        GITHUB_ACTIONS: 'true',
        GITHUB_EVENT_NAME: 'push',
        GITHUB_REF: 'refs/tags/v1.2.3-pre.1',
        GITHUB_REF_NAME: 'v1.2.3-pre.1',
        GITHUB_REF_TYPE: 'tag',
        GITHUB_SHA: SHA,
        GITHUB_REPOSITORY: 'acme/shop',
      },
      { provider: 'github', tag: 'v1.2.3-pre.1', sha: SHA, repo: 'shop' },
    ],
    [
      'GitHub pull_request: the head branch, never refs/pull/N/merge; GITHUB_SHA is the merge commit',
      {
        GITHUB_ACTIONS: 'true',
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_REF: 'refs/pull/42/merge',
        GITHUB_REF_NAME: '42/merge',
        GITHUB_HEAD_REF: 'feature/login',
        GITHUB_BASE_REF: 'main',
        GITHUB_SHA: MERGE_SHA,
        GITHUB_REPOSITORY: 'acme/shop',
      },
      {
        provider: 'github',
        branch: 'feature/login',
        sha: MERGE_SHA,
        repo: 'shop',
        pullRequest: 42,
      },
    ],
    [
      'GitHub pull_request_target: head branch, and not the base tip as sha',
      {
        GITHUB_ACTIONS: 'true',
        GITHUB_EVENT_NAME: 'pull_request_target',
        GITHUB_REF: 'refs/heads/main',
        GITHUB_HEAD_REF: 'feature/login',
        GITHUB_SHA: SHA,
        GITHUB_REPOSITORY: 'acme/shop',
      },
      { provider: 'github', branch: 'feature/login', repo: 'shop' },
    ],
    [
      'GitHub pull_request_target without a head ref: no branch (not the base)',
      {
        GITHUB_ACTIONS: 'true',
        GITHUB_EVENT_NAME: 'pull_request_target',
        GITHUB_REF: 'refs/heads/main',
      },
      { provider: 'github' },
    ],
    [
      'GitHub pull_request without a head ref: no branch',
      {
        GITHUB_ACTIONS: 'true',
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_REF: 'refs/pull/7/merge',
      },
      { provider: 'github', pullRequest: 7 },
    ],
    [
      'GitHub with only GITHUB_REF_NAME and GITHUB_REF_TYPE=branch',
      { GITHUB_ACTIONS: 'true', GITHUB_REF_NAME: 'bug/1', GITHUB_REF_TYPE: 'branch' },
      { provider: 'github', branch: 'bug/1' },
    ],
    [
      'GitHub with only GITHUB_REF_NAME and GITHUB_REF_TYPE=tag',
      { GITHUB_ACTIONS: 'true', GITHUB_REF_NAME: 'v2.0.0', GITHUB_REF_TYPE: 'tag' },
      { provider: 'github', tag: 'v2.0.0' },
    ],
    [
      'GitHub never takes N/merge for a branch',
      { GITHUB_ACTIONS: 'true', GITHUB_REF_NAME: '42/merge' },
      { provider: 'github' },
    ],
    // GitLab CI
    [
      'GitLab branch pipeline',
      {
        GITLAB_CI: 'true',
        CI_COMMIT_BRANCH: 'feature/login',
        CI_COMMIT_REF_NAME: 'feature/login',
        CI_COMMIT_SHA: SHA,
        CI_PROJECT_NAME: 'shop',
      },
      { provider: 'gitlab', branch: 'feature/login', sha: SHA, repo: 'shop' },
    ],
    [
      'GitLab merge request pipeline',
      {
        GITLAB_CI: 'true',
        CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature/login',
        CI_MERGE_REQUEST_IID: '7',
        CI_COMMIT_REF_NAME: 'feature/login',
        CI_COMMIT_SHA: SHA,
        CI_PROJECT_NAME: 'shop',
      },
      { provider: 'gitlab', branch: 'feature/login', sha: SHA, repo: 'shop', pullRequest: 7 },
    ],
    [
      'GitLab merged-results pipeline does not take the merge ref',
      {
        GITLAB_CI: 'true',
        CI_COMMIT_REF_NAME: 'refs/merge-requests/7/merge',
        CI_MERGE_REQUEST_IID: '7',
      },
      { provider: 'gitlab', pullRequest: 7 },
    ],
    [
      'GitLab tag pipeline',
      {
        GITLAB_CI: 'true',
        CI_COMMIT_TAG: 'v1.0.0',
        CI_COMMIT_REF_NAME: 'v1.0.0',
        CI_COMMIT_SHA: SHA,
        CI_PROJECT_NAME: 'shop',
      },
      { provider: 'gitlab', tag: 'v1.0.0', sha: SHA, repo: 'shop' },
    ],
    [
      'GitLab with only CI_COMMIT_REF_NAME',
      { GITLAB_CI: 'true', CI_COMMIT_REF_NAME: 'main' },
      { provider: 'gitlab', branch: 'main' },
    ],
    // Buildkite
    [
      'Buildkite branch build: repo from BUILDKITE_REPO, not the pipeline slug',
      {
        BUILDKITE: 'true',
        BUILDKITE_BRANCH: 'feature/login',
        BUILDKITE_COMMIT: SHA,
        BUILDKITE_REPO: 'git@github.com:acme/shop.git',
        BUILDKITE_PIPELINE_SLUG: 'shop-deploy',
        BUILDKITE_PULL_REQUEST: 'false',
        BUILDKITE_TAG: '',
      },
      { provider: 'buildkite', branch: 'feature/login', sha: SHA, repo: 'shop' },
    ],
    [
      'Buildkite tag build repeats the tag as branch',
      {
        BUILDKITE: 'true',
        BUILDKITE_BRANCH: 'v1.2.3',
        BUILDKITE_TAG: 'v1.2.3',
        BUILDKITE_COMMIT: SHA,
      },
      { provider: 'buildkite', tag: 'v1.2.3', sha: SHA },
    ],
    [
      'Buildkite pull request, commit HEAD, slug only',
      {
        BUILDKITE: 'true',
        BUILDKITE_BRANCH: 'feature/x',
        BUILDKITE_COMMIT: 'HEAD',
        BUILDKITE_PIPELINE_SLUG: 'shop',
        BUILDKITE_PULL_REQUEST: '5',
      },
      { provider: 'buildkite', branch: 'feature/x', repo: 'shop', pullRequest: 5 },
    ],
    // Generic and none
    [
      'generic DEPLOYTAG_* variables',
      {
        DEPLOYTAG_BRANCH: 'feature/login',
        DEPLOYTAG_SHA: SHA,
        DEPLOYTAG_REPO: 'shop',
      },
      { provider: 'generic', branch: 'feature/login', sha: SHA, repo: 'shop' },
    ],
    [
      'generic full ref is shortened',
      { DEPLOYTAG_BRANCH: 'refs/heads/main' },
      { provider: 'generic', branch: 'main' },
    ],
    [
      'DEPLOYTAG_* override the CI, the ref as a whole',
      {
        CIRCLECI: 'true',
        CIRCLE_TAG: 'v1.0.0',
        CIRCLE_SHA1: MERGE_SHA,
        CIRCLE_PROJECT_REPONAME: 'shop',
        DEPLOYTAG_BRANCH: 'feature/x',
        DEPLOYTAG_SHA: SHA,
      },
      { provider: 'circleci', branch: 'feature/x', sha: SHA, repo: 'shop' },
    ],
    ['nothing at all', {}, { provider: 'none' }],
    [
      'CI=false markers are not CI',
      { GITHUB_ACTIONS: 'false', CIRCLECI: '' },
      { provider: 'none' },
    ],
  ];

  it.each(cases)('%s', (_name, env, expected) => {
    expect(readCiEnv(env)).toEqual(expected);
  });

  it('reports which variable each fact came from', () => {
    const { origins } = readCiEnvWithOrigins({
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_REF: 'refs/pull/42/merge',
      GITHUB_HEAD_REF: 'feature/login',
      GITHUB_SHA: MERGE_SHA,
      GITHUB_REPOSITORY: 'acme/shop',
    });
    expect(origins).toEqual({
      branch: 'env:GITHUB_HEAD_REF',
      sha: 'env:GITHUB_SHA',
      repo: 'env:GITHUB_REPOSITORY',
      pullRequest: 'env:GITHUB_REF',
    });
  });
});

describe('repoNameFromRemoteUrl', () => {
  it.each([
    ['https://github.com/acme/shop.git', 'shop'],
    ['https://github.com/acme/shop', 'shop'],
    ['https://github.com/acme/shop/', 'shop'],
    ['https://user:token@github.com/acme/shop.git', 'shop'],
    ['https://gitlab.example.com:8443/group/sub/shop.git', 'shop'],
    ['git@github.com:acme/shop.git', 'shop'],
    ['git@github.com:acme/shop', 'shop'],
    ['git@gitlab.com:group/subgroup/deeper/shop.git', 'shop'],
    ['ssh://git@github.com/acme/shop.git', 'shop'],
    ['ssh://git@gitlab.com:2222/group/sub/shop.git', 'shop'],
    ['git@host:shop.git', 'shop'],
    ['file:///srv/git/shop.git', 'shop'],
    ['/srv/git/shop.git/', 'shop'],
    ['../shop', 'shop'],
    ['http://127.0.0.1:8080/git/my.app.git', 'my.app'],
    ['', undefined],
    ['https://github.com/', undefined],
    ['git@github.com:', undefined],
  ])('%j → %j', (url, expected) => {
    expect(repoNameFromRemoteUrl(url)).toBe(expected);
  });
});

describe('resolveFacts', () => {
  const git = {
    branch: 'feature/local',
    sha: 'a'.repeat(40),
    remoteUrl: 'git@github.com:acme/shop-local.git',
  };
  const env = { CIRCLE_BRANCH: 'feature/ci', CIRCLE_SHA1: SHA, CIRCLE_PROJECT_REPONAME: 'shop' };

  it('flags beat env beat git, and records each origin', () => {
    expect(resolveFacts({ flags: { branch: 'feature/flag' }, env, git })).toEqual({
      provider: 'circleci',
      branch: 'feature/flag',
      sha: SHA,
      repo: 'shop',
      detached: false,
      origins: { branch: 'flag', sha: 'env:CIRCLE_SHA1', repo: 'env:CIRCLE_PROJECT_REPONAME' },
    });
  });

  it('falls back to git, taking the repository name from the remote URL', () => {
    expect(resolveFacts({ env: {}, git })).toEqual({
      provider: 'none',
      branch: 'feature/local',
      sha: 'a'.repeat(40),
      repo: 'shop-local',
      detached: false,
      origins: { branch: 'git', sha: 'git', repo: 'git' },
    });
  });

  it('takes the ref whole: an explicit branch drops the CI tag', () => {
    const facts = resolveFacts({
      flags: { branch: 'refs/heads/main' },
      env: { CIRCLE_TAG: 'v1.0.0', CIRCLE_SHA1: SHA },
    });
    expect(facts.branch).toBe('main');
    expect(facts.tag).toBeUndefined();
  });

  it('a CI tag build does not borrow the checkout branch', () => {
    const facts = resolveFacts({ env: { GITLAB_CI: 'true', CI_COMMIT_TAG: 'v1.0.0' }, git });
    expect(facts.tag).toBe('v1.0.0');
    expect(facts.branch).toBeUndefined();
    expect(facts.origins.tag).toBe('env:CI_COMMIT_TAG');
  });

  it('a detached HEAD with nothing naming the branch leaves it unknown', () => {
    const facts = resolveFacts({ env: {}, git: { sha: SHA, detached: true, branch: 'ignored' } });
    expect(facts.branch).toBeUndefined();
    expect(facts.detached).toBe(true);
    expect(facts.sha).toBe(SHA);
  });

  it('a detached HEAD is fine when the CI names the branch', () => {
    const facts = resolveFacts({ env, git: { detached: true, sha: SHA } });
    expect(facts.branch).toBe('feature/ci');
    expect(facts.detached).toBe(false);
  });

  it('blank flags count as unset', () => {
    const facts = resolveFacts({ flags: { branch: ' ', sha: '', repo: '' }, env });
    expect(facts.branch).toBe('feature/ci');
    expect(facts.origins.sha).toBe('env:CIRCLE_SHA1');
  });

  it('works with no input at all', () => {
    expect(resolveFacts({})).toEqual({ provider: 'none', detached: false, origins: {} });
  });
});
