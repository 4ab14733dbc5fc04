/**
 * Small internal helpers shared by the modules of this package. Nothing here is exported from the
 * package entry.
 *
 * @packageDocumentation
 */

import { constants as osConstants } from 'node:os';

/** The number of a signal on this platform, such as 15 for SIGTERM; undefined if unknown. */
export function signalNumber(signal: string): number | undefined {
  return (osConstants.signals as Partial<Record<string, number>>)[signal];
}

/**
 * JSON.stringify that never throws: bigints become strings, repeated references on the current
 * path become `"[Circular]"`, and anything else that cannot be serialised becomes a descriptive
 * string. Objects with a `toJSON` method (such as `Secret`) still use it.
 */
export function safeJsonStringify(value: unknown): string {
  const ancestors: object[] = [];
  const replacer = function (this: unknown, _key: string, v: unknown): unknown {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'function') return `[Function ${v.name || 'anonymous'}]`;
    if (typeof v === 'symbol') return v.toString();
    if (v === null || typeof v !== 'object') return v;
    // `this` is the object holding the current key: drop ancestors that are no longer on the path.
    while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
    if (ancestors.includes(v)) return '[Circular]';
    ancestors.push(v);
    return v;
  };
  try {
    // JSON.stringify returns undefined for a top-level undefined or function.
    const text = JSON.stringify(value, replacer) as string | undefined;
    return text ?? 'null';
  } catch (error) {
    return JSON.stringify(`[unserialisable: ${error instanceof Error ? error.message : 'error'}]`);
  }
}

const SAFE_SHELL_WORD = /^[\w@%+=:,./-]+$/;

/** Longest argument shown in a command line built by {@link formatCommandLine}. */
const MAX_SHOWN_ARG = 200;

/** Longest command line built by {@link formatCommandLine}. */
const MAX_SHOWN_LINE = 2000;

/** Quotes one word the way a POSIX shell would need it, for display only. */
export function quoteForDisplay(word: string): string {
  if (word === '') return "''";
  if (SAFE_SHELL_WORD.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Renders a program and its arguments as one readable line, for messages only (it is never
 * executed). Very long arguments and lines are shortened with an ellipsis.
 */
export function formatCommandLine(program: string, args: readonly string[]): string {
  const words = [program, ...args].map((word) => {
    const shown = word.length > MAX_SHOWN_ARG ? `${word.slice(0, MAX_SHOWN_ARG)}…` : word;
    return quoteForDisplay(shown);
  });
  const line = words.join(' ');
  return line.length > MAX_SHOWN_LINE ? `${line.slice(0, MAX_SHOWN_LINE)}…` : line;
}
