import { describe, expect, it } from 'vitest';
import { isSupportedHelm, parseHelmVersion } from './binary.js';
import { planRecovery } from './release.js';
import type { ReleaseRevision, ReleaseStatus } from './release.js';

const history = (...statuses: ReleaseStatus[]): ReleaseRevision[] =>
  statuses.map((status, i) => ({
    revision: i + 1,
    status,
    updated: '',
    chart: 'web-0.1.0',
    description: '',
  }));

describe('planRecovery', () => {
  it('does nothing for no release or a healthy one', () => {
    expect(planRecovery([])).toEqual({ action: 'none' });
    expect(planRecovery(history('superseded', 'deployed'))).toEqual({ action: 'none' });
    expect(planRecovery(history('deployed', 'failed'))).toEqual({ action: 'none' });
  });

  it('rolls a pending upgrade or rollback back to the last deployed revision', () => {
    for (const stuck of ['pending-upgrade', 'pending-rollback', 'pending-install'] as const) {
      const plan = planRecovery(history('superseded', 'deployed', 'failed', stuck));
      expect(plan).toMatchObject({
        action: 'rollback',
        revision: 2,
        stuck: { revision: 4, status: stuck },
      });
    }
    expect(planRecovery(history('superseded', 'superseded', 'pending-upgrade'))).toMatchObject({
      action: 'rollback',
      revision: 2,
    });
  });

  it('uninstalls a pending release that never deployed, and one whose revisions all failed', () => {
    expect(planRecovery(history('pending-install'))).toMatchObject({ action: 'uninstall' });
    expect(planRecovery(history('failed', 'pending-upgrade'))).toMatchObject({
      action: 'uninstall',
    });
    const failed = planRecovery(history('failed', 'failed'));
    expect(failed).toMatchObject({ action: 'uninstall' });
    expect(failed.action !== 'none' && failed.reason).toMatch(/no deployed revision/);
  });

  it('finishes an uninstall that was interrupted, even after deployed revisions', () => {
    for (const h of [
      history('pending-install', 'uninstalling'),
      history('superseded', 'deployed', 'uninstalling'),
      history('deployed', 'unknown'),
    ]) {
      const plan = planRecovery(h);
      expect(plan).toMatchObject({ action: 'uninstall', stuck: { revision: h.length } });
      expect(plan.action !== 'none' && plan.reason).toMatch(
        /was left (uninstalling \(an uninstall was interrupted\)|unknown \(helm does not know its state\)); uninstalling it fully/,
      );
    }
    expect(planRecovery(history('deployed', 'uninstalled'))).toEqual({ action: 'none' });
  });
});

describe('helm version', () => {
  it('parses and accepts 3.8+ and 4', () => {
    expect(parseHelmVersion('v3.14.2')).toMatchObject({ major: 3, minor: 14, patch: 2 });
    expect(parseHelmVersion('v4.0.1+gabc')).toMatchObject({ major: 4, minor: 0, patch: 1 });
    expect(parseHelmVersion('garbage')).toBeUndefined();
    const ok = (t: string): boolean => isSupportedHelm(parseHelmVersion(t)!);
    expect([
      ok('v3.7.9'),
      ok('v3.8.0'),
      ok('v3.22.0'),
      ok('v4.0.0'),
      ok('v2.17.0'),
      ok('v5.0.0'),
    ]).toEqual([false, true, true, true, false, false]);
  });
});
