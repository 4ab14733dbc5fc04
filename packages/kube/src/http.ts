import { IsomorphicFetchHttpLibrary, wrapHttpLibrary } from '@kubernetes/client-node';
import type {
  HttpLibrary,
  PromiseHttpLibrary,
  RequestContext,
  ResponseContext,
} from '@kubernetes/client-node';
import type { Logger } from '@deploytag/core';
import { silentLogger } from '@deploytag/core';

/** How the Kubernetes API clients retry transient failures. */
export interface KubeRetryOptions {
  /** Attempts in all (first try included); 6 unless given. */
  attempts?: number;
  /** Delay before the first retry, doubled each time (±25 % jitter); 250 ms unless given. */
  baseDelayMs?: number;
  /** Longest delay between two attempts (a `Retry-After` is capped too); 4 s unless given. */
  maxDelayMs?: number;
}

/** Methods a server may see twice without a different outcome (a lost answer is read again). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** Network failures worth another attempt: the server was unreachable or the connection broke. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** What one attempt ended with, as the retry decision sees it. */
export type AttemptOutcome = { status: number } | { error: unknown };

/**
 * Whether an API request may be sent again after this outcome (pure).
 *
 * - 429 (throttled) and 503 (unavailable): the server did not act on the request; any method.
 * - 500, 502, 504: the request may have been acted on; only methods that can be repeated safely
 *   (GET, HEAD, OPTIONS, PUT with its resourceVersion, DELETE).
 * - A refused, reset or timed-out connection: any method. A create (POST) whose answer was lost
 *   is then answered 409 AlreadyExists, which DeployTag's create-or-update loops read as "look
 *   again"; callers of their own must be ready for it.
 * - Anything else (4xx, a 409 conflict, a bad certificate): never.
 *
 * @param method - the HTTP method
 * @param outcome - the status, or the error thrown
 */
export function isRetryable(method: string, outcome: AttemptOutcome): boolean {
  if ('status' in outcome) {
    const s = outcome.status;
    if (s === 429 || s === 503) return true;
    return (s === 500 || s === 502 || s === 504) && IDEMPOTENT.has(method.toUpperCase());
  }
  const e = outcome.error as { code?: unknown; type?: unknown; message?: unknown } | null;
  if (typeof e !== 'object' || e === null) return false;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  return typeof e.message === 'string' && /socket hang up|premature close/i.test(e.message);
}

/**
 * Whether a failed API call (an `ApiException`, or the network error it failed with) is
 * transient: a polling loop may keep going after it.
 *
 * @param error - what the call threw
 */
export function isTransientApiError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number'
    ? isRetryable('GET', { status: code })
    : isRetryable('GET', { error });
}

/**
 * The wait before retry number `retry` (1 for the first): `base × 2^(retry-1)` with ±25 % jitter
 * from `random` (in [0, 1)), or the server's `Retry-After` seconds when it gave one; capped at
 * `max`.
 */
export function retryDelay(
  policy: Required<KubeRetryOptions>,
  retry: number,
  random: number,
  retryAfter?: string | null,
): number {
  const after = retryAfter === undefined || retryAfter === null ? NaN : Number(retryAfter);
  const wanted =
    Number.isFinite(after) && after >= 0
      ? after * 1000
      : policy.baseDelayMs * 2 ** (retry - 1) * (0.75 + random * 0.5);
  return Math.min(wanted, policy.maxDelayMs);
}

/** The defaults of {@link KubeRetryOptions}. */
export const KUBE_RETRY: Required<KubeRetryOptions> = {
  attempts: 6,
  baseDelayMs: 250,
  maxDelayMs: 4_000,
};

/**
 * An HTTP transport for the generated API clients that retries transient failures (see
 * {@link isRetryable}) with exponential backoff. After the last attempt the last answer (or error)
 * is handed to the client as it was, so callers see the usual `ApiException`.
 *
 * @param options - attempts and delays
 * @param logger - one debug line per retry
 * @param inner - the transport that sends (node-fetch through client-node's own by default)
 */
export function retryingHttpLibrary(
  options: KubeRetryOptions = {},
  logger: Logger = silentLogger,
  inner: PromiseHttpLibrary = {
    send: (request) => new IsomorphicFetchHttpLibrary().send(request).toPromise(),
  },
): HttpLibrary {
  const policy = { ...KUBE_RETRY, ...definedOnly(options) };
  const send = async (request: RequestContext): Promise<ResponseContext> => {
    const method = request.getHttpMethod().toString();
    for (let attempt = 1; ; attempt++) {
      let outcome: AttemptOutcome;
      let response: ResponseContext | undefined;
      try {
        response = await inner.send(request);
        outcome = { status: response.httpStatusCode };
        if (attempt >= policy.attempts || !isRetryable(method, outcome)) return response;
      } catch (error) {
        outcome = { error };
        if (attempt >= policy.attempts || !isRetryable(method, outcome)) throw error;
      }
      const delay = retryDelay(
        policy,
        attempt,
        Math.random(),
        response?.headers['retry-after'] ?? null,
      );
      // Read the answer to the end, so its connection goes back to the pool.
      await response?.body.text().catch(() => undefined);
      logger.debug(
        `Kubernetes API ${method} ${new URL(request.getUrl()).pathname}: ${'status' in outcome ? `HTTP ${outcome.status}` : describeError(outcome.error)}; retrying in ${Math.round(delay)} ms (attempt ${attempt + 1} of ${policy.attempts})`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  };
  return wrapHttpLibrary({ send });
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function definedOnly(options: KubeRetryOptions): KubeRetryOptions {
  const out: KubeRetryOptions = {};
  if (options.attempts !== undefined) out.attempts = Math.max(1, Math.floor(options.attempts));
  if (options.baseDelayMs !== undefined) out.baseDelayMs = Math.max(0, options.baseDelayMs);
  if (options.maxDelayMs !== undefined) out.maxDelayMs = Math.max(0, options.maxDelayMs);
  return out;
}
