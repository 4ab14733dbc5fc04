import { defineCommand } from '../command.js';
import { defineDbOptions, withDatabaseServer } from './db-options.js';
import type { DbOptions } from './db-options.js';

/** `deploytag db-exists`: the original `rake db:exists`; exit 0 when the database exists, 1 when not. */
export const dbExists = defineCommand<DbOptions>({
  name: 'db-exists',
  summary: 'exit 0 when the database exists, 1 when it does not',
  define(cmd) {
    defineDbOptions(cmd).addHelpText(
      'after',
      '\nExamples:\n  deploytag db-exists && echo migrate || echo create',
    );
  },
  async run(_args, options, io) {
    const { databaseExists } = await import('@deploytag/db');
    return await withDatabaseServer(options, io, async (server, config) => {
      const exists = await databaseExists(server, config.database);
      if (io.json) io.out(JSON.stringify({ database: config.database, exists }));
      else io.err(`database ${config.database} ${exists ? 'exists' : 'does not exist'}`);
      return exists ? 0 : 1;
    });
  },
});
