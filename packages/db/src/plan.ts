import { ConfigError, splitCommandLine } from '@deploytag/core';
import type { DatabaseEngine } from '@deploytag/context';

/** How one init step is done. */
export type StepAction =
  | {
      /** Run pending knex migrations from a folder, one at a time. */
      type: 'knex-migrations';
      /** The migrations folder. */
      directory: string;
      /** knex's bookkeeping table; `knex_migrations` unless given. */
      tableName?: string;
    }
  | {
      /** Run every knex seed file of a folder. */
      type: 'knex-seeds';
      /** The seeds folder. */
      directory: string;
    }
  | {
      /** Run a SQL file as one script (several statements allowed). */
      type: 'sql-file';
      /** The file. */
      path: string;
    }
  | {
      /**
       * Run the project's own program with the database's variables set (`DATABASE_URL`, …),
       * e.g. `bundle exec rake db:migrate` or `npx prisma migrate deploy`.
       */
      type: 'command';
      /** The program. */
      command: string;
      /** Its arguments. */
      args: readonly string[];
      /** Its working folder; the project folder unless given. */
      cwd?: string;
    };

/** What to run for each part of the original `init_db.sh` flow; a missing part is skipped. */
export interface InitSteps {
  /** Loads the schema into a new database (`rake db:schema:load`, a `schema.sql`). */
  schema?: StepAction;
  /** Brings the schema up to date (knex migrations, `rake db:migrate`). */
  migrate?: StepAction;
  /** Fills a new database with seed data (knex seeds, `rake db:seed`). */
  seed?: StepAction;
}

/** The names of the steps an init plan can hold. */
export type InitStepName =
  'create' | 'extensions' | 'schema' | 'migrate' | 'seed' | 'owner' | 'finish';

/** The steps that {@link planInit} records as done in a new database until initialisation finishes. */
export type RecordedStep = 'schema' | 'seed';

/** Everything {@link planInit} decides from: the configuration and what the server said. */
export interface InitFacts {
  /** The database being initialised. */
  database: string;
  /** The server kind. */
  engine: DatabaseEngine;
  /** Whether the database exists. */
  exists: boolean;
  /**
   * For a database created by an earlier DeployTag run that did not finish: the recorded steps
   * that did finish. Undefined for a missing database, a finished one, or one made by other means.
   */
  unfinished?: { done: readonly RecordedStep[] };
  /** What to run for schema, migrations and seeds. */
  steps: InitSteps;
  /** How to create a missing database. */
  create?: {
    /** Owner role. */
    owner?: string;
    /** Encoding. */
    encoding?: string;
    /** Collation. */
    collation?: string;
    /** PostgreSQL template to copy (schema and data): the schema and seed steps are skipped. */
    template?: string;
  };
  /** PostgreSQL extensions to ensure on every run. */
  extensions?: readonly string[];
  /** Owner to ensure on every run (the original `db:alter_owner`). */
  owner?: string;
}

/** One step of an {@link InitPlan}. */
export interface PlannedStep {
  /** What the step is. */
  name: InitStepName;
  /** One line for people (`--dry-run` prints it). */
  description: string;
  /** How it is done, for schema, migrate and seed. */
  action?: StepAction;
}

/** What `initDatabase` will do, in order. */
export interface InitPlan {
  /** The database. */
  database: string;
  /** The server kind. */
  engine: DatabaseEngine;
  /**
   * `create`: the database is missing and is created; `resume`: an earlier run created it but did
   * not finish; `migrate`: it exists, so only migrations (and idempotent extras) run.
   */
  mode: 'create' | 'resume' | 'migrate';
  /** The steps, in order. */
  steps: PlannedStep[];
}

function describeAction(action: StepAction): string {
  switch (action.type) {
    case 'knex-migrations':
      return `knex migrations from ${action.directory}`;
    case 'knex-seeds':
      return `knex seeds from ${action.directory}`;
    case 'sql-file':
      return `SQL file ${action.path}`;
    case 'command':
      return [action.command, ...action.args].join(' ');
  }
}

const ALLOWED: Readonly<Record<keyof InitSteps, readonly StepAction['type'][]>> = {
  schema: ['sql-file', 'command'],
  migrate: ['knex-migrations', 'sql-file', 'command'],
  seed: ['knex-seeds', 'sql-file', 'command'],
};

function checkSteps(steps: InitSteps): void {
  for (const key of Object.keys(ALLOWED) as (keyof InitSteps)[]) {
    const action = steps[key];
    if (action === undefined) continue;
    if (!ALLOWED[key].includes(action.type)) {
      throw new ConfigError(
        `the ${key} step cannot be done with ${action.type}; use one of: ${ALLOWED[key].join(', ')}`,
        { key },
      );
    }
    if (action.type === 'command' && action.command.trim() === '') {
      throw new ConfigError(`the ${key} step's command is empty`, { key });
    }
  }
}

/**
 * Plans the original `init_db.sh` flow, purely: a database that exists is only migrated; a
 * missing one is created, its schema loaded, migrated and seeded; one that an earlier run created
 * but did not finish gets the steps it is missing.
 *
 * @remarks
 * Order for a new database: create → extensions → schema → migrate → seed → owner → finish. With a
 * PostgreSQL `template`, the copy already holds a schema and data, so schema and seed are left
 * out. Extensions (`CREATE EXTENSION IF NOT EXISTS`) and the owner are ensured on every run, as
 * they are idempotent. `finish` removes the progress record a new database carries until then
 * (see `initDatabase`).
 *
 * @param facts - the configuration and what the server said
 * @returns the steps to run
 * @throws ConfigError for a step done with the wrong kind of action, or a PostgreSQL-only feature
 *   (template, extensions) on MySQL
 */
export function planInit(facts: InitFacts): InitPlan {
  checkSteps(facts.steps);
  const extensions = facts.extensions ?? [];
  if (facts.engine === 'mysql' && extensions.length > 0) {
    throw new ConfigError(
      `extensions (${extensions.join(', ')}) are a PostgreSQL feature; MySQL and MariaDB have none`,
      { key: 'extensions' },
    );
  }
  if (facts.engine === 'mysql' && facts.create?.template !== undefined) {
    throw new ConfigError(
      'copying a template database is a PostgreSQL feature; MySQL and MariaDB have no CREATE DATABASE … TEMPLATE',
      { key: 'template' },
    );
  }
  const { database } = facts;
  const steps: PlannedStep[] = [];
  const add = (name: InitStepName, description: string, action?: StepAction): void => {
    steps.push(action === undefined ? { name, description } : { name, description, action });
  };
  const addAction = (name: keyof InitSteps, verb: string): void => {
    const action = facts.steps[name];
    if (action !== undefined) add(name, `${verb} with ${describeAction(action)}`, action);
  };
  const addExtras = (): void => {
    if (extensions.length > 0) add('extensions', `enable extensions ${extensions.join(', ')}`);
  };
  const owner = facts.owner ?? facts.create?.owner;

  let mode: InitPlan['mode'];
  if (!facts.exists) {
    mode = 'create';
    const template = facts.create?.template;
    add(
      'create',
      template === undefined
        ? `create database ${database}`
        : `create database ${database} as a copy of ${template}`,
    );
    addExtras();
    if (template === undefined) addAction('schema', 'load the schema');
    addAction('migrate', 'migrate');
    if (template === undefined) addAction('seed', 'seed');
  } else if (facts.unfinished !== undefined) {
    mode = 'resume';
    const done = new Set(facts.unfinished.done);
    addExtras();
    if (!done.has('schema')) addAction('schema', 'load the schema');
    addAction('migrate', 'migrate');
    if (!done.has('seed')) addAction('seed', 'seed');
  } else {
    mode = 'migrate';
    addExtras();
    addAction('migrate', 'migrate');
  }
  // A new database created with an owner already has it; otherwise make sure of it.
  const ownedAtCreation = mode === 'create' && facts.create?.owner === owner;
  if (owner !== undefined && !ownedAtCreation) {
    add('owner', `make ${owner} the owner of ${database}`);
  }
  if (mode !== 'migrate') add('finish', `mark database ${database} as initialised`);
  return { database, engine: facts.engine, mode, steps };
}

/**
 * Turns a command line written in configuration (`bundle exec rake db:migrate`) into a
 * `command` step, without a shell: words are split on white space, and `'…'` or `"…"` keep
 * white space inside one word. Nothing is expanded (`$VAR`, globs, `;` stay literal).
 *
 * @param text - the command line
 * @param cwd - the folder to run it in, if not the project folder
 * @throws ConfigError for an empty command or an unterminated quote
 */
export function commandStep(text: string, cwd?: string): StepAction {
  const [command, ...args] = splitCommandLine(text);
  return cwd === undefined
    ? { type: 'command', command, args }
    : { type: 'command', command, args, cwd };
}
