import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { SecretsError, SecretsErrorCodes } from './errors.js';
import type { FetchedSecret } from './merge.js';
import { parseEnvLines } from './parse.js';

/** Options of {@link SecretsSource.fetch}. */
export interface FetchOptions {
  /** Cancels the requests. */
  signal?: AbortSignal;
}

/**
 * Where secrets come from. `fetch` returns every id's variables in the order asked, or throws one
 * error naming every id that failed: never a partial result.
 */
export interface SecretsSource {
  /** A short name for messages and `--explain` (`aws-secrets-manager`, `dotenv`). */
  readonly name: string;
  /** Reads and parses every id. */
  fetch(ids: readonly string[], options?: FetchOptions): Promise<FetchedSecret[]>;
}

/** Options of {@link createDotenvSource}. */
export interface DotenvSourceOptions {
  /** The folder relative paths are read from. */
  cwd: string;
}

/**
 * A source whose ids are dotenv files (`KEY=VALUE` lines, see `parseEnvLines`), read
 * concurrently.
 */
export function createDotenvSource(options: DotenvSourceOptions): SecretsSource {
  return {
    name: 'dotenv',
    async fetch(ids) {
      const results = await Promise.allSettled(
        ids.map(async (id) => {
          const path = isAbsolute(id) ? id : join(options.cwd, id);
          let text: string;
          try {
            text = await readFile(path, 'utf8');
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            throw new SecretsError(
              code === 'ENOENT' ? SecretsErrorCodes.NOT_FOUND : SecretsErrorCodes.FETCH,
              `${id}: ${code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? 'error'})`}`,
              { ids: [id], cause: err },
            );
          }
          return { id, entries: parseEnvLines(text, id) };
        }),
      );
      return settle(results, ids);
    },
  };
}

/**
 * Returns the values of settled fetches in order, or throws one error naming every failure (its
 * code when all failures share one, else `E_SECRET_FETCH`).
 *
 * @internal
 */
export function settle<T>(
  results: readonly PromiseSettledResult<T>[],
  ids: readonly string[],
): T[] {
  const failures = results.flatMap((result, i) =>
    result.status === 'rejected' ? [{ id: ids[i] ?? '?', reason: result.reason as unknown }] : [],
  );
  if (failures.length === 0) {
    return results.map((result) => (result as PromiseFulfilledResult<T>).value);
  }
  const codes = new Set(
    failures.map(({ reason }) =>
      reason instanceof SecretsError ? reason.code : SecretsErrorCodes.FETCH,
    ),
  );
  const [only] = codes;
  const text = failures
    .map(({ reason }) => (reason instanceof Error ? reason.message : String(reason)))
    .join('; ');
  const message =
    failures.length === 1
      ? text
      : `${failures.length} of ${ids.length} secrets could not be read: ${text}`;
  throw new SecretsError(
    codes.size === 1 && only !== undefined ? only : SecretsErrorCodes.FETCH,
    message,
    {
      ids: failures.map(({ id }) => id),
      cause: failures[0]?.reason,
    },
  );
}
