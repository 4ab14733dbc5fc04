import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { databaseName, imageTag, namespaceName } from '@deploytag/context';
import {
  BRANCH_ANNOTATION,
  DEPLOYED_AT_ANNOTATION,
  ENVIRONMENT_LABEL,
  MANAGED_BY_LABEL,
  REPO_LABEL,
} from '@deploytag/kube';
import {
  CLEANUP_ANNOTATION,
  parseCleanupRecord,
  parseImageReference,
  planCleanup,
} from './plan.js';
import type {
  CleanupFacts,
  CleanupOptions,
  CleanupPlan,
  CleanupRecord,
  EnvironmentPlan,
  NamespaceFacts,
} from './plan.js';

const REPO = 'shop';
const NOW = new Date('2026-03-10T12:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const IMAGE = 'registry.test:5000/acme/shop';

interface EnvSpec {
  branch?: string | undefined;
  name?: string;
  kind?: string | undefined;
  managedBy?: string | undefined;
  repo?: string;
  deployedAt?: string | undefined;
  terminating?: boolean;
  record?: CleanupRecord | string;
}

/** A namespace as a deploy of `spec.branch` would have labelled it, with overrides. */
function env(spec: EnvSpec): NamespaceFacts {
  const branch = 'branch' in spec ? spec.branch : 'feature/a';
  const labels: Record<string, string> = {};
  const managedBy = 'managedBy' in spec ? spec.managedBy : 'deploytag';
  if (managedBy !== undefined) labels[MANAGED_BY_LABEL] = managedBy;
  labels[REPO_LABEL] = spec.repo ?? REPO;
  const kind = 'kind' in spec ? spec.kind : 'preview';
  if (kind !== undefined) labels[ENVIRONMENT_LABEL] = kind;
  const annotations: Record<string, string> = {};
  if (branch !== undefined) annotations[BRANCH_ANNOTATION] = branch;
  const deployedAt =
    'deployedAt' in spec ? spec.deployedAt : new Date(NOW.getTime() - HOUR).toISOString();
  if (deployedAt !== undefined) annotations[DEPLOYED_AT_ANNOTATION] = deployedAt;
  if (spec.record !== undefined) {
    annotations[CLEANUP_ANNOTATION] =
      typeof spec.record === 'string' ? spec.record : JSON.stringify(spec.record);
  }
  return {
    name: spec.name ?? namespaceName(branch ?? 'unnamed'),
    labels,
    annotations,
    terminating: spec.terminating ?? false,
  };
}

function facts(partial: Partial<CleanupFacts> = {}): CleanupFacts {
  return {
    namespaces: [],
    releases: [],
    remoteBranches: ['main', 'feature/a', 'feature/b', 'feature/c'],
    workloadImages: undefined,
    registry: undefined,
    now: NOW,
    ...partial,
  };
}

function plan(f: Partial<CleanupFacts>, options: Partial<CleanupOptions> = {}): CleanupPlan {
  return planCleanup(facts(f), { repo: REPO, ...options });
}

function only(p: CleanupPlan): EnvironmentPlan {
  expect(p.environments).toHaveLength(1);
  return p.environments[0]!;
}

const codes = (e: EnvironmentPlan): string[] => e.reasons.map((r) => r.code);
const types = (e: EnvironmentPlan): string[] => e.actions.map((a) => a.type);
const stale = (p: CleanupPlan): string[] =>
  p.environments.filter((e) => e.stale).map((e) => e.namespace);

describe('planCleanup: which environments are seen at all', () => {
  it.each([
    ['no managed-by label', { managedBy: undefined }],
    ['managed by something else', { managedBy: 'Helm' }],
    ['another repository', { repo: 'other-shop' }],
  ])('a namespace with %s is never seen, even when named and its branch is gone', (_, spec) => {
    const p = plan(
      { namespaces: [env({ branch: 'feature/gone', ...spec })], remoteBranches: ['main'] },
      { branches: ['feature/gone'], olderThanMs: 1 },
    );
    expect(p.environments).toEqual([]);
    expect(p.unmatchedBranches).toEqual(['feature/gone']);
    expect(p.warnings).toContain(
      'branch feature/gone was named, but no preview of shop records it',
    );
  });

  it('compares the repository label in its label-safe form', () => {
    const p = planCleanup(
      facts({
        namespaces: [env({ branch: 'feature/x', repo: 'acme-shop' })],
        remoteBranches: ['main'],
      }),
      { repo: 'acme-shop' },
    );
    expect(stale(p)).toEqual(['feature-x']);
  });

  it('lists environments by namespace name', () => {
    const p = plan({
      namespaces: [
        env({ branch: 'feature/c' }),
        env({ branch: 'feature/a' }),
        env({ branch: 'feature/b' }),
      ],
    });
    expect(p.environments.map((e) => e.namespace)).toEqual(['feature-a', 'feature-b', 'feature-c']);
  });
});

describe('planCleanup: shared environments are never stale', () => {
  it.each([['staging'], ['beta'], ['production'], [undefined], ['Preview']])(
    'kind %s is kept whatever the criteria say',
    (kind) => {
      const e = only(
        plan(
          {
            namespaces: [env({ branch: 'feature/gone', kind, deployedAt: '2020-01-01T00:00:00Z' })],
            remoteBranches: ['main'],
          },
          { branches: ['feature/gone'], olderThanMs: HOUR, dropDatabases: true, pruneImages: true },
        ),
      );
      expect(e.stale).toBe(false);
      expect(codes(e)).toEqual(['shared-environment']);
      expect(e.actions).toEqual([]);
    },
  );

  it.each(['main', 'master'])('a preview labelled for staging branch %s is kept', (branch) => {
    const e = only(
      plan(
        {
          namespaces: [env({ branch, deployedAt: '2020-01-01T00:00:00Z' })],
          remoteBranches: ['x'],
        },
        { branches: [branch], olderThanMs: HOUR },
      ),
    );
    expect(codes(e)).toEqual(['staging-branch']);
    expect(e.actions).toEqual([]);
  });

  it('uses the configured staging branches', () => {
    const p = plan(
      { namespaces: [env({ branch: 'develop' })], remoteBranches: ['main'] },
      { stagingBranches: ['develop'] },
    );
    expect(codes(only(p))).toEqual(['staging-branch']);
  });

  it('keeps a namespace that records no branch', () => {
    for (const branch of [undefined, '']) {
      const e = only(
        plan(
          { namespaces: [env({ branch, name: 'feature-x', deployedAt: '2020-01-01T00:00:00Z' })] },
          { olderThanMs: HOUR },
        ),
      );
      expect(codes(e)).toEqual(['no-branch']);
    }
  });

  it('keeps a namespace whose name is not the one derived for its branch', () => {
    const e = only(
      plan(
        {
          namespaces: [env({ branch: 'feature/gone', name: 'feature-gone-copy' })],
          remoteBranches: ['main'],
        },
        { branches: ['feature/gone'] },
      ),
    );
    expect(codes(e)).toEqual(['name-mismatch']);
    expect(e.reasons[0]?.text).toContain('namespace feature-gone');
    // The branch was seen, so it is not reported as unmatched.
    expect(
      plan({ namespaces: [env({ branch: 'x/y', name: 'other' })] }, { branches: ['x/y'] })
        .unmatchedBranches,
    ).toEqual([]);
  });
});

describe('planCleanup: stale criteria', () => {
  it('a branch gone from the remote is stale; one still there is kept', () => {
    const p = plan({
      namespaces: [env({ branch: 'feature/a' }), env({ branch: 'feature/gone' })],
      remoteBranches: ['main', 'feature/a'],
    });
    expect(stale(p)).toEqual(['feature-gone']);
    const gone = p.environments.find((e) => e.namespace === 'feature-gone')!;
    expect(gone.reasons).toEqual([
      { code: 'branch-gone', text: 'branch feature/gone no longer exists on the remote' },
    ]);
    const kept = p.environments.find((e) => e.namespace === 'feature-a')!;
    expect(kept.reasons).toEqual([{ code: 'active', text: 'the branch is on the remote' }]);
  });

  it('branch names are compared exactly (case, punctuation)', () => {
    const p = plan({
      namespaces: [env({ branch: 'Feature/A' }), env({ branch: 'feature/a.b' })],
      remoteBranches: ['feature/a', 'feature/a-b'],
    });
    expect(stale(p)).toHaveLength(2);
  });

  it('without a remote listing nothing is "gone"', () => {
    const e = only(
      plan({ namespaces: [env({ branch: 'feature/gone' })], remoteBranches: undefined }),
    );
    expect(e.stale).toBe(false);
    expect(e.reasons[0]?.text).toBe('the remote was not checked');
  });

  it('a remote that lists no branch at all is distrusted, with a warning', () => {
    const p = plan({ namespaces: [env({ branch: 'feature/a' })], remoteBranches: [] });
    expect(stale(p)).toEqual([]);
    expect(p.warnings[0]).toMatch(/lists no branches/);
  });

  it.each([
    ['exactly the TTL ago', 7 * DAY, false],
    ['1 ms less than the TTL ago', 7 * DAY - 1, false],
    ['1 ms more than the TTL ago', 7 * DAY + 1, true],
    ['a year ago', 365 * DAY, true],
    ['in the future (clock skew)', -HOUR, false],
  ])('deployed %s (%d ms before now) → stale: %s', (_, age, expected) => {
    const e = only(
      plan(
        { namespaces: [env({ deployedAt: new Date(NOW.getTime() - age).toISOString() })] },
        { olderThanMs: 7 * DAY },
      ),
    );
    expect(e.stale).toBe(expected);
    expect(codes(e)).toEqual([expected ? 'expired' : 'active']);
    if (expected) expect(e.reasons[0]?.text).toMatch(/more than 7d\)$/);
    else expect(e.reasons[0]?.text).toMatch(/within 7d/);
  });

  it('without a readable deploy time the TTL says nothing', () => {
    for (const deployedAt of [undefined, 'yesterday', '']) {
      const e = only(plan({ namespaces: [env({ deployedAt })] }, { olderThanMs: HOUR }));
      expect(e.stale).toBe(false);
      expect(e.reasons[0]?.text).toContain('no deploy time is recorded');
    }
  });

  it('a named branch is stale even when it is on the remote and fresh; names match exactly', () => {
    const p = plan(
      { namespaces: [env({ branch: 'feature/a' }), env({ branch: 'feature/b' })] },
      { branches: ['feature/a', 'Feature/B', 'feature/none'], olderThanMs: 7 * DAY },
    );
    expect(stale(p)).toEqual(['feature-a']);
    expect(p.environments[0]?.reasons).toEqual([
      { code: 'named', text: 'branch feature/a was named' },
    ]);
    expect(p.unmatchedBranches).toEqual(['Feature/B', 'feature/none']);
  });

  it('gives every reason that applies, in a fixed order', () => {
    const record: CleanupRecord = {
      startedAt: '2026-03-09T00:00:00.000Z',
      deployedAt: '2026-01-01T00:00:00.000Z',
      releases: [],
      imageTags: [],
    };
    const e = only(
      plan(
        {
          namespaces: [env({ branch: 'feature/gone', deployedAt: record.deployedAt, record })],
          remoteBranches: ['main'],
        },
        { branches: ['feature/gone'], olderThanMs: DAY },
      ),
    );
    expect(codes(e)).toEqual(['resume', 'named', 'branch-gone', 'expired']);
  });
});

describe('planCleanup: resuming an interrupted cleanup', () => {
  const deployedAt = '2026-03-01T00:00:00.000Z';
  const record: CleanupRecord = {
    startedAt: '2026-03-09T00:00:00.000Z',
    deployedAt,
    releases: ['feature-a-web'],
    imageTags: ['abc123'],
  };

  it('an unfinished cleanup makes the environment stale on its own, keeping its start time and releases', () => {
    const e = only(plan({ namespaces: [env({ deployedAt, record })] }));
    expect(codes(e)).toEqual(['resume']);
    expect(types(e)).toEqual(['lock', 'record', 'delete-namespace']);
    expect(e.actions[0]).toEqual({ type: 'lock', releases: ['feature-a-web'] });
    expect(e.actions[1]).toEqual({ type: 'record', deployedAt, record });
  });

  it('is ignored once the branch was deployed again', () => {
    const e = only(plan({ namespaces: [env({ deployedAt: '2026-03-09T10:00:00.000Z', record })] }));
    expect(e.stale).toBe(false);
    expect(e.notes[0]).toMatch(/deployed again since/);
  });

  it.each(['', 'not json', '{}', '[]', '{"startedAt":1}', '{"startedAt":"x","releases":[1]}'])(
    'an unreadable record %j is ignored',
    (text) => {
      const e = only(plan({ namespaces: [env({ deployedAt, record: text })] }));
      expect(e.stale).toBe(false);
    },
  );
});

describe('planCleanup: the steps', () => {
  const gone = { remoteBranches: ['main'] };

  it('lock, record, uninstall, database, images, DNS, namespace — in that order', () => {
    const e = only(
      plan(
        {
          ...gone,
          namespaces: [env({ branch: 'feature/x' })],
          releases: [
            { name: 'feature-x-web', namespace: 'feature-x', status: 'deployed' },
            { name: 'feature-x-cache', namespace: 'feature-x', status: 'failed' },
            { name: 'elsewhere', namespace: 'feature-y', status: 'deployed' },
          ],
          workloadImages: [],
          registry: { repository: IMAGE, tagDigests: { 'feature-x': 'sha256:1' } },
        },
        { dropDatabases: true, pruneImages: true, removeDns: true },
      ),
    );
    expect(types(e)).toEqual([
      'lock',
      'record',
      'uninstall',
      'uninstall',
      'drop-database',
      'delete-image-tags',
      'remove-dns',
      'delete-namespace',
    ]);
    expect(e.actions[0]).toEqual({ type: 'lock', releases: ['feature-x-cache', 'feature-x-web'] });
    expect(e.actions[1]).toEqual({
      type: 'record',
      deployedAt: e.deployedAt,
      record: {
        startedAt: NOW.toISOString(),
        deployedAt: e.deployedAt,
        releases: ['feature-x-cache', 'feature-x-web'],
        imageTags: ['feature-x'],
      },
    });
    expect(e.releases).toEqual([
      { name: 'feature-x-cache', status: 'failed' },
      { name: 'feature-x-web', status: 'deployed' },
    ]);
  });

  it('only the release-independent steps when nothing else is asked', () => {
    const e = only(plan({ ...gone, namespaces: [env({ branch: 'feature/x' })] }));
    expect(types(e)).toEqual(['record', 'delete-namespace']);
  });

  it('a stale namespace already being deleted gets no step that writes into it', () => {
    const e = only(
      plan(
        {
          ...gone,
          namespaces: [env({ branch: 'feature/x', terminating: true })],
          releases: [{ name: 'feature-x-web', namespace: 'feature-x', status: 'deployed' }],
        },
        { dropDatabases: true },
      ),
    );
    expect(types(e)).toEqual(['drop-database', 'delete-namespace']);
  });

  it('a namespace being deleted whose environment is not stale is kept', () => {
    const e = only(plan({ namespaces: [env({ terminating: true })] }));
    expect(codes(e)).toEqual(['terminating']);
  });
});

describe('planCleanup: database name safety', () => {
  const dropped = (branch: string, options: Partial<CleanupOptions> = {}) =>
    only(
      plan(
        { namespaces: [env({ branch })], remoteBranches: ['main'] },
        { dropDatabases: true, ...options },
      ),
    );

  it('drops exactly the name a deploy derived for the branch', () => {
    for (const branch of [
      'feature/login',
      'Feature/Login',
      'bug/a.b',
      `feature/${'x'.repeat(80)}`,
    ]) {
      const e = dropped(branch);
      expect(e.actions.find((a) => a.type === 'drop-database')).toEqual({
        type: 'drop-database',
        database: databaseName(REPO, branch),
        repo: REPO,
        branch,
      });
    }
    const mysql = dropped(`feature/${'y'.repeat(70)}`, { databaseEngine: 'mysql' });
    expect(mysql.actions.find((a) => a.type === 'drop-database')).toMatchObject({
      database: databaseName(REPO, `feature/${'y'.repeat(70)}`, { engine: 'mysql' }),
    });
  });

  it.each(['staging', 'Staging', 'production', 'beta', 'STAGING'])(
    'a branch called %s never reaches the shared database',
    (branch) => {
      const e = dropped(branch);
      const action = e.actions.find((a) => a.type === 'drop-database');
      expect(action).toBeDefined();
      expect(action).not.toMatchObject({ database: `${REPO}-${branch.toLowerCase()}` });
      expect(['shop-staging', 'shop-beta', 'shop-production']).not.toContain(
        (action as { database: string }).database,
      );
    },
  );

  it('never drops a protected database (DATABASE, the configured one), and says so', () => {
    const e = dropped('feature/login', { protectedDatabases: ['shop-feature-login'] });
    expect(types(e)).not.toContain('drop-database');
    expect(e.notes).toContain(
      'kept database shop-feature-login: it is a shared or protected database',
    );
  });

  it('drops nothing without --drop-databases', () => {
    expect(types(dropped('feature/login', { dropDatabases: false }))).not.toContain(
      'drop-database',
    );
  });
});

describe('planCleanup: image tags', () => {
  const images = (
    tagDigests: Record<string, string>,
    workloadImages: { namespace: string; image: string }[],
    spec: EnvSpec = {},
  ): EnvironmentPlan =>
    only(
      plan(
        {
          namespaces: [env({ branch: 'feature/x', ...spec })],
          remoteBranches: ['main'],
          workloadImages,
          registry: { repository: IMAGE, tagDigests },
        },
        { pruneImages: true },
      ),
    );
  const deleted = (e: EnvironmentPlan): string[] =>
    e.actions.flatMap((a) => (a.type === 'delete-image-tags' ? a.tags.map((t) => t.tag) : []));

  it("deletes the branch tag and the tags of the environment's own workloads, with their digests", () => {
    const e = images(
      { 'feature-x': 'sha256:b', sha1: 'sha256:1', sha0: 'sha256:0', other: 'sha256:9' },
      [
        { namespace: 'feature-x', image: `${IMAGE}:sha1` },
        { namespace: 'feature-x', image: `${IMAGE}:sha0` },
        { namespace: 'feature-x', image: 'redis:7' },
      ],
    );
    expect(e.actions.find((a) => a.type === 'delete-image-tags')).toEqual({
      type: 'delete-image-tags',
      repository: IMAGE,
      tags: [
        { tag: 'feature-x', digest: 'sha256:b' },
        { tag: 'sha0', digest: 'sha256:0' },
        { tag: 'sha1', digest: 'sha256:1' },
      ],
    });
  });

  it('never deletes a tag another namespace uses, by tag or by digest', () => {
    const e = images({ 'feature-x': 'sha256:b', sha1: 'sha256:1', sha2: 'sha256:2' }, [
      { namespace: 'feature-x', image: `${IMAGE}:sha1` },
      { namespace: 'feature-x', image: `${IMAGE}:sha2` },
      { namespace: 'default', image: `${IMAGE}:sha1` },
      { namespace: 'feature-y', image: `${IMAGE}@sha256:2` },
    ]);
    expect(deleted(e)).toEqual(['feature-x']);
    expect(e.notes).toEqual([
      'kept image tag sha1: namespace default still uses it',
      'kept image tag sha2: namespace feature-y still uses it',
    ]);
  });

  it('never deletes an image that also carries a tag that is not this environment’s', () => {
    const e = images(
      {
        'feature-x': 'sha256:1',
        sha1: 'sha256:1',
        latest: 'sha256:1',
        sha2: 'sha256:2',
        main: 'sha256:2',
      },
      [{ namespace: 'feature-x', image: `${IMAGE}:sha2` }],
    );
    expect(deleted(e)).toEqual([]);
    expect(e.notes).toEqual([
      'kept image tag feature-x: the same image is also tagged latest, sha1, which deleting it would remove',
      'kept image tag sha2: the same image is also tagged main, which deleting it would remove',
    ]);
  });

  it('an image used elsewhere through another of its tags is kept', () => {
    const e = images({ 'feature-x': 'sha256:1', sha1: 'sha256:1' }, [
      { namespace: 'feature-x', image: `${IMAGE}:sha1` },
      { namespace: 'feature-y', image: `${IMAGE}:sha1` },
    ]);
    expect(deleted(e)).toEqual([]);
    expect(e.notes).toContain(
      'kept image tag feature-x: namespace feature-y uses the same image as sha1',
    );
  });

  it('two tags of one image that are both its own are both deleted', () => {
    const e = images({ 'feature-x': 'sha256:1', sha1: 'sha256:1' }, [
      { namespace: 'feature-x', image: `${IMAGE}:sha1` },
    ]);
    expect(deleted(e)).toEqual(['feature-x', 'sha1']);
  });

  it('never deletes a reserved tag even when the environment ran it', () => {
    const e = images({ latest: 'sha256:1' }, [{ namespace: 'feature-x', image: IMAGE }]);
    expect(deleted(e)).toEqual([]);
    expect(e.notes).toEqual(['kept image tag latest: it is reserved for staging']);
  });

  it('ignores other repositories and tags the registry does not have', () => {
    const e = images({ 'feature-x': 'sha256:b' }, [
      { namespace: 'feature-x', image: `${IMAGE}-base:sha1` },
      { namespace: 'feature-x', image: `${IMAGE}:missing` },
      { namespace: 'other', image: `other.test/acme/shop:feature-x` },
    ]);
    expect(deleted(e)).toEqual(['feature-x']);
    expect(e.notes).toEqual([]);
  });

  it('uses the branch tag exactly as a build made it', () => {
    const branch = 'Feature/Ünïcode';
    const e = images({ [imageTag(branch)]: 'sha256:u' }, [], { branch });
    expect(deleted(e)).toEqual([imageTag(branch)]);
  });

  it('after an interruption, the recorded tags are still deleted once the workloads are gone', () => {
    const deployedAt = '2026-03-01T00:00:00.000Z';
    const record: CleanupRecord = {
      startedAt: '2026-03-09T00:00:00.000Z',
      deployedAt,
      releases: ['feature-x-web'],
      imageTags: ['feature-x', 'sha1', 'sha9'],
    };
    const e = images(
      { 'feature-x': 'sha256:b', sha1: 'sha256:1', sha9: 'sha256:9' },
      [{ namespace: 'default', image: `${IMAGE}:sha9` }],
      { deployedAt, record },
    );
    expect(deleted(e)).toEqual(['feature-x', 'sha1']);
    const recorded = e.actions.find((a) => a.type === 'record');
    expect(recorded).toMatchObject({ record: { imageTags: ['feature-x', 'sha1', 'sha9'] } });
  });

  it('an image only other stale previews share is deleted once, by the last of them, after the others', () => {
    const p = plan(
      {
        namespaces: [
          env({ branch: 'feature/x' }),
          env({ branch: 'feature/y' }),
          env({ branch: 'feature/z' }),
        ],
        remoteBranches: ['main', 'feature/z'],
        workloadImages: [
          { namespace: 'feature-x', image: `${IMAGE}:shared` },
          { namespace: 'feature-y', image: `${IMAGE}:shared` },
          { namespace: 'feature-z', image: `${IMAGE}:zonly` },
        ],
        registry: {
          repository: IMAGE,
          tagDigests: { shared: 'sha256:s', 'feature-x': 'sha256:x', 'feature-y': 'sha256:x' },
        },
      },
      { pruneImages: true },
    );
    const [x, y] = p.environments;
    expect(stale(p)).toEqual(['feature-x', 'feature-y']);
    // Its branch tag shares an image with feature-y's branch tag: also deleted once, by feature-y.
    expect(deleted(x!)).toEqual([]);
    expect(x!.notes).toEqual([
      'image tag feature-x is shared with feature-y, also removed; it is deleted with namespace feature-y',
      'image tag shared is shared with feature-y, also removed; it is deleted with namespace feature-y',
    ]);
    const action = y!.actions.find((a) => a.type === 'delete-image-tags');
    expect(action).toEqual({
      type: 'delete-image-tags',
      repository: IMAGE,
      tags: [
        { tag: 'feature-y', digest: 'sha256:x', after: ['feature-x'] },
        { tag: 'shared', digest: 'sha256:s', after: ['feature-x'] },
      ],
    });
  });

  it('an image a kept preview shares with a stale one stays', () => {
    const p = plan(
      {
        namespaces: [env({ branch: 'feature/x' }), env({ branch: 'feature/y' })],
        remoteBranches: ['main', 'feature/y'],
        workloadImages: [
          { namespace: 'feature-x', image: `${IMAGE}:shared` },
          { namespace: 'feature-y', image: `${IMAGE}:shared` },
        ],
        registry: {
          repository: IMAGE,
          tagDigests: { shared: 'sha256:s', 'feature-x': 'sha256:x' },
        },
      },
      { pruneImages: true },
    );
    expect(stale(p)).toEqual(['feature-x']);
    expect(deleted(p.environments[0]!)).toEqual(['feature-x']);
    expect(p.environments[0]!.notes).toEqual([
      'kept image tag shared: namespace feature-y still uses it',
    ]);
  });

  it('says when the registry was not read', () => {
    const e = only(
      plan(
        { namespaces: [env({ branch: 'feature/x' })], remoteBranches: ['main'] },
        { pruneImages: true },
      ),
    );
    expect(types(e)).not.toContain('delete-image-tags');
    expect(e.notes).toEqual(['image tags: the registry was not read']);
  });
});

describe('planCleanup: properties', () => {
  const branchArb = fc.constantFrom(
    'main',
    'master',
    'staging',
    'feature/a',
    'feature/b',
    'Feature/A',
    'bug/x.y',
    'production',
  );
  const nsArb = fc.record({
    branch: fc.option(branchArb, { nil: undefined }),
    kind: fc.constantFrom('preview', 'staging', 'production', undefined),
    managedBy: fc.constantFrom('deploytag', 'Helm', undefined),
    repo: fc.constantFrom(REPO, 'other'),
    nameFromBranch: fc.boolean(),
    ageHours: fc.integer({ min: 0, max: 24 * 30 }),
    terminating: fc.boolean(),
  });

  it('only managed previews of the repository in their derived namespace are ever removed, and never a shared database', () => {
    fc.assert(
      fc.property(
        fc.array(nsArb, { maxLength: 6 }),
        fc.option(fc.subarray(['main', 'feature/a', 'bug/x.y']), { nil: undefined }),
        fc.subarray(['feature/a', 'staging', 'main', 'Feature/A']),
        fc.option(fc.integer({ min: 1, max: 24 * 40 }), { nil: undefined }),
        (specs, remoteBranches, branches, ttlHours) => {
          const all = specs.map((s, i) =>
            env({
              branch: s.branch,
              kind: s.kind,
              managedBy: s.managedBy,
              repo: s.repo,
              terminating: s.terminating,
              deployedAt: new Date(NOW.getTime() - s.ageHours * HOUR).toISOString(),
              name:
                s.nameFromBranch && s.branch !== undefined ? namespaceName(s.branch) : `ns-${i}`,
            }),
          );
          // Namespace names are unique in a cluster.
          const namespaces = all.filter((n, i) => all.findIndex((m) => m.name === n.name) === i);
          const p = plan(
            { namespaces, remoteBranches },
            {
              branches,
              dropDatabases: true,
              ...(ttlHours === undefined ? {} : { olderThanMs: ttlHours * HOUR }),
            },
          );
          for (const e of p.environments) {
            const ns = namespaces.find((n) => n.name === e.namespace)!;
            expect(ns.labels[MANAGED_BY_LABEL]).toBe('deploytag');
            expect(ns.labels[REPO_LABEL]).toBe(REPO);
            if (!e.stale) {
              expect(e.actions).toEqual([]);
              continue;
            }
            expect(ns.labels[ENVIRONMENT_LABEL]).toBe('preview');
            expect(e.branch).toBeDefined();
            expect(['main', 'master']).not.toContain(e.branch);
            expect(e.namespace).toBe(namespaceName(e.branch!));
            expect(e.actions.at(-1)).toEqual({ type: 'delete-namespace' });
            for (const a of e.actions) {
              if (a.type !== 'drop-database') continue;
              expect(a.database).toBe(databaseName(REPO, e.branch));
              expect(['shop-staging', 'shop-beta', 'shop-production']).not.toContain(a.database);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('planCleanup: image properties', () => {
  const branches = ['feature/a', 'feature/b', 'feature/c', 'feature/d'];
  const tagPool = ['t1', 't2', 't3', 'latest', ...branches.map((b) => imageTag(b))];
  const namespacesPool = [...branches.map((b) => namespaceName(b)), 'default', 'other-team'];

  it('never deletes an image that a kept namespace uses or that carries a tag no stale preview owns', () => {
    fc.assert(
      fc.property(
        fc.subarray(branches, { minLength: 1 }),
        fc.array(
          fc.record({
            namespace: fc.constantFrom(...namespacesPool),
            tag: fc.constantFrom(...tagPool),
          }),
          { maxLength: 12 },
        ),
        fc.dictionary(
          fc.constantFrom(...tagPool),
          fc.constantFrom('sha256:1', 'sha256:2', 'sha256:3'),
        ),
        fc.subarray(branches),
        (deployed, uses, tagDigests, remote) => {
          const p = plan(
            {
              namespaces: deployed.map((branch) => env({ branch })),
              remoteBranches: ['main', ...remote],
              workloadImages: uses.map((u) => ({
                namespace: u.namespace,
                image: `${IMAGE}:${u.tag}`,
              })),
              registry: { repository: IMAGE, tagDigests },
            },
            { pruneImages: true },
          );
          const staleNs = new Set(stale(p));
          const order = p.environments.map((e) => e.namespace);
          for (const e of p.environments) {
            for (const action of e.actions) {
              if (action.type !== 'delete-image-tags') continue;
              for (const { tag, digest, after } of action.tags) {
                expect(tagDigests[tag]).toBe(digest);
                expect(tag).not.toBe('latest');
                const sameImage = Object.keys(tagDigests).filter((t) => tagDigests[t] === digest);
                for (const u of uses) {
                  if (!sameImage.includes(u.tag) || u.namespace === e.namespace) continue;
                  // Whoever else uses the image is a stale preview, removed before this one.
                  expect(staleNs.has(u.namespace)).toBe(true);
                  expect(after).toContain(u.namespace);
                }
                for (const other of sameImage) {
                  const ownedByStale = [...staleNs].some(
                    (n) =>
                      other === imageTag(p.environments.find((x) => x.namespace === n)!.branch!) ||
                      uses.some((u) => u.namespace === n && u.tag === other),
                  );
                  expect(ownedByStale).toBe(true);
                }
                for (const n of after ?? []) {
                  expect(staleNs.has(n)).toBe(true);
                  expect(order.indexOf(n)).toBeLessThan(order.indexOf(e.namespace));
                }
              }
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('parseImageReference', () => {
  it.each([
    ['registry.test:5000/acme/shop:abc', 'registry.test:5000/acme/shop', 'abc', undefined],
    ['registry.test:5000/acme/shop', 'registry.test:5000/acme/shop', 'latest', undefined],
    ['acme/shop@sha256:00ff', 'acme/shop', undefined, 'sha256:00ff'],
    ['host/acme/shop:v1@sha256:00ff', 'host/acme/shop', 'v1', 'sha256:00ff'],
    ['localhost:5000/shop', 'localhost:5000/shop', 'latest', undefined],
    ['redis', 'redis', 'latest', undefined],
  ])('%s', (reference, repository, tag, digest) => {
    expect(parseImageReference(reference)).toEqual({ repository, tag, digest });
  });
});

describe('parseCleanupRecord', () => {
  it('reads what the planner writes', () => {
    const record: CleanupRecord = {
      startedAt: NOW.toISOString(),
      deployedAt: undefined,
      releases: ['a'],
      imageTags: ['t'],
    };
    expect(parseCleanupRecord(JSON.stringify(record))).toEqual(record);
    expect(parseCleanupRecord('{"startedAt":"x"}')).toEqual({
      startedAt: 'x',
      deployedAt: undefined,
      releases: [],
      imageTags: [],
    });
  });

  it.each([
    undefined,
    '',
    'null',
    '"x"',
    '{"startedAt":"x","deployedAt":5}',
    '{"startedAt":"x","imageTags":"t"}',
  ])('refuses %j', (text) => {
    expect(parseCleanupRecord(text)).toBeUndefined();
  });
});
