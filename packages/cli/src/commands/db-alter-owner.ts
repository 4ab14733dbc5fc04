import { ConfigError } from '@deploytag/core';
import { defineCommand } from '../command.js';
import { defineDbOptions, withDatabaseServer } from './db-options.js';
import type { DbOptions } from './db-options.js';

/** `deploytag db-alter-owner [owner]`: the original `rake db:alter_owner` with `DATABASE_OWNER`. */
export const dbAlterOwner = defineCommand<DbOptions>({
  name: 'db-alter-owner',
  summary: 'make DATABASE_OWNER (or the given role) the owner of the database',
  define(cmd) {
    defineDbOptions(cmd.argument('[owner]', 'role or user (default: $DATABASE_OWNER)')).addHelpText(
      'after',
      '\nOn MySQL/MariaDB, which have no database owners, the user is granted every privilege on the database.\n\nExamples:\n  DATABASE_OWNER=shop deploytag db-alter-owner',
    );
  },
  async run(args, options, io) {
    const owner = args[0] ?? io.env['DATABASE_OWNER'];
    if (owner === undefined || owner === '') {
      throw new ConfigError('no owner given: pass it as an argument or set DATABASE_OWNER', {
        key: 'DATABASE_OWNER',
      });
    }
    const { alterOwner } = await import('@deploytag/db');
    const config = await withDatabaseServer(options, io, async (server, cfg) => {
      await alterOwner(server, cfg.database, owner);
      return cfg;
    });
    io.out(
      io.json
        ? JSON.stringify({ database: config.database, owner })
        : `${owner} owns database ${config.database}`,
    );
    return 0;
  },
});
