import { defineCommand } from '../command.js';
import { branchNamespace } from './branch-namespace.js';

/** Options of `deploytag db-connect`. */
export interface DbConnectOptions {
  namespace?: string;
  target?: string;
  port?: string;
  localPort?: string;
}

/** `deploytag db-connect -- <command>`: the original `db_connect.sh`. */
export const dbConnectCommand = defineCommand<DbConnectOptions>({
  name: 'db-connect',
  original: 'db_connect.sh',
  summary: 'port-forward to the database in the cluster, run a command, exit with its status',
  define(cmd) {
    cmd
      .argument('<command...>', 'the command to run while the port is forwarded (after --)')
      .option('-n, --namespace <name>', "the namespace (default: the branch's)")
      .option(
        '--target <kind/name>',
        'deployment/NAME, service/NAME or pod/NAME (default: $DATABASE_DEPLOYMENT)',
      )
      .option('--port <port>', 'the port in the cluster (default: $DATABASE_PORT, else 5432)')
      .option(
        '--local-port <port>',
        'the local port, 0 for any free one (default: $DATABASE_FORWARD_PORT, else the same as --port)',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  DATABASE_DEPLOYMENT=postgres deploytag db-connect -- psql -h 127.0.0.1 -p 5432 -c "select 1"\n  deploytag db-connect --target svc/db --local-port 0 -- sh -c \'pg_dump -h 127.0.0.1 -p "$DEPLOYTAG_FORWARD_PORT" app > app.sql\'\n\nThe command runs in the foreground with this terminal (stdin, stdout, stderr) and also gets\nDEPLOYTAG_FORWARD_PORT; deploytag exits with its status.',
      );
  },
  async run(args, options, io) {
    const { UsageError } = await import('@deploytag/core');
    const kube = await import('@deploytag/kube');
    // A local port of 0 means any free port; the cluster side needs a real one.
    const port = (
      text: string | undefined,
      name: string,
      fallback: number,
      min: number,
    ): number => {
      if (text === undefined || text === '') return fallback;
      const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
      if (!Number.isInteger(value) || value < min || value > 65535) {
        throw new UsageError(
          `${name} must be a port number (${min}-65535), not ${JSON.stringify(text)}`,
        );
      }
      return value;
    };
    const targetText = options.target ?? io.env.DATABASE_DEPLOYMENT;
    if (targetText === undefined || targetText === '')
      throw new UsageError('set DATABASE_DEPLOYMENT or --target');
    const remotePort = port(options.port ?? io.env.DATABASE_PORT, 'DATABASE_PORT', 5432, 1);
    const localPort = port(
      options.localPort ?? io.env.DATABASE_FORWARD_PORT,
      'DATABASE_FORWARD_PORT',
      remotePort,
      0,
    );
    const namespace = options.namespace ?? (await branchNamespace(io.env));
    const clients = kube.createKubeClients(kube.loadKubeConfig({ env: io.env }));
    // The command runs in the foreground with our stdin, stdout and stderr, as in the original
    // script: psql can prompt, and pg_dump's output reaches a redirect byte for byte.
    const result = await kube.runWithPortForward(
      clients,
      {
        namespace,
        target: kube.parseForwardTarget(targetText),
        remotePort,
        localPort,
        logger: io.logger,
        env: io.env,
        stdio: 'inherit',
      },
      args,
    );
    return result.exitCode;
  },
});
