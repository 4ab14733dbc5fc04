import type { Command } from 'commander';

/** Options shared by the image commands. */
export interface ImageCommandOptions {
  dir?: string;
  branch?: string;
  sha?: string;
  allowSecrets?: boolean;
  workingTree?: boolean;
  dryRun?: boolean;
}

/** Declares the options shared by `build`, `build-docker-image` and `should-build-base`. */
export function defineImageOptions(cmd: Command): Command {
  return cmd
    .option(
      '-C, --dir <folder>',
      'the project folder: build context and git checkout (default: current folder)',
    )
    .option('--branch <name>', 'the branch being built (default: CI variables, else the checkout)')
    .option('--sha <sha>', 'the commit being built (default: CI variables, else HEAD)')
    .option(
      '--working-tree',
      'digest uncommitted changes too (for a local build of a dirty checkout; slower); CI checkouts are clean',
    )
    .option(
      '--allow-secrets',
      'let secret variables into the Dockerfile and build args (the original behaviour; they leak to anyone who can pull the image)',
    );
}

/** The options of `buildOptionsFromEnv` that come from the command line. */
export function envOptionsOf(options: ImageCommandOptions): {
  flags: { branch?: string; sha?: string };
  allowSecrets?: boolean;
  includeWorkingTree?: boolean;
} {
  return {
    flags: flagsOf(options),
    ...(options.allowSecrets === true ? { allowSecrets: true } : {}),
    ...(options.workingTree === true ? { includeWorkingTree: true } : {}),
  };
}

/** The `flags` argument of `buildOptionsFromEnv`. */
export function flagsOf(options: ImageCommandOptions): { branch?: string; sha?: string } {
  const flags: { branch?: string; sha?: string } = {};
  if (options.branch !== undefined) flags.branch = options.branch;
  if (options.sha !== undefined) flags.sha = options.sha;
  return flags;
}
