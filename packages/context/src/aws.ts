import { ConfigError } from '@deploytag/core';

type EnvLike = Readonly<Record<string, string | undefined>>;

function nonBlank(env: EnvLike, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The services whose endpoint DeployTag lets `AWS_ENDPOINT_URL_<SERVICE>` override. */
export type AwsService = 'SECRETS_MANAGER' | 'STS' | 'ROUTE_53';

/**
 * Settings for an AWS SDK v3 client, in the shape every client's configuration accepts.
 */
export interface AwsClientSettings {
  region: string;
  endpoint?: string;
  maxAttempts?: number;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** The region of the usual AWS variables: `AWS_REGION`, else `AWS_DEFAULT_REGION`. */
export function awsRegion(env: EnvLike): string | undefined {
  return nonBlank(env, 'AWS_REGION') ?? nonBlank(env, 'AWS_DEFAULT_REGION');
}

/**
 * Client settings from the usual AWS variables of `env` (not necessarily `process.env`): region
 * (`AWS_REGION`, `AWS_DEFAULT_REGION`), endpoint (`AWS_ENDPOINT_URL_<SERVICE>`, then
 * `AWS_ENDPOINT_URL`, which is how tests reach moto), static credentials (`AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and `AWS_MAX_ATTEMPTS`. Without static credentials
 * the SDK's default chain (profile, web identity, container, instance) applies.
 *
 * @param env - the environment
 * @param service - the service's endpoint variable suffix, e.g. `SECRETS_MANAGER`
 * @param options - `defaultRegion` for a global service (Route 53); without it a missing region
 *   is an error
 * @throws ConfigError when no region is set and there is no default
 */
export function awsClientConfig(
  env: EnvLike,
  service: AwsService,
  options: { defaultRegion?: string } = {},
): AwsClientSettings {
  const region = awsRegion(env) ?? options.defaultRegion;
  if (region === undefined) {
    throw new ConfigError(
      'AWS_DEFAULT_REGION is not set; set AWS_REGION or AWS_DEFAULT_REGION (e.g. us-east-1)',
      { key: 'AWS_DEFAULT_REGION' },
    );
  }
  const endpoint =
    nonBlank(env, `AWS_ENDPOINT_URL_${service}`) ?? nonBlank(env, 'AWS_ENDPOINT_URL');
  const accessKeyId = nonBlank(env, 'AWS_ACCESS_KEY_ID');
  const secretAccessKey = nonBlank(env, 'AWS_SECRET_ACCESS_KEY');
  const sessionToken = nonBlank(env, 'AWS_SESSION_TOKEN');
  const attempts = Number(nonBlank(env, 'AWS_MAX_ATTEMPTS'));
  return {
    region,
    ...(Number.isInteger(attempts) && attempts > 0 ? { maxAttempts: attempts } : {}),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(accessKeyId !== undefined && secretAccessKey !== undefined
      ? {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(sessionToken === undefined ? {} : { sessionToken }),
          },
        }
      : {}),
  };
}
