import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { ConfigError } from '@deploytag/core';
import { defineCommand } from '../command.js';
import { printWhole } from './set-env.js';

/** Options of `deploytag config-yaml`. */
export interface ConfigYamlCommandOptions {
  environment?: string;
  strict?: boolean;
}

/** `deploytag config-yaml`: the `app.thor config_yaml` replacement. */
export const configYamlCommand = defineCommand<ConfigYamlCommandOptions>({
  name: 'config-yaml',
  original: 'app.thor config_yaml',
  summary: 'substitute environment variables into a YAML file and print one environment section',
  define(cmd) {
    cmd
      .argument('<file>', 'the YAML file')
      .option('-e, --environment <env>', 'print only this top-level section')
      .option('--strict', 'fail naming every variable that is not set, instead of substituting ""')
      .addHelpText(
        'after',
        '\nExamples:\n  deploytag config-yaml config/database.yml -e staging > config/database.yml.out\n\n${VAR}, $VAR, ${VAR:-default} and ${VAR-default} are replaced; $$ is a literal $.',
      );
  },
  async run(args, options, io) {
    const [file = ''] = args;
    const { renderConfigYaml } = await import('@deploytag/context');
    let text: string;
    try {
      text = await readFile(isAbsolute(file) ? file : join(io.cwd, file), 'utf8');
    } catch (err) {
      throw new ConfigError(
        `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
        {
          file,
          cause: err,
        },
      );
    }
    const { yaml, missing } = await renderConfigYaml(text, io.env, {
      file,
      ...(options.environment === undefined ? {} : { environment: options.environment }),
      ...(options.strict === undefined ? {} : { strict: options.strict }),
    });
    if (missing.length > 0) {
      io.logger.warn(
        `not set, substituted as empty: ${missing.join(', ')} (--strict to fail instead)`,
      );
    }
    printWhole(io, yaml);
    return 0;
  },
});
