import { describe, expect, it } from 'vitest';
import { commandStep, planInit } from './plan.js';
import type { InitFacts, InitSteps } from './plan.js';

const knexSteps: InitSteps = {
  schema: { type: 'sql-file', path: 'db/schema.sql' },
  migrate: { type: 'knex-migrations', directory: 'migrations' },
  seed: { type: 'knex-seeds', directory: 'seeds' },
};

const rails: InitSteps = {
  schema: { type: 'command', command: 'bundle', args: ['exec', 'rake', 'db:schema:load'] },
  migrate: { type: 'command', command: 'bundle', args: ['exec', 'rake', 'db:migrate'] },
  seed: { type: 'command', command: 'bundle', args: ['exec', 'rake', 'db:seed'] },
};

function facts(overrides: Partial<InitFacts>): InitFacts {
  return {
    database: 'shop-feature-x',
    engine: 'postgresql',
    exists: false,
    steps: knexSteps,
    ...overrides,
  };
}

const names = (f: InitFacts): string[] => planInit(f).steps.map((s) => s.name);

describe('planInit', () => {
  it('creates, loads the schema, migrates and seeds a missing database (the original flow)', () => {
    const plan = planInit(facts({}));
    expect(plan.mode).toBe('create');
    expect(plan.steps.map((s) => s.name)).toEqual([
      'create',
      'schema',
      'migrate',
      'seed',
      'finish',
    ]);
    expect(plan.steps[1]).toEqual({
      name: 'schema',
      description: 'load the schema with SQL file db/schema.sql',
      action: knexSteps.schema,
    });
    expect(plan.steps[0]?.description).toBe('create database shop-feature-x');
  });

  it('only migrates a database that exists', () => {
    const plan = planInit(facts({ exists: true }));
    expect(plan.mode).toBe('migrate');
    expect(plan.steps.map((s) => s.name)).toEqual(['migrate']);
  });

  it('runs the project commands of a Rails app', () => {
    const plan = planInit(facts({ steps: rails, engine: 'mysql' }));
    expect(plan.steps.map((s) => s.description)).toEqual([
      'create database shop-feature-x',
      'load the schema with bundle exec rake db:schema:load',
      'migrate with bundle exec rake db:migrate',
      'seed with bundle exec rake db:seed',
      'mark database shop-feature-x as initialised',
    ]);
  });

  it('continues an unfinished initialisation from the first step not done', () => {
    expect(names(facts({ exists: true, unfinished: { done: [] } }))).toEqual([
      'schema',
      'migrate',
      'seed',
      'finish',
    ]);
    expect(names(facts({ exists: true, unfinished: { done: ['schema'] } }))).toEqual([
      'migrate',
      'seed',
      'finish',
    ]);
    expect(names(facts({ exists: true, unfinished: { done: ['schema', 'seed'] } }))).toEqual([
      'migrate',
      'finish',
    ]);
    expect(planInit(facts({ exists: true, unfinished: { done: [] } })).mode).toBe('resume');
  });

  it('skips missing steps', () => {
    expect(names(facts({ steps: { migrate: knexSteps.migrate! } }))).toEqual([
      'create',
      'migrate',
      'finish',
    ]);
    expect(names(facts({ exists: true, steps: {} }))).toEqual([]);
    expect(names(facts({ exists: true, steps: { seed: knexSteps.seed! } }))).toEqual([]);
  });

  it('copies a PostgreSQL template instead of loading a schema and seeding', () => {
    const plan = planInit(facts({ create: { template: 'shop-staging' } }));
    expect(plan.steps.map((s) => s.name)).toEqual(['create', 'migrate', 'finish']);
    expect(plan.steps[0]?.description).toBe(
      'create database shop-feature-x as a copy of shop-staging',
    );
  });

  it('ensures extensions on every run, and the owner unless it was set at creation', () => {
    expect(names(facts({ extensions: ['pgcrypto'] }))).toEqual([
      'create',
      'extensions',
      'schema',
      'migrate',
      'seed',
      'finish',
    ]);
    expect(names(facts({ exists: true, extensions: ['citext'], owner: 'app' }))).toEqual([
      'extensions',
      'migrate',
      'owner',
    ]);
    expect(names(facts({ create: { owner: 'app' } }))).toEqual([
      'create',
      'schema',
      'migrate',
      'seed',
      'finish',
    ]);
    expect(names(facts({ owner: 'app' }))).toEqual([
      'create',
      'schema',
      'migrate',
      'seed',
      'owner',
      'finish',
    ]);
    expect(names(facts({ exists: true, create: { owner: 'app' } }))).toEqual(['migrate', 'owner']);
    expect(planInit(facts({ exists: true, extensions: ['citext'] })).steps[0]?.description).toBe(
      'enable extensions citext',
    );
  });

  it('refuses PostgreSQL-only features on MySQL', () => {
    expect(() => planInit(facts({ engine: 'mysql', extensions: ['pgcrypto'] }))).toThrow(
      /PostgreSQL feature/,
    );
    expect(() => planInit(facts({ engine: 'mysql', create: { template: 'x' } }))).toThrow(
      /TEMPLATE/,
    );
  });

  it('refuses a step done with the wrong kind of action', () => {
    expect(() =>
      planInit(facts({ steps: { schema: { type: 'knex-migrations', directory: 'm' } } })),
    ).toThrow(/the schema step cannot be done with knex-migrations; use one of: sql-file, command/);
    expect(() =>
      planInit(facts({ steps: { migrate: { type: 'knex-seeds', directory: 's' } } })),
    ).toThrow(/migrate step/);
    expect(() =>
      planInit(facts({ steps: { seed: { type: 'command', command: ' ', args: [] } } })),
    ).toThrow(/command is empty/);
  });

  it('is pure: the same facts give the same plan', () => {
    const f = facts({ extensions: ['a'], owner: 'o' });
    expect(planInit(f)).toEqual(planInit(f));
  });
});

describe('commandStep', () => {
  it('splits words without a shell, honouring quotes', () => {
    expect(commandStep('bundle exec rake db:migrate')).toEqual({
      type: 'command',
      command: 'bundle',
      args: ['exec', 'rake', 'db:migrate'],
    });
    expect(commandStep(`  sh -c 'echo "a b"; echo $HOME'  "" `, 'app')).toEqual({
      type: 'command',
      command: 'sh',
      args: ['-c', 'echo "a b"; echo $HOME', ''],
      cwd: 'app',
    });
    expect(() => commandStep('  ')).toThrow(/empty/);
    expect(() => commandStep('rake "db:migrate')).toThrow(/unterminated " quote/);
  });
});
