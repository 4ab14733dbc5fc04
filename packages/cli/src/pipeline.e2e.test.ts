/**
 * The built `deploytag pipeline` against the local stack, on the sample service pushed to the
 * harness git server: a staging push, a preview branch, an unchanged re-run (nothing built, no pod
 * restarted) and a change of a file `Dockerfile.base` copies (base and app rebuilt). Each run is
 * checked where it lands: registry tags, the branch database, the namespace, the helm release and
 * the address.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareSampleProject, requireEnv, startCloudflareApi } from '@deploytag/harness';
import type { CloudflareApiServer, SampleProject } from '@deploytag/harness';
import { RegistryClient } from '@deploytag/image';

const bin = resolve(import.meta.dirname, '../dist/bin/deploytag.js');
const scratch = mkdtempSync(join(tmpdir(), 'deploytag-pipeline-e2e-'));
const run = randomBytes(3).toString('hex');
const name = `e2e-${run}`;
const previewBranch = `feature/e2e-${run}`;
const kubectl = requireEnv('DEPLOYTAG_KUBECTL');
const kubeconfig = requireEnv('KUBECONFIG');
const registryHost = requireEnv('DEPLOYTAG_REGISTRY');
const registry = new RegistryClient(registryHost);

interface Report {
  ok: boolean;
  url: string | null;
  context: { namespace: string; release: string; database: string; sha: string; kind: string };
  steps: { id: string; status: string; outputs?: Record<string, string>; summary?: string }[];
}

let project: SampleProject;
let cloudflare: CloudflareApiServer;
let zoneId: string;
const zone = `${name}.deploytag.test`;

/**
 * Runs the built bin with `--json` in the project and returns its report. Asynchronous: the
 * Cloudflare API stand-in answers from this process while the pipeline runs.
 */
async function pipeline(extraEnv: Record<string, string> = {}): Promise<Report> {
  const child = spawn(process.execPath, [bin, 'pipeline', '--json'], {
    cwd: project.dir,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      ...project.env,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  if (code !== 0) throw new Error(`deploytag pipeline exited ${String(code)}:\n${err}\n${out}`);
  return JSON.parse(out) as Report;
}

const step = (report: Report, id: string) => report.steps.find((s) => s.id === id);

function kube(...args: string[]): unknown {
  return JSON.parse(
    execFileSync(kubectl, ['--kubeconfig', kubeconfig, ...args, '-o', 'json'], {
      encoding: 'utf8',
    }),
  );
}

/** Pod uids of the release's pods (to prove a re-run restarts nothing). */
function podUids(namespace: string, release: string): string[] {
  const pods = kube(
    'get',
    'pods',
    '-n',
    namespace,
    '-l',
    `app.kubernetes.io/instance=${release}`,
  ) as {
    items: { metadata: { uid: string } }[];
  };
  return pods.items.map((p) => p.metadata.uid).sort();
}

function helmStatus(
  namespace: string,
  release: string,
): { info: { status: string }; version: number } {
  return JSON.parse(
    execFileSync(
      requireEnv('HELM_BIN'),
      ['status', release, '--namespace', namespace, '--kubeconfig', kubeconfig, '-o', 'json'],
      { encoding: 'utf8' },
    ),
  ) as { info: { status: string }; version: number };
}

/** The knex migrations recorded in a database, through psql (password in the environment). */
function migrations(database: string): number {
  const url = new URL(requireEnv('DEPLOYTAG_POSTGRES_URL'));
  const out = execFileSync(
    join(requireEnv('DEPLOYTAG_POSTGRES_BIN'), 'psql'),
    ['-h', url.hostname, '-p', url.port, '-U', decodeURIComponent(url.username), '-d', database],
    {
      encoding: 'utf8',
      input: 'select count(*) from knex_migrations;',
      env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) },
    },
  );
  return Number(/\n\s*(\d+)\n/.exec(out)?.[1]);
}

describe('deploytag pipeline on the sample service', () => {
  beforeAll(async () => {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npm run build)`);
    project = await prepareSampleProject({
      dir: join(scratch, 'sample'),
      branch: 'master',
      name,
      stackEnv: process.env,
    });
    // A registry path of its own, so that other runs' images do not count.
    project.env['PROJECT_ID'] = name;
    cloudflare = await startCloudflareApi();
    zoneId = cloudflare.api.addZone(zone);
  }, 120_000);
  afterAll(async () => {
    await cloudflare.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const repo = () => `${name}/sample-service`;

  it('a staging push: tests, base and app built and tagged, database created, release deployed', async () => {
    const report = await pipeline({ HELM_NAME: name });
    expect(report.ok).toBe(true);
    expect(report.context.kind).toBe('staging');
    expect(step(report, 'tests')?.summary).toMatch(/^passed/);
    expect(step(report, 'secrets')?.outputs?.['variables']).toBe(
      'API_TOKEN,DEPLOY_ENVIRONMENT,GREETING',
    );
    expect(step(report, 'base-image')?.outputs?.['action']).toBe('build');
    expect(step(report, 'app-image')?.outputs?.['action']).toBe('build');
    const sha = project.sha();
    expect(await registry.listTags(repo())).toEqual(
      expect.arrayContaining([sha, 'master', 'latest']),
    );
    expect(await registry.listTags(`${repo()}_base`)).toEqual(
      expect.arrayContaining([sha, 'master', 'latest']),
    );
    expect(report.context.database).toBe(`${name}-staging`);
    expect(migrations(report.context.database)).toBe(2);
    expect(report.context.namespace).toBe('default');
    expect(helmStatus('default', name).info.status).toBe('deployed');
    expect(report.url).toMatch(/^http:\/\/127\.\d+\.\d+\.\d+$/);
  });

  it('a preview branch: its own namespace, database and DNS name; images re-tagged, not rebuilt', async () => {
    project.checkout(previewBranch);
    const report = await pipeline({
      CLOUDFLARE_API_URL: cloudflare.url,
      CLOUDFLARE_API_TOKEN: cloudflare.token,
      DNS_ZONE: zone,
    });
    expect(report.ok).toBe(true);
    const { namespace, release, database } = report.context;
    expect(namespace).toBe(`feature-e2e-${run}`);
    const ns = kube('get', 'namespace', namespace) as {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    };
    expect(ns.metadata.labels['app.kubernetes.io/managed-by']).toBe('deploytag');
    expect(ns.metadata.annotations['deploytag.dev/branch']).toBe(previewBranch);
    expect(step(report, 'base-image')?.outputs?.['action']).toMatch(/^(retag|up-to-date)$/);
    expect(step(report, 'app-image')?.outputs?.['action']).toBe('retag');
    expect(await registry.listTags(repo())).toContain(`feature-e2e-${run}`);
    expect(database).toBe(`${name}-feature-e2e-${run}`);
    expect(migrations(database)).toBe(2);
    expect(helmStatus(namespace, release).info.status).toBe('deployed');
    const secret = kube('get', 'secret', '-n', namespace, `${release}-env`) as {
      data: Record<string, string>;
    };
    expect(Buffer.from(secret.data['DEPLOY_ENVIRONMENT'] ?? '', 'base64').toString()).toBe(
      `the preview environment of ${name}`,
    );
    expect(Buffer.from(secret.data['DATABASE'] ?? '', 'base64').toString()).toBe(database);
    expect(report.url).toMatch(/^http:\/\/127\./);
    const address = step(report, 'deploy')?.outputs?.['address'];
    expect(address).toMatch(/^127\./);
    expect(cloudflare.api.records(zoneId).map((r) => [r.type, r.name, r.content])).toEqual(
      expect.arrayContaining([['A', `feature-e2e-${run}-app.${zone}`, address]]),
    );
    expect(step(report, 'dns')?.status).toBe('done');
  });

  it('the same commit again: nothing built, helm skipped, no pod restarted', async () => {
    const before = await pipeline();
    const pods = podUids(before.context.namespace, before.context.release);
    const revision = helmStatus(before.context.namespace, before.context.release).version;
    const report = await pipeline();
    expect(report.ok).toBe(true);
    expect(step(report, 'base-image')?.outputs?.['action']).toBe('up-to-date');
    expect(step(report, 'app-image')?.outputs?.['action']).toBe('up-to-date');
    expect(step(report, 'database')?.outputs?.['mode']).toBe('migrate');
    expect(step(report, 'deploy')?.outputs?.['action']).toBe('unchanged');
    expect(helmStatus(report.context.namespace, report.context.release).version).toBe(revision);
    expect(podUids(report.context.namespace, report.context.release)).toEqual(pods);
    expect(pods.length).toBeGreaterThan(0);
  });

  it('a change to a file Dockerfile.base copies rebuilds the base and the app and rolls the release', async () => {
    const sha = project.commit(
      { 'base/packages.txt': 'curl\njq\nca-certificates\nless\n' },
      'add less',
    );
    const report = await pipeline();
    expect(report.ok).toBe(true);
    expect(step(report, 'base-image')?.outputs?.['action']).toBe('build');
    expect(step(report, 'app-image')?.outputs?.['action']).toBe('build');
    expect(await registry.listTags(`${repo()}_base`)).toContain(sha);
    expect(step(report, 'deploy')?.outputs?.['action']).toBe('upgraded');
    const deployment = kube(
      'get',
      'deployment',
      '-n',
      report.context.namespace,
      report.context.release,
    ) as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    expect(deployment.spec.template.spec.containers[0]?.image).toBe(
      `${registryHost}/${repo()}:${sha}`,
    );
  });
});
