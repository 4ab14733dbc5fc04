import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureStream } from '../test-support.js';
import { Redactor } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { authCommand } from './auth.js';
import { awsSecretsCommand } from './aws-secrets.js';
import { configYamlCommand } from './config-yaml.js';
import { setEnvCommand } from './set-env.js';

async function run(argv: string[], env: NodeJS.ProcessEnv, cwd: string) {
  const stdout = captureStream();
  const stderr = captureStream();
  const code = await main(argv, {
    stdout,
    stderr,
    env,
    cwd,
    redactor: new Redactor(),
    commands: [setEnvCommand, awsSecretsCommand, authCommand, configYamlCommand] as never,
  });
  return { code, out: stdout.text(), err: stderr.text() };
}

const ci = {
  PATH: process.env.PATH,
  CIRCLE_BRANCH: 'feature/login',
  CIRCLE_SHA1: 'abc1234',
  CIRCLE_PROJECT_REPONAME: 'shop',
  CONTAINER_REGISTRY: 'registry.local',
};

describe('deploytag set-env (no secrets)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deploytag-set-env-'));
  writeFileSync(
    join(dir, 'deploytag.config.yaml'),
    'chart: ./charts/web\ndomain: example.com\n$preview:\n  domain: preview.example.com\n',
  );

  it('prints export lines from config + CI env', async () => {
    const r = await run(['set-env'], ci, dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain("export DATABASE='shop-feature-login'\n");
    expect(r.out).toContain("export HELM_NAME='feature-login-web'\n");
    expect(r.out).toContain("export HOST='feature-login-web.preview.example.com'\n");
    expect(r.out).toContain("export K8S_DEPLOY_ENV_SET='true'\n");
  });

  it('prints nothing when K8S_DEPLOY_ENV_SET is set, unless --force', async () => {
    const r = await run(['set-env'], { ...ci, K8S_DEPLOY_ENV_SET: 'true' }, dir);
    expect(r).toMatchObject({ code: 0, out: '' });
    expect(
      (await run(['set-env', '--force'], { ...ci, K8S_DEPLOY_ENV_SET: 'true' }, dir)).out,
    ).toContain('HOST');
  });

  it('explains origins, json and dotenv formats', async () => {
    const explain = await run(['set-env', '--explain'], { ...ci, DOMAIN: 'env.io' }, dir);
    expect(explain.out).toContain('DOMAIN=env.io  # env:DOMAIN');
    expect(explain.out).toContain('CHART_NAME=./charts/web  # config:deploytag.config.yaml');
    expect(explain.out).toContain('CONTAINER_REGISTRY=registry.local  # env:CONTAINER_REGISTRY');
    const json = await run(['set-env', '--format', 'json'], ci, dir);
    expect(JSON.parse(json.out)).toMatchObject({ DATABASE: 'shop-feature-login' });
    const dotenv = await run(['set-env', '--format', 'dotenv', '--branch', 'bug/x'], ci, dir);
    expect(dotenv.out).toContain('HELM_NAME=bug-x-web\n');
    expect((await run(['set-env', '--format', 'xml'], ci, dir)).code).toBe(2);
  });

  it('exits 2 naming the missing setting, 3 for an undeployable branch, printing nothing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'deploytag-set-env-'));
    const missing = await run(['set-env'], ci, empty);
    expect(missing).toMatchObject({ code: 2, out: '' });
    expect(missing.err).toMatch(/CHART_NAME/);
    writeFileSync(
      join(empty, 'deploytag.config.json'),
      '{"chart":"web","domain":"a.io","previewAll":false}',
    );
    const none = await run(['set-env', '--branch', 'wip/x'], ci, empty);
    expect(none).toMatchObject({ code: 3, out: '' });
    writeFileSync(join(empty, 'deploytag.config.json'), '{"chart":1}');
    const bad = await run(['set-env'], ci, empty);
    expect(bad).toMatchObject({ code: 2, out: '' });
    expect(bad.err).toContain('deploytag.config.json: chart: must be a string');
  });
});

describe('deploytag config-yaml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deploytag-config-yaml-'));
  writeFileSync(
    join(dir, 'database.yml'),
    'staging:\n  url: postgres://$DB_USER@${DB_HOST}/app\nproduction:\n  url: x\n',
  );

  it('prints one section with variables substituted', async () => {
    const r = await run(
      ['config-yaml', 'database.yml', '-e', 'staging'],
      { DB_USER: 'u', DB_HOST: 'h' },
      dir,
    );
    expect(r).toMatchObject({ code: 0, out: 'url: postgres://u@h/app\n' });
  });

  it('warns about missing variables, fails with --strict naming them', async () => {
    const loose = await run(['config-yaml', 'database.yml'], { DB_USER: 'u' }, dir);
    expect(loose.code).toBe(0);
    expect(loose.err).toContain('DB_HOST');
    const strict = await run(['config-yaml', 'database.yml', '--strict'], { DB_USER: 'u' }, dir);
    expect(strict).toMatchObject({ code: 2, out: '' });
    expect(strict.err).toContain('DB_HOST is referenced in database.yml but not set');
    expect((await run(['config-yaml', 'nope.yml'], {}, dir)).err).toContain('cannot read nope.yml');
  });
});

describe('deploytag auth --provider gcp and the AWS variable check', () => {
  const key = {
    type: 'service_account',
    project_id: 'proj-1',
    private_key_id: 'abc',
    private_key: '-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\n',
    client_email: 'deploy@proj-1.iam.gserviceaccount.com',
    token_uri: 'https://oauth2.googleapis.com/token',
  };

  it('writes the key with mode 0600 and prints the export', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploytag-auth-'));
    const base64 = Buffer.from(JSON.stringify(key)).toString('base64');
    const r = await run(
      ['auth', '--provider', 'gcp', '--key-file', 'k/key.json'],
      { GCLOUD_SERVICE_KEY_BASE64: base64 },
      dir,
    );
    expect(r.code).toBe(0);
    const path = join(dir, 'k/key.json');
    expect(r.out).toBe(`export GOOGLE_APPLICATION_CREDENTIALS='${path}'\n`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(key);
    expect(r.err).toContain('deploy@proj-1.iam.gserviceaccount.com');
    expect(r.err).not.toContain('MIIEv');
  });

  it('names what is wrong with a key, never its content', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploytag-auth-'));
    const r1 = await run(
      ['auth'],
      {
        CLOUD_PROVIDER: 'gcp',
        GCLOUD_SERVICE_KEY: JSON.stringify({ ...key, private_key: undefined }),
      },
      dir,
    );
    expect(r1).toMatchObject({ code: 2, out: '' });
    expect(r1.err).toContain('GCLOUD_SERVICE_KEY is missing private_key');
    const r2 = await run(
      ['auth', '--provider', 'gcp'],
      { GCLOUD_SERVICE_KEY: '{"private_key": "MIIEv' },
      dir,
    );
    expect(r2.err).toContain('GCLOUD_SERVICE_KEY is not valid JSON');
    expect(r2.err).not.toContain('MIIEv');
    const r3 = await run(['auth', '--provider', 'gcp'], {}, dir);
    expect(r3.err).toContain('GCLOUD_SERVICE_KEY is not set');
  });

  it('names every missing AWS variable (the original never failed for a missing key id)', async () => {
    const r = await run(['auth'], { AWS_SECRET_ACCESS_KEY: 'x' }, tmpdir());
    expect(r).toMatchObject({ code: 2, out: '' });
    expect(r.err).toContain('AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID are not set');
  });
});
