import type { CleanupAction, EnvironmentPlan } from './plan.js';
import type { RunCleanupResult } from './run.js';

/**
 * One action in a few words (`uninstall feature-x-web`, `drop database shop-feature-x`).
 *
 * @param action - a planned step
 */
export function describeAction(action: CleanupAction): string {
  switch (action.type) {
    case 'lock':
      return `lock ${action.releases.join(', ')}`;
    case 'record':
      return 'record the cleanup on the namespace';
    case 'uninstall':
      return `uninstall ${action.release}`;
    case 'drop-database':
      return `drop database ${action.database}`;
    case 'delete-image-tags':
      return `delete image tag(s) ${action.tags.map((t) => t.tag).join(', ')}`;
    case 'remove-dns':
      return 'remove DNS records';
    case 'delete-namespace':
      return 'delete the namespace';
  }
}

function title(env: EnvironmentPlan): string {
  return env.branch === undefined ? env.namespace : `${env.namespace} (branch ${env.branch})`;
}

function why(env: EnvironmentPlan): string {
  return env.reasons.map((r) => r.text).join('; ');
}

/**
 * The lines `deploytag cleanup` prints: with a dry run, what would be removed and why, and what is
 * kept and why; otherwise how each stale environment ended, then a summary.
 *
 * @param result - what `runCleanup` returned
 */
export function formatCleanup(result: RunCleanupResult): string[] {
  const { plan, report } = result;
  const lines: string[] = [];
  const outcomes = new Map((report?.environments ?? []).map((o) => [o.namespace, o]));
  for (const env of plan.environments) {
    if (!env.stale) {
      lines.push(`keep ${title(env)}: ${why(env)}`);
      continue;
    }
    const outcome = outcomes.get(env.namespace);
    if (outcome === undefined) {
      lines.push(`would remove ${title(env)}: ${why(env)}`);
      lines.push(`  steps: ${env.actions.map(describeAction).join('; ')}`);
    } else {
      lines.push(`${outcome.status} ${title(env)}: ${why(env)}`);
      for (const step of outcome.steps) lines.push(`  ${step.result}`);
      if (outcome.reason !== undefined) lines.push(`  ${outcome.reason}`);
      if (outcome.error !== undefined) lines.push(`  error: ${outcome.error.message}`);
    }
    for (const note of env.notes) lines.push(`  ${note}`);
  }
  for (const branch of plan.unmatchedBranches) {
    lines.push(`no preview of ${plan.repo} records branch ${branch}`);
  }
  const stale = plan.environments.filter((e) => e.stale).length;
  const kept = plan.environments.length - stale;
  if (report === undefined) {
    lines.push(`dry run: ${stale} of ${plan.environments.length} environment(s) would be removed`);
  } else {
    lines.push(
      `removed ${report.removed}, failed ${report.failed}, skipped ${report.skipped}, kept ${kept}` +
        (report.failed > 0 ? '; run cleanup again to finish' : ''),
    );
  }
  return lines;
}
