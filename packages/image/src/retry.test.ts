import { createLogger, type LogRecord } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import { ImageError, ImageErrorCodes } from './errors.js';
import {
  ENGINE_RETRY,
  backoffDelay,
  isTransientRegistryFailure,
  oneLine,
  retryEngineOperation,
  retryPolicy,
} from './retry.js';

// What podman 4 said when the harness's fault proxy got between it and a registry.
const PODMAN = {
  manifest500:
    'writing manifest: uploading manifest v1 to 127.0.0.1:20841/s/img: received unexpected HTTP status: 500 Internal Server Error',
  ping503:
    'trying to reuse blob sha256:bf at destination: pinging container registry 127.0.0.1:20841: invalid status code from registry 503 (Service Unavailable)',
  pull500:
    'creating build container: initializing source docker://127.0.0.1:20841/s/base:v1: reading manifest v1 in 127.0.0.1:20841/s/base: received unexpected HTTP status: 500 Internal Server Error',
  reset:
    'writing blob: Patch "http://127.0.0.1:5000/v2/x/blobs/uploads/1": read tcp 127.0.0.1:1->127.0.0.1:5000: read: connection reset by peer',
  refused:
    'pinging container registry 127.0.0.1:5000: Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused',
  unauthorized:
    'trying to reuse blob: checking whether a blob exists in 127.0.0.1:5000/x: authentication required',
  denied: 'requested access to the resource is denied',
  unknownBlob: 'writing manifest: uploading manifest v1: blob unknown to registry',
  missing: 'An image does not exist locally with the tag: 127.0.0.1:5000/x:v1',
};

describe('isTransientRegistryFailure', () => {
  it('retries 5xx and 429 answers however the engine words them, and lost connections', () => {
    for (const text of [
      PODMAN.manifest500,
      PODMAN.ping503,
      PODMAN.pull500,
      PODMAN.reset,
      PODMAN.refused,
      'StatusCode: 502, <html>bad gateway</html>',
      'toomanyrequests: rate limit exceeded',
      'received unexpected HTTP status: 504 Gateway Time-out',
      'net/http: TLS handshake timeout',
      'Put "http://r/v2/x": EOF',
    ])
      expect(isTransientRegistryFailure(text), text).toBe(true);
  });

  it('never retries refused credentials, missing images or invalid content', () => {
    for (const text of [
      PODMAN.unauthorized,
      PODMAN.denied,
      PODMAN.unknownBlob,
      PODMAN.missing,
      'received unexpected HTTP status: 401 Unauthorized',
      'received unexpected HTTP status: 403 Forbidden',
      'manifest invalid: manifest invalid',
    ])
      expect(isTransientRegistryFailure(text), text).toBe(false);
  });
});

describe('retryPolicy, backoffDelay, oneLine', () => {
  it('keeps the defaults the caller did not choose and refuses nonsense', () => {
    expect(retryPolicy(ENGINE_RETRY, { attempts: 2 })).toEqual({ ...ENGINE_RETRY, attempts: 2 });
    expect(retryPolicy(ENGINE_RETRY, undefined)).toEqual(ENGINE_RETRY);
    expect(() => retryPolicy(ENGINE_RETRY, { attempts: 0 })).toThrow(RangeError);
    expect(() => retryPolicy(ENGINE_RETRY, { deadlineMs: -1 })).toThrow(RangeError);
    expect(() => retryPolicy(ENGINE_RETRY, { baseDelayMs: Number.NaN })).toThrow(RangeError);
  });

  it('doubles the delay per retry within ±25 %', () => {
    expect(backoffDelay(1000, 1, 0.5)).toBe(1000);
    expect(backoffDelay(1000, 3, 0.5)).toBe(4000);
    expect(backoffDelay(1000, 2, 0)).toBe(1500);
    expect(backoffDelay(1000, 2, 0.999_999)).toBeCloseTo(2500, 0);
  });

  it('makes one short line of an HTML error page', () => {
    expect(oneLine('<html>\n  <body>503\n</body>\n</html>\n')).toBe(
      '<html> <body>503 </body> </html>',
    );
    expect(oneLine('x'.repeat(50), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});

function failure(text: string, transient: boolean): ImageError {
  return new ImageError(ImageErrorCodes.PUSH_FAILED, `pushing r/x:v1 to r failed: ${text}`, {
    details: { transient },
  });
}

const isTransient = (e: unknown): boolean =>
  e instanceof ImageError && e.details?.['transient'] === true;

function recorder(): { logger: ReturnType<typeof createLogger>; lines: LogRecord[] } {
  const lines: LogRecord[] = [];
  return {
    logger: createLogger({ level: 'debug', reporter: { write: (r) => lines.push(r) } }),
    lines,
  };
}

describe('retryEngineOperation', () => {
  it('retries transient failures with a warning each, then returns the result', async () => {
    let n = 0;
    const { logger, lines } = recorder();
    const result = await retryEngineOperation(
      {
        what: 'push r/x:v1',
        registry: 'r',
        cutAtDeadline: true,
        transient: isTransient,
        run: () => {
          n += 1;
          return n <= 2
            ? Promise.reject(failure(PODMAN.manifest500, true))
            : Promise.resolve('sha256:d');
        },
      },
      { baseDelayMs: 1 },
      logger,
    );
    expect(result).toBe('sha256:d');
    expect(n).toBe(3);
    const warnings = lines.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /^registry r failed as we tried to push r\/x:v1 \(.*500 Internal Server Error\); retrying in .* \(attempt 2 of 4\)$/,
    );
  });

  it('rethrows a failure that is not transient at once', async () => {
    let n = 0;
    const denied = failure(PODMAN.denied, false);
    await expect(
      retryEngineOperation(
        {
          what: 'push r/x:v1',
          registry: 'r',
          cutAtDeadline: true,
          transient: isTransient,
          run: () => {
            n += 1;
            return Promise.reject(denied);
          },
        },
        { baseDelayMs: 1 },
      ),
    ).rejects.toBe(denied);
    expect(n).toBe(1);
  });

  it('gives up after the last attempt with one line naming the registry', async () => {
    let n = 0;
    const error = await retryEngineOperation(
      {
        what: 'push r/x:v1',
        registry: 'r:5000',
        cutAtDeadline: true,
        transient: isTransient,
        run: () => {
          n += 1;
          return Promise.reject(failure(`${PODMAN.ping503}\nsecond line`, true));
        },
      },
      { attempts: 3, baseDelayMs: 1 },
    ).catch((e: unknown) => e);
    expect(n).toBe(3);
    expect(error).toBeInstanceOf(ImageError);
    expect((error as ImageError).code).toBe(ImageErrorCodes.REGISTRY);
    expect((error as ImageError).message).toMatch(
      /^registry r:5000 kept failing as we tried to push r\/x:v1: .*503 \(Service Unavailable\) second line \(3 attempts in .*\); check that the registry is up, or try again later$/,
    );
    expect((error as ImageError).message).not.toContain('\n');
  });

  it('abandons an attempt still running at the deadline when it may be cut', async () => {
    let n = 0;
    const error = await retryEngineOperation(
      {
        what: 'push r/x:v1',
        registry: 'r',
        cutAtDeadline: true,
        transient: isTransient,
        run: (signal) => {
          n += 1;
          return new Promise((_resolve, reject) => {
            signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
          });
        },
      },
      { deadlineMs: 30, attempts: 100 },
    ).catch((e: unknown) => e);
    expect(n).toBe(1);
    expect((error as Error).message).toBe(
      'registry r did not let us push r/x:v1 within the 30 ms deadline (1 attempt); check that the registry is up, or allow more time',
    );
  });

  it('never cuts an attempt that may not be cut, and stops retrying after the deadline', async () => {
    let n = 0;
    const error = await retryEngineOperation(
      {
        what: 'build r/x:c (pulling its FROM image)',
        registry: undefined,
        cutAtDeadline: false,
        transient: isTransient,
        run: (signal) => {
          n += 1;
          expect(signal.aborted).toBe(false);
          return new Promise((_resolve, reject) =>
            setTimeout(() => reject(failure(PODMAN.pull500, true)), 40),
          );
        },
      },
      { deadlineMs: 20, attempts: 100, baseDelayMs: 1 },
    ).catch((e: unknown) => e);
    expect(n).toBe(1);
    expect((error as Error).message).toMatch(
      /^the registry kept failing as we tried to build r\/x:c \(pulling its FROM image\): /,
    );
  });

  it('stops waiting when the caller cancels', async () => {
    const controller = new AbortController();
    const cause = failure(PODMAN.manifest500, true);
    const pending = retryEngineOperation(
      {
        what: 'push r/x:v1',
        registry: 'r',
        cutAtDeadline: true,
        transient: isTransient,
        run: () => Promise.reject(cause),
      },
      { baseDelayMs: 60_000 },
      undefined,
      controller.signal,
    );
    setTimeout(() => controller.abort(), 5);
    await expect(pending).rejects.toBe(cause);
  });
});
