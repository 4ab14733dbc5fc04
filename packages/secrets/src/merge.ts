import { Secret } from '@deploytag/core';
import type { SecretEntry } from './parse.js';

/** The variables one secret id (or file) holds, in the order written. */
export interface FetchedSecret {
  /** The secret id (or file) as asked for. */
  id: string;
  /** Its variables. */
  entries: readonly SecretEntry[];
}

/** A variable set by more than one secret (or twice in one); the last id wins. */
export interface Collision {
  /** The variable's name. */
  name: string;
  /** Every id that set it, in order; the last one wins. */
  ids: readonly string[];
}

/** Where an effective value came from: a secret id, the environment, or the reset hook. */
export type ValueOrigin = `secret:${string}` | `env:${string}` | `hook:${string}`;

/** One effective variable. */
export interface ResolvedValue {
  /** The value. */
  value: Secret;
  /** Where it came from. */
  origin: ValueOrigin;
}

/** Result of {@link mergeSecrets}. */
export interface MergedSecrets {
  /** Every variable, in the order first seen; the last id setting it wins. */
  values: Map<string, ResolvedValue>;
  /** Variables set more than once (names and ids only, never values). */
  collisions: Collision[];
}

/**
 * Merges secrets in the given order: a later id wins over an earlier one. Pure.
 *
 * @param fetched - the secrets, in the order of `AWS_SECRETS`
 */
export function mergeSecrets(fetched: readonly FetchedSecret[]): MergedSecrets {
  const values = new Map<string, ResolvedValue>();
  const setters = new Map<string, string[]>();
  for (const { id, entries } of fetched) {
    for (const { name, value } of entries) {
      values.set(name, { value, origin: `secret:${id}` });
      const ids = setters.get(name);
      if (ids === undefined) setters.set(name, [id]);
      else ids.push(id);
    }
  }
  const collisions = [...setters]
    .filter(([, ids]) => ids.length > 1)
    .map(([name, ids]) => ({ name, ids }));
  return { values, collisions };
}

/** Options of {@link applyPrecedence}. */
export interface PrecedenceOptions {
  /** Secrets win over variables already set (`--override`). */
  override?: boolean;
  /** Names the reset hook unset: the environment's value no longer counts for them. */
  unset?: Iterable<string>;
}

/** Result of {@link applyPrecedence}. */
export interface EffectiveSecrets {
  /** Every variable with the value that takes effect, in the order of the merge. */
  values: Map<string, ResolvedValue>;
  /** Names whose value already set in the environment won over the secret. */
  kept: string[];
}

/**
 * Applies the original's precedence, `export KEY=${KEY:-VALUE}`: a variable already set to a
 * non-empty value in `env` keeps that value (reported in `kept`), unless `override` is given or
 * the reset hook unset it. Pure.
 *
 * @param merged - the merged secrets
 * @param env - the environment the output will be evaluated in
 */
export function applyPrecedence(
  merged: ReadonlyMap<string, ResolvedValue>,
  env: Readonly<Record<string, string | undefined>>,
  options: PrecedenceOptions = {},
): EffectiveSecrets {
  const unset = new Set(options.unset ?? []);
  const values = new Map<string, ResolvedValue>();
  const kept: string[] = [];
  for (const [name, resolved] of merged) {
    const current = unset.has(name) ? undefined : env[name];
    if (options.override !== true && current !== undefined && current !== '') {
      values.set(name, { value: Secret.of(current), origin: `env:${name}` });
      kept.push(name);
    } else {
      values.set(name, resolved);
    }
  }
  return { values, kept };
}
