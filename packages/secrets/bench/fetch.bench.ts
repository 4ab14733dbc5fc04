import { randomUUID } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { compare, time, type Benchmark } from '@deploytag/bench';
import { createAwsSecretsSource } from '../src/index.js';

/**
 * Reading 50 secret ids from Secrets Manager (moto): batched (`BatchGetSecretValue`, 20 per call,
 * calls in parallel) and concurrent `GetSecretValue` (8 in flight) against one `GetSecretValue`
 * after the other, in the same run.
 */
const bench: Benchmark = async (ctx) => {
  const count = 50;
  const runs = Math.max(3, Math.round(10 * ctx.scale));
  const prefix = `deploytag/bench/${randomUUID().slice(0, 8)}`;
  const client = new SecretsManagerClient({});
  try {
    const ids = Array.from({ length: count }, (_, i) => `${prefix}/${i}`);
    for (const id of ids) {
      await client.send(
        new CreateSecretCommand({ Name: id, SecretString: `K_${id.length}=v\nX=${id}` }),
      );
    }
    const check = async (source: ReturnType<typeof createAwsSecretsSource>): Promise<void> => {
      const got = await source.fetch(ids);
      if (got.length !== count) throw new Error(`read ${got.length} of ${count} secrets`);
    };
    const serial = createAwsSecretsSource({ client, batch: false, concurrency: 1 });
    const concurrent = createAwsSecretsSource({ client, batch: false, concurrency: 8 });
    const batched = createAwsSecretsSource({ client });
    const oneByOne = {
      label: '50 × GetSecretValue, one by one',
      timing: await time(() => check(serial), runs),
    };
    const parallel = {
      label: '50 × GetSecretValue, 8 in flight',
      timing: await time(() => check(concurrent), runs),
    };
    const batch = {
      label: 'BatchGetSecretValue (3 calls)',
      timing: await time(() => check(batched), runs),
    };
    return [
      compare(
        'secrets-fetch-batched',
        'read 50 ids: batched vs one by one (moto)',
        oneByOne,
        batch,
        { ids: count },
      ),
      compare(
        'secrets-fetch-concurrent',
        'read 50 ids: 8 concurrent GetSecretValue vs one by one (moto)',
        oneByOne,
        parallel,
        { ids: count },
      ),
    ];
  } finally {
    client.destroy();
  }
};

export default bench;
