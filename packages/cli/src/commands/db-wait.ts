import { defineCommand } from '../command.js';
import { defineDbOptions, loadConfig, seconds } from './db-options.js';
import type { DbOptions } from './db-options.js';

interface DbWaitOptions extends DbOptions {
  tcpOnly?: boolean;
}

/** `deploytag db-wait`: the original `db_wait.sh`, waiting for a real login rather than an open port. */
export const dbWait = defineCommand<DbWaitOptions>({
  name: 'db-wait',
  original: 'db_wait.sh',
  summary: 'wait until the database server accepts a login',
  define(cmd) {
    defineDbOptions(cmd)
      .option(
        '--tcp-only',
        'only wait for the port to accept TCP connections, as the original db_wait.sh',
      )
      .addHelpText(
        'after',
        '\nExamples:\n  DATABASE_URL=postgres://app:…@db:5432/shop deploytag db-wait\n  deploytag db-wait --timeout 60',
      );
  },
  async run(_args, options, io) {
    const { waitForDatabase } = await import('@deploytag/db');
    const config = await loadConfig(options, io, true);
    const result = await waitForDatabase(config, {
      timeoutMs: seconds(options.timeout, '--timeout', 10_000),
      logger: io.logger,
      tcpOnly: options.tcpOnly === true,
    });
    io.out(
      io.json
        ? JSON.stringify({ host: config.host, port: config.port, ...result })
        : `database server at ${config.host}:${config.port} is ready`,
    );
    return 0;
  },
});
