import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { UsageError } from '@deploytag/core';
import { defineCommand } from '../command.js';

/** Options of `deploytag auth`. */
export interface AuthCommandOptions {
  provider?: string;
  keyFile?: string;
  json?: boolean;
}

/** `deploytag auth`: the `auth.sh` replacement (AWS STS identity, GCP service-account key). */
export const authCommand = defineCommand<AuthCommandOptions>({
  name: 'auth',
  original: 'auth.sh',
  summary:
    'prove the cloud credentials work (AWS STS identity) or write the GCP service-account key',
  define(cmd) {
    cmd
      .option('--provider <provider>', 'aws or gcp (default: CLOUD_PROVIDER, else aws)')
      .option(
        '--key-file <path>',
        'where to write the GCP key (default: ~/gcloud-service-key.json)',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  deploytag auth                       # AWS: prints the account and ARN\n  eval "$(deploytag auth --provider gcp)"  # GCP: exports GOOGLE_APPLICATION_CREDENTIALS\n\nAWS needs AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION (or AWS_REGION);\nGCP needs GCLOUD_SERVICE_KEY (JSON) or GCLOUD_SERVICE_KEY_BASE64. No aws or gcloud CLI is used.',
      );
  },
  async run(_args, options, io) {
    const provider =
      (options.provider ?? io.env.CLOUD_PROVIDER ?? 'aws').trim().toLowerCase() || 'aws';
    const secrets = await import('@deploytag/secrets');
    if (provider === 'aws') {
      secrets.assertAwsVariables(io.env);
      const client = await secrets.createStsClient(io.env);
      try {
        const identity = await secrets.verifyAwsCredentials(io.env, client);
        if (io.json) io.out(JSON.stringify({ provider, ...identity }));
        else io.out(`AWS account ${identity.account} as ${identity.arn}`);
        return 0;
      } finally {
        client.destroy();
      }
    }
    if (provider === 'gcp') {
      const key = secrets.readGcpServiceKey(io.env);
      const home = io.env.HOME ?? homedir();
      const target = options.keyFile ?? join(home, 'gcloud-service-key.json');
      const path = isAbsolute(target) ? target : join(io.cwd, target);
      await secrets.writeGcpKeyFile(key, path);
      io.redactor.add(key.json);
      if (io.json) {
        io.out(
          JSON.stringify({
            provider,
            clientEmail: key.clientEmail,
            projectId: key.projectId,
            keyFile: path,
          }),
        );
      } else {
        io.err(
          `service account ${key.clientEmail} (project ${key.projectId}); key written to ${path} (mode 0600)`,
        );
        io.out(secrets.renderShell([['GOOGLE_APPLICATION_CREDENTIALS', path]]).trimEnd());
      }
      return 0;
    }
    throw new UsageError(`--provider must be aws or gcp, not "${provider}" (check CLOUD_PROVIDER)`);
  },
});
