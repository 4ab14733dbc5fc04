import { access } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { DeploytagError, Secret, runCommand } from '@deploytag/core';
import type { Logger } from '@deploytag/core';

/** The project hook the original sourced before loading secrets. */
export const DEFAULT_RESET_HOOK = './scripts/reset_env_vars.sh';

/** What the reset hook did to the exported environment. */
export interface ResetHookResult {
  /** The hook's path, as given. */
  hook: string;
  /** Variables it unset. */
  unset: string[];
  /** Variables it exported with a new or changed value. */
  set: Map<string, Secret>;
}

/** Options of {@link runResetHook}. */
export interface ResetHookOptions {
  /** The project folder; the hook path is relative to it. */
  cwd: string;
  /** The environment the hook runs in (the one the output will be evaluated in). */
  env: Readonly<Record<string, string | undefined>>;
  /** The hook; {@link DEFAULT_RESET_HOOK} unless given. */
  hook?: string;
  /** Receives a debug event with the names (never values). */
  logger?: Logger;
  /** Stops the hook. */
  signal?: AbortSignal;
}

/** Printed after the last `env -0`, to tell a finished hook from one that called `exit`. */
const END = 'deploytag-reset-hook-end';

/** Variables bash sets or changes by itself. */
const SHELL_OWN = new Set(['_', 'SHLVL', 'PWD', 'OLDPWD', 'BASH_EXECUTION_STRING']);

/** Reads `env -0` output into a map. */
function parseEnv0(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) vars.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return vars;
}

/**
 * Runs the project's reset hook (`./scripts/reset_env_vars.sh`) the way the original did, by
 * sourcing it in bash, and reports which exported variables it unset and which it set. The
 * environment is captured before and after with `env -0` inside the same bash, through the
 * command runner: names and values stay in this process's memory (never logged, printed or
 * written to a file); the hook's own output goes to stderr.
 *
 * @returns the result, or `undefined` when the hook file does not exist
 * @throws CommandFailedError when the hook fails (its exit code and stderr tail)
 */
export async function runResetHook(
  options: ResetHookOptions,
): Promise<ResetHookResult | undefined> {
  const hook = options.hook ?? DEFAULT_RESET_HOOK;
  const path = isAbsolute(hook) ? hook : join(options.cwd, hook);
  try {
    await access(path);
  } catch {
    return undefined;
  }
  const env: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(options.env)) env[name] = value;
  const script = `env -0; printf '\\0'; . "$1" >&2 || exit; env -0; printf '${END}'`;
  const result = await runCommand('bash', ['-c', script, 'reset-hook', path], {
    cwd: options.cwd,
    env,
    inheritEnv: false,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (!result.stdout.endsWith(END)) {
    throw new DeploytagError(
      'E_RESET_HOOK',
      `${hook} ended the shell it was sourced in (exit); end it with return instead, as it runs inside set-env`,
    );
  }
  const split = result.stdout.indexOf('\0\0');
  const before = parseEnv0(result.stdout.slice(0, split + 1));
  const after = parseEnv0(result.stdout.slice(split + 2, -END.length));
  const unset = [...before.keys()].filter((name) => !after.has(name) && !SHELL_OWN.has(name));
  const set = new Map<string, Secret>();
  for (const [name, value] of after) {
    if (!SHELL_OWN.has(name) && before.get(name) !== value) set.set(name, Secret.of(value));
  }
  options.logger?.debug('reset hook ran', { hook, unset, set: [...set.keys()] });
  return { hook, unset, set };
}
