/**
 * What the hostile-input end-to-end tests share: the built `deploytag` bin, and reads of what a
 * run left in the real stack (namespaces, helm releases, registry tags, databases), plus removal of
 * a test's own environments by their unique repository label.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { requireEnv } from '@deploytag/harness';
import { RegistryClient } from '@deploytag/image';

/** The built bin (`npx nx run @deploytag/cli:build`). */
export const BIN = resolve(import.meta.dirname, '../../../../packages/cli/dist/bin/deploytag.js');

/** Throws unless the bin was built. */
export function requireBin(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first (npm run build)`);
}

/** What a run of the bin printed and how it ended. */
export interface BinRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The variables every run gets from this process (nothing else leaks in). */
function baseEnv(): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' };
}

/**
 * Runs the built bin with `args` (an argument array: nothing goes through a shell) and waits.
 *
 * @param args - the arguments
 * @param options - folder and the variables besides PATH and HOME
 */
export function runBin(
  args: readonly string[],
  options: { cwd: string; env: Record<string, string> },
): BinRun {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { ...baseEnv(), ...options.env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 600_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Starts the built bin and returns its pid at once, and a promise of the run; `onTick` is called
 * every few milliseconds while it runs (to sample what the machine shows meanwhile).
 */
export function startBin(
  args: readonly string[],
  options: { cwd: string; env: Record<string, string> },
  onTick: () => void,
): { pid: number; done: Promise<BinRun> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { ...baseEnv(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const timer = setInterval(onTick, 5);
  const done = new Promise<BinRun>((resolveRun, reject) => {
    child.on('error', reject);
    child.on('close', (status) => {
      clearInterval(timer);
      resolveRun({
        status,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
  return { pid: child.pid ?? -1, done };
}

/** `kubectl … -o json`, parsed; undefined when the object does not exist. */
export function kubeGet(...args: string[]): unknown {
  const r = spawnSync(
    requireEnv('DEPLOYTAG_KUBECTL'),
    ['--kubeconfig', requireEnv('KUBECONFIG'), 'get', ...args, '-o', 'json'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (r.status !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(`kubectl get ${args.join(' ')} failed: ${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}

/** A namespace's labels and annotations. */
export interface NamespaceObject {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

/** Every namespace a test's repository label marks (its own, unique per run). */
export function namespacesOfRepo(repo: string): NamespaceObject[] {
  return (
    (
      kubeGet('namespaces', '-l', `deploytag.dev/repo=${repo}`) as
        { items: NamespaceObject[] } | undefined
    )?.items ?? []
  );
}

/** Every namespace of the cluster. */
export function allNamespaces(): NamespaceObject[] {
  return (kubeGet('namespaces') as { items: NamespaceObject[] } | undefined)?.items ?? [];
}

/** `helm status` of a release, or undefined when there is none. */
export function helmStatus(
  namespace: string,
  release: string,
): { info: { status: string }; version: number } | undefined {
  const r = spawnSync(
    requireEnv('HELM_BIN'),
    [
      'status',
      release,
      '--namespace',
      namespace,
      '--kubeconfig',
      requireEnv('KUBECONFIG'),
      '-o',
      'json',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) return undefined;
  return JSON.parse(r.stdout) as { info: { status: string }; version: number };
}

/** The registry of the stack (no auth). */
export function registry(): RegistryClient {
  return new RegistryClient(requireEnv('DEPLOYTAG_REGISTRY'));
}

/** Tags of a repository, or none when the repository does not exist. */
export async function tagsOf(repository: string): Promise<string[]> {
  try {
    return await registry().listTags(repository);
  } catch {
    return [];
  }
}

/** Runs psql against the stack's PostgreSQL (password in the environment, never in argv). */
function psql(args: readonly string[], input: string): string {
  const url = new URL(requireEnv('DEPLOYTAG_POSTGRES_URL'));
  return execFileSync(
    join(requireEnv('DEPLOYTAG_POSTGRES_BIN'), 'psql'),
    [
      '-h',
      url.hostname,
      '-p',
      url.port,
      '-U',
      decodeURIComponent(url.username),
      '-d',
      'postgres',
      '-v',
      'ON_ERROR_STOP=1',
      '-tA',
      ...args,
    ],
    {
      encoding: 'utf8',
      input,
      env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) },
    },
  ).trim();
}

/** The databases whose name starts with `prefix` (compared as text, never interpolated). */
export function databasesStartingWith(prefix: string): string[] {
  const out = psql(
    ['-v', `prefix=${prefix}`],
    "select datname from pg_database where left(datname, length(:'prefix')) = :'prefix' order by 1;",
  );
  return out === '' ? [] : out.split('\n');
}

/** Drops the given databases (quoted identifiers). */
export function dropDatabases(names: readonly string[]): void {
  for (const name of names) psql(['-v', `name=${name}`], 'drop database if exists :"name";');
}

/**
 * Removes what a test made: its namespaces (by its unique repository label, which takes the helm
 * releases and Secrets with them) and its databases (by their unique prefix).
 */
export function removeTestEnvironments(repo: string): void {
  for (const ns of namespacesOfRepo(repo)) {
    spawnSync(
      requireEnv('DEPLOYTAG_KUBECTL'),
      [
        '--kubeconfig',
        requireEnv('KUBECONFIG'),
        'delete',
        'namespace',
        ns.metadata.name,
        '--wait=false',
      ],
      { encoding: 'utf8' },
    );
  }
  dropDatabases(databasesStartingWith(`${repo}-`));
}
