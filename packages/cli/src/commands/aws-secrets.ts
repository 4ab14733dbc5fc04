import { UsageError } from '@deploytag/core';
import { defineCommand } from '../command.js';
import { printWhole } from './set-env.js';

/** Options of `deploytag aws-secrets`. */
export interface AwsSecretsCommandOptions {
  format?: string;
  override?: boolean;
  dotenv?: boolean;
  resetHook?: boolean;
  name?: string;
  namespace?: string;
  json?: boolean;
}

const FORMATS = ['shell', 'json', 'dotenv', 'kubernetes'] as const;

/** `deploytag aws-secrets`: the `aws_secrets.rb` replacement (secrets alone, several formats). */
export const awsSecretsCommand = defineCommand<AwsSecretsCommandOptions>({
  name: 'aws-secrets',
  original: 'aws_secrets.rb',
  summary:
    'print secrets from AWS Secrets Manager as export lines (or dotenv, JSON, a Kubernetes Secret)',
  define(cmd) {
    cmd
      .argument('[ids...]', 'secret ids or ARNs, later wins (default: AWS_SECRETS)')
      .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'shell')
      .option('--override', 'secrets win over variables already set in the environment')
      .option('--dotenv', 'the ids are dotenv files, not Secrets Manager ids')
      .option('--no-reset-hook', 'do not run ./scripts/reset_env_vars.sh')
      .option('--name <name>', 'the Kubernetes Secret name (with --format kubernetes)', 'app-env')
      .option(
        '--namespace <namespace>',
        'the Kubernetes Secret namespace (with --format kubernetes)',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  eval "$(deploytag aws-secrets staging/app staging/extra)"\n  deploytag aws-secrets --format kubernetes --name web-env | kubectl apply -f -\n\nSecrets may hold KEY=VALUE lines or a JSON object. A variable already set wins unless --override.',
      );
  },
  async run(args, options, io) {
    const format = options.json === true ? 'json' : (options.format ?? 'shell');
    if (!(FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not "${format}"`);
    }
    const secrets = await import('@deploytag/secrets');
    const { parseSecretIds } = await import('@deploytag/context');
    const ids =
      args.length > 0 ? args.flatMap((a) => parseSecretIds(a)) : parseSecretIds(io.env.AWS_SECRETS);
    if (ids.length === 0) {
      throw new UsageError(
        'no secret ids: pass them as arguments or set AWS_SECRETS (ids separated by commas)',
      );
    }
    const client =
      options.dotenv === true ? undefined : await secrets.createSecretsManagerClient(io.env);
    try {
      const source =
        client === undefined
          ? secrets.createDotenvSource({ cwd: io.cwd })
          : secrets.createAwsSecretsSource({ client, logger: io.logger });
      const reset =
        options.resetHook === false
          ? undefined
          : await secrets.runResetHook({ cwd: io.cwd, env: io.env, logger: io.logger });
      const loaded = await secrets.loadSecrets({
        ids,
        source,
        env: io.env,
        override: options.override === true,
        ...(reset === undefined ? {} : { reset }),
        logger: io.logger,
      });
      const values = [...loaded.values].map(([name, v]) => [name, v.value] as const);
      const unset = (reset?.unset ?? []).filter((name) => !loaded.values.has(name));
      const text =
        format === 'json'
          ? secrets.renderJson(values)
          : format === 'dotenv'
            ? secrets.renderDotenv(values)
            : format === 'kubernetes'
              ? secrets.renderKubernetesSecret(values, {
                  name: options.name ?? 'app-env',
                  ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
                })
              : secrets.renderShell(values, { unset });
      printWhole(io, text);
      for (const [, value] of values) io.redactor.add(value);
      return 0;
    } finally {
      client?.destroy();
    }
  },
});
