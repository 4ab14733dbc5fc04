/**
 * The built `deploytag` bin's db-connect, as a user runs it: the command gets the terminal's
 * stdin, stdout and stderr (psql reads SQL from stdin, its output reaches stdout byte for byte) and
 * deploytag exits with its status. The forward goes through kube-apiserver to kwok, which a
 * ClusterPortForward points at the harness's real PostgreSQL.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, symlinkSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireEnv } from '@deploytag/harness';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = resolve(import.meta.dirname, '../../dist/bin/deploytag.js');
const run = randomBytes(3).toString('hex');
const ns = `cli-dbc-e2e-${run}`;
const rule = `deploytag-${ns}`;
const dir = mkdtempSync(join(tmpdir(), 'deploytag-dbc-e2e-'));
const [group, version] = requireEnv('DEPLOYTAG_KWOK_API_VERSION').split('/') as [string, string];
const pg = new URL(requireEnv('DEPLOYTAG_POSTGRES_URL'));
const psql = `${requireEnv('DEPLOYTAG_POSTGRES_BIN')}/psql`;
const kc = new KubeConfig();
kc.loadFromFile(requireEnv('KUBECONFIG'));

/** Runs the bin (or a link to it) with stdin text; resolves with its exit code and output. */
function runBin(
  file: string,
  args: string[],
  input: string,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [file, ...args], {
      env: {
        PATH: process.env.PATH,
        KUBECONFIG: requireEnv('KUBECONFIG'),
        DATABASE_DEPLOYMENT: 'postgres',
        DATABASE_FORWARD_PORT: '0',
        PGUSER: decodeURIComponent(pg.username),
        PGPASSWORD: decodeURIComponent(pg.password),
        PGDATABASE: 'postgres',
      },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdin.end(input);
    child.on('close', (code) => done({ code, out, err }));
  });
}

let core: CoreV1Api;
let objects: CustomObjectsApi;

beforeAll(async () => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npm run build)`);
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
  const labels = { app: 'postgres' };
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'postgres' },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'db', image: 'registry.local/postgres:16' }] },
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

describe('the built bin: db-connect in the foreground', () => {
  // psql reads the script from stdin and connects to the port db-connect chose.
  const psqlArgs = [
    'sh',
    '-c',
    'exec "$0" -h 127.0.0.1 -p "$DEPLOYTAG_FORWARD_PORT" -X -tA "$@"',
    psql,
  ];

  it('gives the command stdin and stdout, and exits 0 with it', async () => {
    const r = await runBin(bin, ['db-connect', '-n', ns, '--', ...psqlArgs], 'select 6 * 7;\n');
    expect(r.code).toBe(0);
    expect(r.out).toBe('42\n');
    expect(r.err).toMatch(/forwarding 127\.0\.0\.1:\d+ to pod postgres-\S+ port 5432/);
  });

  it("exits with the command's status, through the deploytag-db-connect name too", async () => {
    const link = join(dir, 'deploytag-db-connect');
    symlinkSync(bin, link);
    const r = await runBin(
      link,
      ['-n', ns, '--', ...psqlArgs, '-v', 'ON_ERROR_STOP=1'],
      'select 1;\nselect 1/0;\nselect 2;\n',
    );
    // psql's own code for a failed script: 3; the first statement's output is there, the last's not.
    expect(r.code).toBe(3);
    expect(r.out).toBe('1\n');
    expect(r.err).toContain('division by zero');
  });
});
