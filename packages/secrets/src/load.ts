import { silentLogger } from '@deploytag/core';
import type { Logger } from '@deploytag/core';
import { applyPrecedence, mergeSecrets } from './merge.js';
import type { Collision, ResolvedValue } from './merge.js';
import type { ResetHookResult } from './hook.js';
import type { SecretsSource } from './source.js';

/** Options of {@link loadSecrets}. */
export interface LoadSecretsOptions {
  /** Secret ids in order; later ids win. */
  ids: readonly string[];
  /** Where to read them. */
  source: SecretsSource;
  /** The environment the result will be evaluated in (its set variables win unless `override`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Secrets win over variables already set. */
  override?: boolean;
  /** What the reset hook did, if it ran: its unset variables no longer win. */
  reset?: ResetHookResult;
  /** Receives a warning per collision (names and ids only). */
  logger?: Logger;
  /** Cancels the requests. */
  signal?: AbortSignal;
}

/** Result of {@link loadSecrets}. */
export interface LoadedSecrets {
  /** Every variable the secrets name, with the value that takes effect and its origin. */
  values: Map<string, ResolvedValue>;
  /** Variables set by more than one id (names only). */
  collisions: Collision[];
  /** Names whose environment value won over the secret. */
  kept: string[];
}

/**
 * Fetches every id concurrently, merges them in order (later wins, collisions reported by name)
 * and applies the original's precedence (`${KEY:-VALUE}`: the environment wins unless `override`,
 * or unless the reset hook unset the variable). Nothing is returned unless every id was read.
 */
export async function loadSecrets(options: LoadSecretsOptions): Promise<LoadedSecrets> {
  const logger = options.logger ?? silentLogger;
  const fetched = await options.source.fetch(
    options.ids,
    options.signal === undefined ? {} : { signal: options.signal },
  );
  const merged = mergeSecrets(fetched);
  for (const { name, ids } of merged.collisions) {
    logger.warn(`${name} is set by ${ids.join(', ')}; the last one wins`, { name, ids });
  }
  const env: Record<string, string | undefined> = { ...options.env };
  for (const [name, value] of options.reset?.set ?? []) env[name] = value.reveal();
  const { values, kept } = applyPrecedence(merged.values, env, {
    ...(options.override === undefined ? {} : { override: options.override }),
    ...(options.reset === undefined ? {} : { unset: options.reset.unset }),
  });
  return { values, collisions: merged.collisions, kept };
}
