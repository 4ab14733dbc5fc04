import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import type { Component, StartedComponent } from '../component.js';
import { nodeScript, startDaemon, stopDaemons, type DaemonRecord } from '../daemon.js';
import { HarnessError, lastLine, run } from '../exec.js';
import { cacheDir, logDir } from '../paths.js';
import { freePorts } from '../ports.js';
import { ensureGoTool } from '../provision.js';
import { withHeartbeat } from '../report.js';
import { ETCD_VERSION, KUBERNETES_VERSION, KWOK_VERSION } from './versions.js';

const k8sDir = (): string => join(cacheDir(), `k8s-${KUBERNETES_VERSION}`);
const etcdBin = (): string => join(cacheDir(), `etcd-${ETCD_VERSION}`, 'etcd');
const kwokBin = (): string => join(cacheDir(), 'bin', `kwok-${KWOK_VERSION}`);
const stagesFile = (): string => join(cacheDir(), `kwok-${KWOK_VERSION}-stages-1.yaml`);
const crdsFile = (): string => join(cacheDir(), `kwok-${KWOK_VERSION}-port-forward-crds-1.yaml`);

/** The name of the fake node kwok manages; pods are scheduled onto it. */
export const FAKE_NODE = 'kwok-node-0';

/**
 * Stage definitions kwok needs to play the kubelet: nodes become Ready and keep a lease, pods go
 * Pending → Running/Ready, Job pods complete, deleted pods go away. Taken from the kwok module's own
 * stage folder in the module cache, plus one harness stage: a container whose image reference
 * contains `does-not-exist` never starts and reports ImagePullBackOff (how tests provoke a failing
 * pull without a real kubelet).
 */
const STAGE_FILES = [
  'node/fast/node-initialize.yaml',
  'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
  'pod/fast/pod-ready.yaml',
  'pod/fast/pod-complete.yaml',
  'pod/fast/pod-delete.yaml',
];

interface KwokStage {
  metadata: { name: string };
  spec: { selector: { matchExpressions: { key: string; operator: string; values?: string[] }[] } };
}

const UNPULLABLE_EXCLUDED = {
  key: '.spec.containers.[] | select( .image | contains("does-not-exist") ) | .name',
  operator: 'DoesNotExist',
};

/**
 * The kwok API group and the custom resources the harness enables in kwok (`--enable-crds`): a
 * test creates a ClusterPortForward (selecting its own namespace) or a PortForward (one pod by name)
 * that says where kwok's kubelet-like server sends the connections of a `pods/portforward` request.
 */
export const KWOK_API_GROUP = 'kwok.x-k8s.io';
const PORT_FORWARD_KINDS = ['ClusterPortForward', 'PortForward'];
const PORT_FORWARD_CRDS = ['clusterportforwards', 'portforwards'];

async function kwokModuleDir(): Promise<string> {
  const r = await run('go', ['mod', 'download', '-json', `sigs.k8s.io/kwok@${KWOK_VERSION}`]);
  const dir = (JSON.parse(r.stdout) as { Dir?: string }).Dir;
  if (!dir)
    throw new HarnessError(`cannot find sigs.k8s.io/kwok@${KWOK_VERSION} in the Go module cache`);
  return dir;
}

/** The CustomResourceDefinitions of kwok's port-forward resources, from the kwok module. */
async function buildCrds(): Promise<void> {
  if (existsSync(crdsFile())) return;
  const dir = await kwokModuleDir();
  const text = PORT_FORWARD_CRDS.map((plural) =>
    readFileSync(
      join(dir, 'kustomize', 'crd', 'bases', `${KWOK_API_GROUP}_${plural}.yaml`),
      'utf8',
    ),
  ).join('\n---\n');
  writeFileSync(`${crdsFile()}.tmp`, text);
  renameSync(`${crdsFile()}.tmp`, crdsFile());
}

async function buildStages(): Promise<void> {
  if (existsSync(stagesFile())) return;
  const dir = await kwokModuleDir();
  const stages = STAGE_FILES.map(
    (f) => parse(readFileSync(join(dir, 'kustomize', 'stage', f), 'utf8')) as KwokStage,
  );
  for (const stage of stages) {
    // A pod whose image cannot be pulled must never become Ready.
    if (stage.metadata.name === 'pod-ready')
      stage.spec.selector.matchExpressions.push(UNPULLABLE_EXCLUDED);
  }
  const own = readFileSync(fileURLToPath(new URL('./kube-stages.yaml', import.meta.url)), 'utf8');
  const text = [...stages.map((s) => stringify(s)), own].join('\n---\n');
  writeFileSync(`${stagesFile()}.tmp`, text);
  renameSync(`${stagesFile()}.tmp`, stagesFile());
}

function httpOk(url: string, token?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = (url.startsWith('https') ? httpsRequest : httpRequest)(
      url,
      {
        rejectUnauthorized: false,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

function kubeconfigYaml(server: string, caPem: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: deploytag-local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    '- name: deploytag-admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: deploytag-local',
    '  context:',
    '    cluster: deploytag-local',
    '    user: deploytag-admin',
    '    namespace: default',
    'current-context: deploytag-local',
    '',
  ].join('\n');
}

/**
 * A real Kubernetes control plane on loopback: etcd (built from the Go proxy), kube-apiserver,
 * kube-controller-manager and kube-scheduler (built from the Go module proxy at
 * {@link KUBERNETES_VERSION}), and kwok playing the kubelet for one fake node, so that
 * Deployments become Ready and Jobs complete. kwok's server is that node's kubelet endpoint, so
 * `pods/portforward` works: a ClusterPortForward or PortForward object (API version in
 * `DEPLOYTAG_KWOK_API_VERSION`) names the real local address a pod's port leads to. A small
 * controller plays the cloud's part for LoadBalancer Services by writing a loopback address into
 * their status.
 */
export const kube: Component = {
  name: 'kube',
  description: `Kubernetes ${KUBERNETES_VERSION} control plane + kwok ${KWOK_VERSION} fake node`,
  async provision() {
    if (!existsSync(etcdBin())) {
      const etcdScript = fileURLToPath(new URL('../../scripts/build-etcd.sh', import.meta.url));
      const log = join(logDir(), `etcd-${ETCD_VERSION}-build.log`);
      await withHeartbeat(
        `building etcd ${ETCD_VERSION} from the Go module proxy (first time only: about 1 min)`,
        () => run('bash', [etcdScript, ETCD_VERSION, join(etcdBin(), '..')], { logFile: log }),
        () => lastLine(log),
      );
    }
    const script = fileURLToPath(new URL('../../scripts/build-kubernetes.sh', import.meta.url));
    if (!existsSync(join(k8sDir(), 'kubectl'))) {
      const log = join(logDir(), `k8s-${KUBERNETES_VERSION}-build.log`);
      await withHeartbeat(
        `building Kubernetes ${KUBERNETES_VERSION} from the Go module proxy (first time only: ~1 GB download, 10-20 min on 2 cores)`,
        () => run('bash', [script, KUBERNETES_VERSION, k8sDir()], { logFile: log }),
        () => lastLine(log),
      );
    }
    const built = await ensureGoTool({
      name: `kwok-${KWOK_VERSION}`,
      pkg: `sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}`,
    });
    if (built !== kwokBin())
      throw new HarnessError(`kwok landed at ${built}, expected ${kwokBin()}`);
    await buildStages();
    await buildCrds();
  },
  async start({ dir }): Promise<StartedComponent> {
    const daemons: DaemonRecord[] = [];
    try {
      const [etcdClient, etcdPeer, apiPort, cmPort, schedPort, kwokPort] = (await freePorts(6)) as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      const pki = join(dir, 'pki');
      mkdirSync(pki, { recursive: true, mode: 0o700 });
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      writeFileSync(join(pki, 'sa.key'), privateKey.export({ type: 'pkcs1', format: 'pem' }), {
        mode: 0o600,
      });
      writeFileSync(join(pki, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
      const token = randomBytes(24).toString('hex');
      writeFileSync(
        join(pki, 'tokens.csv'),
        `${token},deploytag-admin,deploytag-admin,system:masters\n`,
        { mode: 0o600 },
      );

      daemons.push(
        await startDaemon({
          name: 'etcd',
          cmd: etcdBin(),
          args: [
            '--name=deploytag',
            `--data-dir=${join(dir, 'etcd')}`,
            `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
            `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
            `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
            `--initial-cluster=deploytag=http://127.0.0.1:${etcdPeer}`,
            '--log-level=warn',
          ],
          logFile: join(dir, 'etcd.log'),
          ready: () => httpOk(`http://127.0.0.1:${etcdClient}/health`),
          readyTimeoutMs: 30_000,
        }),
      );

      const bin = (name: string) => join(k8sDir(), name);
      daemons.push(
        await startDaemon({
          name: 'kube-apiserver',
          cmd: bin('kube-apiserver'),
          args: [
            `--etcd-servers=http://127.0.0.1:${etcdClient}`,
            `--secure-port=${apiPort}`,
            '--bind-address=127.0.0.1',
            '--advertise-address=127.0.0.1',
            // Nothing in-cluster dials the apiserver through the kubernetes Service here, and its
            // endpoint reconciler refuses a loopback address.
            '--endpoint-reconciler-type=none',
            `--cert-dir=${pki}`,
            '--service-cluster-ip-range=10.96.0.0/16',
            '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
            `--service-account-key-file=${join(pki, 'sa.pub')}`,
            `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
            '--authorization-mode=Node,RBAC',
            `--token-auth-file=${join(pki, 'tokens.csv')}`,
            '--allow-privileged=true',
            // kwok's server plays the kubelet for pods/portforward (and logs): the API server dials the
            // node's InternalIP (127.0.0.1) at its kubelet port. Without --kubelet-certificate-authority
            // it does not verify the kubelet's certificate, as with any kubelet serving a self-signed one.
            '--kubelet-preferred-address-types=InternalIP',
            '--enable-priority-and-fairness=false',
            '--profiling=false',
            '--v=1',
          ],
          logFile: join(dir, 'kube-apiserver.log'),
          ready: () => httpOk(`https://127.0.0.1:${apiPort}/readyz`, token),
          readyTimeoutMs: 90_000,
        }),
      );

      const server = `https://127.0.0.1:${apiPort}`;
      const caPem = readFileSync(join(pki, 'apiserver.crt'), 'utf8');
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, kubeconfigYaml(server, caPem, token), { mode: 0o600 });
      writeFileSync(join(pki, 'ca.crt'), caPem);
      // kwok watches its port-forward resources from start: their definitions must exist first.
      const withKubeconfig = `--kubeconfig=${kubeconfig}`;
      await run(bin('kubectl'), [withKubeconfig, 'apply', '--server-side', '-f', crdsFile()]);
      await run(bin('kubectl'), [
        withKubeconfig,
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        ...PORT_FORWARD_CRDS.map((plural) => `crd/${plural}.${KWOK_API_GROUP}`),
      ]);

      const common = [
        `--kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        '--v=1',
      ];
      const [cm, sched] = await Promise.all([
        startDaemon({
          name: 'kube-controller-manager',
          cmd: bin('kube-controller-manager'),
          args: [
            ...common,
            `--secure-port=${cmPort}`,
            `--service-account-private-key-file=${join(pki, 'sa.key')}`,
            `--root-ca-file=${join(pki, 'ca.crt')}`,
            '--use-service-account-credentials=false',
            // kwok renews the node lease on its own schedule; on a loaded 2-core machine a gap over
            // the default 50 s would make the node-lifecycle controller mark every pod NotReady,
            // and kwok never makes them Ready again.
            '--node-monitor-grace-period=10m',
            // Node IPAM needs a pod CIDR we do not have. The node-lifecycle controller stays on: it lifts the
            // not-ready taint once kwok reports the node Ready, and kwok keeps its lease fresh.
            // The apiserver's self-signed serving certificate is no CA, so its trust bundle cannot be published.
            '--controllers=*,-node-ipam-controller,-kube-apiserver-serving-clustertrustbundle-publisher-controller',
          ],
          logFile: join(dir, 'kube-controller-manager.log'),
          ready: () => httpOk(`https://127.0.0.1:${cmPort}/healthz`),
          readyTimeoutMs: 60_000,
        }),
        startDaemon({
          name: 'kube-scheduler',
          cmd: bin('kube-scheduler'),
          args: [...common, `--secure-port=${schedPort}`],
          logFile: join(dir, 'kube-scheduler.log'),
          ready: () => httpOk(`https://127.0.0.1:${schedPort}/healthz`),
          readyTimeoutMs: 30_000,
        }),
      ]);
      daemons.push(cm, sched);

      daemons.push(
        await startDaemon({
          name: 'kwok',
          cmd: kwokBin(),
          args: [
            `--kubeconfig=${kubeconfig}`,
            `--config=${stagesFile()}`,
            '--manage-all-nodes=true',
            '--node-lease-duration-seconds=40',
            `--server-address=127.0.0.1:${kwokPort}`,
            // The node's address and kubelet port, as kwok's node stages report them.
            '--node-ip=127.0.0.1',
            `--node-port=${kwokPort}`,
            // HTTPS for the API server (plain HTTP for the health probe shares the port).
            `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
            `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
            `--enable-crds=${PORT_FORWARD_KINDS.join(',')}`,
          ],
          logFile: join(dir, 'kwok.log'),
          ready: () => httpOk(`http://127.0.0.1:${kwokPort}/healthz`),
          readyTimeoutMs: 30_000,
        }),
      );

      const readyMarker = join(dir, 'fake-cloud.ready');
      const cloud = nodeScript(new URL('../daemons/fake-cloud.ts', import.meta.url), [
        kubeconfig,
        FAKE_NODE,
        readyMarker,
        String(kwokPort),
      ]);
      daemons.push(
        await startDaemon({
          name: 'fake-cloud',
          cmd: cloud.cmd,
          args: cloud.args,
          logFile: join(dir, 'fake-cloud.log'),
          ready: () => Promise.resolve(existsSync(readyMarker)),
          readyTimeoutMs: 60_000,
        }),
      );

      return {
        daemons,
        env: {
          KUBECONFIG: kubeconfig,
          DEPLOYTAG_KUBE_VERSION: KUBERNETES_VERSION,
          DEPLOYTAG_KUBECTL: bin('kubectl'),
          DEPLOYTAG_KWOK_API_VERSION: `${KWOK_API_GROUP}/v1alpha1`,
        },
      };
    } catch (err) {
      await stopDaemons(daemons);
      throw err;
    }
  },
};
