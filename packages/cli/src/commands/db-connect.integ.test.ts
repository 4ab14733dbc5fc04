/**
 * `deploytag db-connect` in process, end to end: the original's variables (DATABASE_DEPLOYMENT,
 * DATABASE_PORT, DATABASE_FORWARD_PORT, the branch from the CI variables) select a Deployment in
 * the kwok cluster; kube-apiserver streams the forward to kwok, which a ClusterPortForward points
 * at the harness's real PostgreSQL; a real psql runs through it and its exit status comes back.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { namespaceName } from '@deploytag/context';
import { Redactor } from '@deploytag/core';
import { processCommandLines, requireEnv } from '@deploytag/harness';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureStream } from '../test-support.js';

const run = randomBytes(3).toString('hex');
const branch = `feature/cli-dbc-${run}`;
const ns = namespaceName(branch);
const rule = `deploytag-${ns}`;
const dir = mkdtempSync(join(tmpdir(), 'deploytag-cli-dbc-'));
const [group, version] = requireEnv('DEPLOYTAG_KWOK_API_VERSION').split('/') as [string, string];
const pg = new URL(requireEnv('DEPLOYTAG_POSTGRES_URL'));
const pgPassword = decodeURIComponent(pg.password);
const psql = `${requireEnv('DEPLOYTAG_POSTGRES_BIN')}/psql`;
const kc = new KubeConfig();
kc.loadFromFile(requireEnv('KUBECONFIG'));

/** The original's environment contract, plus what psql reads (the password only from here). */
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  KUBECONFIG: requireEnv('KUBECONFIG'),
  CIRCLE_BRANCH: branch,
  DATABASE_DEPLOYMENT: 'postgres',
  DATABASE_PORT: '5432',
  DATABASE_FORWARD_PORT: '0',
  PGUSER: decodeURIComponent(pg.username),
  PGPASSWORD: pgPassword,
  PGDATABASE: 'postgres',
  PGCONNECT_TIMEOUT: '20',
};

async function cli(argv: string[], extra: NodeJS.ProcessEnv = {}) {
  const stdout = captureStream();
  const stderr = captureStream();
  const code = await main(argv, {
    stdout,
    stderr,
    env: { ...env, ...extra },
    cwd: dir,
    redactor: new Redactor(),
  });
  return { code, out: stdout.text(), err: stderr.text() };
}

/** `sh -c SCRIPT` with psql as `$1`: the script connects to `$DEPLOYTAG_FORWARD_PORT`. */
function shell(script: string, ...args: string[]): string[] {
  return ['db-connect', '--', 'sh', '-c', script, 'db-connect-test', psql, ...args];
}

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

let core: CoreV1Api;
let objects: CustomObjectsApi;

beforeAll(async () => {
  core = kc.makeApiClient(CoreV1Api);
  objects = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  await core.createNamespace({ body: { metadata: { name: ns } } });
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
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'postgres' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'postgres' } },
        template: {
          metadata: { labels: { app: 'postgres' } },
          spec: {
            containers: [
              { name: 'db', image: 'registry.local/postgres:16', ports: [{ containerPort: 5432 }] },
            ],
          },
        },
      },
    },
  });
  for (let i = 0; ; i++) {
    const d = await apps.readNamespacedDeployment({ name: 'postgres', namespace: ns });
    if ((d.status?.readyReplicas ?? 0) >= 1) break;
    if (i > 600) throw new Error('the postgres Deployment never became ready');
    await sleep(200);
  }
});

afterAll(async () => {
  await objects
    .deleteClusterCustomObject({ group, version, plural: 'clusterportforwards', name: rule })
    .catch(() => undefined);
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('deploytag db-connect (kwok cluster, real PostgreSQL through kube-apiserver)', () => {
  it('runs the command against the forwarded port, exits 0 with it, and closes the port', async () => {
    const portFile = join(dir, 'port-ok');
    const outFile = join(dir, 'out-ok');
    const r = await cli(
      shell(
        'echo "$DEPLOYTAG_FORWARD_PORT" > "$2"; exec "$1" -h 127.0.0.1 -p "$DEPLOYTAG_FORWARD_PORT" -X -tA -o "$3" -c "select current_user || \'@\' || current_database()"',
        portFile,
        outFile,
      ),
    );
    expect(r.code).toBe(0);
    expect(readFileSync(outFile, 'utf8')).toBe(`${env.PGUSER}@postgres\n`);
    const port = Number(readFileSync(portFile, 'utf8'));
    expect(r.err).toMatch(
      new RegExp(`forwarding 127\\.0\\.0\\.1:${port} to pod postgres-\\S+ port 5432`),
    );
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
  });

  it("exits with the command's own non-zero status", async () => {
    const failing = await cli(
      shell('exec "$1" -h 127.0.0.1 -p "$DEPLOYTAG_FORWARD_PORT" -X -tAc "select 1/0" 2>/dev/null'),
    );
    expect(failing.code).toBe(1);
    const seven = await cli(
      shell(
        '"$1" -h 127.0.0.1 -p "$DEPLOYTAG_FORWARD_PORT" -X -tAc "select 1" >/dev/null && exit 7',
      ),
    );
    expect(seven.code).toBe(7);
  });

  it('puts no secret in any process arguments while the command runs', async () => {
    const go = join(dir, 'go');
    const waiting = join(dir, 'waiting');
    const marker = `dbc-wait-${run}`;
    const token = kc.getCurrentUser()?.token ?? '';
    expect(token).not.toBe('');
    const running = cli(
      shell(
        `: ${marker}; touch "$2"; while [ ! -e "$3" ]; do sleep 0.05; done; exec "$1" -h 127.0.0.1 -p "$DEPLOYTAG_FORWARD_PORT" -X -tAc "select 1" >/dev/null`,
        waiting,
        go,
      ),
    );
    while (!existsSync(waiting)) await sleep(50);
    const lines = processCommandLines();
    writeFileSync(go, '');
    const r = await running;
    expect(r.code).toBe(0);
    // The sample was taken while the command ran (its own command line is in it).
    expect(lines.some((l) => l.includes(marker))).toBe(true);
    for (const secret of [pgPassword, token]) {
      expect(lines.filter((l) => l.includes(secret))).toEqual([]);
      expect(r.out + r.err).not.toContain(secret);
    }
  });

  it('fails with one line, without running the command, when there is nothing to forward to', async () => {
    const ran = join(dir, 'ran');
    const r = await cli(['db-connect', '--target', 'deployment/absent', '--', 'touch', ran]);
    expect(r.code).toBe(1);
    expect(r.err.trimEnd().split('\n').at(-1)).toBe(
      `error: finding deployment/absent in ${ns} failed (HTTP 404): deployments.apps "absent" not found`,
    );
    expect(existsSync(ran)).toBe(false);
  });

  it('reports usage errors with exit 2 and one line', async () => {
    const noTarget = await cli(['db-connect', '--', 'true'], { DATABASE_DEPLOYMENT: '' });
    expect(noTarget).toMatchObject({
      code: 2,
      err: 'error: set DATABASE_DEPLOYMENT or --target\n',
    });
    const badPort = await cli(['db-connect', '--', 'true'], { DATABASE_PORT: '54x' });
    expect(badPort).toMatchObject({
      code: 2,
      err: 'error: DATABASE_PORT must be a port number (1-65535), not "54x"\n',
    });
    const noCommand = await cli(['db-connect']);
    expect(noCommand.code).toBe(2);
    expect(noCommand.err).toContain("missing required argument 'command'");
  });
});
