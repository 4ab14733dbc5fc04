/**
 * `@deploytag/cli`: the `deploytag` command. Each subcommand is a thin wrapper: it parses its
 * arguments, calls one library function, prints, and exits.
 * @packageDocumentation
 */
export { main, createProgram, type MainOptions } from './main.js';
export { commands } from './commands/index.js';
export { defineCommand, type CliCommand } from './command.js';
export { createIO, type CliIO, type GlobalOptions } from './io.js';
export { ExitCode } from './exit-codes.js';
