import { defineCommand } from '../command.js';

/** `deploytag parse-helm-vars`: the original `parse_helm_vars.rb`. */
export const parseHelmVarsCommand = defineCommand<Record<string, never>>({
  name: 'parse-helm-vars',
  original: 'parse_helm_vars.rb',
  summary: 'turn a=1,b=2 into a YAML values file',
  define(cmd) {
    cmd
      .argument('[vars]', 'assignments KEY=VALUE separated by commas (default: $HELM_VARS)')
      .addHelpText(
        'after',
        '\nExamples:\n  deploytag parse-helm-vars "replicas=2,image.tag=abc" > values.yaml\n  HELM_VARS="a=1,b=2" deploytag parse-helm-vars',
      );
  },
  async run(args, _options, io) {
    const { UsageError, isDeploytagError } = await import('@deploytag/core');
    const { HelmErrorCodes, helmVarsToYaml, parseHelmVars } = await import('@deploytag/helm');
    const text = args[0] ?? io.env.HELM_VARS;
    if (text === undefined)
      throw new UsageError('give the assignments (a=1,b=2) as an argument or in HELM_VARS');
    let output: string;
    try {
      output = io.json ? JSON.stringify(parseHelmVars(text)) : helmVarsToYaml(text).trimEnd();
    } catch (error) {
      // Bad assignments are bad input: a usage error (exit 2), as the message says how to fix it.
      if (isDeploytagError(error) && error.code === HelmErrorCodes.VALUES)
        throw new UsageError(error.message, { code: error.code, cause: error });
      throw error;
    }
    io.out(output);
    return 0;
  },
});
