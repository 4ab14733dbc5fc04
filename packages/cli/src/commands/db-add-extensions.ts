import { ConfigError } from '@deploytag/core';
import { defineCommand } from '../command.js';
import { defineDbOptions, list, withDatabaseServer } from './db-options.js';
import type { DbOptions } from './db-options.js';

/** `deploytag db-add-extensions [names...]`: the original `rake db:add_extensions` hook, natively. */
export const dbAddExtensions = defineCommand<DbOptions>({
  name: 'db-add-extensions',
  summary: 'enable PostgreSQL extensions in the database (CREATE EXTENSION IF NOT EXISTS)',
  define(cmd) {
    defineDbOptions(
      cmd.argument(
        '[extensions...]',
        'extension names (default: $DATABASE_EXTENSIONS, comma separated)',
      ),
    ).addHelpText(
      'after',
      '\nExamples:\n  deploytag db-add-extensions pgcrypto citext\n  DATABASE_EXTENSIONS=pgcrypto,citext deploytag db-add-extensions',
    );
  },
  async run(args, options, io) {
    const extensions =
      args.length > 0 ? args.flatMap((a) => list(a)) : list(io.env['DATABASE_EXTENSIONS']);
    if (extensions.length === 0) {
      throw new ConfigError('no extensions given: pass their names or set DATABASE_EXTENSIONS', {
        key: 'DATABASE_EXTENSIONS',
      });
    }
    const { addExtensions } = await import('@deploytag/db');
    const config = await withDatabaseServer(options, io, async (server, cfg) => {
      await addExtensions(server, cfg.database, extensions, io.logger);
      return cfg;
    });
    io.out(
      io.json
        ? JSON.stringify({ database: config.database, extensions })
        : `extensions enabled in ${config.database}: ${extensions.join(', ')}`,
    );
    return 0;
  },
});
