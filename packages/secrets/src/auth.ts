import { Buffer } from 'node:buffer';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { STSClient } from '@aws-sdk/client-sts';
import { ConfigError, Secret } from '@deploytag/core';
import { SecretsError, SecretsErrorCodes } from './errors.js';

type EnvLike = Readonly<Record<string, string | undefined>>;

function isSet(env: EnvLike, name: string): boolean {
  const value = env[name];
  return value !== undefined && value.trim() !== '';
}

/**
 * Checks the AWS variables the original `auth.sh` required, naming each missing one: a region
 * (`AWS_DEFAULT_REGION` or `AWS_REGION`) and both `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`,
 * unless another credential source is configured (`AWS_PROFILE`, `AWS_WEB_IDENTITY_TOKEN_FILE`,
 * or a container credentials URI). Pure.
 *
 * @returns the missing variables, empty when the environment is complete
 */
export function missingAwsVariables(env: EnvLike): string[] {
  const missing: string[] = [];
  if (!isSet(env, 'AWS_DEFAULT_REGION') && !isSet(env, 'AWS_REGION'))
    missing.push('AWS_DEFAULT_REGION');
  const other = [
    'AWS_PROFILE',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  ].some((name) => isSet(env, name));
  const keyId = isSet(env, 'AWS_ACCESS_KEY_ID');
  const secret = isSet(env, 'AWS_SECRET_ACCESS_KEY');
  if (keyId || secret || !other) {
    if (!keyId) missing.push('AWS_ACCESS_KEY_ID');
    if (!secret) missing.push('AWS_SECRET_ACCESS_KEY');
  }
  return missing;
}

/** Whose AWS credentials these are. */
export interface AwsIdentity {
  /** The 12-digit account id. */
  account: string;
  /** The caller's ARN. */
  arn: string;
  /** The caller's unique id. */
  userId: string;
}

/**
 * Throws one {@link ConfigError} naming every missing AWS variable ({@link missingAwsVariables}).
 *
 * @throws ConfigError whose `key` is the first missing variable
 */
export function assertAwsVariables(env: EnvLike): void {
  const missing = missingAwsVariables(env);
  const [first] = missing;
  if (first !== undefined) {
    throw new ConfigError(
      `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set; set ${missing.length === 1 ? 'it' : 'them'} to the deploying user's credentials and region`,
      { key: first },
    );
  }
}

/**
 * Proves AWS credentials work: checks the variables ({@link missingAwsVariables}), then asks STS
 * `GetCallerIdentity`.
 *
 * @param env - the environment (for the variable check)
 * @param client - an STS client built from the same environment
 * @throws ConfigError naming the missing variables
 * @throws SecretsError (`E_AUTH`) with what AWS answered
 */
export async function verifyAwsCredentials(env: EnvLike, client: STSClient): Promise<AwsIdentity> {
  assertAwsVariables(env);
  const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  try {
    const out = await client.send(new GetCallerIdentityCommand({}));
    if (out.Account === undefined || out.Arn === undefined) {
      throw new SecretsError(
        SecretsErrorCodes.AUTH,
        'AWS STS answered GetCallerIdentity without an account or ARN',
      );
    }
    return { account: out.Account, arn: out.Arn, userId: out.UserId ?? '' };
  } catch (err) {
    if (err instanceof SecretsError) throw err;
    const e = err as { name?: string; message?: string };
    throw new SecretsError(
      SecretsErrorCodes.AUTH,
      `AWS STS GetCallerIdentity failed (check the credentials and region): ${e.name ?? 'Error'}: ${e.message ?? 'no answer'}`,
      { cause: err },
    );
  }
}

/** A validated Google Cloud service-account key. */
export interface GcpServiceKey {
  /** The key file's JSON text. */
  json: Secret;
  /** `client_email`: the service account. */
  clientEmail: string;
  /** `project_id`. */
  projectId: string;
  /** The variable it came from. */
  variable: 'GCLOUD_SERVICE_KEY' | 'GCLOUD_SERVICE_KEY_BASE64';
}

const KEY_FIELDS = [
  'type',
  'project_id',
  'private_key_id',
  'private_key',
  'client_email',
  'token_uri',
] as const;

/**
 * Reads and validates the service-account key from `GCLOUD_SERVICE_KEY` (JSON) or
 * `GCLOUD_SERVICE_KEY_BASE64` (the JSON, base64-encoded). Pure. Messages name variables and
 * fields, never the key's content.
 *
 * @throws ConfigError naming the variable and what is wrong
 */
export function readGcpServiceKey(env: EnvLike): GcpServiceKey {
  let variable: GcpServiceKey['variable'];
  let text: string;
  const plain = env.GCLOUD_SERVICE_KEY;
  const encoded = env.GCLOUD_SERVICE_KEY_BASE64;
  if (plain !== undefined && plain.trim() !== '') {
    variable = 'GCLOUD_SERVICE_KEY';
    text = plain;
  } else if (encoded !== undefined && encoded.trim() !== '') {
    variable = 'GCLOUD_SERVICE_KEY_BASE64';
    const compact = encoded.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) {
      throw new ConfigError(
        'GCLOUD_SERVICE_KEY_BASE64 is not base64; set it to the base64 of the key file (base64 -w0 key.json)',
        { key: variable },
      );
    }
    text = Buffer.from(compact, 'base64').toString('utf8');
  } else {
    throw new ConfigError(
      'GCLOUD_SERVICE_KEY is not set; set it to the service-account key file (JSON), or GCLOUD_SERVICE_KEY_BASE64 to its base64',
      { key: 'GCLOUD_SERVICE_KEY' },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(
      `${variable} is not valid JSON; it must hold the key file downloaded for the service account`,
      { key: variable },
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(`${variable} holds JSON that is not a key file object`, {
      key: variable,
    });
  }
  const key = json as Record<string, unknown>;
  const missing = KEY_FIELDS.filter((field) => typeof key[field] !== 'string' || key[field] === '');
  if (missing.length > 0) {
    throw new ConfigError(
      `${variable} is missing ${missing.join(', ')}; download a new JSON key for the service account`,
      { key: variable },
    );
  }
  if (key.type !== 'service_account') {
    throw new ConfigError(
      `${variable} has type ${JSON.stringify(key.type)}; it must be a service_account key`,
      { key: variable },
    );
  }
  if (!String(key.private_key).includes('-----BEGIN PRIVATE KEY-----')) {
    throw new ConfigError(`${variable}: private_key is not a PEM private key`, { key: variable });
  }
  if (!/^[^@\s]+@[^@\s]+$/.test(String(key.client_email))) {
    throw new ConfigError(`${variable}: client_email is not an e-mail address`, { key: variable });
  }
  return {
    json: Secret.of(text),
    clientEmail: String(key.client_email),
    projectId: String(key.project_id),
    variable,
  };
}

/**
 * Writes the key file readable by its owner only (mode 0600, also when the file existed), creating
 * its folder.
 */
export async function writeGcpKeyFile(key: GcpServiceKey, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const handle = await open(path, 'w', 0o600);
  try {
    // Restrict an existing file before the key is in it.
    await handle.chmod(0o600);
    await handle.writeFile(key.json.reveal());
  } finally {
    await handle.close();
  }
}
