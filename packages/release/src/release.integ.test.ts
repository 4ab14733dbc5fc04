/**
 * The built `release` bin against real repositories pushed to the harness's smart-HTTP git
 * remote, with GitHub played by a local server that checks every request against GitHub's
 * published OpenAPI description (the `@octokit/openapi` package).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { requireEnv } from '@deploytag/harness';
import * as git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../../..');
const bin = join(repoRoot, 'packages/release/dist/bin/release.js');

// ---------------------------------------------------------------------------------------------
// A small validator for the OpenAPI (JSON Schema subset) GitHub's description uses.

type Schema = Record<string, unknown>;
const spec = createRequire(import.meta.url)('@octokit/openapi/generated/api.github.com.json') as {
  paths: Record<string, Record<string, Schema>>;
  components: Record<string, Record<string, Schema>>;
};

function deref(schema: Schema): Schema {
  let s = schema;
  for (let i = 0; i < 32 && typeof s['$ref'] === 'string'; i++) {
    const [, , group, name] = s['$ref'].split('/');
    s = spec.components[group!]![name!]!;
  }
  return s;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Every way `value` breaks `schema`, as `path: problem` lines (empty when valid). */
function validate(raw: Schema, value: unknown, at = '$'): string[] {
  const schema = deref(raw);
  if (value === null && schema['nullable'] === true) return [];
  for (const key of ['allOf'] as const) {
    if (Array.isArray(schema[key]))
      return (schema[key] as Schema[]).flatMap((s) => validate(s, value, at));
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(schema[key])) {
      const options = schema[key] as Schema[];
      return options.some((s) => validate(s, value, at).length === 0)
        ? []
        : [`${at}: matches none of ${key}`];
    }
  }
  const errors: string[] = [];
  const t = typeOf(value);
  const want = schema['type'];
  const wanted = Array.isArray(want)
    ? (want as string[])
    : want === undefined
      ? []
      : [want as string];
  if (wanted.length > 0 && !wanted.includes(t) && !(t === 'integer' && wanted.includes('number'))) {
    return [`${at}: expected ${wanted.join('|')}, got ${t}`];
  }
  if (Array.isArray(schema['enum']) && !(schema['enum'] as unknown[]).includes(value)) {
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema['enum'])}`);
  }
  if (
    t === 'string' &&
    schema['format'] === 'date-time' &&
    Number.isNaN(Date.parse(value as string))
  ) {
    errors.push(`${at}: not a date-time`);
  }
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema['properties'] ?? {}) as Record<string, Schema>;
    for (const name of (schema['required'] ?? []) as string[]) {
      if (!(name in obj)) errors.push(`${at}.${name}: required`);
    }
    for (const [name, v] of Object.entries(obj)) {
      if (props[name] !== undefined) errors.push(...validate(props[name], v, `${at}.${name}`));
      else if (schema['additionalProperties'] === false) errors.push(`${at}.${name}: not allowed`);
    }
  }
  if (t === 'array' && schema['items'] !== undefined) {
    (value as unknown[]).forEach((v, i) =>
      errors.push(...validate(schema['items'] as Schema, v, `${at}[${i}]`)),
    );
  }
  return errors;
}

/** A minimal value satisfying a schema (required properties only), for realistic responses. */
function sample(raw: Schema): unknown {
  const s = deref(raw);
  if (Array.isArray(s['allOf']))
    return Object.assign({}, ...(s['allOf'] as Schema[]).map((x) => sample(x) as object));
  if (Array.isArray(s['anyOf'])) return sample((s['anyOf'] as Schema[])[0]!);
  if (Array.isArray(s['oneOf'])) return sample((s['oneOf'] as Schema[])[0]!);
  if (Array.isArray(s['enum'])) return (s['enum'] as unknown[])[0];
  const type = Array.isArray(s['type']) ? (s['type'] as string[])[0] : s['type'];
  switch (type) {
    case 'object': {
      const props = (s['properties'] ?? {}) as Record<string, Schema>;
      return Object.fromEntries(
        ((s['required'] ?? []) as string[]).map((k) => [k, sample(props[k] ?? {})]),
      );
    }
    case 'array':
      return [];
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return false;
    case 'string':
      return s['format'] === 'date-time'
        ? new Date(0).toISOString()
        : s['format'] === 'uri'
          ? 'https://example.invalid/'
          : 'x';
    default:
      return null;
  }
}

interface Operation {
  method: string;
  template: string;
  regex: RegExp;
  op: Schema;
}

function operation(operationId: string): Operation {
  for (const [template, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (op['operationId'] === operationId) {
        const multi = new Set(
          ((op['parameters'] ?? []) as Schema[])
            .map(deref)
            .filter((p) => p['x-multi-segment'] === true)
            .map((p) => p['name']),
        );
        const pattern = template.replace(/\{([^}]+)\}/g, (_, name: string) =>
          multi.has(name) ? `(?<${name}>.+)` : `(?<${name}>[^/]+)`,
        );
        return { method: method.toUpperCase(), template, regex: new RegExp(`^${pattern}$`), op };
      }
    }
  }
  throw new Error(`operation ${operationId} is not in the OpenAPI description`);
}

function responseSchema(op: Operation, status: number): Schema {
  const responses = op.op['responses'] as Record<string, Schema>;
  const r = deref(responses[String(status)] ?? {});
  const content = r['content'] as Record<string, { schema: Schema }> | undefined;
  if (content?.['application/json'] === undefined)
    throw new Error(`${op.template} has no JSON ${status} response`);
  return content['application/json'].schema;
}

/** GitHub's release API, checked against the OpenAPI description; records every violation. */
class FakeGitHub {
  readonly violations: string[] = [];
  readonly calls: { operationId: string; body?: unknown }[] = [];
  readonly releases = new Map<string, Record<string, unknown>>();
  readonly #ops = [operation('repos/create-release'), operation('repos/get-release-by-tag')];
  #server: Server | undefined;
  port = 0;

  constructor(
    readonly token: string,
    readonly owner: string,
    readonly repo: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((done) => this.#server!.listen(this.port, '127.0.0.1', done));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise((done) => server.close(done));
  }

  #send(res: ServerResponse, op: Operation, status: number, body: unknown): void {
    const problems = validate(responseSchema(op, status), body);
    if (problems.length > 0)
      this.violations.push(`fake response ${op.template} ${status}: ${problems.join('; ')}`);
    res
      .writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' })
      .end(JSON.stringify(body));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const match = this.#ops
      .map((op) => ({ op, m: req.method === op.method ? op.regex.exec(path) : null }))
      .find((x) => x.m !== null);
    if (match === undefined) {
      this.violations.push(`${req.method} ${path}: no such operation in the OpenAPI description`);
      res.writeHead(404).end('{"message":"Not Found"}');
      return;
    }
    const { op } = match;
    const params = match.m!.groups!;
    const operationId = op.op['operationId'] as string;
    if (req.headers.authorization !== `Bearer ${this.token}`)
      this.violations.push(`${operationId}: wrong Authorization header`);
    if (!String(req.headers.accept).includes('application/vnd.github+json'))
      this.violations.push(`${operationId}: Accept header`);
    if (params['owner'] !== this.owner || params['repo'] !== this.repo)
      this.violations.push(`${operationId}: wrong repository ${params['owner']}/${params['repo']}`);
    for (const p of ((op.op['parameters'] ?? []) as Schema[]).map(deref)) {
      if (p['in'] === 'path' && p['required'] === true && !params[p['name'] as string])
        this.violations.push(`${operationId}: missing ${String(p['name'])}`);
    }
    let body: unknown;
    const requestBody =
      op.op['requestBody'] === undefined ? undefined : deref(op.op['requestBody'] as Schema);
    if (requestBody !== undefined) {
      if (!String(req.headers['content-type']).startsWith('application/json'))
        this.violations.push(`${operationId}: Content-Type`);
      try {
        body = JSON.parse(text);
      } catch {
        this.violations.push(`${operationId}: body is not JSON`);
      }
      const schema = (requestBody['content'] as Record<string, { schema: Schema }>)[
        'application/json'
      ]!.schema;
      const problems = validate(schema, body);
      if (problems.length > 0)
        this.violations.push(`${operationId} request: ${problems.join('; ')}`);
    } else if (text !== '') this.violations.push(`${operationId}: unexpected body`);
    this.calls.push({ operationId, ...(body === undefined ? {} : { body }) });

    const tag = decodeURIComponent(
      params['tag'] ?? (body as { tag_name?: string } | undefined)?.tag_name ?? '',
    );
    if (operationId === 'repos/get-release-by-tag') {
      const found = this.releases.get(tag);
      if (found === undefined)
        this.#send(res, op, 404, {
          message: 'Not Found',
          documentation_url: 'https://docs.github.com/rest',
        });
      else this.#send(res, op, 200, found);
      return;
    }
    const b = body as {
      tag_name: string;
      target_commitish?: string;
      name?: string;
      body?: string;
      prerelease?: boolean;
    };
    const id = this.releases.size + 1;
    const release = {
      ...(sample(responseSchema(op, 201)) as Record<string, unknown>),
      id,
      tag_name: b.tag_name,
      target_commitish: b.target_commitish ?? 'main',
      name: b.name ?? null,
      body: b.body ?? null,
      prerelease: b.prerelease ?? false,
      draft: false,
      html_url: `https://github.example/${this.owner}/${this.repo}/releases/tag/${b.tag_name}`,
      created_at: new Date().toISOString(),
      published_at: new Date().toISOString(),
    };
    this.releases.set(b.tag_name, release);
    this.#send(res, op, 201, release);
  }
}

// ---------------------------------------------------------------------------------------------

describe('the OpenAPI checks themselves', () => {
  const create = operation('repos/create-release');
  const schema = (
    deref(create.op['requestBody'] as Schema)['content'] as Record<string, { schema: Schema }>
  )['application/json']!.schema;
  it('find both operations and reject bodies GitHub would reject', () => {
    expect(create).toMatchObject({ method: 'POST', template: '/repos/{owner}/{repo}/releases' });
    expect(
      operation('repos/get-release-by-tag').regex.exec('/repos/a/b/releases/tags/v1.0.0')?.groups,
    ).toMatchObject({ tag: 'v1.0.0' });
    expect(validate(schema, { tag_name: 'v1', prerelease: true, name: 'n', body: 'b' })).toEqual(
      [],
    );
    expect(validate(schema, { name: 'n' })).toEqual(['$.tag_name: required']);
    expect(validate(schema, { tag_name: 1 })).toEqual(['$.tag_name: expected string, got integer']);
    expect(validate(schema, { tag_name: 'v1', prerelease: 'yes' })).toHaveLength(1);
    expect(validate(schema, { tag_name: 'v1', make_latest: 'maybe' })).toHaveLength(1);
    const release = responseSchema(create, 201);
    expect(validate(release, sample(release))).toEqual([]);
    expect(validate(release, { id: 1 }).length).toBeGreaterThan(5);
  });
});

describe('release bin against the smart-HTTP remote and a GitHub API checked by its OpenAPI', () => {
  const base = requireEnv('DEPLOYTAG_GIT_URL');
  const root = requireEnv('DEPLOYTAG_GIT_ROOT');
  const gitToken = requireEnv('DEPLOYTAG_GIT_TOKEN');
  const ghToken = `ghs_${randomBytes(12).toString('hex')}`;
  const owner = 'acme';
  const repoName = `shop-${randomBytes(4).toString('hex')}`;
  const url = `${base}/${owner}/${repoName}.git`;
  const work = fs.mkdtempSync(join(tmpdir(), 'deploytag-release-'));
  const dir = join(work, 'shop');
  const github = new FakeGitHub(ghToken, owner, repoName);
  let clock = 1_750_000_000;

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    PATH: process.env['PATH'] ?? '',
    HOME: work,
    DEPLOYTAG_GIT_TOKEN: gitToken,
    GITHUB_TOKEN: ghToken,
    GITHUB_API_URL: github.url,
    GITHUB_SERVER_URL: base,
    ...extra,
  });

  async function release(
    args: string[],
    e = env(),
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await exec(process.execPath, [bin, ...args, '-p', dir], {
        env: e,
        cwd: work,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e2 = error as { code: number; stdout: string; stderr: string };
      return { code: e2.code, stdout: e2.stdout, stderr: e2.stderr };
    }
  }

  async function commit(message: string): Promise<string> {
    const file = join(dir, 'changes.txt');
    fs.appendFileSync(file, `${message}\n`);
    await git.add({ fs, dir, filepath: 'changes.txt' });
    clock += 60;
    const who = { name: 'Dev', email: 'dev@acme.invalid', timestamp: clock, timezoneOffset: 0 };
    const sha = await git.commit({ fs, dir, message, author: who, committer: who });
    await git.push({
      fs,
      http,
      dir,
      url,
      ref: 'main',
      onAuth: () => ({ username: 'x', password: gitToken }),
    });
    return sha;
  }

  async function remoteTags(): Promise<Map<string, string>> {
    const { stdout } = await exec('git', ['ls-remote', '--tags', url]);
    const map = new Map<string, string>();
    for (const line of stdout.trim().split('\n').filter(Boolean)) {
      const [oid, ref] = line.split('\t') as [string, string];
      if (ref.endsWith('^{}')) map.set(ref.slice('refs/tags/'.length, -3), oid);
    }
    return map;
  }

  beforeAll(async () => {
    // The bin under test is the built one.
    await exec('npx', ['tsc', '-p', 'packages/git/tsconfig.build.json'], { cwd: repoRoot });
    await exec('npx', ['tsc', '-p', 'packages/release/tsconfig.build.json'], { cwd: repoRoot });
    fs.mkdirSync(join(root, owner), { recursive: true });
    await exec('git', [
      'init',
      '--quiet',
      '--bare',
      '--initial-branch=main',
      join(root, owner, `${repoName}.git`),
    ]);
    await git.init({ fs, dir, defaultBranch: 'main' });
    await git.addRemote({ fs, dir, remote: 'origin', url });
    await github.start();
  });
  afterAll(async () => {
    await github.stop();
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(join(root, owner, `${repoName}.git`), { recursive: true, force: true });
  });

  it('prints help in the spirit of the original and rejects bad usage with exit code 2', async () => {
    const help = await exec(process.execPath, [bin, 'help'], { env: env() });
    expect(help.stdout).toMatch(/^Usage: release <production\|beta\|help>/);
    expect(help.stdout).toContain('--target-commitish');
    const bad = await release(['staging']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: unknown command 'staging'; run `release help`/);
    const badBump = await release(['beta', '--bump', 'huge']);
    expect(badBump.code).toBe(2);
  });

  it('first release: plans without any token (dry run), then tags, pushes and publishes', async () => {
    const first = await commit('feat: shop front');
    const second = await commit('fix(cart): rounding (#3)');
    const dry = await release(['production', '--dry-run', '--bump', 'auto'], {
      PATH: process.env['PATH'] ?? '',
      HOME: work,
    });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Next production release: v0.1.0 at');
    expect(dry.stdout).toContain('Dry run: nothing was tagged');
    expect(await remoteTags()).toEqual(new Map());
    expect(await git.listTags({ fs, dir })).toEqual([]);

    const run = await release(['production', '--bump', 'auto']);
    expect(run.stderr + run.stdout).not.toContain(gitToken);
    expect(run.stderr + run.stdout).not.toContain(ghToken);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain('Created tag v0.1.0');
    expect((await remoteTags()).get('v0.1.0')).toBe(second);
    const rel = github.releases.get('v0.1.0')!;
    expect(rel).toMatchObject({ prerelease: false, target_commitish: second });
    expect(rel['name']).toMatch(/^Release \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const webUrl = `https://${new URL(base).host}/${owner}/${repoName}`;
    expect(rel['body']).toContain(
      `### Features\n\n- shop front ([${first.slice(0, 7)}](${webUrl}/commit/${first}))`,
    );
    expect(rel['body']).toContain(
      `- **cart:** rounding ([${second.slice(0, 7)}](${webUrl}/commit/${second})) ([#3](${webUrl}/pull/3))`,
    );
    expect(github.violations).toEqual([]);
  });

  it('successive betas use -pre.N, and a legacy -preN tag is continued correctly', async () => {
    const a = await commit('fix: one');
    const r1 = await release(['beta', '--json']);
    expect(r1.code).toBe(0);
    const out1 = JSON.parse(r1.stdout) as {
      plan: { tag: string; action: string };
      result: { push: string };
    };
    expect(out1).toMatchObject({
      plan: { action: 'create', tag: 'v0.1.1-pre.1' },
      result: { push: 'pushed' },
    });
    await commit('fix: two');
    const r2 = await release(['beta']);
    expect(r2.stdout).toContain('Next beta release: v0.1.1-pre.2');
    // The original wrote -preN: a legacy v0.1.1-pre9 must be followed by -pre.10, not -pre10.
    await git.tag({ fs, dir, ref: 'v0.1.1-pre9', object: a });
    await git.push({
      fs,
      http,
      dir,
      url,
      ref: 'refs/tags/v0.1.1-pre9',
      onAuth: () => ({ username: 'x', password: gitToken }),
    });
    const c = await commit('chore: three');
    const r3 = await release(['beta']);
    expect(r3.code).toBe(0);
    expect(r3.stdout).toContain('v0.1.1-pre.10');
    expect((await remoteTags()).get('v0.1.1-pre.10')).toBe(c);
    expect(github.releases.get('v0.1.1-pre.10')).toMatchObject({
      prerelease: true,
      target_commitish: c,
    });
    expect(github.violations).toEqual([]);
  });

  it('beta → production at the same commit, then nothing to release and no second tag', async () => {
    const head = await git.resolveRef({ fs, dir, ref: 'HEAD' });
    const prod = await release(['production', '-c', 'main']);
    expect(prod.code).toBe(0);
    expect(prod.stdout).toContain('Next production release: v0.1.1 at');
    expect((await remoteTags()).get('v0.1.1')).toBe(head);
    expect(github.releases.get('v0.1.1')).toMatchObject({ prerelease: false });

    const tagsBefore = await remoteTags();
    const creates = github.calls.filter((x) => x.operationId === 'repos/create-release').length;
    const beta = await release(['beta']);
    expect(beta).toMatchObject({ code: 0 });
    expect(beta.stdout).toMatch(/^Nothing to release: no commits since v0\.1\.1/);
    // Existing tag: a re-run of production keeps the tag and the release.
    const again = await release(['production']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('v0.1.1 is already tagged');
    expect(again.stdout).toContain('GitHub release exists');
    expect(await remoteTags()).toEqual(tagsBefore);
    expect(github.calls.filter((x) => x.operationId === 'repos/create-release')).toHaveLength(
      creates,
    );
    expect(github.violations).toEqual([]);
  });

  it('reads the remote tags when the checkout has none', async () => {
    const clone = join(work, 'clone');
    await git.clone({ fs, http, dir: clone, url, ref: 'main', singleBranch: true, noTags: true });
    expect(await git.listTags({ fs, dir: clone })).toEqual([]);
    const { stdout } = await exec(
      process.execPath,
      [bin, 'production', '--dry-run', '--allow-empty', '-p', clone],
      { env: env() },
    );
    expect(stdout).toContain('v0.1.1 is already tagged');
  });

  it('GitHub down after the tag push: says what exists and how to finish; a re-run completes it', async () => {
    const sha = await commit('feat: checkout');
    await github.stop();
    const failed = await release(['beta']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      `error: tag v0.1.2-pre.1 exists at ${sha} and is pushed to ${url}, but its GitHub release is missing: cannot reach the GitHub API`,
    );
    expect(failed.stderr).toContain(`run \`release beta -c ${sha}\` again`);
    expect(failed.stderr).not.toContain(ghToken);
    expect((await remoteTags()).get('v0.1.2-pre.1')).toBe(sha);
    expect(github.releases.has('v0.1.2-pre.1')).toBe(false);

    await github.start(); // same port
    const rerun = await release(['beta', '-c', sha]);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain('v0.1.2-pre.1 is already tagged');
    expect(rerun.stdout).toContain('Tag v0.1.2-pre.1 existed already');
    expect(rerun.stdout).toContain('The remote had the tag already');
    expect(rerun.stdout).toContain('Created GitHub release');
    expect(github.releases.get('v0.1.2-pre.1')).toMatchObject({
      prerelease: true,
      target_commitish: sha,
    });
    expect([...(await remoteTags()).keys()].filter((t) => t.startsWith('v0.1.2'))).toEqual([
      'v0.1.2-pre.1',
    ]);
    expect(github.violations).toEqual([]);
  });

  it('a refused push leaves a local tag only; a re-run with the right token pushes and publishes it', async () => {
    const sha = await commit('fix: auth');
    const refused = await release(['beta'], env({ DEPLOYTAG_GIT_TOKEN: 'not-the-token-at-all' }));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /error: pushing tag v0\.1\.2-pre\.2 to .* was refused \(HTTP 401\)/,
    );
    expect(refused.stderr).not.toContain('not-the-token-at-all');
    expect(await git.listTags({ fs, dir })).toContain('v0.1.2-pre.2');
    expect((await remoteTags()).has('v0.1.2-pre.2')).toBe(false);
    const rerun = await release(['beta']);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain('Tag v0.1.2-pre.2 existed already');
    expect(rerun.stdout).toContain('Pushed the tag');
    expect((await remoteTags()).get('v0.1.2-pre.2')).toBe(sha);
    expect(github.releases.get('v0.1.2-pre.2')).toMatchObject({
      prerelease: true,
      target_commitish: sha,
    });
    expect(github.violations).toEqual([]);
  });

  it('--no-github tags and pushes only; a missing token fails before anything is created', async () => {
    await commit('fix: last');
    const noToken = await release(['beta'], {
      PATH: process.env['PATH'] ?? '',
      HOME: work,
      DEPLOYTAG_GIT_TOKEN: gitToken,
    });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('needs GITHUB_TOKEN or GH_TOKEN');
    expect(await git.listTags({ fs, dir })).not.toContain('v0.1.2-pre.3');
    const calls = github.calls.length;
    const tagOnly = await release(['beta', '--no-github'], {
      PATH: process.env['PATH'] ?? '',
      HOME: work,
      DEPLOYTAG_GIT_TOKEN: gitToken,
    });
    expect(tagOnly.code).toBe(0);
    expect((await remoteTags()).has('v0.1.2-pre.3')).toBe(true);
    expect(github.calls.length).toBe(calls);
  });

  it('importing the library starts no command-line parser and reads no argv', async () => {
    const script = `
      const before = process.argv.slice();
      const m = await import(${JSON.stringify(join(repoRoot, 'packages/release/dist/index.js'))});
      const { createRequire } = await import('node:module');
      const cache = Object.keys(createRequire(import.meta.url)('node:module')._cache);
      console.log(JSON.stringify({ commander: cache.some((k) => k.includes('commander')), argv: JSON.stringify(before) === JSON.stringify(process.argv), exports: typeof m.planRelease }));
    `;
    const { stdout, stderr } = await exec(
      process.execPath,
      ['--input-type=module', '-e', script, 'production', '--bogus'],
      { cwd: work },
    );
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toEqual({ commander: false, argv: true, exports: 'function' });
    // …while the bin does load it.
    const { stdout: help } = await exec(process.execPath, [bin, 'help']);
    expect(help).toContain('Usage: release');
  });
});
