import { readFileSync } from 'node:fs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfigText } from './config-file.js';
import {
  assertValidConfig,
  configJsonSchema,
  resolveDeployContext,
  validateConfig,
} from './config.js';

const baseEnv = {
  CIRCLE_BRANCH: 'feature/login',
  CIRCLE_SHA1: 'abc1234',
  CIRCLE_PROJECT_REPONAME: 'shop',
};

describe('validateConfig', () => {
  it('accepts every documented setting and the sections', () => {
    const json = {
      $schema: './node_modules/@deploytag/context/deploytag.config.schema.json',
      cloudProvider: 'gcp',
      chart: './charts/web',
      domain: 'example.com',
      secrets: ['staging/app', 'staging/extra'],
      stagingBranches: ['main'],
      previewAll: false,
      $preview: { domain: 'preview.example.com', secrets: 'preview/app' },
      $production: { overrideSecrets: true },
    };
    const { config, errors } = validateConfig(json, 'deploytag.config.json');
    expect(errors).toEqual([]);
    expect(config).toEqual(json);
  });

  it('names the key and the file of every problem', () => {
    const { config, errors } = validateConfig(
      {
        chart: 3,
        cloudProvider: 'azure',
        domian: 'x',
        $preview: { stagingBranches: ['x'], $staging: {} },
        $beta: 'no',
      },
      'deploytag.config.yaml',
    );
    expect(config).toBeUndefined();
    expect(errors).toEqual([
      { file: 'deploytag.config.yaml', key: 'chart', message: 'must be a string, not 3' },
      {
        file: 'deploytag.config.yaml',
        key: 'cloudProvider',
        message: 'must be one of aws, gcp, not "azure"',
      },
      expect.objectContaining({
        key: 'domian',
        message: expect.stringContaining('did you mean') as string,
      }),
      expect.objectContaining({ key: '$preview.stagingBranches' }),
      expect.objectContaining({ key: '$preview.$staging' }),
      expect.objectContaining({ key: '$beta', message: 'must be an object of settings, not "no"' }),
    ]);
  });

  it('rejects a document that is not an object', () => {
    for (const doc of [null, [], 'x', 3]) {
      expect(validateConfig(doc).errors).toHaveLength(1);
    }
  });

  it('assertValidConfig throws one ConfigError with the file and first key', () => {
    try {
      assertValidConfig({ image: [], domain: 1 }, 'deploytag.config.json');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.file).toBe('deploytag.config.json');
      expect(e.key).toBe('image');
      expect(e.message).toContain('deploytag.config.json: image: must be a string');
      expect(e.message).toContain('domain');
    }
  });
});

describe('configJsonSchema', () => {
  it('is the committed deploytag.config.schema.json (run scripts/generate-schema.ts)', () => {
    const committed = JSON.parse(
      readFileSync(new URL('../deploytag.config.schema.json', import.meta.url), 'utf8'),
    ) as unknown;
    expect(committed).toEqual(configJsonSchema());
  });

  it('lists every setting validateConfig accepts, and sections without top-level-only keys', () => {
    const schema = configJsonSchema() as {
      properties: Record<string, { properties?: Record<string, unknown> }>;
    };
    for (const key of Object.keys(schema.properties)) {
      if (key.startsWith('$') && key !== '$schema') continue;
      const value = key === '$schema' ? 'x' : undefined;
      if (value !== undefined) expect(validateConfig({ [key]: value }).errors).toEqual([]);
    }
    expect(Object.keys(schema.properties.$preview?.properties ?? {})).not.toContain('previewAll');
    expect(Object.keys(schema.properties.$preview?.properties ?? {})).toContain('domain');
  });
});

describe('resolveDeployContext', () => {
  const config = assertValidConfig(
    {
      chart: './charts/web',
      domain: 'example.com',
      containerRegistry: 'registry.local:5000',
      secrets: ['shared/app'],
      $preview: { domain: 'preview.example.com', secrets: ['preview/a', 'preview/b'] },
      $staging: { domain: 'staging.example.com' },
    },
    'deploytag.config.json',
  );

  it('applies the section of the kind and records the file as origin', () => {
    const { context, settingOrigins } = resolveDeployContext({
      env: baseEnv,
      config,
      file: 'deploytag.config.json',
    });
    expect(context.kind).toBe('preview');
    expect(context.host).toBe('feature-login-web.preview.example.com');
    expect(context.secretIds).toEqual(['preview/a', 'preview/b']);
    expect(context.origins.domain).toBe('config:deploytag.config.json#$preview');
    expect(context.origins.chart).toBe('config:deploytag.config.json');
    expect(context.origins.registry).toBe('config:deploytag.config.json');
    expect(context.origins.branch).toBe('env:CIRCLE_BRANCH');
    expect(settingOrigins.secrets).toBe('config:deploytag.config.json#$preview');
  });

  it('lets every environment variable override the file', () => {
    const { context } = resolveDeployContext({
      env: { ...baseEnv, CIRCLE_BRANCH: 'master', DOMAIN: 'env.example.com', AWS_SECRETS: 'x' },
      config,
      file: 'deploytag.config.json',
    });
    expect(context.kind).toBe('staging');
    expect(context.host).toBe('web.env.example.com');
    expect(context.origins.domain).toBe('env:DOMAIN');
    expect(context.secretIds).toEqual(['x']);
  });

  it('treats a blank variable as unset, as the original ${VAR:-default}', () => {
    const { context } = resolveDeployContext({
      env: { ...baseEnv, CIRCLE_BRANCH: 'master', DOMAIN: '  ' },
      config,
    });
    expect(context.domain).toBe('staging.example.com');
  });

  it('uses the classification settings of the file', () => {
    const strict = assertValidConfig({
      ...config,
      previewAll: false,
      previewPrefixes: ['feature/'],
    });
    expect(() =>
      resolveDeployContext({ env: { ...baseEnv, CIRCLE_BRANCH: 'wip/x' }, config: strict }),
    ).toThrow(/not deploy/i);
    const mainOnly = assertValidConfig({ ...config, stagingBranches: ['trunk'] });
    const { context } = resolveDeployContext({
      env: { ...baseEnv, CIRCLE_BRANCH: 'trunk' },
      config: mainOnly,
    });
    expect(context.kind).toBe('staging');
  });

  it('works without a file, exactly as buildDeployContext', () => {
    const { context } = resolveDeployContext({
      env: { ...baseEnv, CHART_NAME: 'web', DOMAIN: 'a.io', CONTAINER_REGISTRY: 'r.io' },
    });
    expect(context.release).toBe('feature-login-web');
    expect(context.database).toBe('shop-feature-login');
  });
});

describe('parseConfigText and loadConfigFile', () => {
  it('parses YAML with sections and JSON, naming the file in syntax errors', async () => {
    const yaml = 'chart: web\n$preview:\n  domain: p.example.com\n';
    expect(await parseConfigText(yaml, 'deploytag.config.yaml')).toEqual({
      chart: 'web',
      $preview: { domain: 'p.example.com' },
    });
    await expect(parseConfigText('{', 'deploytag.config.json')).rejects.toThrow(
      /deploytag\.config\.json: not valid JSON/,
    );
    await expect(parseConfigText('a: [', 'deploytag.config.yaml')).rejects.toThrow(
      /deploytag\.config\.yaml: not valid YAML/,
    );
    await expect(parseConfigText('a: 1\na: 2\n', 'deploytag.config.yaml')).rejects.toThrow(/YAML/);
    await expect(parseConfigText('chart: [1]\n', 'c.yaml')).rejects.toThrow(
      /c\.yaml: chart: must be/,
    );
  });

  it('finds the file, refuses two, and needs an explicit file to exist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploytag-config-'));
    expect(await loadConfigFile({ cwd: dir })).toBeUndefined();
    writeFileSync(join(dir, 'deploytag.config.yaml'), 'domain: example.com\n');
    expect(await loadConfigFile({ cwd: dir })).toEqual({
      config: { domain: 'example.com' },
      file: 'deploytag.config.yaml',
    });
    writeFileSync(join(dir, 'deploytag.config.json'), '{"domain":"x.io"}');
    await expect(loadConfigFile({ cwd: dir })).rejects.toThrow(/keep one of them/);
    expect(await loadConfigFile({ cwd: dir, file: 'deploytag.config.json' })).toEqual({
      config: { domain: 'x.io' },
      file: 'deploytag.config.json',
    });
    await expect(loadConfigFile({ cwd: dir, file: 'nope.yaml' })).rejects.toThrow(
      /nope\.yaml does not exist/,
    );
  });
});

describe('deployContextEnv', () => {
  it('lists the variables set_env.sh exported, with origins', async () => {
    const { deployContextEnv } = await import('./exports.js');
    const { context } = resolveDeployContext({
      env: {
        ...baseEnv,
        CHART_NAME: './charts/web',
        DOMAIN: 'example.com',
        CONTAINER_REGISTRY: 'r.io',
        AWS_SECRETS: 'a b',
      },
    });
    const vars = Object.fromEntries(
      deployContextEnv(context).map((v) => [v.name, [v.value, v.origin]]),
    );
    expect(vars).toMatchObject({
      DATABASE: ['shop-feature-login', 'default'],
      HELM_NAME: ['feature-login-web', 'default'],
      HOST: ['feature-login-web.example.com', 'default'],
      URL_HOST: ['https://feature-login-web.example.com', 'default'],
      BASE_IMAGE: ['shop_base', 'default'],
      CLOUD_PROVIDER: ['aws', 'default'],
      DOMAIN: ['example.com', 'env:DOMAIN'],
      AWS_SECRETS: ['a,b', 'env:AWS_SECRETS'],
      DEPLOYTAG_ENVIRONMENT: ['preview', 'default'],
      DEPLOYTAG_NAMESPACE: ['feature-login', 'default'],
    });
    expect(vars).not.toHaveProperty('PROJECT_ID');
  });
});
