import { describe, expect, it } from 'vitest';
import { formatCleanup } from './format.js';
import type { EnvironmentPlan } from './plan.js';

const stale: EnvironmentPlan = {
  namespace: 'feature-x',
  branch: 'feature/x',
  kind: 'preview',
  deployedAt: '2026-03-01T00:00:00.000Z',
  releases: [{ name: 'feature-x-web', status: 'deployed' }],
  stale: true,
  reasons: [{ code: 'branch-gone', text: 'branch feature/x no longer exists on the remote' }],
  actions: [
    { type: 'lock', releases: ['feature-x-web'] },
    {
      type: 'record',
      deployedAt: '2026-03-01T00:00:00.000Z',
      record: { startedAt: 'x', deployedAt: undefined, releases: [], imageTags: [] },
    },
    { type: 'uninstall', release: 'feature-x-web' },
    { type: 'drop-database', database: 'shop-feature-x', repo: 'shop', branch: 'feature/x' },
    { type: 'delete-image-tags', repository: 'r/shop', tags: [{ tag: 'a', digest: 'sha256:a' }] },
    { type: 'remove-dns' },
    { type: 'delete-namespace' },
  ],
  notes: ['kept image tag b: namespace default still uses it'],
};
const kept: EnvironmentPlan = {
  ...stale,
  namespace: 'shop-staging',
  branch: undefined,
  kind: 'staging',
  stale: false,
  reasons: [{ code: 'shared-environment', text: 'a staging environment' }],
  actions: [],
  notes: [],
};
const plan = {
  repo: 'shop',
  now: '2026-03-10T00:00:00.000Z',
  environments: [stale, kept],
  unmatchedBranches: ['feature/none'],
  warnings: [],
};

describe('formatCleanup', () => {
  it('a dry run says what would be removed, why, and what is kept', () => {
    expect(formatCleanup({ plan, dryRun: true })).toEqual([
      'would remove feature-x (branch feature/x): branch feature/x no longer exists on the remote',
      '  steps: lock feature-x-web; record the cleanup on the namespace; uninstall feature-x-web; drop database shop-feature-x; delete image tag(s) a; remove DNS records; delete the namespace',
      '  kept image tag b: namespace default still uses it',
      'keep shop-staging: a staging environment',
      'no preview of shop records branch feature/none',
      'dry run: 1 of 2 environment(s) would be removed',
    ]);
  });

  it('a run says how each environment ended and how to finish', () => {
    const lines = formatCleanup({
      plan,
      dryRun: false,
      report: {
        environments: [
          {
            namespace: 'feature-x',
            branch: 'feature/x',
            status: 'failed',
            steps: [{ type: 'lock', result: 'holding the deploy lock of feature-x-web' }],
            error: { code: 'E_HELM_RELEASE_NOT_FOUND', message: 'helm uninstall failed: boom' },
          },
        ],
        removed: 0,
        failed: 1,
        skipped: 0,
      },
    });
    expect(lines).toContain(
      'failed feature-x (branch feature/x): branch feature/x no longer exists on the remote',
    );
    expect(lines).toContain('  holding the deploy lock of feature-x-web');
    expect(lines).toContain('  error: helm uninstall failed: boom');
    expect(lines.at(-1)).toBe(
      'removed 0, failed 1, skipped 0, kept 1; run cleanup again to finish',
    );
  });
});
