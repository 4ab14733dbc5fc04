import { describe, expect, it } from 'vitest';
import { planRecovery } from './release.js';
import type { ReleaseRevision, ReleaseStatus } from './release.js';

const revisions = (...entries: [ReleaseStatus, string][]): ReleaseRevision[] =>
  entries.map(([status, description], i) => ({
    revision: i + 1,
    status,
    updated: '',
    chart: 'web-0.1.0',
    description,
  }));

const CANCELLED_UPGRADE = 'Upgrade "web" failed: context canceled';

describe('planRecovery of a deploy that was stopped part way', () => {
  it('rolls an upgrade helm marked failed when it was stopped back to the last deployed revision', () => {
    const plan = planRecovery(
      revisions(
        ['superseded', 'Install complete'],
        ['deployed', 'deploytag digest a sha b'],
        ['failed', CANCELLED_UPGRADE],
      ),
    );
    expect(plan).toMatchObject({ action: 'rollback', revision: 2, stuck: { revision: 3 } });
    expect(plan.action !== 'none' && plan.reason).toBe(
      `revision 3 was stopped part way (${CANCELLED_UPGRADE}); rolling back to revision 2, the last one deployed, so that none of its changes stay live`,
    );
  });

  it('rolls back past earlier stopped upgrades to the last deployed revision', () => {
    expect(
      planRecovery(
        revisions(
          ['deployed', 'Install complete'],
          ['failed', CANCELLED_UPGRADE],
          ['failed', CANCELLED_UPGRADE],
        ),
      ),
    ).toMatchObject({ action: 'rollback', revision: 1, stuck: { revision: 3 } });
  });

  it('leaves an upgrade that failed on its own (a rollout that timed out) to the next upgrade', () => {
    expect(
      planRecovery(
        revisions(
          ['deployed', 'Install complete'],
          ['failed', 'Upgrade "web" failed: context deadline exceeded'],
        ),
      ),
    ).toEqual({ action: 'none' });
  });

  it('uninstalls a first install that was stopped (nothing to roll back to)', () => {
    expect(
      planRecovery(revisions(['failed', 'Release "web" failed: context canceled'])),
    ).toMatchObject({ action: 'uninstall' });
  });
});
