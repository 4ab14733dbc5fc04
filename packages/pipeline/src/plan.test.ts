import { buildDeployContext } from '@deploytag/context';
import type { BuildPlan, ImagePlan } from '@deploytag/image';
import { describe, expect, it } from 'vitest';
import { planPush } from './plan.js';
import type { PushFacts } from './plan.js';
import { orderSteps } from './steps.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const env = {
  CIRCLE_SHA1: SHA,
  CIRCLE_PROJECT_REPONAME: 'shop',
  CIRCLE_BRANCH: 'feature/login',
  CHART_NAME: 'web',
  DOMAIN: 'example.com',
  CONTAINER_REGISTRY: 'registry.test',
  PROJECT_ID: 'acme',
  IMAGE: 'shop',
};

function image(action: ImagePlan['action'], repository: string): ImagePlan {
  return {
    action,
    reasons: action === 'none' ? ['no Dockerfile.base'] : [`because ${action}`],
    repository,
    contentTag: `content-${action}`,
    tags: [`content-${action}`, SHA],
    tagsToWrite: action === 'up-to-date' ? [] : [SHA, 'feature-login'],
  };
}

function build(base: ImagePlan['action'], app: ImagePlan['action']): BuildPlan {
  return {
    base: image(base, 'registry.test/acme/shop_base'),
    baseTag: 'feature-login',
    baseImageRef: 'registry.test/acme/shop_base:feature-login',
    app: image(app, 'registry.test/acme/shop'),
    dockerfile: 'FROM x',
    dockerfilePath: 'Dockerfile',
    baseDockerfilePath: 'Dockerfile.base',
    buildArgs: {},
    warnings: [],
  };
}

function facts(over: Partial<PushFacts> = {}, extraEnv: Record<string, string> = {}): PushFacts {
  return {
    context: buildDeployContext({ env: { ...env, ...extraEnv } }),
    testCommand: 'npm test',
    build: build('build', 'build'),
    database: { migrations: 'migrations' },
    ...over,
  };
}

const byId = (steps: ReturnType<typeof planPush>) => new Map(steps.map((s) => [s.id, s]));

describe('planPush', () => {
  it('orders the steps as the seed does and lets independent ones run at once', () => {
    const steps = planPush(facts({}, { AWS_SECRETS: 'shop/preview' }));
    expect(steps.map((s) => [s.id, s.needs])).toEqual([
      ['tests', []],
      ['secrets', []],
      ['base-image', []],
      ['app-image', ['base-image', 'tests']],
      ['database', ['secrets', 'tests']],
      ['deploy', ['app-image', 'database', 'secrets']],
      ['dns', ['deploy']],
    ]);
    expect(steps.filter((s) => s.skip !== undefined).map((s) => s.id)).toEqual(['dns']);
    // A valid graph for the executor: no cycle, every need names a step.
    const order = orderSteps(steps.map((s) => ({ ...s, run: () => Promise.resolve({}) })));
    expect(order.at(-1)?.id).toBe('dns');
  });

  it('says what each step would do and why', () => {
    const steps = byId(planPush(facts({}, { AWS_SECRETS: 'shop/common,shop/preview' })));
    expect(steps.get('tests')?.plan).toBe('run npm test');
    expect(steps.get('secrets')?.plan).toMatch(/read shop\/common, shop\/preview/);
    expect(steps.get('base-image')?.plan).toBe('build base image content-build (because build)');
    expect(steps.get('app-image')?.plan).toMatch(
      /^build app image content-build .*; FROM registry.test\/acme\/shop_base:feature-login$/,
    );
    expect(steps.get('database')?.plan).toBe(
      'create shop-feature-login if missing, then migrate (knex migrations in migrations)',
    );
    expect(steps.get('deploy')?.plan).toBe(
      `helm upgrade --install feature-login-web web in namespace feature-login (created if missing), image tag ${SHA}; then wait for https://feature-login-web.example.com`,
    );
  });

  it('an unchanged commit: both images up to date, the database only migrated', () => {
    const steps = byId(
      planPush(
        facts({
          build: build('up-to-date', 'up-to-date'),
          databaseState: { mode: 'migrate', steps: ['migrate'] },
        }),
      ),
    );
    expect(steps.get('base-image')?.plan).toBe(
      'base image up to date: tag content-up-to-date exists',
    );
    expect(steps.get('app-image')?.plan).toMatch(
      /^app image up to date: tag content-up-to-date exists/,
    );
    expect(steps.get('database')?.plan).toBe(
      'shop-feature-login exists: migrate (knex migrations in migrations): migrate',
    );
  });

  it('a re-tag names the tags it would write, and never says build', () => {
    const steps = byId(planPush(facts({ build: build('up-to-date', 'retag') })));
    expect(steps.get('app-image')?.plan).toMatch(
      new RegExp(
        `^app image content tag content-retag exists: tag it ${SHA}, feature-login \\(no build\\)`,
      ),
    );
  });

  it('skips what the project does not have, saying why', () => {
    const steps = byId(
      planPush(facts({ testCommand: undefined, build: undefined, database: undefined })),
    );
    expect(steps.get('tests')?.skip).toBe('no test command');
    expect(steps.get('secrets')?.skip).toBe('no AWS_SECRETS');
    expect(steps.get('base-image')?.skip).toBe('no Dockerfile');
    expect(steps.get('app-image')?.skip).toBe('no Dockerfile');
    expect(steps.get('database')?.skip).toBe('no database configured');
    expect(steps.get('deploy')?.skip).toBeUndefined();
    expect(steps.get('dns')?.skip).toBe('no DNS configured');
  });

  it('points the configured names at the load balancer after the deploy', () => {
    const steps = byId(
      planPush(
        facts({
          dns: {
            provider: 'route53',
            zone: 'example.com',
            names: ['feature-login-app.example.com'],
          },
        }),
      ),
    );
    expect(steps.get('dns')).toMatchObject({
      needs: ['deploy'],
      plan: 'point feature-login-app.example.com at the load balancer (route53, zone example.com)',
    });
    expect(steps.get('dns')?.skip).toBeUndefined();
  });

  it('a project without Dockerfile.base still builds its app image', () => {
    const steps = byId(planPush(facts({ build: build('none', 'build') })));
    expect(steps.get('base-image')?.skip).toBe('no Dockerfile.base');
    expect(steps.get('app-image')?.skip).toBeUndefined();
  });

  it('reports a database server it could not ask, without failing the plan', () => {
    const steps = byId(
      planPush(facts({ databaseState: { unknown: 'server not asked (ECONNREFUSED)' } })),
    );
    expect(steps.get('database')?.plan).toMatch(
      /then migrate .*; server not asked \(ECONNREFUSED\)$/,
    );
  });

  it('staging deploys into the shared namespace', () => {
    const steps = byId(planPush(facts({}, { CIRCLE_BRANCH: 'master' })));
    expect(steps.get('deploy')?.plan).toMatch(
      /^helm upgrade --install web web in namespace default, /,
    );
  });
});
