/**
 * The harness's stand-in for a cloud provider, run as a daemon beside the control plane:
 * - registers the fake node that kwok manages, with the address (127.0.0.1) and kubelet port of
 *   kwok's server, so the API server can stream `pods/portforward` to it; reports ready once the
 *   node is Ready and the default ServiceAccount exists (so pods can be created);
 * - gives every LoadBalancer Service a loopback address in its status, as a cloud's service
 *   controller would, so deploy code can wait for and print the address.
 * Usage: fake-cloud.ts KUBECONFIG NODE_NAME READY_MARKER_FILE [KUBELET_PORT]
 */
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, Watch, type V1Service } from '@kubernetes/client-node';

const [kubeconfigPath, nodeName, readyMarker, kubeletPortText] = process.argv.slice(2);
const kubeletPort = kubeletPortText === undefined ? 0 : Number(kubeletPortText);
if (
  !kubeconfigPath ||
  !nodeName ||
  !readyMarker ||
  !Number.isInteger(kubeletPort) ||
  kubeletPort < 0 ||
  kubeletPort > 65535
) {
  process.stderr.write(
    'usage: fake-cloud.ts KUBECONFIG NODE_NAME READY_MARKER_FILE [KUBELET_PORT]\n',
  );
  process.exit(2);
}

const kc = new KubeConfig();
kc.loadFromFile(kubeconfigPath);
const core = kc.makeApiClient(CoreV1Api);

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
}

async function registerNode(name: string): Promise<void> {
  try {
    await core.readNode({ name });
    return;
  } catch {
    // not there yet
  }
  await core.createNode({
    body: {
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          type: 'kwok',
        },
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      },
      status: {
        allocatable: { cpu: '32', memory: '256Gi', pods: '250' },
        capacity: { cpu: '32', memory: '256Gi', pods: '250' },
        // Where the API server finds this node's kubelet: kwok's server on loopback. The Hostname
        // entry matters too: kwok's node-initialize stage, finding no Hostname and given no node
        // name, would otherwise patch `addresses` to null.
        ...(kubeletPort === 0
          ? {}
          : {
              addresses: [
                { type: 'InternalIP', address: '127.0.0.1' },
                { type: 'Hostname', address: name },
              ],
              daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
            }),
      },
    },
  });
  log(
    `registered node ${name}${kubeletPort === 0 ? '' : ` (kubelet at 127.0.0.1:${kubeletPort})`}`,
  );
}

async function waitUntil(what: string, check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // keep polling
    }
    await sleep(200);
  }
}

// Loopback addresses handed out to LoadBalancer Services: 127.0.1.1, 127.0.1.2, ...
const assigned = new Map<string, string>();
let next = 1;

function addressFor(key: string): string {
  let ip = assigned.get(key);
  if (!ip) {
    ip = `127.0.${1 + Math.floor(next / 250)}.${1 + (next % 250)}`;
    next += 1;
    assigned.set(key, ip);
  }
  return ip;
}

async function reconcile(svc: V1Service): Promise<void> {
  const name = svc.metadata?.name;
  const namespace = svc.metadata?.namespace;
  if (!name || !namespace || svc.spec?.type !== 'LoadBalancer') return;
  const key = `${namespace}/${name}`;
  const ip = addressFor(key);
  if (svc.status?.loadBalancer?.ingress?.some((i) => i.ip === ip)) return;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const live = await core.readNamespacedServiceStatus({ name, namespace });
      live.status ??= {};
      live.status.loadBalancer = { ingress: [{ ip, ipMode: 'VIP' }] };
      await core.replaceNamespacedServiceStatus({ name, namespace, body: live });
      log(`service ${key} gets load balancer address ${ip}`);
      return;
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === 404) return;
      await sleep(100 * (attempt + 1));
    }
  }
}

async function watchServices(): Promise<never> {
  const watch = new Watch(kc);
  for (;;) {
    const list = await core.listServiceForAllNamespaces();
    for (const svc of list.items) await reconcile(svc);
    await new Promise<void>((resolve) => {
      void watch
        .watch(
          '/api/v1/services',
          { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
          (type: string, obj: V1Service) => {
            if (type === 'ADDED' || type === 'MODIFIED') void reconcile(obj);
            if (type === 'DELETED' && obj.metadata)
              assigned.delete(`${obj.metadata.namespace}/${obj.metadata.name}`);
          },
          () => resolve(),
        )
        .catch(() => resolve());
    });
    await sleep(200);
  }
}

async function main(): Promise<void> {
  await waitUntil('api', async () => {
    await core.listNamespace({ limit: 1 });
    return true;
  });
  await registerNode(nodeName!);
  await waitUntil('node ready', async () => {
    const node = await core.readNode({ name: nodeName! });
    const ready =
      node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    // Pods schedule only once the node-lifecycle controller has lifted the not-ready taint.
    return (
      ready && !(node.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/not-ready')
    );
  });
  await waitUntil('default service account', async () => {
    await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
    return true;
  });
  log('node ready, default service account present');
  writeFileSync(readyMarker!, new Date().toISOString());
  await watchServices();
}

process.on('SIGTERM', () => process.exit(0));
main().catch((err: unknown) => {
  log(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
