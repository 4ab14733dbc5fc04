import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireEnv } from '../test-env.js';

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(
    `timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
  );
}

describe('kube component: a real control plane with kwok nodes', () => {
  const kc = new KubeConfig();
  let core: CoreV1Api;
  let apps: AppsV1Api;
  const ns = `harness-kube-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    kc.loadFromFile(requireEnv('KUBECONFIG'));
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
  });

  afterAll(async () => {
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('serves the stamped Kubernetes version', async () => {
    const v = await kc.makeApiClient(VersionApi).getCode();
    expect(v.gitVersion).toBe(requireEnv('DEPLOYTAG_KUBE_VERSION'));
    expect(Number(v.minor)).toBeGreaterThanOrEqual(30);
  });

  it('has a Ready fake node', async () => {
    const nodes = await core.listNode();
    const ready = nodes.items.filter((n) =>
      n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    expect(ready.length).toBeGreaterThanOrEqual(1);
  });

  it('rolls a Deployment out until its pods are Ready', async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              containers: [
                { name: 'web', image: 'registry.local/web:1', ports: [{ containerPort: 8080 }] },
              ],
            },
          },
        },
      },
    });
    const ready = await until('deployment ready', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
      return d.status?.readyReplicas === 2 ? d : undefined;
    });
    expect(ready.status?.availableReplicas).toBe(2);
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
    expect(pods.items.every((p) => p.status?.phase === 'Running' && p.spec?.nodeName)).toBe(true);
  });

  it('gives a LoadBalancer Service an address, as a cloud would', async () => {
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          type: 'LoadBalancer',
          selector: { app: 'web' },
          ports: [{ port: 80, targetPort: 8080 }],
        },
      },
    });
    const ip = await until('load balancer address', async () => {
      const s = await core.readNamespacedService({ name: 'web', namespace: ns });
      return s.status?.loadBalancer?.ingress?.[0]?.ip;
    });
    expect(ip).toMatch(/^127\.0\.\d+\.\d+$/);
  });

  it('reports ImagePullBackOff for an image that cannot be pulled, and never Ready', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'broken' },
        spec: { containers: [{ name: 'app', image: 'registry.local/does-not-exist:1' }] },
      },
    });
    const reason = await until('image pull back-off', async () => {
      const p = await core.readNamespacedPod({ name: 'broken', namespace: ns });
      return p.status?.containerStatuses?.[0]?.state?.waiting?.reason;
    });
    expect(reason).toBe('ImagePullBackOff');
    await sleep(2000);
    const p = await core.readNamespacedPod({ name: 'broken', namespace: ns });
    expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
  });
});
