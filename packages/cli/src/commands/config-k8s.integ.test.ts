/**
 * `deploytag config-k8s` in process. GKE: a local server plays Google (the token endpoint checks
 * the key's signature; the GKE API describes a cluster that is the harness's real kube-apiserver),
 * so the kubeconfig written is proven to work by using it. EKS: moto's DescribeCluster.
 */
import { createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { Redactor } from '@deploytag/core';
import { requireEnv } from '@deploytag/harness';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureStream } from '../test-support.js';

const run = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'deploytag-cli-k8s-'));
const harness = new KubeConfig();
harness.loadFromFile(requireEnv('KUBECONFIG'));
const apiServer = new URL(harness.getCurrentCluster()?.server ?? '');
/** The harness's admin token stands for the access token Google would hand out. */
const accessToken = harness.getCurrentUser()?.token ?? '';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
let google: Server;
let googleUrl = '';

function serviceKey(): string {
  return JSON.stringify({
    type: 'service_account',
    project_id: 'proj',
    client_email: 'deployer@proj.iam.gserviceaccount.com',
    private_key: privateKeyPem,
    token_uri: `${googleUrl}/token`,
  });
}

async function cli(argv: string[], env: NodeJS.ProcessEnv) {
  const stdout = captureStream();
  const stderr = captureStream();
  const code = await main(argv, {
    stdout,
    stderr,
    env: { PATH: process.env.PATH, ...env },
    cwd: dir,
    redactor: new Redactor(),
  });
  return { code, out: stdout.text(), err: stderr.text() };
}

beforeAll(async () => {
  google = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const json = (status: number, value: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      };
      if (req.method === 'POST' && req.url === '/token') {
        const form = new URLSearchParams(body);
        const [h, p, s] = (form.get('assertion') ?? '').split('.');
        const signed = createVerify('RSA-SHA256')
          .update(`${h}.${p}`)
          .verify(publicKey, Buffer.from(s ?? '', 'base64url'));
        if (signed)
          json(200, { access_token: accessToken, expires_in: 3599, token_type: 'Bearer' });
        else json(400, { error: 'invalid_grant' });
      } else if (req.headers.authorization !== `Bearer ${accessToken}`) {
        json(401, { error: { message: 'unauthenticated' } });
      } else if (req.url === '/v1/projects/proj/locations/europe-west1-b/clusters/review') {
        json(200, {
          endpoint: apiServer.host,
          masterAuth: { clusterCaCertificate: harness.getCurrentCluster()?.caData },
        });
      } else {
        json(404, { error: { message: `cluster not found: ${req.url ?? ''}` } });
      }
    });
  });
  await new Promise<void>((resolve) => google.listen(0, '127.0.0.1', resolve));
  googleUrl = `http://127.0.0.1:${(google.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => google.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('deploytag config-k8s', () => {
  const gke = (): NodeJS.ProcessEnv => ({
    CLOUD_PROVIDER: 'gcp',
    GOOGLE_PROJECT_ID: 'proj',
    GOOGLE_COMPUTE_ZONE: 'europe-west1-b',
    GOOGLE_CLUSTER_NAME: 'review',
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER: `${googleUrl}/`,
  });

  it('GKE: writes a 0600 kubeconfig that works against the cluster', async () => {
    const path = join(dir, 'gke', 'nested', 'kubeconfig');
    const r = await cli(['config-k8s', '-o', path], { ...gke(), GCLOUD_SERVICE_KEY: serviceKey() });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      new RegExp(
        `^wrote ${path} for https://${apiServer.host} \\(gcp; token valid until \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\)\\n$`,
      ),
    );
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(r.out + r.err).not.toContain(accessToken);
    // The file works: the real API server accepts it.
    const written = new KubeConfig();
    written.loadFromFile(path);
    const ns = await written.makeApiClient(CoreV1Api).readNamespace({ name: 'default' });
    expect(ns.metadata?.name).toBe('default');
  });

  it('GKE: takes the key base64-encoded, and writes to $KUBECONFIG by default', async () => {
    const path = join(dir, 'gke-default', 'config');
    const r = await cli(['config-k8s', '--json'], {
      ...gke(),
      GCLOUD_SERVICE_KEY_BASE64: Buffer.from(serviceKey()).toString('base64'),
      KUBECONFIG: `${path}:${join(dir, 'other')}`,
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      path,
      provider: 'gcp',
      server: `https://${apiServer.host}`,
    });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('GKE: a cluster the API does not know fails with one line naming the variables', async () => {
    const r = await cli(['config-k8s', '-o', join(dir, 'never')], {
      ...gke(),
      GOOGLE_CLUSTER_NAME: 'absent',
      GCLOUD_SERVICE_KEY: serviceKey(),
    });
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      "error: cannot read the GKE cluster absent in proj/europe-west1-b: cluster not found: /v1/projects/proj/locations/europe-west1-b/clusters/absent; check GOOGLE_PROJECT_ID, GOOGLE_COMPUTE_ZONE, GOOGLE_CLUSTER_NAME and the account's container.clusters.get permission\n",
    );
    expect(r.err).not.toContain('PRIVATE KEY');
  });

  it("EKS: writes a 0600 kubeconfig with moto's endpoint and CA", async () => {
    const region = requireEnv('AWS_DEFAULT_REGION');
    requireEnv('AWS_ENDPOINT_URL');
    const eks = new EKSClient({ region });
    const name = `deploytag-cli-${run}`;
    const created = await eks.send(
      new CreateClusterCommand({
        name,
        roleArn: 'arn:aws:iam::123456789012:role/eks',
        resourcesVpcConfig: { subnetIds: ['subnet-1'] },
      }),
    );
    eks.destroy();
    const path = join(dir, 'eks', 'kubeconfig');
    const r = await cli(['config-k8s', '-o', path], {
      AWS_DEFAULT_REGION: region,
      AWS_CLUSTER_NAME: name,
    });
    expect(r.code).toBe(0);
    // The kubeconfig loader drops a trailing slash.
    const endpoint = (created.cluster?.endpoint ?? '').replace(/\/$/, '');
    expect(r.out).toMatch(
      new RegExp(`^wrote ${path} for ${endpoint}/? \\(aws; token valid until [\\dT:.-]+Z\\)\\n$`),
    );
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const written = new KubeConfig();
    written.loadFromFile(path);
    expect(written.getCurrentCluster()?.server).toBe(endpoint);
    expect(written.getCurrentCluster()?.caData).toBe(created.cluster?.certificateAuthority?.data);
    expect(written.getCurrentUser()?.token).toMatch(/^k8s-aws-v1\./);
  });

  it('names every missing variable, exit 2', async () => {
    const r = await cli(['config-k8s', '-o', join(dir, 'never')], { CLOUD_PROVIDER: 'aws' });
    expect(r).toMatchObject({
      code: 2,
      err: "error: config-k8s needs AWS_DEFAULT_REGION, AWS_CLUSTER_NAME; set them in the CI's environment\n",
    });
  });
});
