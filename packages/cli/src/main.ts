import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { reportError, UsageError } from '@deploytag/core';
import type { CliCommand } from './command.js';
import { commands } from './commands/index.js';
import { ExitCode } from './exit-codes.js';
import { createIO, type CreateIOOptions, type GlobalOptions } from './io.js';

function version(): string {
  // The bin may be a bundle one folder deeper than this module: look upward for our package.json.
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === '@deploytag/cli' && pkg.version) return pkg.version;
    } catch {
      // not here
    }
  }
  return '0.0.0';
}

/** Options for {@link main}, mostly for tests: streams, env and folder default to the process's. */
export type MainOptions = Omit<CreateIOOptions, keyof GlobalOptions> & {
  /** The subcommands (defaults to every DeployTag command). */
  commands?: readonly CliCommand<never>[];
};

function addGlobalOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--json', 'machine-readable output (results as JSON, logs as NDJSON)'))
    .addOption(new Option('-v, --verbose', 'show debug output'))
    .addOption(new Option('-q, --quiet', 'show warnings and errors only').conflicts('verbose'));
}

/** Builds the `deploytag` program with every subcommand declared (no library loaded). */
export function createProgram(
  list: readonly CliCommand<never>[] = commands,
  onRun: (
    command: CliCommand<never>,
    args: string[],
    options: Record<string, unknown>,
  ) => Promise<number> = () => Promise.resolve(0),
  output?: { writeOut: (s: string) => void; writeErr: (s: string) => void },
): Command {
  const program = new Command('deploytag')
    .description('Deploy a service per git branch to Kubernetes.')
    .version(version(), '-V, --version')
    .showSuggestionAfterError(true)
    .exitOverride();
  // Before the subcommands are added: commander copies these settings into each one.
  if (output) program.configureOutput(output);
  for (const spec of list) {
    const sub = addGlobalOptions(
      program.command(spec.name).description(spec.summary),
    ).exitOverride();
    spec.define(sub);
    sub.action(async (...received: unknown[]) => {
      const self = received[received.length - 1] as Command;
      const code = await onRun(spec, self.args, self.opts());
      self.setOptionValue('__exitCode', code);
      program.setOptionValue('__exitCode', code);
    });
  }
  return program;
}

/**
 * Runs `deploytag` with `argv` (without the node and script entries) and returns the exit code.
 * Expected errors print one line; usage errors exit 2; bugs print their stack.
 */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  let io = createIO(options);
  const program = createProgram(
    options.commands ?? commands,
    async (spec, args, opts) => {
      io = createIO({ ...options, ...(opts as GlobalOptions) });
      return await spec.run(args, opts as never, io);
    },
    {
      writeOut: (s) => void (options.stdout ?? process.stdout).write(s),
      writeErr: (s) => void (options.stderr ?? process.stderr).write(s),
    },
  );
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return ExitCode.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return (program.getOptionValue('__exitCode') as number | undefined) ?? ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return ExitCode.ok;
      return ExitCode.usage;
    }
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}`);
      return ExitCode.usage;
    }
    return reportError(err, {
      write: (line) => io.err(line),
      json: io.json,
      redactor: io.redactor,
    });
  }
}
