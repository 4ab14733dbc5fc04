import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PortForward,
  VersionApi,
} from '@kubernetes/client-node';
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

  describe('pods/portforward through kwok (the kubelet endpoint of the fake node)', () => {
    let echo: Server;
    // kwok keeps its side of a tunnel open until the target closes it: close them ourselves.
    const echoSockets = new Set<Socket>();
    let objects: CustomObjectsApi;
    const [group, version] = requireEnv('DEPLOYTAG_KWOK_API_VERSION').split('/') as [
      string,
      string,
    ];
    const rule = `${ns}-echo`;

    beforeAll(async () => {
      objects = kc.makeApiClient(CustomObjectsApi);
      // The real TCP service the pod's port 7000 leads to: it answers every chunk in upper case.
      echo = createServer((socket) => {
        echoSockets.add(socket);
        socket.on('close', () => echoSockets.delete(socket));
        socket.on('data', (chunk: Buffer) => socket.write(chunk.toString().toUpperCase()));
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
      await objects.createClusterCustomObject({
        group,
        version,
        plural: 'clusterportforwards',
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'ClusterPortForward',
          metadata: { name: rule },
          spec: {
            selector: { matchNamespaces: [ns] },
            forwards: [
              {
                ports: [7000],
                target: { address: '127.0.0.1', port: (echo.address() as AddressInfo).port },
              },
            ],
          },
        },
      });
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: 'echo' },
          spec: { containers: [{ name: 'echo', image: 'registry.local/echo:1' }] },
        },
      });
      await until('echo pod running', async () => {
        const p = await core.readNamespacedPod({ name: 'echo', namespace: ns });
        return p.status?.phase === 'Running' ? p : undefined;
      });
    });

    afterAll(async () => {
      await objects
        .deleteClusterCustomObject({ group, version, plural: 'clusterportforwards', name: rule })
        .catch(() => undefined);
      for (const socket of echoSockets) socket.destroy();
      await new Promise((resolve) => echo.close(resolve));
    });

    it('registers the node at 127.0.0.1 with kwok as its kubelet', async () => {
      const node = await core.readNode({ name: 'kwok-node-0' });
      expect(node.status?.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' });
      const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0;
      expect(port).toBeGreaterThan(0);
      // kwok's server answers there (the same port serves HTTPS to the API server).
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(200);
    });

    /** Opens a tunnel to the pod's port, sends `text`, and resolves with what comes back. */
    async function roundTrip(port: number, text: string): Promise<{ data: string; error: string }> {
      const output = new PassThrough();
      const errors = new PassThrough();
      const input = new PassThrough();
      let data = '';
      let error = '';
      output.on('data', (c: Buffer) => (data += c.toString()));
      errors.on('data', (c: Buffer) => (error += c.toString()));
      const ws = (await new PortForward(kc).portForward(
        ns,
        'echo',
        [port],
        output,
        errors,
        input,
      )) as {
        close(): void;
        once(event: 'close', listener: () => void): void;
      };
      const closed = new Promise<void>((resolve) => ws.once('close', resolve));
      input.write(text);
      await Promise.race([
        until('an answer', () => Promise.resolve(data !== '' ? data : undefined), 30_000),
        closed,
      ]);
      ws.close();
      return { data, error };
    }

    it('streams a connection to the address a ClusterPortForward names', async () => {
      const { data, error } = await roundTrip(7000, 'ping through the api server');
      expect(error).toBe('');
      expect(data).toBe('PING THROUGH THE API SERVER');
    });

    it('reports a port no rule covers on the error channel', async () => {
      const { data, error } = await roundTrip(7001, 'anyone?');
      expect(data).toBe('');
      expect(error).toContain('no forward found for port 7001');
    });
  });
});
