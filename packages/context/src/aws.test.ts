import { ConfigError } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import { awsClientConfig, awsRegion } from './index.js';

describe('awsClientConfig', () => {
  it('takes the region, the service endpoint over the general one, and static credentials', () => {
    expect(
      awsClientConfig(
        {
          AWS_DEFAULT_REGION: 'eu-west-1',
          AWS_ENDPOINT_URL: 'http://moto:5000',
          AWS_ENDPOINT_URL_STS: 'http://sts:1',
          AWS_ACCESS_KEY_ID: 'AKIA',
          AWS_SECRET_ACCESS_KEY: ' s3cret ',
          AWS_MAX_ATTEMPTS: '5',
        },
        'STS',
      ),
    ).toEqual({
      region: 'eu-west-1',
      endpoint: 'http://sts:1',
      maxAttempts: 5,
      credentials: { accessKeyId: 'AKIA', secretAccessKey: 's3cret' },
    });
    expect(
      awsClientConfig({ AWS_REGION: 'a', AWS_ENDPOINT_URL: 'http://moto:5000' }, 'SECRETS_MANAGER'),
    ).toEqual({ region: 'a', endpoint: 'http://moto:5000' });
  });

  it('leaves credentials to the SDK chain unless both halves are set, and ignores bad attempts', () => {
    const config = awsClientConfig(
      { AWS_REGION: 'a', AWS_ACCESS_KEY_ID: 'AKIA', AWS_MAX_ATTEMPTS: 'many' },
      'STS',
    );
    expect(config).toEqual({ region: 'a' });
  });

  it('needs a region unless the service has a default', () => {
    expect(() => awsClientConfig({ AWS_REGION: '  ' }, 'SECRETS_MANAGER')).toThrow(ConfigError);
    expect(awsClientConfig({}, 'ROUTE_53', { defaultRegion: 'us-east-1' }).region).toBe(
      'us-east-1',
    );
    expect(awsRegion({ AWS_REGION: 'x', AWS_DEFAULT_REGION: 'y' })).toBe('x');
  });
});
