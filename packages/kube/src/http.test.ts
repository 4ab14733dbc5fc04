import { HttpMethod, RequestContext, ResponseContext } from '@kubernetes/client-node';
import type { PromiseHttpLibrary } from '@kubernetes/client-node';
import { createLogger } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import { KUBE_RETRY, isRetryable, retryDelay, retryingHttpLibrary } from './http.js';

function networkError(code: string): Error {
  return Object.assign(new Error(`request to https://k/api failed, reason: ${code}`), {
    type: 'system',
    code,
  });
}

describe('isRetryable', () => {
  it('retries throttling and unavailability for every method', () => {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      expect(isRetryable(method, { status: 429 })).toBe(true);
      expect(isRetryable(method, { status: 503 })).toBe(true);
    }
  });

  it('retries 500, 502 and 504 only for requests that can be repeated', () => {
    for (const status of [500, 502, 504]) {
      expect(isRetryable('GET', { status })).toBe(true);
      expect(isRetryable('put', { status })).toBe(true);
      expect(isRetryable('DELETE', { status })).toBe(true);
      expect(isRetryable('POST', { status })).toBe(false);
      expect(isRetryable('PATCH', { status })).toBe(false);
    }
  });

  it('never retries success, client errors or conflicts', () => {
    for (const status of [200, 201, 400, 401, 403, 404, 409, 410, 422, 501]) {
      expect(isRetryable('GET', { status })).toBe(false);
    }
  });

  it('retries refused, reset and timed-out connections, not other errors', () => {
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']) {
      expect(isRetryable('POST', { error: networkError(code) })).toBe(true);
    }
    expect(isRetryable('GET', { error: new Error('socket hang up') })).toBe(true);
    expect(isRetryable('GET', { error: networkError('CERT_HAS_EXPIRED') })).toBe(false);
    expect(isRetryable('GET', { error: new TypeError('x is not a function') })).toBe(false);
    expect(isRetryable('GET', { error: 'text' })).toBe(false);
  });
});

describe('retryDelay', () => {
  it('doubles from the base with jitter, follows Retry-After, and is capped', () => {
    expect(retryDelay(KUBE_RETRY, 1, 0.5)).toBe(250);
    expect(retryDelay(KUBE_RETRY, 3, 0.5)).toBe(1000);
    expect(retryDelay(KUBE_RETRY, 2, 0)).toBe(375);
    expect(retryDelay(KUBE_RETRY, 10, 0.5)).toBe(4000);
    expect(retryDelay(KUBE_RETRY, 1, 0.5, '2')).toBe(2000);
    expect(retryDelay(KUBE_RETRY, 1, 0.5, '60')).toBe(4000);
    expect(retryDelay(KUBE_RETRY, 1, 0.5, 'soon')).toBe(250);
  });
});

/** A transport answering from a script, recording each call. */
function scripted(...answers: (number | Error)[]): PromiseHttpLibrary & { calls: number } {
  const lib = {
    calls: 0,
    send(): Promise<ResponseContext> {
      const a = answers[lib.calls];
      lib.calls += 1;
      if (a === undefined) return Promise.reject(new Error('no more answers'));
      if (a instanceof Error) return Promise.reject(a);
      return Promise.resolve(
        new ResponseContext(a, a === 429 ? { 'retry-after': '0' } : {}, {
          text: () => Promise.resolve(`{"code":${a}}`),
          binary: () => Promise.resolve(Buffer.from('')),
        }),
      );
    },
  };
  return lib;
}

function request(method: HttpMethod): RequestContext {
  return new RequestContext('https://k/api/v1/namespaces/x', method);
}

const fast = { baseDelayMs: 1, maxDelayMs: 5 };

describe('retryingHttpLibrary', () => {
  it('sends again after transient failures and returns the first real answer', async () => {
    const inner = scripted(503, networkError('ECONNRESET'), 429, 200);
    const lines: string[] = [];
    const logger = createLogger({
      level: 'debug',
      reporter: { write: (r) => lines.push(r.message) },
    });
    const lib = retryingHttpLibrary(fast, logger, inner);
    const res = await lib.send(request(HttpMethod.GET)).toPromise();
    expect(res.httpStatusCode).toBe(200);
    expect(inner.calls).toBe(4);
    expect(lines[0]).toMatch(
      /^Kubernetes API GET \/api\/v1\/namespaces\/x: HTTP 503; retrying in \d+ ms \(attempt 2 of 6\)$/,
    );
  });

  it('hands a conflict and a 500 to a create straight to the caller', async () => {
    const conflict = scripted(409, 200);
    expect(
      (
        await retryingHttpLibrary(fast, undefined, conflict)
          .send(request(HttpMethod.PUT))
          .toPromise()
      ).httpStatusCode,
    ).toBe(409);
    expect(conflict.calls).toBe(1);
    const create = scripted(500, 201);
    expect(
      (
        await retryingHttpLibrary(fast, undefined, create)
          .send(request(HttpMethod.POST))
          .toPromise()
      ).httpStatusCode,
    ).toBe(500);
    expect(create.calls).toBe(1);
  });

  it('gives the last answer or error back once the attempts run out', async () => {
    const down = scripted(503, 503, 503);
    const res = await retryingHttpLibrary({ ...fast, attempts: 3 }, undefined, down)
      .send(request(HttpMethod.GET))
      .toPromise();
    expect(res.httpStatusCode).toBe(503);
    expect(down.calls).toBe(3);
    const unreachable = scripted(networkError('ECONNREFUSED'), networkError('ECONNREFUSED'));
    await expect(
      retryingHttpLibrary({ ...fast, attempts: 2 }, undefined, unreachable)
        .send(request(HttpMethod.GET))
        .toPromise(),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
