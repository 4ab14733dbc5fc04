import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commitFiles, gitIn, gitTokenEnv } from './git-repo.js';

/** The sample service of `examples/`, as the demo and the end-to-end tests deploy it. */
export const SAMPLE_SERVICE_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../examples/sample-service',
);

/** The fixed commit time of sample commits: the same files always give the same sha. */
const SAMPLE_DATE = '2026-01-01T00:00:00+0000';

/** A checkout of the sample service with a remote on the harness git server. */
export interface SampleProject {
  /** The work tree. */
  dir: string;
  /** The branch checked out. */
  branch: string;
  /** The variables `deploytag pipeline` needs against the running stack. */
  env: Record<string, string>;
  /** The commit checked out. */
  sha(): string;
  /** Commits changed files (relative paths) and pushes the branch; returns the new sha. */
  commit(files: Readonly<Record<string, string>>, message: string): string;
  /** Checks out another branch (created from the current commit when new) and pushes it. */
  checkout(branch: string): void;
}

/** Options of {@link prepareSampleProject}. */
export interface SampleProjectOptions {
  /** Where the work tree goes; an existing sample checkout there is reused. */
  dir: string;
  /** The branch to check out. */
  branch: string;
  /** The stack's environment (`stackEnv()` of the running stack, or `process.env` in a test). */
  stackEnv: Readonly<Record<string, string | undefined>>;
  /** The repository (and image, remote, secret) name; `sample-service` by default. */
  name?: string;
  /** The variables written to the Secrets Manager secrets `<name>/preview` and `<name>/staging`. */
  secrets?: Readonly<Record<string, string>>;
}

function need(env: Readonly<Record<string, string | undefined>>, name: string): string {
  const value = env[name];
  if (value === undefined || value === '')
    throw new Error(`${name} is not set: start the stack first (npm run stack -- up)`);
  return value;
}

/**
 * Puts the sample service in a git work tree whose remote is a repository on the harness git
 * server, commits it at a fixed time (so the same files give the same sha on every run), pushes
 * the branch, writes its secrets to Secrets Manager (moto), and returns the variables the
 * pipeline needs: registry, domain, database server, and the stack's AWS, Kubernetes, helm and
 * engine settings.
 *
 * @param options - where, which branch, the stack's environment
 */
export async function prepareSampleProject(options: SampleProjectOptions): Promise<SampleProject> {
  const name = options.name ?? 'sample-service';
  const stack = options.stackEnv;
  const dir = resolve(options.dir);
  const gitRoot = need(stack, 'DEPLOYTAG_GIT_ROOT');
  const remote = `${need(stack, 'DEPLOYTAG_GIT_URL')}/${name}.git`;
  const auth = { env: gitTokenEnv(need(stack, 'DEPLOYTAG_GIT_TOKEN')), date: SAMPLE_DATE };
  const bare = join(gitRoot, `${name}.git`);
  if (!existsSync(bare)) {
    mkdirSync(bare, { recursive: true });
    gitIn(bare, ['init', '--quiet', '--bare', '--initial-branch=master']);
  }

  const fresh = !existsSync(join(dir, '.git'));
  if (fresh) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    gitIn(dir, ['init', '--quiet', `--initial-branch=${options.branch}`]);
    gitIn(dir, ['remote', 'add', 'origin', remote]);
  } else {
    gitIn(dir, ['remote', 'set-url', 'origin', remote]);
  }
  // The sample's files as they are in this checkout of DeployTag (a no-op commit when unchanged).
  cpSync(SAMPLE_SERVICE_DIR, dir, { recursive: true, force: true });
  if (name !== 'sample-service') {
    // The project's own secret ids, as a team would name them.
    const config = join(dir, 'deploytag.config.yaml');
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replaceAll('secrets: sample-service/', `secrets: ${name}/`),
    );
  }
  const branches = gitIn(dir, ['branch', '--list', '--format=%(refname:short)']).split('\n');
  if (!fresh && !branches.includes(options.branch))
    gitIn(dir, ['checkout', '--quiet', '-b', options.branch]);
  else if (!fresh) gitIn(dir, ['checkout', '--quiet', options.branch]);
  const status = gitIn(dir, ['status', '--porcelain']);
  if (fresh || status !== '') commitFiles(dir, {}, 'sample-service', auth);
  const push = (branch: string) =>
    gitIn(dir, ['push', '--quiet', '--force', 'origin', `HEAD:refs/heads/${branch}`], auth);
  push(options.branch);

  await writeSecrets(stack, name, {
    GREETING: 'hello from DeployTag',
    API_TOKEN: 'sample-token-not-a-real-one',
    ...options.secrets,
  });

  const env: Record<string, string> = {};
  for (const key of [
    'KUBECONFIG',
    'HELM_BIN',
    'DOCKER_HOST',
    'AWS_ENDPOINT_URL',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
  ]) {
    const value = stack[key];
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, {
    CONTAINER_REGISTRY: need(stack, 'DEPLOYTAG_REGISTRY'),
    PROJECT_ID: 'demo',
    DOMAIN: 'sample.test',
    DATABASE_URL: need(stack, 'DEPLOYTAG_POSTGRES_URL'),
  });

  const project: SampleProject = {
    dir,
    branch: options.branch,
    env,
    sha: () => gitIn(dir, ['rev-parse', 'HEAD']),
    commit(files, message) {
      const sha = commitFiles(dir, files, message, auth);
      push(project.branch);
      return sha;
    },
    checkout(branch) {
      const known = gitIn(dir, ['branch', '--list', branch]) !== '';
      gitIn(dir, ['checkout', '--quiet', ...(known ? [] : ['-b']), branch]);
      project.branch = branch;
      push(branch);
    },
  };
  return project;
}

async function writeSecrets(
  stack: Readonly<Record<string, string | undefined>>,
  name: string,
  values: Readonly<Record<string, string>>,
): Promise<void> {
  const sm = await import('@aws-sdk/client-secrets-manager');
  const client = new sm.SecretsManagerClient({
    endpoint: need(stack, 'AWS_ENDPOINT_URL'),
    region: stack['AWS_REGION'] ?? 'us-east-1',
    credentials: {
      accessKeyId: need(stack, 'AWS_ACCESS_KEY_ID'),
      secretAccessKey: need(stack, 'AWS_SECRET_ACCESS_KEY'),
    },
  });
  try {
    for (const kind of ['preview', 'staging']) {
      const id = `${name}/${kind}`;
      const text = JSON.stringify({
        ...values,
        DEPLOY_ENVIRONMENT: `the ${kind} environment of ${name}`,
      });
      try {
        await client.send(new sm.PutSecretValueCommand({ SecretId: id, SecretString: text }));
      } catch (err) {
        if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw err;
        await client.send(new sm.CreateSecretCommand({ Name: id, SecretString: text }));
      }
    }
  } finally {
    client.destroy();
  }
}
