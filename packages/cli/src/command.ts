import type { Command } from 'commander';
import type { CliIO } from './io.js';

/**
 * One `deploytag` subcommand. `define` declares its arguments and options on commander (cheap: no
 * library is loaded); `run` does the work and is called only when the command runs, importing its
 * library lazily so that `deploytag --help` starts fast. `run` returns the exit code.
 */
export interface CliCommand<Options = Record<string, unknown>> {
  /** The subcommand name (`set-env`); also the bin `deploytag-<name>`. */
  name: string;
  /** The original DeployTag script this replaces, if any (`set_env.sh`), for `/scripts/<file>`. */
  original?: string;
  /** One line for the command list. */
  summary: string;
  /** Declares arguments, options and help examples on the subcommand. */
  define(cmd: Command): void;
  /** Runs the command with its parsed positional arguments and options. */
  run(args: string[], options: Options, io: CliIO): Promise<number>;
}

/** Declares a command with typed options. */
export function defineCommand<Options>(command: CliCommand<Options>): CliCommand<Options> {
  return command;
}
