import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { STSClient } from '@aws-sdk/client-sts';
import { awsClientConfig } from '@deploytag/context';
import { silentLogger } from '@deploytag/core';
import type { Logger } from '@deploytag/core';
import { SecretsError, SecretsErrorCodes } from './errors.js';
import type { FetchedSecret } from './merge.js';
import { parseSecretBinary, parseSecretText } from './parse.js';
import type { SecretEntry } from './parse.js';
import { settle } from './source.js';
import type { FetchOptions, SecretsSource } from './source.js';

type EnvLike = Readonly<Record<string, string | undefined>>;

/**
 * A Secrets Manager client configured from `env` (see `awsClientConfig` in `@deploytag/context`). The SDK is loaded
 * on first use, so commands that read no secret do not pay for it.
 */
export async function createSecretsManagerClient(env: EnvLike): Promise<SecretsManagerClient> {
  const config = awsClientConfig(env, 'SECRETS_MANAGER');
  const { SecretsManagerClient: Client } = await import('@aws-sdk/client-secrets-manager');
  return new Client(config);
}

/** An STS client configured from `env` (see `awsClientConfig` in `@deploytag/context`); the SDK loads on first use. */
export async function createStsClient(env: EnvLike): Promise<STSClient> {
  const config = awsClientConfig(env, 'STS');
  const { STSClient: Client } = await import('@aws-sdk/client-sts');
  return new Client(config);
}

/** Options of {@link createAwsSecretsSource}. */
export interface AwsSecretsSourceOptions {
  /** The client (region, endpoint and credentials are its business). */
  client: SecretsManagerClient;
  /**
   * Use `BatchGetSecretValue` (20 ids per call); if the service or the credentials refuse it, the
   * source falls back to one `GetSecretValue` per id.
   *
   * @defaultValue true
   */
  batch?: boolean;
  /**
   * Most requests in flight at once.
   *
   * @defaultValue 8
   */
  concurrency?: number;
  /** Receives debug events (ids and counts only). */
  logger?: Logger;
}

const BATCH_SIZE = 20;

interface AwsFailure {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Errors after which the credentials themselves are wrong: a fallback would fail the same way. */
const CREDENTIAL_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'CredentialsProviderError',
]);

/**
 * The error code and text of a failed call. A 403 whose body the SDK could not read (moto answers
 * denied JSON-protocol calls in XML) is reported as access denied.
 */
function codeAndText(err: unknown): { code: string | undefined; text: string | undefined } {
  const e = err as AwsFailure;
  if (e.$metadata?.httpStatusCode === 403 && !/Exception$|^AccessDenied/.test(e.name ?? '')) {
    return { code: 'AccessDeniedException', text: 'AWS answered 403 Forbidden' };
  }
  return { code: e.name, text: e.message };
}

/** Turns an AWS answer about one id into a {@link SecretsError}, with AWS's own text. */
function failure(
  id: string,
  code: string | undefined,
  message: string | undefined,
  cause?: unknown,
): SecretsError {
  const text =
    message === undefined || message.trim() === ''
      ? (code ?? 'unknown error')
      : message.replace(/\s+/g, ' ').trim();
  switch (code) {
    case 'ResourceNotFoundException':
      return new SecretsError(
        SecretsErrorCodes.NOT_FOUND,
        `secret "${id}" does not exist (check AWS_SECRETS and the region): ${text}`,
        { ids: [id], cause },
      );
    case 'AccessDeniedException':
    case 'AccessDenied':
    case 'DecryptionFailure':
      return new SecretsError(
        SecretsErrorCodes.FORBIDDEN,
        `not allowed to read secret "${id}" (${code}): ${text}`,
        { ids: [id], cause },
      );
    default:
      return new SecretsError(
        SecretsErrorCodes.FETCH,
        `cannot read secret "${id}" (${code ?? 'error'}): ${text}`,
        { ids: [id], cause },
      );
  }
}

function entriesOf(
  id: string,
  value: { SecretString?: string | undefined; SecretBinary?: Uint8Array | undefined },
): SecretEntry[] {
  if (value.SecretString !== undefined) return parseSecretText(value.SecretString, id);
  if (value.SecretBinary !== undefined) return parseSecretBinary(value.SecretBinary, id);
  return [];
}

/** Runs `tasks` with at most `limit` in flight; settles every one. */
async function pool<T>(
  tasks: readonly (() => Promise<T>)[],
  limit: number,
): Promise<PromiseSettledResult<T>[]> {
  const results = new Array<PromiseSettledResult<T>>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await tasks[i]!() };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

function matches(
  id: string,
  value: { ARN?: string | undefined; Name?: string | undefined },
): boolean {
  return (
    id === value.Name ||
    id === value.ARN ||
    (id.startsWith('arn:') && value.ARN !== undefined && value.ARN.startsWith(`${id}-`))
  );
}

/**
 * AWS Secrets Manager as a {@link SecretsSource}: ids are secret names or ARNs. Every id is read
 * concurrently (`BatchGetSecretValue` where allowed, else `GetSecretValue` per id) and parsed as
 * a JSON object or `KEY=VALUE` lines; binary secrets are read when they hold UTF-8 text. Nothing
 * is returned unless every id was read: one {@link SecretsError} names each id that failed and
 * what AWS answered.
 */
export function createAwsSecretsSource(options: AwsSecretsSourceOptions): SecretsSource {
  const { client } = options;
  const logger = options.logger ?? silentLogger;
  const limit = Math.max(1, options.concurrency ?? 8);

  const getOne = async (id: string, signal?: AbortSignal): Promise<FetchedSecret> => {
    const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    try {
      const out = await client.send(
        new GetSecretValueCommand({ SecretId: id }),
        signal === undefined ? {} : { abortSignal: signal },
      );
      return { id, entries: entriesOf(id, out) };
    } catch (err) {
      if (err instanceof SecretsError) throw err;
      const { code, text } = codeAndText(err);
      throw failure(id, code, text, err);
    }
  };

  /** One batch call; ids it did not answer are read one by one. */
  const getBatch = async (
    ids: readonly string[],
    signal?: AbortSignal,
  ): Promise<PromiseSettledResult<FetchedSecret>[]> => {
    const { BatchGetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    const out = await client.send(
      new BatchGetSecretValueCommand({ SecretIdList: [...ids] }),
      signal === undefined ? {} : { abortSignal: signal },
    );
    const values = out.SecretValues ?? [];
    const errors = out.Errors ?? [];
    return await Promise.all(
      ids.map(async (id): Promise<PromiseSettledResult<FetchedSecret>> => {
        const found = values.find((value) => matches(id, value));
        if (found !== undefined) {
          try {
            return { status: 'fulfilled', value: { id, entries: entriesOf(id, found) } };
          } catch (reason) {
            return { status: 'rejected', reason };
          }
        }
        const error = errors.find((e) => e.SecretId === id);
        if (error !== undefined) {
          return { status: 'rejected', reason: failure(id, error.ErrorCode, error.Message) };
        }
        try {
          return { status: 'fulfilled', value: await getOne(id, signal) };
        } catch (reason) {
          return { status: 'rejected', reason };
        }
      }),
    );
  };

  return {
    name: 'aws-secrets-manager',
    async fetch(ids: readonly string[], fetchOptions: FetchOptions = {}) {
      const { signal } = fetchOptions;
      const unique = [...new Set(ids)];
      let settled: PromiseSettledResult<FetchedSecret>[] | undefined;
      if (options.batch !== false && unique.length > 1) {
        try {
          const chunks: string[][] = [];
          for (let i = 0; i < unique.length; i += BATCH_SIZE)
            chunks.push(unique.slice(i, i + BATCH_SIZE));
          const parts = await Promise.all(chunks.map((chunk) => getBatch(chunk, signal)));
          settled = parts.flat();
          logger.debug('read secrets with BatchGetSecretValue', {
            ids: unique.length,
            calls: chunks.length,
          });
        } catch (err) {
          const e = err as AwsFailure;
          if (
            signal?.aborted === true ||
            e.$metadata?.httpStatusCode === undefined ||
            CREDENTIAL_ERRORS.has(e.name ?? '')
          ) {
            throw new SecretsError(
              SecretsErrorCodes.FETCH,
              `cannot read secrets ${unique.map((id) => `"${id}"`).join(', ')}: ${e.name ?? 'Error'}: ${e.message ?? 'no answer'}`,
              { ids: unique, cause: err },
            );
          }
          logger.debug('BatchGetSecretValue refused; reading secrets one by one', {
            error: e.name,
          });
        }
      }
      settled ??= await pool(
        unique.map((id) => () => getOne(id, signal)),
        limit,
      );
      const byId = new Map(settle(settled, unique).map((secret) => [secret.id, secret]));
      return ids.map((id) => byId.get(id)!);
    },
  };
}
