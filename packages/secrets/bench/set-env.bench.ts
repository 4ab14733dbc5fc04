import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { compare, timeCommand, type Benchmark } from '@deploytag/bench';

/**
 * `deploytag set-env` (the built bin, `npm run build` first for core, context, secrets and cli)
 * against `node -e 0` in the same run: once with the context alone, once also loading two secret
 * ids from Secrets Manager (moto).
 */
const bench: Benchmark = async (ctx) => {
  const bin = resolve(import.meta.dirname, '../../cli/dist/bin/deploytag.js');
  const runs = Math.max(5, Math.round(15 * ctx.scale));
  const prefix = `deploytag/bench/${randomUUID().slice(0, 8)}`;
  const admin = new SecretsManagerClient({});
  try {
    await admin.send(
      new CreateSecretCommand({ Name: `${prefix}/a`, SecretString: 'A=1\nB=two words\n' }),
    );
    await admin.send(
      new CreateSecretCommand({
        Name: `${prefix}/b`,
        SecretString: JSON.stringify({ C: '$3', B: 'x' }),
      }),
    );
  } finally {
    admin.destroy();
  }
  const env = {
    ...process.env,
    ...ctx.env,
    CIRCLE_BRANCH: 'feature/bench',
    CIRCLE_SHA1: 'abc1234',
    CIRCLE_PROJECT_REPONAME: 'shop',
    CHART_NAME: './charts/web',
    DOMAIN: 'example.com',
    CONTAINER_REGISTRY: 'registry.local',
    K8S_DEPLOY_ENV_SET: '',
  };
  const node = {
    label: 'node -e 0',
    timing: await timeCommand(process.execPath, ['-e', '0'], runs),
  };
  const contextOnly = {
    label: 'deploytag set-env (no AWS_SECRETS)',
    timing: await timeCommand(process.execPath, [bin, 'set-env'], runs, env),
  };
  const withSecrets = {
    label: 'deploytag set-env (2 secret ids, moto)',
    timing: await timeCommand(process.execPath, [bin, 'set-env'], runs, {
      ...env,
      AWS_SECRETS: `${prefix}/a,${prefix}/b`,
    }),
  };
  return [
    compare(
      'set-env-context',
      '`deploytag set-env` without secrets vs `node -e 0`',
      node,
      contextOnly,
    ),
    compare(
      'set-env-secrets',
      '`deploytag set-env` with 2 secret ids (moto) vs `node -e 0`',
      node,
      withSecrets,
    ),
  ];
};

export default bench;
