import { describe, expect, it } from 'vitest';
import type { ChartFacts } from './chart.js';
import {
  deployedRevision,
  parseRevisionDescription,
  planDeploy,
  revisionDescription,
} from './deploy.js';
import type { ReleaseRevision } from './release.js';

const sha = (n: number): string => `${String(n).repeat(8)}${'0'.repeat(32)}`;
const digest = 'd'.repeat(32);

function revision(n: number, status: ReleaseRevision['status'], description: string) {
  return {
    revision: n,
    updated: '2026-01-01T00:00:00Z',
    status,
    chart: 'web-1.0.0',
    description,
  } satisfies ReleaseRevision;
}

describe('revision descriptions', () => {
  it('record the digest and the commit, and read back both', () => {
    const text = revisionDescription(digest, sha(1));
    expect(text).toBe(`deploytag digest ${digest} sha ${sha(1)}`);
    expect(parseRevisionDescription(text)).toEqual({ digest, sha: sha(1) });
  });

  it('record the commit alone for a chart without a digest', () => {
    const text = revisionDescription(undefined, sha(2));
    expect(text).toBe(`deploytag sha ${sha(2)}`);
    expect(parseRevisionDescription(text)).toEqual({ digest: undefined, sha: sha(2) });
  });

  it('read the digest of descriptions written before the commit was recorded', () => {
    expect(parseRevisionDescription(`deploytag digest ${digest}`)).toEqual({
      digest,
      sha: undefined,
    });
  });

  it("read nothing from helm's own descriptions", () => {
    for (const text of [
      'Upgrade complete',
      'Install complete',
      'Rollback to 3',
      `Upgrade "web" failed: context canceled`,
      `deploytag digest ${digest} and more`,
      '',
      undefined,
    ]) {
      expect(parseRevisionDescription(text)).toEqual({ digest: undefined, sha: undefined });
    }
  });
});

describe('deployedRevision', () => {
  it('is the newest deployed revision, with its commit', () => {
    const history = [
      revision(1, 'superseded', revisionDescription(digest, sha(1))),
      revision(2, 'deployed', revisionDescription(digest, sha(2))),
      revision(3, 'failed', `Upgrade "web" failed: timed out waiting for the condition`),
    ];
    expect(deployedRevision(history)).toEqual({ revision: 2, digest, sha: sha(2) });
  });

  it('is undefined without a deployed revision (a first install that failed, no release)', () => {
    expect(deployedRevision([])).toBeUndefined();
    expect(deployedRevision([revision(1, 'failed', 'Install failed')])).toBeUndefined();
  });

  it('has no commit for a revision helm described (a rollback)', () => {
    expect(deployedRevision([revision(4, 'deployed', 'Rollback to 2')])).toEqual({
      revision: 4,
      digest: undefined,
      sha: undefined,
    });
  });
});

describe('planDeploy', () => {
  it("carries the context's commit, for the revision description", () => {
    const chart: ChartFacts = {
      ref: '/charts/web',
      local: true,
      kindValues: {},
      hasDependencies: false,
      digest: 'c'.repeat(64),
    };
    const plan = planDeploy({
      context: {
        kind: 'preview',
        namespace: 'feature-x',
        release: 'feature-x-web',
        host: 'feature-x-web.example.com',
        url: 'https://feature-x-web.example.com',
        sha: sha(7),
        repo: 'shop',
        branch: 'feature/x',
        cloudProvider: 'aws',
        helmVars: undefined,
        image: { shaTag: sha(7) },
      },
      chart,
    });
    expect(plan.sha).toBe(sha(7));
    expect(parseRevisionDescription(revisionDescription(plan.digest, plan.sha))).toEqual({
      digest: plan.digest,
      sha: sha(7),
    });
  });
});
