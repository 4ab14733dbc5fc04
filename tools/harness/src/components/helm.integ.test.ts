import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { requireEnv } from '../test-env.js';

const exec = promisify(execFile);

function writeChart(dir: string): void {
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(
    join(dir, 'Chart.yaml'),
    ['apiVersion: v2', 'name: tiny', 'version: 0.1.0', 'kubeVersion: ">=1.30.0-0"', ''].join('\n'),
  );
  writeFileSync(join(dir, 'values.yaml'), 'replicas: 1\nimage: registry.local/tiny:1\n');
  writeFileSync(
    join(dir, 'templates', 'deployment.yaml'),
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  annotations:
    kube-version: {{ .Capabilities.KubeVersion.Version | quote }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: { app: {{ .Release.Name }} }
  template:
    metadata:
      labels: { app: {{ .Release.Name }} }
    spec:
      containers:
        - name: app
          image: {{ .Values.image }}
`,
  );
}

describe('helm component: the real helm CLI against the kwok cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'harness-helm-'));
  const ns = `harness-helm-${randomBytes(3).toString('hex')}`;
  const helm = (args: string[]) =>
    exec(requireEnv('HELM_BIN'), [...args, '--kubeconfig', requireEnv('KUBECONFIG')], {
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(dir, 'cache'),
        HELM_CONFIG_HOME: join(dir, 'config'),
        HELM_DATA_HOME: join(dir, 'data'),
      },
    });

  afterAll(async () => {
    await helm(['uninstall', 'tiny', '--namespace', ns, '--wait']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports its stamped version', async () => {
    const { stdout } = await helm(['version', '--template', '{{.Version}}']);
    expect(stdout.trim()).toBe(requireEnv('DEPLOYTAG_HELM_VERSION'));
    expect(stdout.trim()).toMatch(/^v3\.\d+\.\d+$/);
  });

  it('renders offline (helm template) with the Kubernetes minor it was built for, not v1.20', async () => {
    const chart = join(dir, 'offline');
    writeChart(chart);
    const { stdout } = await exec(requireEnv('HELM_BIN'), ['template', 'offline', chart], {
      env: { ...process.env, KUBECONFIG: '/nonexistent' },
    });
    const minor = requireEnv('DEPLOYTAG_KUBE_VERSION').split('.')[1];
    expect(stdout).toContain(`kube-version: "v1.${minor}.0"`);
  });

  it('installs a chart with --wait and helm status says deployed', async () => {
    const chart = join(dir, 'tiny');
    writeChart(chart);
    await helm([
      'upgrade',
      '--install',
      'tiny',
      chart,
      '--namespace',
      ns,
      '--create-namespace',
      '--wait',
      '--timeout',
      '90s',
      '--set',
      'replicas=2',
    ]);
    const { stdout } = await helm(['status', 'tiny', '--namespace', ns, '-o', 'json']);
    const status = JSON.parse(stdout) as { info: { status: string }; version: number };
    expect(status.info.status).toBe('deployed');
    expect(status.version).toBe(1);
    const { stdout: manifest } = await helm(['get', 'manifest', 'tiny', '--namespace', ns]);
    expect(manifest).toContain(`kube-version: "${requireEnv('DEPLOYTAG_KUBE_VERSION')}"`);
  });
});
