import { UsageError } from '@deploytag/core';
import { defineCommand } from '../command.js';
import { defineDbOptions, list, loadConfig, seconds } from './db-options.js';
import type { DbOptions } from './db-options.js';

interface InitDbOptions extends DbOptions {
  schema?: string;
  schemaCommand?: string;
  migrations?: string;
  migrationsTable?: string;
  migrateCommand?: string;
  seeds?: string;
  seedCommand?: string;
  rails?: boolean;
  owner?: string;
  extensions?: string;
  template?: string;
  terminateTemplateSessions?: boolean;
  encoding?: string;
  collation?: string;
  lockTimeout?: string;
  dryRun?: boolean;
}

/** `deploytag init-db`: the original `init_db.sh` (exists → migrate; missing → create, schema, migrate, seed). */
export const initDb = defineCommand<InitDbOptions>({
  name: 'init-db',
  original: 'init_db.sh',
  summary: 'create the branch database if missing (schema, seeds), and migrate it',
  define(cmd) {
    defineDbOptions(cmd)
      .option('--schema <file.sql>', 'load this SQL file into a new database')
      .option(
        '--schema-command <command>',
        'load the schema with this command (e.g. "bundle exec rake db:schema:load")',
      )
      .option('--migrations <dir>', 'run the pending knex migrations of this folder')
      .option('--migrations-table <name>', 'knex migrations table (default knex_migrations)')
      .option(
        '--migrate-command <command>',
        'migrate with this command (e.g. "npx prisma migrate deploy")',
      )
      .option('--seeds <dir>', 'seed a new database with the knex seed files of this folder')
      .option(
        '--seed-command <command>',
        'seed with this command (e.g. "bundle exec rake db:seed")',
      )
      .option(
        '--rails',
        'the original Rails tasks: bundle exec rake db:schema:load, db:migrate, db:seed',
      )
      .option('--owner <role>', 'owner of the database (default: $DATABASE_OWNER)')
      .option(
        '--extensions <list>',
        'PostgreSQL extensions to enable (default: $DATABASE_EXTENSIONS)',
      )
      .option(
        '--template <database>',
        'PostgreSQL: create the database as a copy of this one (e.g. staging)',
      )
      .option(
        '--terminate-template-sessions',
        'end other sessions on the template when they block the copy',
      )
      .option('--encoding <name>', 'encoding / character set of a new database')
      .option('--collation <name>', 'collation of a new database')
      .option(
        '--lock-timeout <seconds>',
        'how long to wait for another run initialising the same database',
        '900',
      )
      .option('--dry-run', 'print the plan without changing anything')
      .addHelpText(
        'after',
        '\nCommands get DATABASE_URL, DATABASE_HOST, DATABASE_PORT, DATABASE_USER, DATABASE_PASSWORD, DATABASE (and PG*/MYSQL_*).\n\n' +
          'Examples:\n  deploytag init-db --rails\n  deploytag init-db --schema db/schema.sql --migrations migrations --seeds seeds\n' +
          '  deploytag init-db --template shop-staging --migrate-command "npx prisma migrate deploy"',
      );
  },
  async run(_args, options, io) {
    const { commandStep, initDatabase } = await import('@deploytag/db');
    type Steps = Parameters<typeof initDatabase>[1]['steps'];
    const steps: Steps = {};
    const pick = (part: keyof Steps, ...choices: (Steps[keyof Steps] | undefined)[]): void => {
      const given = choices.filter((c) => c !== undefined);
      if (given.length > 1)
        throw new UsageError(`give one way to do the ${part} step, not ${given.length}`);
      if (given[0] !== undefined) steps[part] = given[0];
    };
    const rake = (task: string) => commandStep(`bundle exec rake ${task}`);
    pick(
      'schema',
      options.schema === undefined ? undefined : { type: 'sql-file', path: options.schema },
      options.schemaCommand === undefined ? undefined : commandStep(options.schemaCommand),
      options.rails === true ? rake('db:schema:load') : undefined,
    );
    pick(
      'migrate',
      options.migrations === undefined
        ? undefined
        : {
            type: 'knex-migrations',
            directory: options.migrations,
            ...(options.migrationsTable === undefined
              ? {}
              : { tableName: options.migrationsTable }),
          },
      options.migrateCommand === undefined ? undefined : commandStep(options.migrateCommand),
      options.rails === true ? rake('db:migrate') : undefined,
    );
    pick(
      'seed',
      options.seeds === undefined ? undefined : { type: 'knex-seeds', directory: options.seeds },
      options.seedCommand === undefined ? undefined : commandStep(options.seedCommand),
      options.rails === true ? rake('db:seed') : undefined,
    );
    if (Object.keys(steps).length === 0 && options.template === undefined) {
      throw new UsageError(
        'say how to set the database up: --rails, or --schema/--schema-command, --migrations/--migrate-command, --seeds/--seed-command',
      );
    }
    const owner = options.owner ?? (io.env['DATABASE_OWNER'] || undefined);
    const extensions = list(options.extensions ?? io.env['DATABASE_EXTENSIONS']);
    const config = await loadConfig(options, io);
    const result = await initDatabase(config, {
      steps,
      cwd: io.cwd,
      logger: io.logger,
      waitTimeoutMs: seconds(options.timeout, '--timeout', 10_000),
      lockTimeoutMs: seconds(options.lockTimeout, '--lock-timeout', 900_000),
      dryRun: options.dryRun === true,
      ...(owner === undefined ? {} : { owner }),
      ...(extensions.length === 0 ? {} : { extensions }),
      create: {
        ...(owner === undefined ? {} : { owner }),
        ...(options.template === undefined ? {} : { template: options.template }),
        ...(options.terminateTemplateSessions === true ? { terminateTemplateSessions: true } : {}),
        ...(options.encoding === undefined ? {} : { encoding: options.encoding }),
        ...(options.collation === undefined ? {} : { collation: options.collation }),
      },
    });
    if (io.json) {
      io.out(JSON.stringify(result));
    } else if (!result.applied) {
      io.out(`database ${result.plan.database}: ${result.plan.mode}`);
      for (const step of result.plan.steps) io.out(`  ${step.name}: ${step.description}`);
    } else {
      const ran = result.migrations.length;
      io.out(
        `database ${result.plan.database}: ${result.plan.mode === 'create' ? 'created and initialised' : result.plan.mode === 'resume' ? 'initialisation completed' : 'migrated'}` +
          (ran > 0 ? ` (${ran} migration(s))` : ''),
      );
    }
    return 0;
  },
});
