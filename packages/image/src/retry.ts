import { silentLogger, type Logger } from '@deploytag/core';
import { ImageError, ImageErrorCodes } from './errors.js';

/** How registry operations are retried (the registry API, and the engine's pushes and pulls). */
export interface RetryOptions {
  /** Attempts in all (first try included). Default 4. */
  attempts?: number;
  /**
   * Delay before the first retry; doubled each time (with jitter). Default 250 ms for registry API
   * calls, 1 s for engine pushes and builds.
   */
  baseDelayMs?: number;
  /** Time limit of one registry API request. Default 30 s. */
  timeoutMs?: number;
  /**
   * Longest time one operation may take, every attempt and wait included: an attempt still running
   * then is abandoned and the operation fails naming the registry. Default 2 minutes for a
   * registry API call, 30 minutes for an engine push or build.
   */
  deadlineMs?: number;
}

/** The policy of registry API calls, where the caller did not choose. */
export const REGISTRY_API_RETRY: Required<RetryOptions> = {
  attempts: 4,
  baseDelayMs: 250,
  timeoutMs: 30_000,
  deadlineMs: 120_000,
};

/** The policy of engine pushes and of builds that pull from a registry, where the caller did not choose. */
export const ENGINE_RETRY: Required<RetryOptions> = {
  attempts: 4,
  baseDelayMs: 1_000,
  timeoutMs: 30_000,
  deadlineMs: 1_800_000,
};

/** The caller's choices over the defaults (undefined fields keep the default). */
export function retryPolicy(
  defaults: Required<RetryOptions>,
  chosen: RetryOptions | undefined,
): Required<RetryOptions> {
  const out = { ...defaults };
  for (const key of Object.keys(out) as (keyof RetryOptions)[]) {
    const v = chosen?.[key];
    if (v !== undefined) {
      if (!Number.isFinite(v) || v < 0 || (key === 'attempts' && (v < 1 || !Number.isInteger(v))))
        throw new RangeError(
          `retry.${key} must be a ${key === 'attempts' ? 'positive integer' : 'non-negative number'}, not ${v}`,
        );
      out[key] = v;
    }
  }
  return out;
}

/**
 * The wait before retry number `attempt` (1 for the first retry): `base × 2^(attempt-1)`, with
 * ±25 % jitter from `random` (a number in [0, 1)).
 */
export function backoffDelay(baseDelayMs: number, attempt: number, random: number): number {
  return baseDelayMs * 2 ** (attempt - 1) * (0.75 + random * 0.5);
}

/**
 * Whether what an engine or a registry said about a failure is worth another attempt: a 5xx or 429
 * status (however the engine words it), or a connection that was refused, reset or timed out.
 * Authentication, a missing image or tag, and invalid manifests are not.
 */
export function isTransientRegistryFailure(text: string): boolean {
  if (/unauthori[sz]ed|authentication required|denied|forbidden|\b40[13]\b/i.test(text))
    return false;
  return (
    /(?:HTTP status|status code|StatusCode|HTTP|status)[:\s]*(?:from registry\s*)?(?:429|5\d\d)\b/i.test(
      text,
    ) ||
    /internal server error|bad gateway|service unavailable|gateway time-?out|too ?many ?requests/i.test(
      text,
    ) ||
    /connection (?:refused|reset)|broken pipe|\bEOF\b|i\/o timeout|TLS handshake timeout|timeout awaiting response headers|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|socket hang up/i.test(
      text,
    )
  );
}

/** One line of text: white space (new lines included) collapsed, cut at `max` characters. */
export function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A duration for people: `30 ms`, `1.5 s`, `120 s`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return ms < 10_000 ? `${Math.round(ms / 100) / 10} s` : `${Math.round(ms / 1000)} s`;
}

/** What {@link retryEngineOperation} retries. */
export interface EngineOperation<T> {
  /** What is being done, for messages (`push 127.0.0.1:5000/app:v1`). */
  what: string;
  /** The registry involved (`host[:port]`), named in the final error, when known. */
  registry: string | undefined;
  /** One attempt; it must give up when `signal` aborts (the deadline). */
  run: (signal: AbortSignal) => Promise<T>;
  /** Whether a failed attempt may be retried. */
  transient: (error: unknown) => boolean;
  /**
   * Whether an attempt still running at the deadline is abandoned (a push to a registry that
   * stopped answering would otherwise wait for ever); when false the deadline only stops retries
   * (a build's own steps may rightly take long).
   */
  cutAtDeadline: boolean;
}

/**
 * Runs an engine operation that talks to a registry (a push, a build pulling its base), retrying
 * transient registry failures with exponential backoff until the attempts or the deadline run
 * out. A failure that is not transient is rethrown at once; at the deadline the attempt still
 * running is abandoned and an `E_IMAGE_REGISTRY` error names the registry and the deadline.
 *
 * @param op - the operation
 * @param retry - attempts, backoff and deadline (see {@link ENGINE_RETRY})
 * @param logger - one warning per retry
 * @param signal - the caller's cancellation
 */
export async function retryEngineOperation<T>(
  op: EngineOperation<T>,
  retry: RetryOptions | undefined,
  logger: Logger = silentLogger,
  signal?: AbortSignal,
): Promise<T> {
  const policy = retryPolicy(ENGINE_RETRY, retry);
  const who = op.registry === undefined ? 'the registry' : `registry ${op.registry}`;
  const cancelled = (): boolean => signal?.aborted === true;
  const started = Date.now();
  const deadline = started + policy.deadlineMs;
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    const timer = op.cutAtDeadline
      ? AbortSignal.timeout(Math.max(1, deadline - Date.now()))
      : undefined;
    const signals = [timer, signal].filter((x): x is AbortSignal => x !== undefined);
    try {
      return await op.run(signals.length === 1 ? signals[0]! : AbortSignal.any(signals));
    } catch (error) {
      if (cancelled()) throw error;
      if (timer?.aborted === true) {
        throw new ImageError(
          ImageErrorCodes.REGISTRY,
          `${who} did not let us ${op.what} within the ${duration(policy.deadlineMs)} deadline (${attempt} attempt${attempt > 1 ? 's' : ''}${lastError === undefined ? '' : `; last error: ${oneLine(errorText(lastError))}`}); check that the registry is up, or allow more time`,
          { cause: error, details: { registry: op.registry, attempts: attempt } },
        );
      }
      if (!op.transient(error)) throw error;
      lastError = error;
      const delay = backoffDelay(policy.baseDelayMs, attempt, Math.random());
      const left = deadline - Date.now();
      if (attempt >= policy.attempts || delay >= left) {
        throw new ImageError(
          ImageErrorCodes.REGISTRY,
          `${who} kept failing as we tried to ${op.what}: ${oneLine(errorText(error))} (${attempt} attempt${attempt > 1 ? 's' : ''} in ${duration(Date.now() - started)}); check that the registry is up, or try again later`,
          { cause: error, details: { registry: op.registry, attempts: attempt } },
        );
      }
      logger.warn(
        `${who} failed as we tried to ${op.what} (${oneLine(errorText(error), 160)}); retrying in ${duration(delay)} (attempt ${attempt + 1} of ${policy.attempts})`,
      );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
      if (cancelled()) throw lastError;
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
