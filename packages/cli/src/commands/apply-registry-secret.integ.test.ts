/**
 * `deploytag apply-registry-secret` in process against the kwok cluster: GCP copies the pull
 * secret into the branch's namespace and its default ServiceAccount, AWS does nothing, explicit
 * credentials make a dockerconfigjson Secret whose password is never printed.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { namespaceName } from '@deploytag/context';
import { Redactor } from '@deploytag/core';
import { requireEnv } from '@deploytag/harness';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureStream } from '../test-support.js';

const run = randomBytes(3).toString('hex');
/** The source pull secret in `default`: a unique name, so parallel runs never share it. */
const pullSecret = `gcr-cli-${run}`;
const password = `registry-pw-${run}-value`;
const branchEnv = {
  CIRCLE_BRANCH: `feature/cli-pull-${run}`,
  CIRCLE_SHA1: `${run}${'c'.repeat(34)}`,
  CIRCLE_PROJECT_REPONAME: 'shop',
};
const branchNamespace = namespaceName(branchEnv.CIRCLE_BRANCH);
const namespaces = [branchNamespace, `cli-pull-aws-${run}`, `cli-pull-creds-${run}`];
let core: CoreV1Api;

async function cli(argv: string[], extra: NodeJS.ProcessEnv = {}) {
  const stdout = captureStream();
  const stderr = captureStream();
  const env = { PATH: process.env.PATH, KUBECONFIG: requireEnv('KUBECONFIG'), ...extra };
  const code = await main(argv, { stdout, stderr, env, cwd: tmpdir(), redactor: new Redactor() });
  return { code, out: stdout.text(), err: stderr.text() };
}

async function pullSecretsOf(namespace: string): Promise<string[]> {
  const sa = await core.readNamespacedServiceAccount({ name: 'default', namespace });
  return (sa.imagePullSecrets ?? []).map((r) => r.name ?? '');
}

beforeAll(async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(requireEnv('KUBECONFIG'));
  core = kc.makeApiClient(CoreV1Api);
  for (const name of namespaces) await core.createNamespace({ body: { metadata: { name } } });
  await core.createNamespacedSecret({
    namespace: 'default',
    body: {
      metadata: { name: pullSecret },
      type: 'kubernetes.io/dockerconfigjson',
      data: {
        '.dockerconfigjson': Buffer.from('{"auths":{"gcr.io":{"auth":"eDp5"}}}').toString('base64'),
      },
    },
  });
});

afterAll(async () => {
  await core
    .deleteNamespacedSecret({ name: pullSecret, namespace: 'default' })
    .catch(() => undefined);
  for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => undefined);
});

describe('deploytag apply-registry-secret (kwok cluster)', () => {
  it("GCP: copies the pull secret into the branch's namespace and its default ServiceAccount, once", async () => {
    const env = { ...branchEnv, CLOUD_PROVIDER: 'gcp' };
    const first = await cli(['apply-registry-secret', '--name', pullSecret], env);
    expect(first).toMatchObject({ code: 0, out: `pull secret applied in ${branchNamespace}\n` });
    const copy = await core.readNamespacedSecret({ name: pullSecret, namespace: branchNamespace });
    const source = await core.readNamespacedSecret({ name: pullSecret, namespace: 'default' });
    expect(copy.type).toBe('kubernetes.io/dockerconfigjson');
    expect(copy.data).toEqual(source.data);
    expect(await pullSecretsOf(branchNamespace)).toEqual([pullSecret]);
    // Idempotent: a second run adds no second reference.
    const second = await cli(['apply-registry-secret', '--name', pullSecret], env);
    expect(second.code).toBe(0);
    expect(await pullSecretsOf(branchNamespace)).toEqual([pullSecret]);
  });

  it('GCP: a missing source secret fails with one line that says how to create it', async () => {
    const r = await cli(
      ['apply-registry-secret', '-n', namespaces[1]!, '--name', `absent-${run}`],
      { CLOUD_PROVIDER: 'gcp' },
    );
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(
      `error: the pull secret absent-${run} does not exist in namespace default; create it there (kubectl create secret docker-registry absent-${run} -n default …) or give registry credentials\n`,
    );
  });

  it('AWS: nothing to do, and nothing is written', async () => {
    const namespace = namespaces[1]!;
    const r = await cli(['apply-registry-secret', '-n', namespace, '--name', pullSecret], {
      CLOUD_PROVIDER: 'aws',
    });
    expect(r).toMatchObject({
      code: 0,
      out: 'nothing to do: on AWS the nodes pull from ECR themselves\n',
    });
    const secrets = await core.listNamespacedSecret({ namespace });
    expect(secrets.items.map((s) => s.metadata?.name)).not.toContain(pullSecret);
  });

  it('credentials: a dockerconfigjson Secret from DEPLOYTAG_REGISTRY_PASSWORD, never printed', async () => {
    const namespace = namespaces[2]!;
    const argv = [
      'apply-registry-secret',
      '-n',
      namespace,
      '--name',
      'pull',
      '--registry',
      '127.0.0.1:5000',
      '--username',
      'bot',
    ];
    const r = await cli([...argv, '--json', '--verbose'], {
      DEPLOYTAG_REGISTRY_PASSWORD: password,
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ namespace, action: 'credentials' });
    expect(r.out + r.err).not.toContain(password);
    const secret = await core.readNamespacedSecret({ name: 'pull', namespace });
    const config = JSON.parse(
      Buffer.from(secret.data?.['.dockerconfigjson'] ?? '', 'base64').toString(),
    ) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(config.auths['127.0.0.1:5000']?.auth ?? '', 'base64').toString()).toBe(
      `bot:${password}`,
    );
    expect(await pullSecretsOf(namespace)).toEqual(['pull']);
    // Without the password it is a usage error, before anything is written.
    const missing = await cli(argv);
    expect(missing.code).toBe(2);
    expect(missing.err).toBe(
      'error: --registry needs --username and the password in DEPLOYTAG_REGISTRY_PASSWORD\n',
    );
  });

  it('an unknown CLOUD_PROVIDER is a configuration error (exit 2), also with --namespace', async () => {
    const r = await cli(['apply-registry-secret', '-n', namespaces[1]!], {
      CLOUD_PROVIDER: 'azure',
    });
    expect(r.code).toBe(2);
    expect(r.err).toBe('error: CLOUD_PROVIDER must be aws or gcp, not "azure"\n');
  });
});
