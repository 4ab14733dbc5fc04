import { Secret } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import type { ChartFacts } from './chart.js';
import { planDeploy } from './deploy.js';
import type { DeployFacts } from './deploy.js';

const context = (over: Partial<DeployFacts> = {}): DeployFacts => ({
  kind: 'preview',
  namespace: 'feature-x',
  release: 'feature-x-web',
  host: 'feature-x-web.example.com',
  url: 'https://feature-x-web.example.com',
  sha: 'abc',
  repo: 'shop',
  branch: 'feature/x',
  cloudProvider: 'gcp',
  helmVars: undefined,
  image: { shaTag: 'abc' },
  ...over,
});
const chart: ChartFacts = {
  ref: '/charts/web',
  local: true,
  kindValues: {
    preview: '/charts/web/values-preview.yaml',
    staging: '/charts/web/values-staging.yaml',
  },
  hasDependencies: true,
  digest: 'c'.repeat(64),
};

describe('planDeploy', () => {
  it("merges the caller's values over the generated ones, and they change the digest", () => {
    const plain = planDeploy({ context: context(), chart });
    const plan = planDeploy({
      context: context(),
      chart,
      values: { image: { repository: 'registry.test/shop/web' } },
    });
    expect(plan.values).toMatchObject({
      image: { repository: 'registry.test/shop/web', tag: 'abc' },
    });
    expect(plan.digest).not.toBe(plain.digest);
  });

  it('plans a preview: branch namespace, pull secret, env Secret, values in order, digest', () => {
    const plan = planDeploy({
      context: context({ helmVars: '--set replicas=$N -f extra.yaml' }),
      chart,
      appEnv: { B: Secret.of('2'), A: Secret.of('1') },
      env: { N: '3' },
      helmVarsFileContents: { 'extra.yaml': 'x: 1' },
    });
    expect(plan).toMatchObject({
      namespace: 'feature-x',
      branchNamespace: true,
      release: 'feature-x-web',
      chart: '/charts/web',
      dependencyBuild: true,
      pullSecret: { kind: 'copy', name: 'gcrsecret', from: 'default', namespace: 'feature-x' },
      envSecret: { name: 'feature-x-web-env', keys: ['A', 'B'] },
      valuesFiles: { before: ['/charts/web/values-preview.yaml'], after: ['extra.yaml'] },
      setValues: { replicas: 3 },
      missingVariables: [],
    });
    expect(plan.values).toMatchObject({
      image: { tag: 'abc' },
      envSecret: { name: 'feature-x-web-env', checksum: plan.envSecret?.checksum },
    });
    expect(plan.digest).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(plan)).not.toMatch(/"1"|"2"/);
  });

  it('keeps staging in its namespace without pull secret, and reports unset HELM_VARS names', () => {
    const plan = planDeploy({
      context: context({
        kind: 'staging',
        namespace: 'default',
        release: 'web',
        helmVars: 'a=$MISSING',
      }),
      chart,
    });
    expect(plan.branchNamespace).toBe(false);
    expect(plan.pullSecret.kind).toBe('none');
    expect(plan.envSecret).toBeUndefined();
    expect(plan.valuesFiles.before).toEqual(['/charts/web/values-staging.yaml']);
    expect(plan.missingVariables).toEqual(['MISSING']);
  });

  it('changes the digest with any input that changes what helm would apply, and only then', () => {
    const base = { context: context(), chart, appEnv: { A: Secret.of('1') } };
    const digest = planDeploy(base).digest;
    expect(planDeploy({ ...base, appEnv: { A: Secret.of('1') } }).digest).toBe(digest);
    expect(planDeploy({ ...base, appEnv: { A: Secret.of('2') } }).digest).not.toBe(digest);
    expect(planDeploy({ ...base, context: context({ image: { shaTag: 'def' } }) }).digest).not.toBe(
      digest,
    );
    expect(planDeploy({ ...base, chart: { ...chart, digest: 'd'.repeat(64) } }).digest).not.toBe(
      digest,
    );
    expect(planDeploy({ ...base, context: context({ helmVars: 'a=1' }) }).digest).not.toBe(digest);
    expect(planDeploy({ ...base, options: { atomic: true } }).digest).not.toBe(digest);
    expect(planDeploy({ ...base, chart: { ...chart, digest: undefined } }).digest).toBeUndefined();
  });

  it('rejects HELM_VARS flags it cannot honour', () => {
    expect(() => planDeploy({ context: context({ helmVars: '--force' }), chart })).toThrow(
      /only --set/,
    );
  });
});
