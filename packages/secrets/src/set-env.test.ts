import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import { SecretsError } from './errors.js';
import { computeSetEnv, explainSetEnv } from './set-env.js';
import type { SecretsSource } from './source.js';

/** An in-memory source (unit tests only). */
function memory(
  secrets: Record<string, Record<string, string>>,
): SecretsSource & { asked: string[][] } {
  const asked: string[][] = [];
  return {
    name: 'memory',
    asked,
    fetch(ids) {
      asked.push([...ids]);
      const missing = ids.filter((id) => !(id in secrets));
      if (missing.length > 0) {
        return Promise.reject(
          new SecretsError('E_SECRET_NOT_FOUND', `missing ${missing.join(', ')}`),
        );
      }
      return Promise.resolve(
        ids.map((id) => ({
          id,
          entries: Object.entries(secrets[id] ?? {}).map(([name, value]) => ({
            name,
            value: Secret.of(value),
          })),
        })),
      );
    },
  };
}

const cwd = mkdtempSync(join(tmpdir(), 'deploytag-set-env-unit-'));
const env = {
  CIRCLE_BRANCH: 'feature/login',
  CIRCLE_SHA1: 'abc1234',
  CIRCLE_PROJECT_REPONAME: 'shop',
  CHART_NAME: './charts/web',
  DOMAIN: 'example.com',
  CONTAINER_REGISTRY: 'registry.local',
  AWS_SECRETS: 'app, extra',
  ALREADY: 'mine',
};
const store = {
  app: { DATABASE: 'from-secret', API_KEY: 'k1', ALREADY: 'secret', SHARED: 'app' },
  extra: { SHARED: 'extra' },
};

describe('computeSetEnv', () => {
  it('exports the context, then the secrets; context and set variables win, later ids win', async () => {
    const source = memory(store);
    const result = await computeSetEnv({ env, cwd, source: () => source });
    if (result.skipped) throw new Error('skipped');
    const values = Object.fromEntries(
      result.variables.map((v) => [
        v.name,
        [Secret.isSecret(v.value) ? v.value.reveal() : v.value, v.origin],
      ]),
    );
    expect(source.asked).toEqual([['app', 'extra']]);
    expect(values).toMatchObject({
      DATABASE: ['shop-feature-login', 'default'],
      API_KEY: ['k1', 'secret:app'],
      ALREADY: ['mine', 'env:ALREADY'],
      SHARED: ['extra', 'secret:extra'],
      K8S_DEPLOY_ENV_SET: ['true', 'default'],
    });
    expect(result.variables.at(-1)?.name).toBe('K8S_DEPLOY_ENV_SET');
    expect(result.collisions).toEqual([{ name: 'SHARED', ids: ['app', 'extra'] }]);
    expect(result.kept.sort()).toEqual(['ALREADY', 'DATABASE']);
    const explained = explainSetEnv(result);
    expect(explained).toContain('API_KEY=***  # secret:app');
    expect(explained).toContain('# branch: feature/login  # env:CIRCLE_BRANCH');
    expect(explained).not.toContain('k1');
  });

  it('lets secrets win with override', async () => {
    const result = await computeSetEnv({ env, cwd, override: true, source: () => memory(store) });
    if (result.skipped) throw new Error('skipped');
    const get = (name: string) => result.variables.find((v) => v.name === name)?.value;
    expect((get('DATABASE') as Secret).reveal()).toBe('from-secret');
    expect((get('ALREADY') as Secret).reveal()).toBe('secret');
  });

  it('is idempotent with K8S_DEPLOY_ENV_SET unless forced, and can skip secrets', async () => {
    const source = memory(store);
    expect(
      await computeSetEnv({
        env: { ...env, K8S_DEPLOY_ENV_SET: 'true' },
        cwd,
        source: () => source,
      }),
    ).toEqual({ skipped: true });
    const forced = await computeSetEnv({
      env: { ...env, K8S_DEPLOY_ENV_SET: 'true' },
      cwd,
      force: true,
      secrets: false,
      source: () => source,
    });
    expect(forced.skipped).toBe(false);
    expect(source.asked).toEqual([]);
  });

  it('returns nothing when a secret cannot be read', async () => {
    await expect(
      computeSetEnv({ env: { ...env, AWS_SECRETS: 'app,nope' }, cwd, source: () => memory(store) }),
    ).rejects.toThrow(/missing nope/);
  });
});
