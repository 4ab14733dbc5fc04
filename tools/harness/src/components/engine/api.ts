/**
 * A minimal client for the Docker-compatible Engine API that podman serves on a unix socket:
 * one request, a buffered answer, and a parser for the streamed JSON progress messages of build,
 * import and push. Used by the `engine` component and by its integration tests.
 */
import { request } from 'node:http';
import type { Readable } from 'node:stream';

/** The Engine API version the harness speaks (what podman 4.x answers to as Docker). */
export const ENGINE_API_VERSION = 'v1.41';

/** One answer from the engine, read to the end. */
export interface EngineResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** What to send with {@link engineRequest}. */
export interface EngineRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** A buffer or string is sent as is; a stream (for example a tar of a build context) is piped. */
  body?: Buffer | string | Readable;
  /** Gives up (rejecting) when the whole exchange takes longer. Default 120 s. */
  timeoutMs?: number;
}

/**
 * The socket path of a `DOCKER_HOST` value such as `unix:///tmp/x/podman.sock` (a bare path is
 * accepted as is). Throws for TCP hosts, which the harness never uses.
 */
export function socketPathOf(dockerHost: string): string {
  if (dockerHost.startsWith('unix://')) return dockerHost.slice('unix://'.length);
  if (dockerHost.startsWith('/')) return dockerHost;
  throw new Error(`DOCKER_HOST ${dockerHost} is not a unix socket (unix:///path)`);
}

/**
 * Sends one HTTP request to the engine over its unix socket and reads the whole answer. `path` is
 * used as given (include the `/v1.41` prefix for versioned endpoints).
 */
export async function engineRequest(
  socketPath: string,
  path: string,
  options: EngineRequestOptions = {},
): Promise<EngineResponse> {
  return await new Promise<EngineResponse>((resolve, reject) => {
    const req = request(
      {
        socketPath,
        path,
        method: options.method ?? 'GET',
        headers: { Host: 'engine', ...options.headers },
        timeout: options.timeoutMs ?? 120_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`engine request ${path} timed out`)));
    req.on('error', reject);
    const body = options.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else {
      body.on('error', (err) => req.destroy(err));
      body.pipe(req);
    }
  });
}

/** One message of a streamed progress answer (build, import, push), as the engine writes it. */
export interface StreamMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * Splits a streamed progress answer (one JSON object per line) into its messages. A line that is
 * not JSON becomes an `error` message, so nothing the engine said is silently dropped.
 */
export function parseJsonStream(text: string): StreamMessage[] {
  const out: StreamMessage[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    try {
      out.push(JSON.parse(trimmed) as StreamMessage);
    } catch {
      out.push({ error: `unparsable engine output: ${trimmed}` });
    }
  }
  return out;
}

/** The error messages in a streamed progress answer (empty when it succeeded). */
export function streamErrors(messages: readonly StreamMessage[]): string[] {
  return messages.flatMap((m) => {
    const msg = m.errorDetail?.message ?? m.error;
    return msg === undefined ? [] : [msg.trim()];
  });
}
