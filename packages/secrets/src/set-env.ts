import { Secret, silentLogger } from '@deploytag/core';
import type { Logger } from '@deploytag/core';
import { deployContextEnv, loadConfigFile, resolveDeployContext } from '@deploytag/context';
import type { DeployContext, FactFlags, GitFacts } from '@deploytag/context';
import { runResetHook } from './hook.js';
import { loadSecrets } from './load.js';
import type { Collision } from './merge.js';
import type { SecretsSource } from './source.js';

/** Options of {@link computeSetEnv}. */
export interface SetEnvOptions {
  /** The environment `eval` will run in (normally `process.env`). */
  env: Readonly<Record<string, string | undefined>>;
  /** The project folder (config file, reset hook). */
  cwd: string;
  /** `--branch`, `--sha`, `--repo`, `--tag`. */
  flags?: FactFlags;
  /** Facts from the git checkout, when the caller read them. */
  git?: GitFacts;
  /** An explicit config file (`--config`). */
  configFile?: string;
  /** Secrets win over variables already set (`--override`); else the file's `overrideSecrets`. */
  override?: boolean;
  /** Load secrets when `AWS_SECRETS` names any. @defaultValue true */
  secrets?: boolean;
  /** Recompute although `K8S_DEPLOY_ENV_SET` says this shell has it already. */
  force?: boolean;
  /** Builds the secrets source; called only when there are secret ids to read. */
  source: () => SecretsSource | Promise<SecretsSource>;
  /** Progress and warnings (names only). */
  logger?: Logger;
  /** Cancels the requests and the hook. */
  signal?: AbortSignal;
}

/** One variable `set-env` exports. */
export interface SetEnvVariable {
  /** Its name. */
  name: string;
  /** Its value: a `Secret` for anything from secrets, the environment or the hook. */
  value: string | Secret;
  /** Where it came from: `env:NAME`, `config:<file>`, `default`, `flag`, `git`, `secret:<id>`, `hook:<file>`. */
  origin: string;
}

/** Result of {@link computeSetEnv}. */
export type SetEnvResult =
  | { skipped: true }
  | {
      skipped: false;
      /** The deployment context. */
      context: DeployContext;
      /** The config file used, if any. */
      configFile: string | undefined;
      /** Every variable to export, in order: context, hook, secrets, then `K8S_DEPLOY_ENV_SET`. */
      variables: SetEnvVariable[];
      /** Variables the reset hook unset and nothing set again. */
      unset: string[];
      /** Variables set by more than one secret id (names only). */
      collisions: Collision[];
      /** Secret variables whose environment value won. */
      kept: string[];
    };

/**
 * The `set_env.sh` replacement: the deployment context (config file, environment, flags, git
 * facts) and, when `AWS_SECRETS` names any, the secrets (after the project's reset hook), as
 * variables to export. Nothing is returned half-way: any failure throws before a result exists.
 * With `K8S_DEPLOY_ENV_SET` set in `env` (and no `force`) it does nothing, as the original.
 */
export async function computeSetEnv(options: SetEnvOptions): Promise<SetEnvResult> {
  const { env, cwd } = options;
  const logger = options.logger ?? silentLogger;
  if (options.force !== true && (env.K8S_DEPLOY_ENV_SET ?? '').trim() !== '') {
    logger.info(
      'K8S_DEPLOY_ENV_SET is set: the environment is already loaded (--force to recompute)',
    );
    return { skipped: true };
  }
  const loaded = await loadConfigFile({
    cwd,
    ...(options.configFile === undefined ? {} : { file: options.configFile }),
  });
  const { context, settings } = resolveDeployContext({
    env,
    ...(loaded === undefined ? {} : { config: loaded.config, file: loaded.file }),
    ...(options.flags === undefined ? {} : { flags: options.flags }),
    ...(options.git === undefined ? {} : { git: options.git }),
  });
  const variables = new Map<string, SetEnvVariable>();
  for (const v of deployContextEnv(context)) variables.set(v.name, v);
  const evalEnv: Record<string, string | undefined> = { ...env };
  for (const v of variables.values()) evalEnv[v.name] = v.value as string;

  let unset: string[] = [];
  let collisions: Collision[] = [];
  let kept: string[] = [];
  if (options.secrets !== false && context.secretIds.length > 0) {
    const reset = await runResetHook({
      cwd,
      env: evalEnv,
      ...(settings.resetHook === undefined ? {} : { hook: settings.resetHook }),
      logger,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (reset !== undefined) {
      for (const name of reset.unset) variables.delete(name);
      for (const [name, value] of reset.set) {
        variables.set(name, { name, value, origin: `hook:${reset.hook}` });
      }
      unset = reset.unset;
    }
    const override = options.override ?? settings.overrideSecrets ?? false;
    const secrets = await loadSecrets({
      ids: context.secretIds,
      source: await options.source(),
      env: evalEnv,
      override,
      ...(reset === undefined ? {} : { reset }),
      logger,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    for (const [name, { value, origin }] of secrets.values) {
      if (origin === `env:${name}` && variables.has(name)) continue;
      variables.delete(name);
      variables.set(name, { name, value, origin });
    }
    ({ collisions, kept } = secrets);
    unset = unset.filter((name) => !variables.has(name));
  }
  variables.delete('K8S_DEPLOY_ENV_SET');
  variables.set('K8S_DEPLOY_ENV_SET', {
    name: 'K8S_DEPLOY_ENV_SET',
    value: 'true',
    origin: 'default',
  });
  return {
    skipped: false,
    context,
    configFile: loaded?.file,
    variables: [...variables.values()],
    unset,
    collisions,
    kept,
  };
}

/**
 * Describes where each variable came from, one line each (`NAME=value  # origin`), with every
 * value that may be sensitive (from a secret, the environment or the hook) shown as `***`.
 */
export function explainSetEnv(result: Exclude<SetEnvResult, { skipped: true }>): string {
  const { context } = result;
  const facts: [string, string | undefined, string | undefined][] = [
    ['repo', context.repo, context.origins.repo],
    ['branch', context.branch, context.origins.branch],
    ['tag', context.tag, context.origins.tag],
    ['sha', context.sha, context.origins.sha],
    ['kind', context.kind, context.origins.kind],
  ];
  const lines = facts.flatMap(([name, value, origin]) =>
    value === undefined ? [] : [`# ${name}: ${value}  # ${origin ?? 'default'}`],
  );
  lines.push(
    ...result.variables.map(
      (v) => `${v.name}=${Secret.isSecret(v.value) ? '***' : v.value}  # ${v.origin}`,
    ),
  );
  for (const name of result.unset) lines.push(`unset ${name}  # reset hook`);
  for (const { name, ids } of result.collisions) {
    lines.push(`# ${name} is set by ${ids.join(', ')}; the last one wins`);
  }
  for (const name of result.kept)
    lines.push(`# ${name}: the environment's value wins over the secret (--override to change)`);
  if (result.configFile !== undefined) lines.push(`# config file: ${result.configFile}`);
  return `${lines.join('\n')}\n`;
}
