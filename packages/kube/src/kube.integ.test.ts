import { randomBytes } from 'node:crypto';
import { statSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { Secret, createLogger } from '@deploytag/core';
import type { LogRecord } from '@deploytag/core';
import { requireEnv } from '@deploytag/harness';
import { KubeConfig, V1MicroTime } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acquireLease,
  applyEnvSecret,
  applyRegistrySecret,
  configK8s,
  createKubeClients,
  ensureNamespace,
  loadKubeConfig,
  planRegistrySecret,
  waitForAddresses,
} from './index.js';
import type { KubeClients } from './index.js';

const run = randomBytes(3).toString('hex');
const ns = `kube-integ-${run}`;
let kube: KubeClients;
const tmp = mkdtempSync(join(tmpdir(), 'kube-integ-'));

beforeAll(async () => {
  kube = createKubeClients(loadKubeConfig({ env: { KUBECONFIG: requireEnv('KUBECONFIG') } }));
  await ensureNamespace(kube, {
    name: ns,
    repo: 'shop',
    kind: 'preview',
    branch: `feature/kube-${run}`,
    now: new Date(),
  });
});

afterAll(async () => {
  await kube.core.deleteNamespace({ name: ns }).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

describe('the environment Secret', () => {
  it('is created, left alone when unchanged (no write), and replaced when a value changes', async () => {
    const spec = {
      namespace: ns,
      name: 'web-env',
      release: 'web',
      data: { A: Secret.of('1'), B: Secret.of('two') },
    };
    const first = await applyEnvSecret(kube, spec);
    expect(first.action).toBe('created');
    const v1 = (await kube.core.readNamespacedSecret({ name: 'web-env', namespace: ns })).metadata
      ?.resourceVersion;
    const second = await applyEnvSecret(kube, {
      ...spec,
      data: { B: Secret.of('two'), A: Secret.of('1') },
    });
    expect(second).toEqual({ checksum: first.checksum, action: 'unchanged' });
    const v2 = (await kube.core.readNamespacedSecret({ name: 'web-env', namespace: ns })).metadata
      ?.resourceVersion;
    expect(v2).toBe(v1);
    const third = await applyEnvSecret(kube, { ...spec, data: { A: Secret.of('1') } });
    expect(third.action).toBe('updated');
    expect(third.checksum).not.toBe(first.checksum);
    const live = await kube.core.readNamespacedSecret({ name: 'web-env', namespace: ns });
    expect(Object.keys(live.data ?? {})).toEqual(['A']);
  });
});

describe('registry pull secrets', () => {
  it('GCP: copies gcrsecret from default and adds it to the default ServiceAccount, idempotently', async () => {
    const source = `gcr-${run}`;
    await kube.core.createNamespacedSecret({
      namespace: 'default',
      body: {
        metadata: { name: source },
        type: 'kubernetes.io/dockerconfigjson',
        data: {
          '.dockerconfigjson': Buffer.from('{"auths":{"gcr.io":{"auth":"eA=="}}}').toString(
            'base64',
          ),
        },
      },
    });
    try {
      const plan = planRegistrySecret({ cloudProvider: 'gcp', namespace: ns, name: source });
      await applyRegistrySecret(kube, plan);
      await applyRegistrySecret(kube, plan);
      const copy = await kube.core.readNamespacedSecret({ name: source, namespace: ns });
      expect(copy.type).toBe('kubernetes.io/dockerconfigjson');
      const sa = await kube.core.readNamespacedServiceAccount({ name: 'default', namespace: ns });
      expect(sa.imagePullSecrets?.filter((r) => r.name === source)).toHaveLength(1);
    } finally {
      await kube.core
        .deleteNamespacedSecret({ name: source, namespace: 'default' })
        .catch(() => undefined);
    }
  });

  it('generic credentials make a dockerconfigjson Secret; a missing GCP source is a clear error', async () => {
    await applyRegistrySecret(
      kube,
      planRegistrySecret({
        cloudProvider: 'aws',
        namespace: ns,
        name: 'pull',
        credentials: { registry: '127.0.0.1:5000', username: 'u', password: Secret.of('pw') },
      }),
    );
    const s = await kube.core.readNamespacedSecret({ name: 'pull', namespace: ns });
    expect(JSON.parse(Buffer.from(s.data!['.dockerconfigjson']!, 'base64').toString())).toEqual({
      auths: { '127.0.0.1:5000': { auth: Buffer.from('u:pw').toString('base64') } },
    });
    await expect(
      applyRegistrySecret(
        kube,
        planRegistrySecret({ cloudProvider: 'gcp', namespace: ns, name: `missing-${run}` }),
      ),
    ).rejects.toThrow(/does not exist in namespace default/);
  });
});

describe('deploy locks (Lease)', () => {
  it('a second holder waits, saying who holds it, and gets it when released', async () => {
    const lines: LogRecord[] = [];
    const logger = createLogger({ level: 'debug', reporter: { write: (r) => lines.push(r) } });
    const first = await acquireLease(kube, {
      namespace: ns,
      name: 'lock-a',
      holder: 'job-1',
      durationSeconds: 30,
    });
    let got = false;
    const second = acquireLease(kube, {
      namespace: ns,
      name: 'lock-a',
      holder: 'job-2',
      pollMs: 200,
      logger,
    }).then((l) => {
      got = true;
      return l;
    });
    await sleep(1500);
    expect(got).toBe(false);
    expect(lines.some((l) => l.message.includes('held by job-1'))).toBe(true);
    await first.release();
    const held = await second;
    expect(held.holder).toBe('job-2');
    const lease = await kube.coordination.readNamespacedLease({ name: 'lock-a', namespace: ns });
    expect(lease.spec?.holderIdentity).toBe('job-2');
    await held.release();
  });

  it('takes over an expired lease, and gives up after its wait limit', async () => {
    await kube.coordination.createNamespacedLease({
      namespace: ns,
      body: {
        metadata: { name: 'lock-b' },
        spec: {
          holderIdentity: 'crashed-job',
          leaseDurationSeconds: 1,
          renewTime: new V1MicroTime(Date.now() - 5000),
        },
      },
    });
    const lines: LogRecord[] = [];
    const logger = createLogger({ level: 'debug', reporter: { write: (r) => lines.push(r) } });
    const held = await acquireLease(kube, {
      namespace: ns,
      name: 'lock-b',
      holder: 'job-3',
      logger,
    });
    expect(
      lines.some(
        (l) =>
          l.level === 'warn' &&
          l.message.includes('took over') &&
          l.message.includes('crashed-job'),
      ),
    ).toBe(true);
    const lease = await kube.coordination.readNamespacedLease({ name: 'lock-b', namespace: ns });
    expect(lease.spec?.leaseTransitions).toBe(1);
    await expect(
      acquireLease(kube, {
        namespace: ns,
        name: 'lock-b',
        holder: 'job-4',
        waitTimeoutMs: 500,
        pollMs: 100,
      }),
    ).rejects.toMatchObject({ code: 'E_KUBE_LOCKED' });
    await expect(
      acquireLease(kube, {
        namespace: ns,
        name: 'lock-b',
        holder: 'job-4',
        waitTimeoutMs: 300,
        pollMs: 100,
      }),
    ).rejects.toThrow('held by job-3');
    await held.release();
  });

  it('renews the lease while held', async () => {
    const held = await acquireLease(kube, {
      namespace: ns,
      name: 'lock-c',
      holder: 'job-5',
      durationSeconds: 3,
    });
    const before = (await kube.coordination.readNamespacedLease({ name: 'lock-c', namespace: ns }))
      .spec?.renewTime;
    await sleep(2500);
    const after = (await kube.coordination.readNamespacedLease({ name: 'lock-c', namespace: ns }))
      .spec?.renewTime;
    expect(new Date(String(after)).getTime()).toBeGreaterThan(new Date(String(before)).getTime());
    await held.release();
  });
});

describe('addresses', () => {
  it('waits for the LoadBalancer address the cloud assigns', async () => {
    await kube.core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'web', annotations: { 'meta.helm.sh/release-name': 'web' } },
        spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80 }] },
      },
    });
    const addresses = await waitForAddresses(kube, {
      namespace: ns,
      release: 'web',
      timeoutMs: 60_000,
    });
    expect(addresses.loadBalancers[0]?.address).toMatch(/^127\.0\.\d+\.\d+$/);
    expect(addresses.pending).toEqual([]);
  });
});

describe('EKS kubeconfig against moto', () => {
  it('config-k8s writes a 0600 kubeconfig with the endpoint, CA and a token from DescribeCluster', async () => {
    const eks = new EKSClient({ region: requireEnv('AWS_DEFAULT_REGION') });
    const name = `deploytag-${run}`;
    const created = await eks.send(
      new CreateClusterCommand({
        name,
        roleArn: 'arn:aws:iam::123456789012:role/eks',
        resourcesVpcConfig: { subnetIds: ['subnet-1'] },
      }),
    );
    const path = join(tmp, 'nested', 'kubeconfig');
    const result = await configK8s({
      env: {
        CLOUD_PROVIDER: 'aws',
        AWS_DEFAULT_REGION: requireEnv('AWS_DEFAULT_REGION'),
        AWS_CLUSTER_NAME: name,
      },
      output: path,
      eks,
    });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const endpoint = created.cluster?.endpoint?.replace(/\/$/, '');
    expect(result.server.replace(/\/$/, '')).toBe(endpoint);
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    expect(kc.getCurrentCluster()?.server).toBe(endpoint);
    expect(kc.getCurrentCluster()?.caData).toBe(created.cluster?.certificateAuthority?.data);
    const token = kc.getCurrentUser()?.token ?? '';
    const url = new URL(Buffer.from(token.replace(/^k8s-aws-v1\./, ''), 'base64url').toString());
    expect(url.host).toBe(`sts.${requireEnv('AWS_DEFAULT_REGION')}.amazonaws.com`);
    expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(
      new RegExp(`^${requireEnv('AWS_ACCESS_KEY_ID')}/`),
    );
    await expect(
      configK8s({
        env: { AWS_DEFAULT_REGION: 'us-east-1', AWS_CLUSTER_NAME: `missing-${run}` },
        output: path,
        eks,
      }),
    ).rejects.toMatchObject({ code: 'E_KUBE_CLOUD' });
    await expect(configK8s({ env: { CLOUD_PROVIDER: 'aws' }, output: path })).rejects.toThrow(
      /AWS_DEFAULT_REGION, AWS_CLUSTER_NAME/,
    );
    eks.destroy();
  });
});
