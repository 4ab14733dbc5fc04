import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, describe, expect, it } from 'vitest';
import { requireEnv } from '../test-env.js';

describe('aws component (moto server)', () => {
  // The SDK reads endpoint, region and credentials from the variables the harness exported.
  const endpoint = requireEnv('AWS_ENDPOINT_URL');
  const secrets = new SecretsManagerClient({});
  const sts = new STSClient({});
  afterAll(() => {
    secrets.destroy();
    sts.destroy();
  });

  it('exports a loopback endpoint and a region', () => {
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(requireEnv('AWS_REGION')).toBe('us-east-1');
    expect(requireEnv('AWS_DEFAULT_REGION')).toBe('us-east-1');
  });

  it('stores a KEY=VALUE secret and reads it back', async () => {
    const name = `deploytag/test/${randomUUID()}/env`;
    const value = 'DATABASE_URL=postgres://u:p@db/app\nFEATURE_FLAG=on\n';
    const created = await secrets.send(
      new CreateSecretCommand({ Name: name, SecretString: value }),
    );
    expect(created.ARN).toContain(name);
    const got = await secrets.send(new GetSecretValueCommand({ SecretId: name }));
    expect(got.SecretString).toBe(value);
    expect(got.Name).toBe(name);
  });

  it('stores a JSON secret and reads it back by ARN', async () => {
    const name = `deploytag/test/${randomUUID()}/json`;
    const value = { API_KEY: 'k-123', NESTED: { a: 1 }, QUOTE: 'say "hi"' };
    const created = await secrets.send(
      new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value) }),
    );
    const got = await secrets.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    expect(JSON.parse(got.SecretString ?? 'null')).toEqual(value);
  });

  it('answers a missing secret with ResourceNotFoundException', async () => {
    await expect(
      secrets.send(new GetSecretValueCommand({ SecretId: `deploytag/missing/${randomUUID()}` })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('answers STS GetCallerIdentity with an account id', async () => {
    const id = await sts.send(new GetCallerIdentityCommand({}));
    expect(id.Account).toMatch(/^\d{12}$/);
    expect(id.Arn).toMatch(/^arn:aws:/);
  });
});
