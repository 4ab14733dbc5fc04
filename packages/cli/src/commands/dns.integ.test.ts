/**
 * `deploytag dns` in process, against moto's Route 53, the harness's Cloudflare test server and
 * the stack's Kubernetes API (for the load balancer's address).
 */
import { randomUUID } from 'node:crypto';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { Redactor } from '@deploytag/core';
import { requireEnv, startCloudflareApi, type CloudflareApiServer } from '@deploytag/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureStream } from '../test-support.js';

const run = randomUUID().slice(0, 8);

async function cli(argv: string[], env: NodeJS.ProcessEnv) {
  const stdout = captureStream();
  const stderr = captureStream();
  const code = await main(argv, { stdout, stderr, env, redactor: new Redactor() });
  return { code, out: stdout.text(), err: stderr.text() };
}

/** The environment contract of a deploy of `branch` with the DNS zone `zone`. */
function deployEnv(branch: string, zone: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const pass = (names: string[]) =>
    Object.fromEntries(names.flatMap((n) => (process.env[n] ? [[n, process.env[n]]] : [])));
  return {
    ...pass([
      'PATH',
      'HOME',
      'KUBECONFIG',
      'AWS_ENDPOINT_URL',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_REGION',
      'AWS_DEFAULT_REGION',
    ]),
    CIRCLE_BRANCH: branch,
    CIRCLE_SHA1: '0123456789abcdef0123456789abcdef01234567',
    CIRCLE_PROJECT_REPONAME: `dnsshop-${run}`,
    CHART_NAME: './chart',
    DOMAIN: zone,
    CONTAINER_REGISTRY: 'registry.deploytag.test',
    ...extra,
  };
}

describe('deploytag dns against Route 53 (moto)', () => {
  let r53: Route53Client;
  let zone: string;
  let zoneId: string;
  beforeAll(async () => {
    requireEnv('AWS_ENDPOINT_URL');
    r53 = new Route53Client({});
    zone = `cli-${run}.deploytag.test`;
    const created = await r53.send(
      new CreateHostedZoneCommand({ Name: zone, CallerReference: randomUUID() }),
    );
    zoneId = created.HostedZone!.Id!;
  });
  afterAll(() => {
    r53.destroy();
  });
  const records = async () => {
    const page = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
    return (page.ResourceRecordSets ?? [])
      .filter((s) => s.Type !== 'NS' && s.Type !== 'SOA')
      .map((s) => `${s.Type} ${s.Name} ${(s.ResourceRecords ?? []).map((r) => r.Value).join(',')}`)
      .sort();
  };

  it('plans with --dry-run, applies, re-runs idempotently, updates, refuses and removes', async () => {
    const env = deployEnv('feature/login', zone, { DNS_PROVIDER: 'route53' });
    const app = `feature-login-app.${zone}`;
    const owner = `deploytag/dnsshop-${run}/feature-login`;

    const dry = await cli(['dns', '--address', '203.0.113.10', '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain(`route53 zone ${zone}, owner ${owner}`);
    expect(dry.out).toContain(`would create A ${app} → 203.0.113.10`);
    expect(dry.out).toContain(`would create TXT _deploytag.${app}`);
    expect(await records()).toEqual([]);

    const applied = await cli(['dns', '--address', '203.0.113.10'], env);
    expect(applied.code).toBe(0);
    expect(await records()).toEqual([
      `A ${app}. 203.0.113.10`,
      `TXT _deploytag.${app}. "heritage=deploytag,deploytag/owner=${owner}"`,
    ]);

    const again = await cli(['dns', '--address', '203.0.113.10', '--json'], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({
      provider: 'route53',
      zone,
      owner,
      applied: false,
      changes: [],
      unchanged: [app],
    });

    const moved = await cli(
      [
        'dns',
        '--address',
        'lb.example.net',
        '--record',
        '{.Branch}-app',
        '--record',
        'api-{.Branch}',
      ],
      env,
    );
    expect(moved.code).toBe(0);
    expect(moved.out).toContain(`delete A ${app} (203.0.113.10)`);
    expect(moved.out).toContain(`create CNAME ${app} → lb.example.net`);
    expect(moved.out).toContain(`create CNAME api-feature-login.${zone} → lb.example.net`);

    await r53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'CREATE',
              ResourceRecordSet: {
                Name: `feature-login-web.${zone}`,
                Type: 'A',
                TTL: 60,
                ResourceRecords: [{ Value: '192.0.2.50' }],
              },
            },
          ],
        },
      }),
    );
    const refused = await cli(
      ['dns', '--address', '203.0.113.10', '--record', '{.Branch}-web'],
      env,
    );
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`left alone: feature-login-web.${zone} already has a record`);

    const removed = await cli(['dns', '--remove'], env);
    expect(removed.code).toBe(0);
    expect(removed.out).toContain(`delete CNAME ${app} (lb.example.net)`);
    expect(await records()).toEqual([`A feature-login-web.${zone}. 192.0.2.50`]);
  });

  it('reads the address of the release from its LoadBalancer Service', async () => {
    requireEnv('KUBECONFIG');
    const kube = await import('@deploytag/kube');
    const clients = kube.createKubeClients(kube.loadKubeConfig({ env: process.env }));
    const branch = `feature/dns-${run}`;
    const namespace = `feature-dns-${run}`;
    const release = `feature-dns-${run}-chart`;
    await clients.core.createNamespace({ body: { metadata: { name: namespace } } });
    try {
      await clients.core.createNamespacedService({
        namespace,
        body: {
          metadata: {
            name: 'web',
            annotations: { 'meta.helm.sh/release-name': release },
          },
          spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80 }] },
        },
      });
      const env = deployEnv(branch, zone, { DNS_PROVIDER: 'route53' });
      const result = await cli(['dns', '--address-timeout', '60', '--json'], env);
      expect(result.code).toBe(0);
      const json = JSON.parse(result.out) as { changes: { type: string; values: string[] }[] };
      const a = json.changes.find((c) => c.type === 'A');
      expect(a?.values[0]).toMatch(/^127\.\d+\.\d+\.\d+$/);
      const svc = await clients.core.readNamespacedService({ name: 'web', namespace });
      expect(a?.values).toEqual([svc.status?.loadBalancer?.ingress?.[0]?.ip]);
      expect((await cli(['dns', '--remove'], env)).code).toBe(0);
    } finally {
      await clients.core.deleteNamespace({ name: namespace });
    }
  });
});

describe('deploytag dns against the Cloudflare test server', () => {
  let server: CloudflareApiServer;
  beforeAll(async () => {
    server = await startCloudflareApi();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('applies through the API and never prints the token', async () => {
    const zone = `cf-cli-${run}.deploytag.test`;
    const zoneId = server.api.addZone(zone);
    const env = deployEnv('feature/login', zone, {
      CLOUDFLARE_API_TOKEN: server.token,
      CLOUDFLARE_API_URL: server.url,
      DNS_RECORDS: '{.Branch}-app,{.Release}',
      DNS_TTL: '120',
    });
    const result = await cli(['dns', '--address', '2001:db8::7', '--verbose'], env);
    expect(result.code).toBe(0);
    expect(result.out).toContain('cloudflare zone');
    const owner = `deploytag/dnsshop-${run}/feature-login`;
    expect(
      server.api
        .records(zoneId)
        .map((r) => `${r.type} ${r.name} ${r.content} ${r.ttl}`)
        .sort(),
    ).toEqual(
      [
        `TXT _deploytag.feature-login-app.${zone} "heritage=deploytag,deploytag/owner=${owner}" 120`,
        `TXT _deploytag.feature-login-chart.${zone} "heritage=deploytag,deploytag/owner=${owner}" 120`,
        `AAAA feature-login-app.${zone} 2001:db8::7 120`,
        `AAAA feature-login-chart.${zone} 2001:db8::7 120`,
      ].sort(),
    );
    expect(`${result.out}${result.err}`).not.toContain(server.token);
    expect(server.api.requests.filter((r) => r.status !== 200)).toEqual([]);
    const bad = await cli(['dns', '--address', '192.0.2.1'], {
      ...env,
      CLOUDFLARE_API_TOKEN: 'wrong-token',
    });
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('Cloudflare refused the API token');
  });

  it('reports a missing setting with exit code 2', async () => {
    const env = deployEnv('feature/login', 'example.test', { DNS_PROVIDER: 'cloudflare' });
    const result = await cli(['dns', '--address', '192.0.2.1'], env);
    expect(result.code).toBe(2);
    expect(result.err).toContain('CLOUDFLARE_API_TOKEN is not set');
  });
});
