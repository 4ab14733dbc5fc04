import type { CliCommand } from '../command.js';

/**
 * Every `deploytag` subcommand, in the order `--help` lists them. A command module imports no
 * library at top level (only inside `run`), so this list is cheap to load.
 */
export const commands: readonly CliCommand<never>[] = [];
