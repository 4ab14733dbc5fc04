/**
 * Kubernetes API faults. Conflicts (409) are produced for real, by a second writer changing an
 * object between our read and our write (the fault proxy holds our write back meanwhile) and by
 * several writers at once. Transient errors (503, 500, 429, reset connections, an outage of
 * several seconds) come from the harness's fault proxy, which serves the API server's own
 * certificate in front of it, so the clients go through it with the stack's credentials.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Secret, createLogger } from '@deploytag/core';
import type { LogRecord, Logger } from '@deploytag/core';
import { requireEnv, startKubeApiFaultProxy } from '@deploytag/harness';
import type { FaultProxy, FaultRule } from '@deploytag/harness';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BRANCH_ANNOTATION,
  acquireLease,
  applyEnvSecret,
  applyRegistrySecret,
  createKubeClients,
  ensureNamespace,
  loadKubeConfig,
  planRegistrySecret,
  waitForAddresses,
  watchRollout,
} from './index.js';
import type { KubeClients, NamespaceWant } from './index.js';

const run = randomBytes(3).toString('hex');
const tmp = mkdtempSync(join(tmpdir(), 'kube-faults-'));
const namespaces = new Set<string>();
let direct: KubeClients;
let proxy: FaultProxy;
let viaProxy: KubeClients;

/** The API server's own error body for a status. */
function apiStatus(code: number, reason: string): FaultRule['fault'] {
  return {
    kind: 'status',
    status: code,
    body: JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      message: `injected ${reason}`,
      reason,
      code,
    }),
    headers: {
      'content-type': 'application/json',
      ...(code === 429 ? { 'retry-after': '1' } : {}),
    },
  };
}

function recorder(): { logger: Logger; lines: LogRecord[] } {
  const lines: LogRecord[] = [];
  return {
    logger: createLogger({ level: 'debug', reporter: { write: (r) => lines.push(r) } }),
    lines,
  };
}

function want(name: string): NamespaceWant {
  namespaces.add(name);
  return { name, repo: 'shop', kind: 'preview', branch: `feature/${name}`, now: new Date() };
}

/** The statuses the proxy saw for requests of one method to paths starting with `path`. */
function statuses(method: string, path: string): (number | string | undefined)[] {
  return proxy.requests
    .filter((r) => r.method === method && r.url.split('?')[0] === path)
    .map((r) => r.status ?? r.fault);
}

/** The requests that got a fault since the log had `mark` entries. */
function faultedSince(mark: number): { fault?: string; status?: number }[] {
  return proxy.requests.slice(mark).filter((r) => r.fault !== undefined);
}

async function until(what: string, test: () => boolean, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (test()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  const kubeconfig = requireEnv('KUBECONFIG');
  direct = createKubeClients(loadKubeConfig({ file: kubeconfig }));
  const started = await startKubeApiFaultProxy({ kubeconfig, dir: tmp });
  proxy = started.proxy;
  viaProxy = createKubeClients(loadKubeConfig({ file: started.kubeconfig }), {
    retry: { baseDelayMs: 50, maxDelayMs: 1_000 },
  });
});

afterEach(() => {
  proxy.clear();
});

afterAll(async () => {
  await proxy.close();
  for (const name of namespaces) await direct.core.deleteNamespace({ name }).catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

describe('conflicts (409) from a real second writer', () => {
  it('the environment Secret is written again on top of the other writer’s change', async () => {
    const ns = `kf-secret-${run}`;
    await ensureNamespace(direct, want(ns));
    const spec = { namespace: ns, name: 'web-env', release: 'web' };
    await applyEnvSecret(direct, { ...spec, data: { A: Secret.of('1') } });
    const path = `/api/v1/namespaces/${ns}/secrets/web-env`;
    // Our write waits in the proxy while the other writer changes the Secret.
    proxy.add({ method: 'PUT', path, fault: { kind: 'delay', ms: 1_500 }, times: 1 });
    const ours = applyEnvSecret(viaProxy, { ...spec, data: { A: Secret.of('2') } });
    await until('our PUT', () => statuses('PUT', path).length > 0);
    const live = await direct.core.readNamespacedSecret({ name: 'web-env', namespace: ns });
    live.data = { A: Buffer.from('other').toString('base64') };
    await direct.core.replaceNamespacedSecret({ name: 'web-env', namespace: ns, body: live });

    expect((await ours).action).toBe('updated');
    expect(statuses('PUT', path)).toEqual([409, 200]);
    const after = await direct.core.readNamespacedSecret({ name: 'web-env', namespace: ns });
    expect(Buffer.from(after.data!['A']!, 'base64').toString()).toBe('2');
  });

  it('a namespace update keeps what the other writer added, and retries', async () => {
    const ns = `kf-ns-${run}`;
    await ensureNamespace(direct, want(ns));
    const path = `/api/v1/namespaces/${ns}`;
    proxy.add({ method: 'PUT', path, fault: { kind: 'delay', ms: 1_500 }, times: 1 });
    const ours = ensureNamespace(viaProxy, want(ns));
    await until('our PUT', () => statuses('PUT', path).length > 0);
    const live = await direct.core.readNamespace({ name: ns });
    live.metadata!.annotations = { ...live.metadata!.annotations, 'example.com/other': 'kept' };
    await direct.core.replaceNamespace({ name: ns, body: live });

    expect(await ours).toEqual({ created: false });
    expect(statuses('PUT', path)).toEqual([409, 200]);
    const after = await direct.core.readNamespace({ name: ns });
    expect(after.metadata?.annotations?.['example.com/other']).toBe('kept');
    expect(after.metadata?.annotations?.[BRANCH_ANNOTATION]).toBe(`feature/${ns}`);
  });

  it('six writers at once: one creates, every write lands, the Secret holds one of them', async () => {
    const ns = `kf-many-${run}`;
    const writers = Array.from({ length: 6 }, () =>
      createKubeClients(loadKubeConfig({ file: requireEnv('KUBECONFIG') })),
    );
    const created = await Promise.all(writers.map((w) => ensureNamespace(w, want(ns))));
    expect(created.filter((c) => c.created)).toHaveLength(1);
    const results = await Promise.all(
      writers.map((w, i) =>
        applyEnvSecret(w, {
          namespace: ns,
          name: 'web-env',
          release: 'web',
          data: { WRITER: Secret.of(String(i)) },
        }),
      ),
    );
    expect(results.filter((r) => r.action === 'created')).toHaveLength(1);
    const live = await direct.core.readNamespacedSecret({ name: 'web-env', namespace: ns });
    const writer = Number(Buffer.from(live.data!['WRITER']!, 'base64').toString());
    expect(results[writer]?.checksum).toBe(live.metadata?.annotations?.['deploytag.dev/checksum']);
  });
});

describe('transient API errors', () => {
  it('namespace, Secret, pull secret and lock ride out 503, 500, 429 and reset connections', async () => {
    const ns = `kf-transient-${run}`;
    const mark = proxy.requests.length;
    const base = `/api/v1/namespaces/${ns}`;
    proxy.add(
      {
        method: 'GET',
        path: new RegExp(`^${base}$`),
        fault: apiStatus(503, 'ServiceUnavailable'),
        times: 2,
      },
      { method: 'POST', path: '/api/v1/namespaces', fault: { kind: 'reset' }, times: 1 },
      {
        method: 'GET',
        path: `${base}/secrets/web-env`,
        fault: apiStatus(500, 'InternalError'),
        times: 1,
      },
      {
        method: 'POST',
        path: `${base}/secrets`,
        fault: apiStatus(429, 'TooManyRequests'),
        times: 1,
      },
      {
        method: 'PUT',
        path: `${base}/serviceaccounts/default`,
        fault: { kind: 'reset' },
        times: 1,
      },
      {
        method: 'POST',
        path: `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
        fault: apiStatus(503, 'ServiceUnavailable'),
        times: 1,
      },
    );
    expect(await ensureNamespace(viaProxy, want(ns))).toEqual({ created: true });
    expect(
      (
        await applyEnvSecret(viaProxy, {
          namespace: ns,
          name: 'web-env',
          release: 'web',
          data: { A: Secret.of('1') },
        })
      ).action,
    ).toBe('created');
    // The default ServiceAccount appears shortly after the namespace; the pull secret waits for it.
    const pull = planRegistrySecret({
      cloudProvider: 'aws',
      namespace: ns,
      credentials: { registry: 'r.example', username: 'u', password: Secret.of('p') },
    });
    await applyRegistrySecret(viaProxy, pull);
    const lease = await acquireLease(viaProxy, {
      namespace: ns,
      name: 'deploytag-deploy-web',
      holder: `faults-${run}`,
    });
    await lease.release();

    expect(faultedSince(mark)).toHaveLength(7);
    const sa = await direct.core.readNamespacedServiceAccount({ name: 'default', namespace: ns });
    expect(pull.kind).toBe('credentials');
    expect(sa.imagePullSecrets?.map((s) => s.name)).toContain(
      pull.kind === 'credentials' ? pull.name : '',
    );
    await expect(
      direct.coordination.readNamespacedLease({ name: 'deploytag-deploy-web', namespace: ns }),
    ).rejects.toMatchObject({ code: 404 });
  });

  it('waiting for a LoadBalancer address outlasts an API outage longer than the retries', async () => {
    const ns = `kf-address-${run}`;
    const mark = proxy.requests.length;
    await ensureNamespace(direct, want(ns));
    await direct.core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'web', annotations: { 'meta.helm.sh/release-name': 'web' } },
        spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80 }] },
      },
    });
    // Every request fails for 6 s: longer than the clients' own retries (50 ms doubling to 1 s, 6 attempts).
    proxy.add({ fault: apiStatus(503, 'ServiceUnavailable'), forMs: 6_000 });
    const addresses = await waitForAddresses(viaProxy, {
      namespace: ns,
      release: 'web',
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    expect(addresses.pending).toEqual([]);
    expect(addresses.loadBalancers.map((l) => l.service)).toEqual(['web']);
    expect(faultedSince(mark).length).toBeGreaterThan(6);
  });

  it('the rollout watch keeps watching through reset connections and an outage', async () => {
    const ns = `kf-watch-${run}`;
    const mark = proxy.requests.length;
    await ensureNamespace(direct, want(ns));
    const stop = new AbortController();
    const { logger, lines } = recorder();
    proxy.add(
      { fault: { kind: 'reset' }, times: 12 },
      { fault: apiStatus(503, 'ServiceUnavailable'), forMs: 3_000 },
    );
    const watching = watchRollout(viaProxy, {
      namespace: ns,
      release: 'web',
      signal: stop.signal,
      intervalMs: 200,
      logger,
    });
    await direct.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web', annotations: { 'meta.helm.sh/release-name': 'web' } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'registry.local/web:1' }] },
          },
        },
      },
    });
    await until(
      'the watch to see the Deployment ready',
      () => lines.some((l) => l.level === 'info' && l.message.includes('Deployment/web 1/1 ready')),
      1_200,
    );
    stop.abort();
    const last = await watching;
    expect(last.ready).toBe(true);
    expect(faultedSince(mark).filter((r) => r.fault === 'reset')).toHaveLength(12);
    expect(faultedSince(mark).some((r) => r.status === 503)).toBe(true);
  });
});
