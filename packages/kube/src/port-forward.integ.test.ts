/**
 * Port-forwarding (`db-connect`) end to end: kube-apiserver streams `pods/portforward` to kwok's
 * kubelet-like server, which a ClusterPortForward points at the harness's real PostgreSQL, so a
 * real psql talks to a real database through a pod of a Deployment in the kwok cluster.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, isDeploytagError, runCommand } from '@deploytag/core';
import type { LogRecord } from '@deploytag/core';
import { requireEnv } from '@deploytag/harness';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KubeErrorCodes,
  createKubeClients,
  loadKubeConfig,
  runWithPortForward,
  startPortForward,
} from './index.js';
import type { KubeClients, RunWithPortForwardOptions } from './index.js';

const run = randomBytes(3).toString('hex');
const ns = `kube-pf-${run}`;
const rule = `deploytag-${ns}`;
let kube: KubeClients;
let objects: CustomObjectsApi;
const [group, version] = requireEnv('DEPLOYTAG_KWOK_API_VERSION').split('/') as [string, string];
const pg = new URL(requireEnv('DEPLOYTAG_POSTGRES_URL'));
const psql = `${requireEnv('DEPLOYTAG_POSTGRES_BIN')}/psql`;
/** The password reaches psql through its environment only. */
const pgEnv = {
  PATH: process.env.PATH,
  PGPASSWORD: decodeURIComponent(pg.password),
  PGUSER: decodeURIComponent(pg.username),
  PGDATABASE: 'postgres',
  PGCONNECT_TIMEOUT: '20',
};

/** psql against the forwarded port: `$DEPLOYTAG_FORWARD_PORT` is set by runWithPortForward. */
function psqlCommand(sql: string): string[] {
  return [
    'sh',
    '-c',
    `exec "$0" -h 127.0.0.1 -p "$DEPLOYTAG_FORWARD_PORT" -X -tAc "$1"`,
    psql,
    sql,
  ];
}

function recorder(): { logger: ReturnType<typeof createLogger>; lines: LogRecord[] } {
  const lines: LogRecord[] = [];
  return {
    logger: createLogger({ level: 'debug', reporter: { write: (r) => lines.push(r) } }),
    lines,
  };
}

function options(extra: Partial<RunWithPortForwardOptions> = {}): RunWithPortForwardOptions {
  return {
    namespace: ns,
    target: { kind: 'deployment', name: 'postgres' },
    remotePort: 5432,
    env: pgEnv,
    stdio: 'capture',
    ...extra,
  };
}

/** Resolves with the error code of a TCP connection to the local port (or `connected`). */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

async function deploymentReady(name: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const d = await kube.apps.readNamespacedDeployment({ name, namespace: ns });
    if ((d.status?.readyReplicas ?? 0) >= 1) return;
    await sleep(200);
  }
  throw new Error(`deployment ${name} never became ready`);
}

beforeAll(async () => {
  kube = createKubeClients(loadKubeConfig({ env: { KUBECONFIG: requireEnv('KUBECONFIG') } }));
  objects = kube.kc.makeApiClient(CustomObjectsApi);
  await kube.core.createNamespace({ body: { metadata: { name: ns } } });
  // What a pod port leads to in this namespace: the harness PostgreSQL (kwok selects by namespace).
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
        forwards: [{ ports: [5432], target: { address: pg.hostname, port: Number(pg.port) } }],
      },
    },
  });
  const pod = (app: string) => ({
    metadata: { labels: { app } },
    spec: {
      containers: [
        {
          name: 'db',
          image: 'registry.local/postgres:16',
          ports: [{ name: 'pg', containerPort: 5432 }],
        },
      ],
    },
  });
  await kube.apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'postgres' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'postgres' } },
        template: pod('postgres'),
      },
    },
  });
  await kube.apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'idle' },
      spec: { replicas: 0, selector: { matchLabels: { app: 'idle' } }, template: pod('idle') },
    },
  });
  await kube.core.createNamespacedService({
    namespace: ns,
    body: {
      metadata: { name: 'db' },
      spec: { selector: { app: 'postgres' }, ports: [{ port: 15432, targetPort: 'pg' }] },
    },
  });
  await deploymentReady('postgres');
});

afterAll(async () => {
  await objects
    .deleteClusterCustomObject({ group, version, plural: 'clusterportforwards', name: rule })
    .catch(() => undefined);
  await kube.core.deleteNamespace({ name: ns }).catch(() => undefined);
});

describe('runWithPortForward (db-connect) through kwok to the real PostgreSQL', () => {
  it('runs the command against the forwarded port and returns its exit status 0', async () => {
    const { logger, lines } = recorder();
    const result = await runWithPortForward(
      kube,
      options({ logger }),
      psqlCommand("select current_database() || ':' || 6 * 7"),
    );
    expect(result).toMatchObject({ exitCode: 0, stdout: 'postgres:42\n', stderr: '' });
    expect(lines.map((l) => l.message)).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^forwarding 127\\.0\\.0\\.1:${result.localPort} to pod postgres-\\S+ port 5432$`,
        ),
      ),
    );
  });

  it("returns a failing command's own exit status, then stops forwarding", async () => {
    const failed = await runWithPortForward(kube, options(), psqlCommand('select 1/0'));
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('division by zero');
    // The status is the command's, whatever it is.
    const seven = await runWithPortForward(kube, options(), [
      'sh',
      '-c',
      `"$0" -h 127.0.0.1 -p "$DEPLOYTAG_FORWARD_PORT" -X -tAc 'select 1' >/dev/null && exit 7`,
      psql,
    ]);
    expect(seven.exitCode).toBe(7);
    expect(await tryConnect(seven.localPort)).toBe('ECONNREFUSED');
  });

  it('forwards to a Service, through its port to the named targetPort of a ready pod', async () => {
    const result = await runWithPortForward(
      kube,
      options({ target: { kind: 'service', name: 'db' }, remotePort: 15432 }),
      psqlCommand('select 1 + 1'),
    );
    expect(result).toMatchObject({ exitCode: 0, stdout: '2\n' });
  });

  it('gives every local connection its own tunnel (three sessions at once)', async () => {
    const forward = await startPortForward(kube, {
      namespace: ns,
      target: { kind: 'deployment', name: 'postgres' },
      remotePort: 5432,
    });
    try {
      const sessions = await Promise.all(
        [1, 2, 3].map(() =>
          runCommand(
            psql,
            [
              '-h',
              '127.0.0.1',
              '-p',
              String(forward.localPort),
              '-X',
              '-tAc',
              'select pg_backend_pid()',
            ],
            { env: pgEnv, inheritEnv: false },
          ),
        ),
      );
      const pids = new Set(sessions.map((s) => s.stdout.trim()));
      expect(pids.size).toBe(3);
      for (const pid of pids) expect(pid).toMatch(/^\d+$/);
    } finally {
      await forward.close();
    }
    expect(await tryConnect(forward.localPort)).toBe('ECONNREFUSED');
  });

  it("closes a connection the cluster cannot forward, with the kubelet's reason, instead of hanging", async () => {
    const { logger, lines } = recorder();
    // No ClusterPortForward covers port 5433: kwok refuses it, as a kubelet refuses a closed port.
    const result = await runWithPortForward(
      kube,
      options({ logger, remotePort: 5433 }),
      psqlCommand('select 1'),
    );
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('server closed the connection unexpectedly');
    const warnings = lines.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warnings).toContainEqual(
      expect.stringMatching(
        /^port-forward to pod postgres-\S+ port 5433 failed: .*no forward found for port 5433/,
      ),
    );
  });

  it('does not run the command when there is nothing to forward to', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'kube-pf-')), 'ran');
    const attempts = [
      {
        target: { kind: 'deployment', name: 'idle' } as const,
        message: `deployment/idle in ${ns} has no ready pod to forward to; check that it is running`,
      },
      {
        target: { kind: 'deployment', name: 'absent' } as const,
        message: `finding deployment/absent in ${ns} failed (HTTP 404): deployments.apps "absent" not found`,
      },
    ];
    for (const { target, message } of attempts) {
      const error: unknown = await runWithPortForward(kube, options({ target }), [
        'touch',
        marker,
      ]).catch((e: unknown) => e);
      expect(isDeploytagError(error)).toBe(true);
      expect((error as Error).message).toBe(message);
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('says to choose another DATABASE_FORWARD_PORT when the local port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const error: unknown = await runWithPortForward(
        kube,
        options({ localPort: port }),
        psqlCommand('select 1'),
      ).catch((e: unknown) => e);
      expect(isDeploytagError(error) && error.code).toBe(KubeErrorCodes.PORT_FORWARD);
      expect((error as Error).message).toBe(
        `cannot listen on 127.0.0.1:${port}: EADDRINUSE; choose another DATABASE_FORWARD_PORT`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
