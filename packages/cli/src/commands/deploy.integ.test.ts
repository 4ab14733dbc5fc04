/**
 * `deploytag deploy` in process against the kwok cluster and the real helm: a tiny chart goes
 * into a unique preview namespace; dry runs print what would happen without changing anything.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDeployContext } from '@deploytag/context';
import { Redactor } from '@deploytag/core';
import { requireEnv } from '@deploytag/harness';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureStream } from '../test-support.js';

const run = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'deploytag-cli-deploy-'));
const chart = join(dir, 'chart');
const envFile = join(dir, '.env.deploy');
/** Secret values: an application variable (env file) and a secret-looking HELM_VARS value. */
const appSecret = `app-secret-${run}-value`;
const helmPassword = `helm-pw-${run}-value`;

/** A chart small enough to read at a glance: one Deployment (env from the Secret) and one LB. */
function writeChart(): void {
  mkdirSync(join(chart, 'templates'), { recursive: true });
  writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: tiny\nversion: 0.1.0\n');
  writeFileSync(
    join(chart, 'values.yaml'),
    [
      'image:',
      '  repository: registry.local/tiny',
      '  tag: latest',
      'db:',
      '  password: ""',
      'envSecret:',
      "  name: ''",
      "  checksum: ''",
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(chart, 'templates', 'deployment.yaml'),
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: 1
  selector:
    matchLabels: { app: {{ .Release.Name }} }
  template:
    metadata:
      labels: { app: {{ .Release.Name }} }
      annotations:
        checksum/env: {{ .Values.envSecret.checksum | quote }}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          ports: [{ name: http, containerPort: 8080 }]
          env:
            - { name: DB_PASSWORD, value: {{ .Values.db.password | quote }} }
          {{- if .Values.envSecret.name }}
          envFrom: [{ secretRef: { name: {{ .Values.envSecret.name }} } }]
          {{- end }}
`,
  );
  writeFileSync(
    join(chart, 'templates', 'service.yaml'),
    `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  type: LoadBalancer
  selector: { app: {{ .Release.Name }} }
  ports: [{ port: 80, targetPort: http }]
`,
  );
}

const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  KUBECONFIG: requireEnv('KUBECONFIG'),
  HELM_BIN: requireEnv('HELM_BIN'),
  CIRCLE_BRANCH: `feature/cli-deploy-${run}`,
  CIRCLE_SHA1: `${run}${'b'.repeat(34)}`,
  CIRCLE_PROJECT_REPONAME: 'shop',
  CHART_NAME: chart,
  DOMAIN: 'example.test',
  CONTAINER_REGISTRY: 'registry.local',
  HELM_VARS: `--set db.password=${helmPassword}`,
};
const context = buildDeployContext({ env });

async function cli(argv: string[]) {
  const stdout = captureStream();
  const stderr = captureStream();
  const code = await main(argv, { stdout, stderr, env, cwd: dir, redactor: new Redactor() });
  return { code, out: stdout.text(), err: stderr.text() };
}

let core: CoreV1Api;

beforeAll(() => {
  writeChart();
  writeFileSync(envFile, `APP_SECRET=${appSecret}\nexport MODE="preview"\n`, { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromFile(requireEnv('KUBECONFIG'));
  core = kc.makeApiClient(CoreV1Api);
});

afterAll(async () => {
  await core.deleteNamespace({ name: context.namespace }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('deploytag deploy (kwok cluster, real helm)', () => {
  const deployArgs = [
    'deploy',
    '--env-file',
    envFile,
    '--timeout',
    '120',
    '--address-timeout',
    '60',
  ];

  it('--dry-run prints namespace, release, masked values and the diff, and creates nothing', async () => {
    const r = await cli([...deployArgs, '--dry-run']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines).toContain(`namespace: ${context.namespace}`);
    expect(lines).toContain(`release:   ${context.release}`);
    expect(lines).toContain(`chart:     ${chart}`);
    expect(lines).toContain(`secret:    ${context.release}-env (APP_SECRET, MODE; values hidden)`);
    expect(lines).toContain('  db:');
    expect(lines).toContain('    password: "***"');
    expect(lines).toContain(`    tag: ${env.CIRCLE_SHA1}`);
    expect(lines).toContain(`added Deployment/${context.release}`);
    expect(lines).toContain(`added Service/${context.release}`);
    // The chart renders the password into the Deployment: the diff shows it masked.
    expect(lines).toContain('  +               value: ***');
    // Neither secret is printed anywhere: not in values, not in the rendered manifests.
    expect(r.out + r.err).not.toContain(appSecret);
    expect(r.out + r.err).not.toContain(helmPassword);
    const namespaces = await core.listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).not.toContain(context.namespace);
  });

  it('installs into the preview namespace and prints the URL and the load balancer', async () => {
    const r = await cli(deployArgs);
    expect(r.err).not.toMatch(/^error/m);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toBe(
      `${context.release} installed in namespace ${context.namespace} (revision 1)`,
    );
    expect(lines[1]).toBe(`URL: https://${context.release}.example.test`);
    expect(lines[2]).toMatch(
      new RegExp(`^load balancer ${context.release}: 127\\.0\\.\\d+\\.\\d+$`),
    );
    expect(r.out + r.err).not.toContain(appSecret);
    expect(r.out + r.err).not.toContain(helmPassword);
    const secret = await core.readNamespacedSecret({
      name: `${context.release}-env`,
      namespace: context.namespace,
    });
    expect(Buffer.from(secret.data?.APP_SECRET ?? '', 'base64').toString()).toBe(appSecret);
  });

  it('a second run of the same commit is a no-op: unchanged, same revision', async () => {
    const r = await cli(deployArgs);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe(
      `${context.release} unchanged in namespace ${context.namespace} (revision 1)`,
    );
    const preview = await cli([...deployArgs, '--dry-run']);
    expect(preview.code).toBe(0);
    expect(preview.out).toContain('no changes against the live release');
  });

  it('--json prints the result as one JSON object', async () => {
    const r = await cli([...deployArgs, '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as Record<string, unknown>;
    expect(result).toMatchObject({
      namespace: context.namespace,
      release: context.release,
      action: 'unchanged',
      revision: 1,
      url: `https://${context.release}.example.test`,
    });
  });

  it('a bad --timeout is a usage error (exit 2, one line)', async () => {
    const r = await cli(['deploy', '--timeout', 'soon']);
    expect(r.code).toBe(2);
    expect(r.err).toBe('error: --timeout takes seconds, not "soon"\n');
  });
});
