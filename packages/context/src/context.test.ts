import { ConfigError } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import type { Env } from './ci.js';
import { buildDeployContext, chartNameOf, parseSecretIds } from './context.js';
import { NotDeployableError } from './kind.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

/** A complete AWS setup, as a CircleCI project of the original would have had it. */
const base: Env = {
  CIRCLE_SHA1: SHA,
  CIRCLE_PROJECT_REPONAME: 'shop',
  CHART_NAME: 'web',
  DOMAIN: 'example.com',
  CONTAINER_REGISTRY: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
  PROJECT_ID: 'acme',
  IMAGE: 'shop',
};

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('buildDeployContext', () => {
  it('the example from the issue: CIRCLE_BRANCH=feature/login, repo shop, chart web', () => {
    const context = buildDeployContext({ env: { ...base, CIRCLE_BRANCH: 'feature/login' } });
    const registry = '123456789012.dkr.ecr.us-east-1.amazonaws.com';
    expect(context).toEqual({
      provider: 'circleci',
      repo: 'shop',
      branch: 'feature/login',
      sha: SHA,
      tag: undefined,
      pullRequest: undefined,
      kind: 'preview',
      namespace: 'feature-login',
      chart: 'web',
      release: 'feature-login-web',
      database: 'shop-feature-login',
      databaseEngine: 'postgresql',
      domain: 'example.com',
      subdomain: 'feature-login-web',
      host: 'feature-login-web.example.com',
      url: 'https://feature-login-web.example.com',
      cloudProvider: 'aws',
      registry,
      projectId: 'acme',
      image: {
        name: 'shop',
        repository: `${registry}/acme/shop`,
        shaTag: SHA,
        branchTag: 'feature-login',
        tags: [SHA, 'feature-login'],
        ref: `${registry}/acme/shop:${SHA}`,
      },
      baseImage: { name: 'shop_base', repository: `${registry}/acme/shop_base` },
      secretIds: [],
      helmVars: undefined,
      origins: {
        branch: 'env:CIRCLE_BRANCH',
        sha: 'env:CIRCLE_SHA1',
        repo: 'env:CIRCLE_PROJECT_REPONAME',
        kind: 'default',
        cloudProvider: 'default',
        registry: 'env:CONTAINER_REGISTRY',
        namespace: 'default',
        chart: 'env:CHART_NAME',
        release: 'default',
        database: 'default',
        subdomain: 'default',
        domain: 'env:DOMAIN',
        host: 'default',
        image: 'env:IMAGE',
        projectId: 'env:PROJECT_ID',
      },
    });
  });

  it('staging: default namespace, HELM_NAME, <repo>-staging, latest tag', () => {
    const context = buildDeployContext({
      env: { ...base, CIRCLE_BRANCH: 'master', HELM_NAME: 'shop-web', SUBDOMAIN: 'staging' },
    });
    expect(context.kind).toBe('staging');
    expect(context.namespace).toBe('default');
    expect(context.release).toBe('shop-web');
    expect(context.origins.release).toBe('env:HELM_NAME');
    expect(context.database).toBe('shop-staging');
    expect(context.host).toBe('staging.example.com');
    expect(context.image.tags).toEqual([SHA, 'master', 'latest']);
  });

  it('staging without HELM_NAME uses the chart name, also from a chart path', () => {
    const context = buildDeployContext({
      env: { ...base, CIRCLE_BRANCH: 'main', CHART_NAME: './charts/web/' },
    });
    expect(context.release).toBe('web');
    expect(context.chart).toBe('./charts/web/');
    expect(context.host).toBe('web.example.com');
  });

  it('an empty branch is staging, as in the original', () => {
    const context = buildDeployContext({ env: { ...base, CIRCLE_BRANCH: '' } });
    expect(context.kind).toBe('staging');
    expect(context.branch).toBeUndefined();
    expect(context.image.tags).toEqual([SHA, 'latest']);
  });

  it('a preview ignores HELM_NAME, as the original set_env replaced it', () => {
    const context = buildDeployContext({
      env: { ...base, CIRCLE_BRANCH: 'feature/login', HELM_NAME: 'Not A Release Name' },
    });
    expect(context.release).toBe('feature-login-web');
  });

  it.each([
    ['v1.2.3', 'production', 'shop-production'],
    ['v1.3.0-pre.2', 'beta', 'shop-beta'],
  ] as const)('release tag %s → %s', (tag, kind, database) => {
    const context = buildDeployContext({
      env: { ...base, CIRCLECI: 'true', CIRCLE_TAG: tag, HELM_NAME: 'shop' },
    });
    expect(context.kind).toBe(kind);
    expect(context.tag).toBe(tag);
    expect(context.namespace).toBe('default');
    expect(context.release).toBe('shop');
    expect(context.database).toBe(database);
    expect(context.image.tags).toEqual([SHA]);
  });

  it('GitHub pull request: head branch, PR number, merge sha', () => {
    const context = buildDeployContext({
      env: {
        CHART_NAME: 'web',
        DOMAIN: 'example.com',
        CONTAINER_REGISTRY: 'registry.example.com',
        GITHUB_ACTIONS: 'true',
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_REF: 'refs/pull/42/merge',
        GITHUB_HEAD_REF: 'Feature/Login',
        GITHUB_SHA: SHA,
        GITHUB_REPOSITORY: 'acme/shop',
      },
    });
    expect(context.branch).toBe('Feature/Login');
    expect(context.pullRequest).toBe(42);
    expect(context.namespace).toMatch(/^feature-login--[0-9a-f]{8}$/);
    expect(context.release).toMatch(/^feature-login-web--[0-9a-f]{8}$/);
    expect(context.database).toBe('shop-Feature-Login');
    expect(context.image.repository).toBe('registry.example.com/shop');
    expect(context.image.branchTag).toBe('Feature-Login');
    expect(context.projectId).toBeUndefined();
  });

  it('falls back to git facts and takes flags first', () => {
    const env = { ...base, CIRCLE_SHA1: undefined, CIRCLE_PROJECT_REPONAME: undefined };
    const git = { branch: 'feature/x', sha: 'b'.repeat(40), remoteUrl: 'git@host:acme/shop.git' };
    const fromGit = buildDeployContext({ env, git });
    expect(fromGit.branch).toBe('feature/x');
    expect(fromGit.sha).toBe('b'.repeat(40));
    expect(fromGit.repo).toBe('shop');
    expect(fromGit.origins.repo).toBe('git');
    const fromFlags = buildDeployContext({ env, git, flags: { branch: 'main', repo: 'store' } });
    expect(fromFlags.kind).toBe('staging');
    expect(fromFlags.database).toBe('store-staging');
    expect(fromFlags.origins.branch).toBe('flag');
  });

  it('gcp defaults: gcr.io and GOOGLE_PROJECT_ID', () => {
    const context = buildDeployContext({
      env: {
        ...base,
        CIRCLE_BRANCH: 'feature/x',
        CLOUD_PROVIDER: 'GCP',
        CONTAINER_REGISTRY: undefined,
        PROJECT_ID: undefined,
        GOOGLE_PROJECT_ID: 'acme-prod',
        IMAGE: undefined,
      },
    });
    expect(context.cloudProvider).toBe('gcp');
    expect(context.registry).toBe('gcr.io');
    expect(context.projectId).toBe('acme-prod');
    expect(context.origins.projectId).toBe('env:GOOGLE_PROJECT_ID');
    expect(context.image.ref).toBe(`gcr.io/acme-prod/shop:${SHA}`);
    expect(context.baseImage.repository).toBe('gcr.io/acme-prod/shop_base');
    expect(context.origins.image).toBe('default');
  });

  it('aws default registry from AWS_ACCOUNT_ID and the region', () => {
    const context = buildDeployContext({
      env: {
        ...base,
        CONTAINER_REGISTRY: undefined,
        AWS_ACCOUNT_ID: '111122223333',
        AWS_DEFAULT_REGION: 'eu-west-1',
      },
    });
    expect(context.registry).toBe('111122223333.dkr.ecr.eu-west-1.amazonaws.com');
    expect(context.origins.registry).toBe('default');
  });

  it('IMAGE defaults to the repository name made a valid image name', () => {
    const context = buildDeployContext({
      env: { ...base, IMAGE: undefined, CIRCLE_PROJECT_REPONAME: 'My_Shop' },
    });
    expect(context.image.name).toBe('my_shop');
    expect(context.baseImage.name).toBe('my_shop_base');
  });

  it('AWS_SECRETS holds several ids in order; HELM_VARS passes through', () => {
    const context = buildDeployContext({
      env: {
        ...base,
        AWS_SECRETS: ' staging/app, staging/shop\nshared/keys ',
        HELM_VARS: 'a=1,b=2',
      },
    });
    expect(context.secretIds).toEqual(['staging/app', 'staging/shop', 'shared/keys']);
    expect(context.origins.secretIds).toBe('env:AWS_SECRETS');
    expect(context.helmVars).toBe('a=1,b=2');
  });

  it('DATABASE overrides the derived name', () => {
    const context = buildDeployContext({
      env: { ...base, CIRCLE_BRANCH: 'feature/x', DATABASE: 'shop_custom' },
    });
    expect(context.database).toBe('shop_custom');
    expect(context.origins.database).toBe('env:DATABASE');
  });

  it('sizes database names for MySQL when asked', () => {
    const branch = `f/${'a'.repeat(57)}`;
    const env = { ...base, CIRCLE_BRANCH: branch };
    expect(buildDeployContext({ env, databaseEngine: 'mysql' }).database).toBe(
      `shop-f-${'a'.repeat(57)}`,
    );
    expect(buildDeployContext({ env }).database).toHaveLength(63);
  });

  it('uses another shared namespace when given', () => {
    const env = { ...base, CIRCLE_BRANCH: 'master' };
    expect(buildDeployContext({ env, sharedNamespace: 'shop' }).namespace).toBe('shop');
  });

  it('ignores an inherited BASE_IMAGE, as the original always recomputed it', () => {
    const context = buildDeployContext({ env: { ...base, BASE_IMAGE: 'stale_base' } });
    expect(context.baseImage.name).toBe('shop_base');
  });
});

describe('buildDeployContext refuses to guess', () => {
  it('a branch outside the preview prefixes when previewAll is off', () => {
    const run = () =>
      buildDeployContext({
        env: { ...base, CIRCLE_BRANCH: 'hotfix/1' },
        classify: { previewAll: false },
      });
    expect(run).toThrow(NotDeployableError);
    expect(run).toThrow(/hotfix\/1/);
  });

  it('a tag that is not a release tag', () => {
    expect(() => buildDeployContext({ env: { ...base, CIRCLE_TAG: 'nightly' } })).toThrow(
      NotDeployableError,
    );
  });

  it('a detached HEAD that nothing names: not staging', () => {
    const run = () => buildDeployContext({ env: base, git: { detached: true, sha: SHA } });
    expect(run).toThrow(NotDeployableError);
    expect(run).toThrow(/HEAD is detached.*--branch/);
  });

  it('reports every missing setting at once, naming each variable', () => {
    const error = configError(() => buildDeployContext({ env: {} }));
    expect(error.code).toBe('E_CONFIG_MISSING');
    expect(error.exitCode).toBe(2);
    expect(error.key).toBe('CIRCLE_PROJECT_REPONAME');
    for (const name of [
      'CIRCLE_PROJECT_REPONAME',
      'CIRCLE_SHA1',
      'CHART_NAME',
      'DOMAIN',
      'CONTAINER_REGISTRY',
    ]) {
      expect(error.message).toContain(`${name}: `);
    }
    expect(error.message).toMatch(/^5 settings need attention: /);
  });

  it('one missing setting reads as one sentence', () => {
    const error = configError(() => buildDeployContext({ env: { ...base, DOMAIN: ' ' } }));
    expect(error.key).toBe('DOMAIN');
    expect(error.message).toBe(
      'DOMAIN: set it to the domain the service is served under, e.g. example.com (HOST = SUBDOMAIN.DOMAIN)',
    );
  });

  it('gcp needs a project', () => {
    const error = configError(() =>
      buildDeployContext({ env: { ...base, CLOUD_PROVIDER: 'gcp', PROJECT_ID: undefined } }),
    );
    expect(error.key).toBe('PROJECT_ID');
  });

  it.each([
    ['CLOUD_PROVIDER', 'azure'],
    ['IMAGE', 'My Image'],
    ['PROJECT_ID', 'Acme'],
    ['DOMAIN', 'exa mple.com'],
    ['SUBDOMAIN', '-bad'],
    ['HELM_NAME', 'Shop_Web'],
    ['DATABASE', 'd'.repeat(64)],
    ['CONTAINER_REGISTRY', 'https://registry.example.com'],
  ])('an invalid %s is a ConfigError naming it', (key, value) => {
    const error = configError(() =>
      buildDeployContext({ env: { ...base, CIRCLE_BRANCH: 'master', [key]: value } }),
    );
    expect(error.code).toBe('E_CONFIG_INVALID');
    expect(error.key).toBe(key);
    expect(error.message).toContain(key);
  });
});

describe('helpers', () => {
  it.each([
    ['web', 'web'],
    ['./chart', 'chart'],
    ['charts/web/', 'web'],
    ['oci://registry.example.com/charts/web', 'web'],
    ['./dist/web-1.2.3.tgz', 'web'],
    ['bitnami/nginx', 'nginx'],
  ])('chartNameOf(%j) is %j', (chart, name) => {
    expect(chartNameOf(chart)).toBe(name);
  });

  it.each([
    [undefined, []],
    ['', []],
    ['staging/app', ['staging/app']],
    ['a,b c\td\n,e', ['a', 'b', 'c', 'd', 'e']],
    ['b,a,b', ['b', 'a', 'b']],
  ])('parseSecretIds(%j) is %j', (value, ids) => {
    expect(parseSecretIds(value)).toEqual(ids);
  });
});
