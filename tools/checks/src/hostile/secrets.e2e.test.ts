/**
 * Hostile secret values (quotes, `$()`, backticks, newlines, 64 KiB, a NUL) in Secrets Manager
 * (moto), through the built bin:
 *
 * - `deploytag aws-secrets` and `deploytag set-env`, evaluated in bash, give back every value
 *   byte for byte and run nothing; a value holding a NUL is refused by a message naming the
 *   variable, and nothing is printed to evaluate (never a cut value);
 * - a whole `deploytag pipeline` of the sample service with those secrets never prints them (nor
 *   their base64), never puts them in a process's arguments (every process on the machine is
 *   sampled while it runs), leaves no file holding them in the temp folders or the project, and
 *   puts none in an image (every layer, the image config and its history, from the registry and
 *   the engine); the release's Kubernetes Secret holds each one exactly.
 *
 * Every value holds a random token of this run, so a leak is found by searching for the token.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineClient, engineConnectionFromEnv } from '@deploytag/image';
import { prepareSampleProject, processCommandLines, requireEnv } from '@deploytag/harness';
import type { SampleProject } from '@deploytag/harness';
import { leakPatterns, secretCorpus } from './corpus.js';
import {
  BIN,
  kubeGet,
  registry,
  removeTestEnvironments,
  requireBin,
  runBin,
  startBin,
} from './stack.js';
import type { BinRun } from './stack.js';

const run = randomBytes(3).toString('hex');
const token = `hx${randomBytes(12).toString('hex')}`;
const repo = `hostile-s-${run}`;
const nulRepo = `hostile-n-${run}`;
const scratch = mkdtempSync(join(tmpdir(), 'deploytag-hostile-secrets-'));
const pwned = join(scratch, 'pwned');
const corpus = secretCorpus(token, pwned);
const storable = corpus.filter((e) => e.nul !== true);
const withNul = corpus.filter((e) => e.nul === true);
const patterns = leakPatterns(
  token,
  corpus.map((e) => e.value),
);

/** The patterns found in `text` (none, when nothing leaked). */
function leaks(text: string | Buffer): string[] {
  const haystack = typeof text === 'string' ? text : text.toString('latin1');
  return patterns.filter((p) =>
    typeof text === 'string' ? haystack.includes(p) : text.includes(Buffer.from(p)),
  );
}

/** The variables the bins need to reach moto. */
function awsEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [
    'AWS_ENDPOINT_URL',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
  ]) {
    const value = process.env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * Runs `deploytag <args>` inside bash, evaluates its output, and prints each named variable
 * followed by a NUL: the values as the shell holds them after `eval`.
 */
function evalInBash(
  args: readonly string[],
  names: readonly string[],
  env: Record<string, string>,
): { status: number | null; values: Buffer[]; stderr: string } {
  const script =
    'eval "$("$@")" || exit 9; for n in $HOSTILE_NAMES; do printf "%s\\0" "${!n}"; done';
  const r = spawnSync(
    'bash',
    ['--norc', '--noprofile', '-c', script, 'bash', process.execPath, BIN, ...args],
    {
      cwd: scratch,
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: scratch,
        HOSTILE_NAMES: names.join(' '),
        ...env,
      },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const values: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < r.stdout.length; i++) {
    if (r.stdout[i] === 0) {
      values.push(r.stdout.subarray(start, i));
      start = i + 1;
    }
  }
  return { status: r.status, values, stderr: r.stderr.toString('utf8') };
}

let project: SampleProject;
let nulProject: SampleProject;

beforeAll(async () => {
  requireBin();
  const secrets = Object.fromEntries(storable.map((e) => [e.name, e.value]));
  project = await prepareSampleProject({
    dir: join(scratch, 'sample'),
    branch: `feature/h${run}-secrets`,
    name: repo,
    stackEnv: process.env,
    secrets,
  });
  project.env['PROJECT_ID'] = repo;
  nulProject = await prepareSampleProject({
    dir: join(scratch, 'sample-nul'),
    branch: `feature/h${run}-nul`,
    name: nulRepo,
    stackEnv: process.env,
    secrets: { ...Object.fromEntries(withNul.map((e) => [e.name, e.value])), PLAIN: 'plain' },
  });
  nulProject.env['PROJECT_ID'] = nulRepo;
}, 180_000);
afterAll(() => {
  removeTestEnvironments(repo);
  removeTestEnvironments(nulRepo);
  rmSync(scratch, { recursive: true, force: true });
});

describe('secret values evaluated in bash', () => {
  const names = storable.map((e) => e.name);

  it('aws-secrets gives back every value byte for byte', () => {
    const r = evalInBash(['aws-secrets', `${repo}/preview`], names, awsEnv());
    expect(r.status, r.stderr).toBe(0);
    expect(leaks(r.stderr)).toEqual([]);
    expect(r.values.length).toBe(storable.length);
    storable.forEach((e, i) => {
      expect(r.values[i]?.equals(Buffer.from(e.value, 'utf8')), e.name).toBe(true);
    });
    expect(existsSync(pwned)).toBe(false);
  });

  it('set-env gives back every value byte for byte, with the context', () => {
    const r = evalInBash(['set-env', '--no-git', '--branch', `feature/h${run}-set-env`], names, {
      ...awsEnv(),
      AWS_SECRETS: `${repo}/preview`,
      CIRCLE_SHA1: 'e'.repeat(40),
      CIRCLE_PROJECT_REPONAME: repo,
      CHART_NAME: './charts/sample-service',
      DOMAIN: 'sample.test',
      CONTAINER_REGISTRY: 'registry.test:5000',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(leaks(r.stderr)).toEqual([]);
    storable.forEach((e, i) => {
      expect(r.values[i]?.equals(Buffer.from(e.value, 'utf8')), e.name).toBe(true);
    });
    expect(existsSync(pwned)).toBe(false);
  });

  it.each([
    ['aws-secrets', ['aws-secrets', `${nulRepo}/preview`], {}],
    [
      'set-env',
      ['set-env', '--no-git', '--branch', `feature/h${run}-nul`],
      {
        AWS_SECRETS: `${nulRepo}/preview`,
        CIRCLE_SHA1: 'f'.repeat(40),
        CIRCLE_PROJECT_REPONAME: nulRepo,
        CHART_NAME: './charts/sample-service',
        DOMAIN: 'sample.test',
        CONTAINER_REGISTRY: 'registry.test:5000',
      },
    ],
  ] as const)('%s refuses a value holding a NUL, naming it, printing nothing', (_c, args, env) => {
    const r = runBin(args, { cwd: scratch, env: { ...awsEnv(), ...env } });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBe(1);
    for (const e of withNul) expect(lines[0]).toContain(e.name);
    expect(lines[0]).toContain('NUL');
    expect(lines[0]).toContain(`${nulRepo}/preview`);
    expect(leaks(r.stderr)).toEqual([]);
  });

  it('the pipeline fails its secrets step on a NUL, naming the variable, and deploys nothing', () => {
    const r = runBin(['pipeline', '--json'], { cwd: nulProject.dir, env: nulProject.env });
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      steps: { id: string; status: string; error?: { message: string } }[];
    };
    const secrets = report.steps.find((s) => s.id === 'secrets');
    expect(secrets?.status).toBe('failed');
    for (const e of withNul) expect(secrets?.error?.message).toContain(e.name);
    expect(report.steps.find((s) => s.id === 'deploy')?.status).not.toBe('done');
    expect(leaks(r.stdout + r.stderr)).toEqual([]);
  });
});

describe('secret values through a whole deploytag pipeline', () => {
  let result: BinRun;
  const started = Date.now();
  /** Command lines seen while the pipeline ran, and the ones that held a secret. */
  const seen = { samples: 0, helm: 0, leaked: [] as string[] };

  beforeAll(async () => {
    const helm = requireEnv('HELM_BIN');
    const { done } = startBin(
      ['pipeline', '--verbose', '--progress', 'plain'],
      { cwd: project.dir, env: project.env },
      () => {
        seen.samples++;
        for (const line of processCommandLines()) {
          if (line.includes(helm) && line.includes(' upgrade ')) seen.helm++;
          if (leaks(line).length > 0) seen.leaked.push(line.slice(0, 200));
        }
      },
    );
    result = await done;
  }, 600_000);

  it('deploys', () => {
    expect(result.status, result.stderr).toBe(0);
  });

  it('never prints a value, nor its base64', () => {
    expect(leaks(result.stdout)).toEqual([]);
    expect(leaks(result.stderr)).toEqual([]);
    // The verbose log is long: the scan above read something.
    expect(result.stderr.length).toBeGreaterThan(1000);
  });

  it("never puts one in a process's arguments", () => {
    expect(seen.leaked).toEqual([]);
    // The sampling saw the pipeline's children at work, helm's upgrade among them.
    expect(seen.samples).toBeGreaterThan(50);
    expect(seen.helm).toBeGreaterThan(0);
  });

  it('leaves no file holding one in the temp folders or the project', () => {
    // The stack's own state (etcd holds the Kubernetes Secret, by design) is not a temp file.
    const stackDir = dirname(dirname(requireEnv('KUBECONFIG')));
    const found: string[] = [];
    let scanned = 0;
    const walk = (dir: string): void => {
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        return;
      }
      for (const name of entries) {
        const path = join(dir, name);
        if (path === stackDir) continue;
        let info;
        try {
          info = lstatSync(path);
        } catch {
          continue;
        }
        if (info.isDirectory()) walk(path);
        else if (info.isFile() && info.mtimeMs >= started - 1000 && info.size < 64 << 20) {
          try {
            if (leaks(readFileSync(path)).length > 0) found.push(path);
            scanned++;
          } catch {
            // gone or unreadable meanwhile
          }
        }
      }
    };
    for (const dir of [tmpdir(), '/var/tmp', project.dir]) if (existsSync(dir)) walk(dir);
    expect(found).toEqual([]);
    expect(scanned).toBeGreaterThan(0);
  });

  it("puts none in the images' layers, config or history", async () => {
    const reg = registry();
    const host = requireEnv('DEPLOYTAG_REGISTRY');
    const sha = project.sha();
    for (const repository of [`${repo}/sample-service`, `${repo}/sample-service_base`]) {
      const manifest = await reg.getManifest(repository, sha);
      expect(manifest, repository).toBeDefined();
      expect(leaks(manifest!.body)).toEqual([]);
      const parsed = JSON.parse(manifest!.body.toString('utf8')) as {
        config: { digest: string };
        layers: { digest: string }[];
      };
      const blobs = [parsed.config.digest, ...parsed.layers.map((l) => l.digest)];
      for (const digest of blobs) {
        const res = await fetch(`http://${host}/v2/${repository}/blobs/${digest}`);
        expect(res.ok, `${repository}@${digest}`).toBe(true);
        const raw = Buffer.from(await res.arrayBuffer());
        const bytes = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
        expect(leaks(bytes), `${repository}@${digest}`).toEqual([]);
      }
      expect(blobs.length).toBeGreaterThan(1);
    }
    const engine = new EngineClient(engineConnectionFromEnv(process.env));
    const ref = `${host}/${repo}/sample-service:${sha}`;
    const history = await engine.history(ref);
    expect(history.length).toBeGreaterThan(0);
    expect(leaks(JSON.stringify(history))).toEqual([]);
    expect(leaks(JSON.stringify(await engine.inspect(ref)))).toEqual([]);
  });

  it("the release's Kubernetes Secret holds every value exactly", () => {
    const report = /deployed (\S+) \(\w+\) to namespace (\S+):/.exec(result.stdout);
    expect(report).not.toBeNull();
    const [, release, namespace] = report!;
    const secret = kubeGet('secret', '-n', namespace!, `${release!}-env`) as
      { data: Record<string, string> } | undefined;
    // The check finds a value where it is: it would have found one anywhere else.
    expect(leaks(JSON.stringify(secret)).length).toBeGreaterThan(0);
    for (const e of storable) {
      const data = secret?.data[e.name];
      expect(data, e.name).toBeDefined();
      expect(Buffer.from(data!, 'base64').equals(Buffer.from(e.value, 'utf8')), e.name).toBe(true);
    }
    expect(existsSync(pwned)).toBe(false);
  });
});
