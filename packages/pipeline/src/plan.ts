import type { DeployContext } from '@deploytag/context';
import type { BuildPlan, ImagePlan } from '@deploytag/image';

/** The steps of a push, in the order the seed describes them. */
export const PUSH_STEP_IDS = [
  'tests',
  'secrets',
  'base-image',
  'app-image',
  'database',
  'deploy',
  'dns',
] as const;

/** One step id of a push. */
export type PushStepId = (typeof PUSH_STEP_IDS)[number];

/** How the branch database is set up, from the settings (`MIGRATIONS_DIR`, …). */
export interface DatabaseSettings {
  /** knex migrations folder. */
  migrations?: string;
  /** The project's migrate command. */
  migrateCommand?: string;
  /** knex seeds folder (new databases only). */
  seeds?: string;
  /** The project's seed command (new databases only). */
  seedCommand?: string;
}

/** What a push plan is computed from: the context and the facts read from registry and cluster. */
export interface PushFacts {
  /** Who deploys what, where. */
  context: DeployContext;
  /** `TEST_COMMAND`, or undefined when the project declares no tests. */
  testCommand: string | undefined;
  /** The image plan from the registry's tags, or undefined when the project has no Dockerfile. */
  build: BuildPlan | undefined;
  /** How the database is set up; undefined when the project has no database step. */
  database: DatabaseSettings | undefined;
  /**
   * What the database server said in a dry run (`create`, `resume`, `migrate` and the pending
   * work), or why it could not be asked.
   */
  databaseState?: { mode: 'create' | 'resume' | 'migrate'; steps: string[] } | { unknown: string };
  /** The DNS records to point at the load balancer, when DNS is configured (`DNS_*`). */
  dns?: { provider: string; zone: string; names: string[] };
}

/** One planned step: the executor's shape without the work. */
export interface PlannedStep {
  /** Step id. */
  id: PushStepId;
  /** Human title. */
  title: string;
  /** Steps that must finish first. */
  needs: PushStepId[];
  /** What it would do and why. */
  plan: string;
  /** Set when the step has nothing to do for this project (no Dockerfile, no database, …). */
  skip?: string;
}

function describeImage(label: string, plan: ImagePlan): string {
  switch (plan.action) {
    case 'none':
      return `no ${label} (${plan.reasons.join('; ')})`;
    case 'up-to-date':
      return `${label} up to date: tag ${plan.contentTag} exists`;
    case 'retag':
      return `${label} content tag ${plan.contentTag} exists: tag it ${plan.tagsToWrite.join(', ')} (no build)`;
    case 'build':
      return `build ${label} ${plan.contentTag} (${plan.reasons.join('; ')})`;
  }
}

function describeDatabase(facts: PushFacts, settings: DatabaseSettings): string {
  const name = facts.context.database;
  const parts = [
    settings.migrations !== undefined ? `knex migrations in ${settings.migrations}` : undefined,
    settings.migrateCommand !== undefined ? `"${settings.migrateCommand}"` : undefined,
    settings.seeds !== undefined ? `seeds in ${settings.seeds} when new` : undefined,
    settings.seedCommand !== undefined ? `"${settings.seedCommand}" when new` : undefined,
  ].filter((p) => p !== undefined);
  const how = parts.length > 0 ? ` (${parts.join(', ')})` : '';
  const state = facts.databaseState;
  if (state === undefined) return `create ${name} if missing, then migrate${how}`;
  if ('unknown' in state) return `create ${name} if missing, then migrate${how}; ${state.unknown}`;
  const verb =
    state.mode === 'create'
      ? `create ${name}`
      : state.mode === 'resume'
        ? `finish initialising ${name}`
        : `${name} exists: migrate`;
  return `${verb}${how}: ${state.steps.join(', ') || 'nothing pending'}`;
}

/**
 * Plans a push (pure): which steps run, what each would do and why, and which waits on which.
 *
 * - `tests`, `secrets` and `base-image` start at once.
 * - `app-image` waits for the base it is built `FROM` and for the tests (a failing commit is never
 *   pushed under the branch's tags or `latest`).
 * - `database` waits for the secrets (they may hold `DATABASE_URL`) and the tests (a failing
 *   commit never migrates a shared database).
 * - `deploy` waits for all of them and ends with the address.
 * - `dns` (when configured) points the environment's host names at that address.
 *
 * A step with nothing to do for this project carries `skip` with the reason.
 *
 * @param facts - the context and what the registry (and database server) said
 */
export function planPush(facts: PushFacts): PlannedStep[] {
  const { context, build } = facts;
  const ids = context.secretIds;
  const secrets: PlannedStep = {
    id: 'secrets',
    title: 'Load the secrets',
    needs: [],
    plan:
      ids.length > 0
        ? `read ${ids.join(', ')} from Secrets Manager into the release's environment Secret`
        : 'no AWS_SECRETS: the release gets no environment Secret',
  };
  if (ids.length === 0) secrets.skip = 'no AWS_SECRETS';
  const tests: PlannedStep = {
    id: 'tests',
    title: 'Run the tests',
    needs: [],
    plan:
      facts.testCommand === undefined
        ? 'no TEST_COMMAND (or testCommand in the config file)'
        : `run ${facts.testCommand}`,
  };
  if (facts.testCommand === undefined) tests.skip = 'no test command';
  const baseImage: PlannedStep = {
    id: 'base-image',
    title: 'Base image',
    needs: [],
    plan: build === undefined ? 'no Dockerfile' : describeImage('base image', build.base),
  };
  if (build === undefined || build.base.action === 'none')
    baseImage.skip = build === undefined ? 'no Dockerfile' : 'no Dockerfile.base';
  const appImage: PlannedStep = {
    id: 'app-image',
    title: 'App image',
    needs: ['base-image', 'tests'],
    plan:
      build === undefined
        ? 'no Dockerfile: the chart deploys the image it names'
        : `${describeImage('app image', build.app)}; FROM ${build.baseImageRef}`,
  };
  if (build === undefined) appImage.skip = 'no Dockerfile';
  const database: PlannedStep = {
    id: 'database',
    title: 'Database',
    needs: ['secrets', 'tests'],
    plan:
      facts.database === undefined
        ? 'no migrations or migrate command configured'
        : describeDatabase(facts, facts.database),
  };
  if (facts.database === undefined) database.skip = 'no database configured';
  const deploy: PlannedStep = {
    id: 'deploy',
    title: 'Deploy',
    needs: ['app-image', 'database', 'secrets'],
    plan: `helm upgrade --install ${context.release} ${context.chart} in namespace ${context.namespace}${
      context.kind === 'preview' ? ' (created if missing)' : ''
    }, image tag ${context.image.shaTag}; then wait for ${context.url}`,
  };
  const dns: PlannedStep = {
    id: 'dns',
    title: 'DNS',
    needs: ['deploy'],
    plan:
      facts.dns === undefined
        ? 'no DNS_PROVIDER, DNS_ZONE or DNS_RECORDS: no records'
        : `point ${facts.dns.names.join(', ')} at the load balancer (${facts.dns.provider}, zone ${facts.dns.zone})`,
  };
  if (facts.dns === undefined) dns.skip = 'no DNS configured';
  return [tests, secrets, baseImage, appImage, database, deploy, dns];
}
