import type { Origin } from './ci.js';
import type { DeployContext, DeployContextField } from './context.js';

/** One variable `set-env` exports for the context. */
export interface ContextVariable {
  /** The variable's name (the environment contract of SCRIPTS.md). */
  name: string;
  /** Its value. */
  value: string;
  /** Where the value came from. */
  origin: Origin;
}

/**
 * The variables the original `set_env.sh` exported, computed from the context (plus
 * `DEPLOYTAG_ENVIRONMENT` and `DEPLOYTAG_NAMESPACE`), in a stable order. Pure.
 */
export function deployContextEnv(context: DeployContext): ContextVariable[] {
  const origin = (field: DeployContextField): Origin => context.origins[field] ?? 'default';
  const list: [string, string | undefined, Origin][] = [
    ['CLOUD_PROVIDER', context.cloudProvider, origin('cloudProvider')],
    ['CONTAINER_REGISTRY', context.registry, origin('registry')],
    ['PROJECT_ID', context.projectId, origin('projectId')],
    ['IMAGE', context.image.name, origin('image')],
    ['BASE_IMAGE', context.baseImage.name, 'default'],
    ['CHART_NAME', context.chart, origin('chart')],
    ['HELM_NAME', context.release, origin('release')],
    ['DATABASE', context.database, origin('database')],
    ['DOMAIN', context.domain, origin('domain')],
    ['SUBDOMAIN', context.subdomain, origin('subdomain')],
    ['HOST', context.host, origin('host')],
    ['URL_HOST', context.url, origin('host')],
    [
      'AWS_SECRETS',
      context.secretIds.length === 0 ? undefined : context.secretIds.join(','),
      origin('secretIds'),
    ],
    ['HELM_VARS', context.helmVars, origin('helmVars')],
    ['DEPLOYTAG_ENVIRONMENT', context.kind, origin('kind')],
    ['DEPLOYTAG_NAMESPACE', context.namespace, origin('namespace')],
  ];
  return list.flatMap(([name, value, from]) =>
    value === undefined ? [] : [{ name, value, origin: from }],
  );
}
