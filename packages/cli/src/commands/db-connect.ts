import { defineCommand } from '../command.js';

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
        'the local port (default: $DATABASE_FORWARD_PORT, else the same as --port)',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  DATABASE_DEPLOYMENT=postgres deploytag db-connect -- psql -h 127.0.0.1 -p 5432 -c "select 1"\n\nThe command also gets DEPLOYTAG_FORWARD_PORT.',
      );
  },
  async run(args, options, io) {
    const { UsageError } = await import('@deploytag/core');
    const kube = await import('@deploytag/kube');
    const port = (text: string | undefined, name: string, fallback: number): number => {
      if (text === undefined || text === '') return fallback;
      const value = Number(text);
      if (!Number.isInteger(value) || value < 0 || value > 65535) {
        throw new UsageError(`${name} must be a port number, not ${JSON.stringify(text)}`);
      }
      return value;
    };
    const targetText = options.target ?? io.env.DATABASE_DEPLOYMENT;
    if (targetText === undefined || targetText === '')
      throw new UsageError('set DATABASE_DEPLOYMENT or --target');
    const remotePort = port(options.port ?? io.env.DATABASE_PORT, 'DATABASE_PORT', 5432);
    const localPort = port(
      options.localPort ?? io.env.DATABASE_FORWARD_PORT,
      'DATABASE_FORWARD_PORT',
      remotePort,
    );
    let namespace = options.namespace;
    if (namespace === undefined) {
      const { buildDeployContext } = await import('@deploytag/context');
      namespace = buildDeployContext({ env: io.env }).namespace;
    }
    const clients = kube.createKubeClients(kube.loadKubeConfig({ env: io.env }));
    const result = await kube.runWithPortForward(
      clients,
      {
        namespace,
        target: kube.parseForwardTarget(targetText),
        remotePort,
        localPort,
        logger: io.logger,
      },
      args,
    );
    if (result.stdout !== '') io.out(result.stdout.replace(/\n$/, ''));
    if (result.stderr !== '') io.err(result.stderr.replace(/\n$/, ''));
    return result.exitCode;
  },
});
