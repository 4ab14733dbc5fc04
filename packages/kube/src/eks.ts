import { createHash, createHmac } from 'node:crypto';
import { DescribeClusterCommand } from '@aws-sdk/client-eks';
import type { EKSClient } from '@aws-sdk/client-eks';
import { Secret } from '@deploytag/core';
import type { KubeConfig } from '@kubernetes/client-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { KubeError, KubeErrorCodes } from './errors.js';
import { kubeConfigWithToken } from './kubeconfig.js';

/** AWS credentials as the SDK resolves them. */
export interface AwsCredentials {
  /** Access key id. */
  accessKeyId: string;
  /** Secret access key. */
  secretAccessKey: string;
  /** Session token of temporary credentials. */
  sessionToken?: string;
}

/** Input of {@link eksToken}. */
export interface EksTokenInput {
  /** The EKS cluster's name (signed as the `x-k8s-aws-id` header). */
  clusterName: string;
  /** The region of the STS endpoint (`sts.<region>.amazonaws.com`). */
  region: string;
  /** Credentials to sign with. */
  credentials: AwsCredentials;
  /** The signing time; now by default. */
  now?: Date;
}

/** A bearer token for an EKS cluster. */
export interface EksToken {
  /** `k8s-aws-v1.<base64url of a presigned STS GetCallerIdentity URL>`. */
  token: Secret;
  /** When EKS stops accepting it (15 minutes after signing; refresh a minute earlier). */
  expiresAt: Date;
}

/** What the signer hashes. */
type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): Uint8Array | string {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** SHA-256 for the signer, from node:crypto (HMAC when given a secret). */
class NodeSha256 {
  readonly #hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.#hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
  reset(): void {
    // one-shot use only
  }
}

/**
 * Makes the bearer token EKS accepts, the way aws-iam-authenticator and `aws eks get-token` do:
 * a GetCallerIdentity request to the regional STS endpoint, presigned for 60 seconds with the
 * cluster name in the signed header `x-k8s-aws-id`, base64url-encoded without padding behind
 * `k8s-aws-v1.`. No AWS call is made.
 *
 * @param input - cluster, region, credentials and signing time
 */
export async function eksToken(input: EksTokenInput): Promise<EksToken> {
  const now = input.now ?? new Date();
  const hostname = `sts.${input.region}.amazonaws.com`;
  const signer = new SignatureV4({
    credentials: input.credentials,
    region: input.region,
    service: 'sts',
    sha256: NodeSha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, 'x-k8s-aws-id': input.clusterName },
    },
    { expiresIn: 60, signingDate: now },
  );
  // Sorted like the canonical query, with the signature last, as aws-iam-authenticator prints it.
  const query = Object.entries(signed.query ?? {})
    .filter(([key]) => key !== 'X-Amz-Signature')
    .flatMap(([key, value]) =>
      (Array.isArray(value) ? value : [value ?? '']).map(
        (v) => `${encodeURIComponent(key)}=${encodeURIComponent(v)}`,
      ),
    )
    .sort()
    .join('&');
  const signature = signed.query?.['X-Amz-Signature'];
  if (typeof signature !== 'string') throw new Error('the STS request was not signed');
  const url = `https://${hostname}/?${query}&X-Amz-Signature=${signature}`;
  const token = `k8s-aws-v1.${Buffer.from(url, 'utf8').toString('base64url')}`;
  return { token: Secret.of(token), expiresAt: new Date(now.getTime() + 14 * 60_000) };
}

/** Input of {@link eksKubeConfig}. */
export interface EksKubeConfigInput {
  /** An EKS client for the cluster's region (its credentials also sign the token). */
  eks: EKSClient;
  /** `AWS_CLUSTER_NAME`. */
  clusterName: string;
  /** The region (`AWS_DEFAULT_REGION`); the client's own by default. */
  region?: string;
  /** The signing time of the token; now by default. */
  now?: Date;
}

/**
 * Builds a kubeconfig for an EKS cluster: its endpoint and CA from DescribeCluster, and a token
 * from {@link eksToken}. Needs neither the aws CLI nor aws-iam-authenticator.
 *
 * @param input - EKS client, cluster name and region
 * @returns the configuration and when its token expires
 */
export async function eksKubeConfig(
  input: EksKubeConfigInput,
): Promise<{ kc: KubeConfig; expiresAt: Date }> {
  let cluster;
  try {
    cluster = (await input.eks.send(new DescribeClusterCommand({ name: input.clusterName })))
      .cluster;
  } catch (error) {
    throw new KubeError(
      KubeErrorCodes.CLOUD,
      `cannot describe the EKS cluster ${input.clusterName}: ${error instanceof Error ? error.message : String(error)}; check AWS_CLUSTER_NAME, AWS_DEFAULT_REGION and the credentials' eks:DescribeCluster permission`,
      { cause: error },
    );
  }
  if (cluster?.endpoint === undefined) {
    throw new KubeError(
      KubeErrorCodes.CLOUD,
      `the EKS cluster ${input.clusterName} has no endpoint yet (status ${cluster?.status ?? 'unknown'}); wait until it is ACTIVE`,
    );
  }
  const region = input.region ?? (await input.eks.config.region());
  const credentials = await input.eks.config.credentials();
  const { token, expiresAt } = await eksToken({
    clusterName: input.clusterName,
    region,
    credentials,
    ...(input.now === undefined ? {} : { now: input.now }),
  });
  const kc = kubeConfigWithToken({
    name: cluster.arn ?? input.clusterName,
    server: cluster.endpoint,
    ...(cluster.certificateAuthority?.data === undefined
      ? {}
      : { caData: cluster.certificateAuthority.data }),
    token,
  });
  return { kc, expiresAt };
}
