import { readFileSync } from 'node:fs';
import type { Secret } from '@deploytag/core';
import { defineCommand } from '../command.js';

/** Options of `deploytag deploy`. */
export interface DeployCommandOptions {
  dryRun?: boolean;
  timeout?: string;
  atomic?: boolean;
  envFile?: string;
  addressTimeout?: string;
  force?: boolean;
  branch?: string;
  sha?: string;
  kubeconfig?: string;
  context?: string;
  config?: string;
}

function readEnvFile(path: string, toSecret: (value: string) => Secret): Record<string, Secret> {
  const out: Record<string, Secret> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!.trim();
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    out[m[1]!] = toSecret(value);
  }
  return out;
}

/**
 * Adds to the redactor every value the preview masked (a secret-looking key such as `password`
 * given in HELM_VARS), so that no printed line shows it: a chart may render it anywhere, and the
 * manifest diff masks only Secrets.
 */
function redactMasked(original: unknown, masked: unknown, add: (value: string) => void): void {
  if (typeof original === 'object' && original !== null) {
    if (typeof masked !== 'object' || masked === null) return;
    for (const [key, value] of Object.entries(original))
      redactMasked(value, (masked as Record<string, unknown>)[key], add);
    return;
  }
  if (masked !== '***' || original === '***') return;
  if (typeof original === 'string') add(original);
  else if (typeof original === 'number' || typeof original === 'boolean') add(String(original));
}

/** `deploytag deploy`: the original `deploy.sh`. */
export const deployCommand = defineCommand<DeployCommandOptions>({
  name: 'deploy',
  original: 'deploy.sh',
  summary: 'helm upgrade --install the branch into its namespace and print where it lives',
  define(cmd) {
    cmd
      .option(
        '--dry-run',
        'print namespace, release, values (secrets masked) and the manifest diff; change nothing',
      )
      .option('--timeout <seconds>', 'how long helm waits for the rollout', '300')
      .option('--atomic', 'roll back when the rollout fails')
      .option('--env-file <file>', "KEY=VALUE lines for the release's environment Secret")
      .option(
        '--address-timeout <seconds>',
        'how long to wait for a load balancer address (0: do not wait)',
        '300',
      )
      .option('--force', 'run helm even when chart and values are unchanged')
      .option('--branch <name>', 'the branch (beats CI variables)')
      .option('--sha <sha>', 'the commit (beats CI variables)')
      .option('--kubeconfig <file>', 'the kubeconfig (default: $KUBECONFIG)')
      .option('--context <name>', 'the kubeconfig context')
      .option(
        '--config <file>',
        'the config file (default: deploytag.config.{json,yaml,yml} in the folder)',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  CHART_NAME=./charts/web DOMAIN=example.com deploytag deploy\n  deploytag deploy --dry-run\n  HELM_VARS="--set replicas=2" deploytag deploy --env-file .env.deploy',
      );
  },
  async run(_args, options, io) {
    const { Secret, UsageError } = await import('@deploytag/core');
    const { attributeConfigError, loadConfigFile, resolveDeployContext } =
      await import('@deploytag/context');
    const helm = await import('@deploytag/helm');
    const seconds = (text: string | undefined, name: string): number | undefined => {
      if (text === undefined) return undefined;
      const value = Number(text.replace(/s$/, ''));
      if (!Number.isFinite(value) || value < 0) {
        throw new UsageError(`${name} takes seconds, not ${JSON.stringify(text)}`);
      }
      return value * 1000;
    };
    // The project's config file, as `set-env` and `pipeline` read it (the environment wins).
    const loaded = await loadConfigFile({
      cwd: io.cwd,
      ...(options.config === undefined ? {} : { file: options.config }),
    });
    const resolved = resolveDeployContext({
      env: io.env,
      ...(loaded === undefined ? {} : { config: loaded.config, file: loaded.file }),
      flags: {
        ...(options.branch === undefined ? {} : { branch: options.branch }),
        ...(options.sha === undefined ? {} : { sha: options.sha }),
      },
    });
    const { context, env } = resolved;
    const appEnv =
      options.envFile === undefined ? undefined : readEnvFile(options.envFile, (v) => Secret.of(v));
    for (const value of Object.values(appEnv ?? {})) io.redactor.add(value);
    const timeoutMs = seconds(options.timeout, '--timeout');
    const addressTimeoutMs = seconds(options.addressTimeout, '--address-timeout');
    // The chart, its values files and HELM_VARS are checked before anything is contacted.
    let input: Parameters<typeof helm.deploy>[0];
    try {
      input = helm.prepareDeployInput({
        context,
        chart: helm.readChartFacts(context.chart, io.cwd),
        ...(appEnv === undefined ? {} : { appEnv }),
        env,
        options: {
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
          ...(addressTimeoutMs === undefined ? {} : { addressTimeoutMs }),
          atomic: options.atomic === true,
          skipUnchanged: options.force !== true,
          ...(io.env.CIRCLE_BUILD_URL ? { lockHolder: io.env.CIRCLE_BUILD_URL } : {}),
        },
      });
    } catch (error) {
      throw attributeConfigError(error, resolved);
    }
    const clients = await helm.connectDeployClients({
      env: io.env,
      logger: io.logger,
      ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
      ...(options.context === undefined ? {} : { context: options.context }),
    });
    try {
      const { plan, result, preview } = await helm.deploy(
        input,
        { kube: clients.kube, helm: clients.helm, logger: io.logger },
        options.dryRun === true,
      );
      if (preview !== undefined) {
        const add = (value: string): void => void io.redactor.add(value);
        redactMasked(plan.values, preview.plan.values, add);
        redactMasked(plan.setValues, preview.plan.setValues, add);
        if (io.json) {
          io.out(
            JSON.stringify({
              namespace: plan.namespace,
              release: plan.release,
              values: preview.maskedValues,
              changes: preview.changes,
            }),
          );
          return 0;
        }
        const { stringify } = await import('yaml');
        io.out(`namespace: ${plan.namespace}`);
        io.out(`release:   ${plan.release}`);
        io.out(`chart:     ${plan.chart}`);
        if (plan.envSecret)
          io.out(
            `secret:    ${plan.envSecret.name} (${plan.envSecret.keys.join(', ') || 'no variables'}; values hidden)`,
          );
        io.out('values:');
        for (const line of stringify(preview.maskedValues).trimEnd().split('\n'))
          io.out(`  ${line}`);
        if (preview.changes.length === 0) io.out('no changes against the live release');
        for (const change of preview.changes) {
          io.out(`${change.change} ${change.object}`);
          for (const line of change.lines) io.out(`  ${line}`);
        }
        return 0;
      }
      if (result === undefined) return 1;
      if (io.json) {
        io.out(JSON.stringify(result));
      } else {
        io.out(
          `${result.release} ${result.action} in namespace ${result.namespace}${result.revision ? ` (revision ${result.revision})` : ''}`,
        );
        io.out(`URL: ${result.url}`);
        for (const lb of result.addresses?.loadBalancers ?? [])
          io.out(`load balancer ${lb.service}: ${lb.address}`);
      }
      return 0;
    } finally {
      clients.close();
    }
  },
});
