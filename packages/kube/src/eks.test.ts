import { describe, expect, it } from 'vitest';
import { eksToken } from './eks.js';

// The published example of kubernetes-sigs/aws-iam-authenticator, pkg/token/token_test.go
// (TestGetWithSTS, "Non-zero time"): example non-real credentials, cluster `test-cluster`,
// region us-west-2 (regional STS endpoint), signed at Unix time 1682640000.
const PUBLISHED = {
  accessKeyId: Buffer.from('QVNJQVIyVEc0NFY2QVMzWlpFN0M=', 'base64').toString(),
  secretAccessKey: Buffer.from(
    'NEtENWNudEdjVm1MV1JkRjV3dk5SdXpOTDVReG1wNk9LVlk2RnovUQ==',
    'base64',
  ).toString(),
  token:
    'k8s-aws-v1.aHR0cHM6Ly9zdHMudXMtd2VzdC0yLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BU0lBUjJURzQ0VjZBUzNaWkU3QyUyRjIwMjMwNDI4JTJGdXMtd2VzdC0yJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyMzA0MjhUMDAwMDAwWiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TaWduYXR1cmU9ZTIxMWRiYTc3YWJhOWRjNDRiMGI2YmUzOGI4ZWFhZDA5MjU5OWM1MTU3ZjYzMTQ0NDRjNWI5ZDg1NzQ3ZjVjZQ',
};

describe('eksToken', () => {
  it('matches the published aws-iam-authenticator example token exactly', async () => {
    const { token, expiresAt } = await eksToken({
      clusterName: 'test-cluster',
      region: 'us-west-2',
      credentials: {
        accessKeyId: PUBLISHED.accessKeyId,
        secretAccessKey: PUBLISHED.secretAccessKey,
      },
      now: new Date(1682640000 * 1000),
    });
    expect(token.reveal()).toBe(PUBLISHED.token);
    expect(String(token)).toBe('***');
    expect(expiresAt.toISOString()).toBe('2023-04-28T00:14:00.000Z');
  });

  it('signs the cluster name and carries a session token when there is one', async () => {
    const { token } = await eksToken({
      clusterName: 'other',
      region: 'eu-west-1',
      credentials: {
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: 'secret',
        sessionToken: 'sess/ion+',
      },
      now: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
    });
    const url = new URL(
      Buffer.from(token.reveal().slice('k8s-aws-v1.'.length), 'base64url').toString(),
    );
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('sess/ion+');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20240102T030405Z');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(token.reveal()).not.toMatch(/=/);
  });
});
