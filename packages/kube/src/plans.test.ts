import { Secret } from '@deploytag/core';
import type { V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { addressUrls, releaseAddresses } from './address.js';
import { envChecksum, envSecretBody } from './env-secret.js';
import { planLease } from './lease.js';
import { labelValue, planNamespace } from './namespace.js';
import { parseForwardTarget } from './port-forward.js';
import { dockerConfigJson, planRegistrySecret } from './pull-secret.js';
import { FATAL_REASONS, diagnoseRollout } from './readiness.js';

const now = new Date('2026-01-02T03:04:05Z');
const want = { name: 'feature-x', repo: 'shop', kind: 'preview', branch: 'feature/x', now };

describe('planNamespace', () => {
  it('creates a missing namespace, labelled and annotated', () => {
    expect(planNamespace(undefined, want)).toEqual({
      action: 'create',
      body: {
        metadata: {
          name: 'feature-x',
          labels: {
            'app.kubernetes.io/managed-by': 'deploytag',
            'deploytag.dev/repo': 'shop',
            'deploytag.dev/environment': 'preview',
          },
          annotations: {
            'deploytag.dev/deployed-at': now.toISOString(),
            'deploytag.dev/branch': 'feature/x',
          },
        },
      },
    });
  });

  it('updates its own namespace, keeping other labels', () => {
    const existing = {
      metadata: {
        name: 'feature-x',
        resourceVersion: '7',
        labels: {
          'app.kubernetes.io/managed-by': 'deploytag',
          'deploytag.dev/repo': 'shop',
          team: 'a',
        },
        annotations: { 'deploytag.dev/branch': 'feature/x' },
      },
    };
    const plan = planNamespace(existing, want);
    expect(plan.action).toBe('update');
    expect(plan.action === 'update' && plan.body.metadata).toMatchObject({
      resourceVersion: '7',
      labels: { team: 'a', 'deploytag.dev/environment': 'preview' },
      annotations: { 'deploytag.dev/deployed-at': now.toISOString() },
    });
  });

  it('refuses an unlabelled namespace, another branch, another repository, or one being deleted', () => {
    const ours = { 'app.kubernetes.io/managed-by': 'deploytag', 'deploytag.dev/repo': 'shop' };
    const cases = [
      [{ metadata: { name: 'feature-x' } }, /never adopted/],
      [
        {
          metadata: {
            name: 'feature-x',
            labels: ours,
            annotations: { 'deploytag.dev/branch': 'feature-x' },
          },
        },
        /belongs to branch "feature-x"/,
      ],
      [
        { metadata: { name: 'feature-x', labels: { ...ours, 'deploytag.dev/repo': 'other' } } },
        /repository other/,
      ],
      [{ metadata: { name: 'feature-x', labels: ours, deletionTimestamp: now } }, /being deleted/],
    ] as const;
    for (const [existing, reason] of cases) {
      const plan = planNamespace(existing, want);
      expect(plan.action).toBe('refuse');
      expect(plan.action === 'refuse' && plan.reason).toMatch(reason);
    }
  });

  it('makes label values valid', () => {
    expect(labelValue('shop')).toBe('shop');
    expect(labelValue('My_Repo.1')).toBe('My_Repo.1');
    expect(labelValue('bad repo!')).toMatch(/^[a-z0-9-]+$/);
  });
});

describe('the environment Secret', () => {
  const data = { B: Secret.of('2'), A: Secret.of('x y') };

  it('has a checksum that ignores key order and changes with any value', () => {
    expect(envChecksum(data)).toBe(envChecksum({ A: Secret.of('x y'), B: Secret.of('2') }));
    expect(envChecksum(data)).not.toBe(envChecksum({ A: Secret.of('x y'), B: Secret.of('3') }));
    // Key/value boundaries are unambiguous.
    expect(envChecksum({ AB: Secret.of('C') })).not.toBe(envChecksum({ A: Secret.of('BC') }));
    expect(envChecksum({})).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is an Opaque Secret with base64 data and the checksum annotation', () => {
    const body = envSecretBody({ namespace: 'ns', name: 'web-env', release: 'web', data });
    expect(body.type).toBe('Opaque');
    expect(body.data).toEqual({ A: Buffer.from('x y').toString('base64'), B: 'Mg==' });
    expect(body.metadata?.annotations?.['deploytag.dev/checksum']).toBe(envChecksum(data));
    expect(body.metadata?.labels?.['app.kubernetes.io/instance']).toBe('web');
    expect(() =>
      envSecretBody({ namespace: 'ns', name: 'x', release: 'x', data: { 'A B': Secret.of('') } }),
    ).toThrow(/cannot be a Secret key/);
  });
});

describe('planRegistrySecret', () => {
  it('copies gcrsecret on GCP, does nothing on AWS, and uses credentials when given', () => {
    expect(planRegistrySecret({ cloudProvider: 'gcp', namespace: 'feature-x' })).toEqual({
      kind: 'copy',
      name: 'gcrsecret',
      from: 'default',
      namespace: 'feature-x',
    });
    expect(planRegistrySecret({ cloudProvider: 'gcp', namespace: 'default' }).kind).toBe('none');
    expect(planRegistrySecret({ cloudProvider: 'aws', namespace: 'feature-x' }).kind).toBe('none');
    const credentials = { registry: 'r.example:5000', username: 'u', password: Secret.of('p') };
    expect(
      planRegistrySecret({ cloudProvider: 'aws', namespace: 'n', credentials, name: 'pull' }),
    ).toMatchObject({
      kind: 'credentials',
      name: 'pull',
    });
    expect(JSON.parse(dockerConfigJson(credentials))).toEqual({
      auths: { 'r.example:5000': { auth: Buffer.from('u:p').toString('base64') } },
    });
  });
});

const deployment = (ready: number, extra: Partial<V1Deployment['status']> = {}): V1Deployment => ({
  metadata: { name: 'web', generation: 2 },
  spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: {} },
  status: {
    observedGeneration: 2,
    replicas: 2,
    updatedReplicas: 2,
    readyReplicas: ready,
    availableReplicas: ready,
    ...extra,
  },
});
const pod = (name: string, status: V1Pod['status'], labels = { app: 'web' }): V1Pod => ({
  metadata: { name, labels },
  status,
});

describe('diagnoseRollout', () => {
  it('is ready when every Deployment is available and Jobs completed', () => {
    const job: V1Job = {
      metadata: { name: 'migrate' },
      status: { conditions: [{ type: 'Complete', status: 'True' }] },
    };
    expect(
      diagnoseRollout({ deployments: [deployment(2)], statefulSets: [], jobs: [job], pods: [] }),
    ).toEqual({
      ready: true,
      progress: ['Deployment/web 2/2 ready', 'Job/migrate complete'],
      problems: [],
    });
  });

  it('explains image pulls, crash loops, unschedulable pods, failed Jobs and deadlines, worst first', () => {
    const pods = [
      pod('web-1', {
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/1 nodes: Insufficient cpu',
          },
        ],
      }),
      pod('web-2', {
        containerStatuses: [
          {
            name: 'web',
            image: 'r/web:1',
            imageID: '',
            ready: false,
            restartCount: 4,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 3, reason: 'Error' } },
          },
        ],
      }),
      pod('web-3', {
        containerStatuses: [
          {
            name: 'web',
            image: 'r/does-not-exist:1',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ErrImagePull' } },
          },
        ],
      }),
      pod(
        'other',
        {
          containerStatuses: [
            {
              name: 'x',
              image: 'x',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: 'ImagePullBackOff' } },
            },
          ],
        },
        { app: 'other' },
      ),
    ];
    const job: V1Job = {
      metadata: { name: 'migrate' },
      status: {
        failed: 3,
        conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }],
      },
    };
    const d = deployment(0, {
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "web-1" has timed out progressing.',
        },
      ],
    });
    const result = diagnoseRollout({ deployments: [d], statefulSets: [], jobs: [job], pods });
    expect(result.ready).toBe(false);
    expect(result.problems.map((p) => [p.reason, p.object])).toEqual([
      ['ImagePullBackOff', 'Pod/web-3'],
      ['CrashLoopBackOff', 'Pod/web-2'],
      ['JobFailed', 'Job/migrate'],
      ['Unschedulable', 'Pod/web-1'],
      ['ProgressDeadlineExceeded', 'Deployment/web'],
    ]);
    expect(result.problems[0]?.message).toContain('r/does-not-exist:1');
    expect(result.problems[1]?.message).toContain('last exit code 3');
    expect(result.problems[3]?.message).toContain('Insufficient cpu');
  });

  it('ends a rollout early only for problems waiting cannot fix (not Unschedulable: autoscalers fix it)', () => {
    expect([...FATAL_REASONS].sort()).toEqual([
      'CrashLoopBackOff',
      'CreateContainerConfigError',
      'ImagePullBackOff',
      'JobFailed',
      'ProgressDeadlineExceeded',
    ]);
  });

  it('is not ready while an old ReplicaSet still has pods or the controller has not caught up', () => {
    expect(
      diagnoseRollout({
        deployments: [deployment(2, { replicas: 3 })],
        statefulSets: [],
        jobs: [],
        pods: [],
      }).ready,
    ).toBe(false);
    expect(
      diagnoseRollout({
        deployments: [deployment(2, { observedGeneration: 1 })],
        statefulSets: [],
        jobs: [],
        pods: [],
      }).ready,
    ).toBe(false);
  });
});

describe('addresses', () => {
  it('lists LoadBalancer addresses, pending ones and Ingress hosts, and makes URLs', () => {
    const addresses = releaseAddresses(
      [
        {
          metadata: { name: 'web' },
          spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
          status: { loadBalancer: { ingress: [{ ip: '127.0.1.2' }] } },
        },
        {
          metadata: { name: 'api' },
          spec: { type: 'LoadBalancer', ports: [{ port: 8080 }] },
          status: { loadBalancer: { ingress: [{ hostname: 'a.elb.example' }] } },
        },
        {
          metadata: { name: 'slow' },
          spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
          status: {},
        },
        { metadata: { name: 'internal' }, spec: { type: 'ClusterIP' } },
      ],
      [
        {
          metadata: { name: 'web' },
          spec: {
            tls: [{ hosts: ['a.example.com'] }],
            rules: [{ host: 'a.example.com' }, { host: 'b.example.com' }],
          },
        },
      ],
    );
    expect(addresses.pending).toEqual(['slow']);
    expect(addressUrls(addresses)).toEqual([
      'https://a.example.com',
      'http://b.example.com',
      'http://127.0.1.2',
      'http://a.elb.example:8080',
    ]);
  });
});

describe('planLease', () => {
  const lease = (holder: string | undefined, renewedSecondsAgo: number) => ({
    holder,
    renewedAt: new Date(now.getTime() - renewedSecondsAgo * 1000),
    durationSeconds: 60,
  });
  it('creates, takes a free or own lease, waits for a live holder and takes over an expired one', () => {
    expect(planLease(undefined, 'me', now)).toEqual({ action: 'create' });
    expect(planLease(lease(undefined, 5), 'me', now)).toMatchObject({
      action: 'take',
      takeover: false,
    });
    expect(planLease(lease('me', 5), 'me', now)).toMatchObject({ action: 'take', takeover: false });
    expect(planLease(lease('ci-job-1', 30), 'me', now)).toEqual({
      action: 'wait',
      holder: 'ci-job-1',
      expiresAt: new Date(now.getTime() + 30_000),
    });
    expect(planLease(lease('ci-job-1', 61), 'me', now)).toEqual({
      action: 'take',
      takeover: true,
      previous: 'ci-job-1',
    });
  });
});

describe('parseForwardTarget', () => {
  it('reads kinds and bare Deployment names, and rejects others', () => {
    expect(parseForwardTarget('postgres')).toEqual({ kind: 'deployment', name: 'postgres' });
    expect(parseForwardTarget('svc/db')).toEqual({ kind: 'service', name: 'db' });
    expect(parseForwardTarget('pod/db-0')).toEqual({ kind: 'pod', name: 'db-0' });
    expect(() => parseForwardTarget('job/x')).toThrow(/cannot forward to a job/);
    expect(() => parseForwardTarget('a/b/c')).toThrow(/KIND\/NAME/);
    expect(() => parseForwardTarget('')).toThrow(/give the Deployment/);
  });
});
