/**
 * Registry faults, injected by the harness's fault proxy between DeployTag (and podman) and the
 * real registry: 500, 503, slow answers and reset connections for a while, then recovery; and a
 * registry that stays down. The proxy listens on a port the harness engine trusts as a registry,
 * so podman's own layer pushes and base pulls go through it too.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type LogRecord } from '@deploytag/core';
import {
  requireEnv,
  startFaultProxy,
  trustedFaultProxyPorts,
  type FaultProxy,
  type FaultRule,
} from '@deploytag/harness';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EngineClient,
  ImageError,
  RegistryClient,
  applyBuild,
  clientsFromEnv,
  engineConnectionFromEnv,
  prepareBuild,
  type BuildClients,
  type BuildOptions,
  type RetryOptions,
} from './index.js';

const scratch = mkdtempSync(join(tmpdir(), 'deploytag-image-faults-'));
const baseImage = requireEnv('DEPLOYTAG_BASE_IMAGE');
const registry = requireEnv('DEPLOYTAG_REGISTRY');
const env = { DOCKER_HOST: requireEnv('DOCKER_HOST'), DOCKER_CONFIG: scratch };
const run = randomBytes(4).toString('hex');
const engine = new EngineClient(engineConnectionFromEnv(env));
/** The registry itself, without the proxy: what really got stored. */
const direct = new RegistryClient(registry);
let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await startFaultProxy({ target: registry, ports: trustedFaultProxyPorts() });
});
afterEach(() => {
  proxy.clear();
});
afterAll(async () => {
  await proxy.close();
  rmSync(scratch, { recursive: true, force: true });
});

function recorder(): { logger: ReturnType<typeof createLogger>; lines: LogRecord[] } {
  const lines: LogRecord[] = [];
  return {
    logger: createLogger({ level: 'debug', reporter: { write: (r) => lines.push(r) } }),
    lines,
  };
}

/** An error page as a load balancer in front of a registry sends it. */
const HTML_503: FaultRule['fault'] = {
  kind: 'status',
  status: 503,
  body: '<html>\n<head><title>503 Service Temporarily Unavailable</title></head>\n<body>\n<center><h1>503 Service Temporarily Unavailable</h1></center>\n</body>\n</html>\n',
  headers: { 'content-type': 'text/html' },
};

/** Requests to one repository that got a fault, as `METHOD kind[status]`. */
function faultsOn(repository: string): string[] {
  return proxy
    .faulted()
    .filter((r) => r.url.startsWith(`/v2/${repository}/`))
    .map((r) => `${r.method} ${r.fault ?? ''}${r.status === undefined ? '' : ` ${r.status}`}`);
}

describe('registry API calls through a faulty registry', () => {
  const repo = `faults-${run}/api`;

  beforeAll(async () => {
    await engine.tag(baseImage, `${registry}/${repo}:v1`);
    await engine.push(`${registry}/${repo}:v1`);
  });

  it('ride out 500, an HTML 503, a slow answer and a reset connection, then succeed', async () => {
    const path = `/v2/${repo}/manifests/`;
    proxy.add(
      { path, fault: { kind: 'status', status: 500 }, times: 1 },
      { path, fault: HTML_503, times: 1 },
      { path, fault: { kind: 'delay', ms: 3_000 }, times: 1 },
      { path, fault: { kind: 'reset' }, times: 1 },
    );
    const { logger, lines } = recorder();
    const client = new RegistryClient(proxy.hostPort, {
      retry: { attempts: 6, baseDelayMs: 50, timeoutMs: 1_000 },
      logger,
    });
    const digest = await client.manifestDigest(repo, 'v1');
    expect(digest).toBe(await direct.manifestDigest(repo, 'v1'));
    expect(faultsOn(repo)).toEqual([
      'HEAD status 500',
      'HEAD status 503',
      'HEAD delay',
      'HEAD reset',
    ]);
    expect(
      lines.filter((l) => l.message.startsWith(`registry ${proxy.hostPort}: retrying`)),
    ).toHaveLength(4);

    // Writes too: a manifest PUT answered 503 once is sent again and lands.
    proxy.add({ method: 'PUT', path, fault: HTML_503, times: 1 });
    await client.copyTag(repo, 'v1', 'v2');
    expect(await direct.manifestDigest(repo, 'v2')).toBe(digest);
  });
});

describe("podman's own pushes and pulls through a faulty registry", () => {
  it('a registry that answers 500 twice to layer uploads still gets the image, with the right digest', async () => {
    const dir = mkdtempSync(join(scratch, 'repo-'));
    git(dir, 'init', '-q', '-b', 'feature/layers');
    // A layer of its own (random content): podman has to upload it.
    const sha = commit(dir, {
      Dockerfile: `FROM ${baseImage}\nRUN echo ${randomBytes(16).toString('hex')} > /unique.txt\n`,
    });
    const repo = `faults-${run}/layers`;
    const options: BuildOptions = { ...buildOptions(dir, proxy.hostPort, repo, sha), base: false };
    const { logger, lines } = recorder();
    const clients: BuildClients = { ...clientsFromEnv(env, logger), retry: { baseDelayMs: 200 } };
    const plan = await prepareBuild(options, clients);
    proxy.add({
      method: 'PATCH',
      path: new RegExp(`^/v2/${repo}/blobs/uploads/`),
      fault: { kind: 'status', status: 500 },
      times: 2,
    });
    const result = await applyBuild(plan, options, clients);
    expect(result.pushed).toContain(`${proxy.hostPort}/${repo}:${sha}`);
    expect(faultsOn(repo)).toEqual(['PATCH status 500', 'PATCH status 500']);
    // Each 500 fails a push attempt that we retry, unless podman's own blob-upload retry absorbs
    // the second one within an attempt: one or two retries, never more.
    const retries = lines.filter((l) => l.level === 'warn' && l.message.includes('retrying in'));
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries.length).toBeLessThanOrEqual(2);

    // The same image pushed to another repository with no fault: the digest it must end up with.
    const control = `${registry}/faults-${run}/control:v1`;
    await engine.tag(`${proxy.hostPort}/${repo}:${sha}`, control);
    const controlDigest = await engine.push(control);
    expect(controlDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await direct.manifestDigest(repo, sha)).toBe(controlDigest);
    // Every blob the manifest names is really in the repository.
    const manifest = await direct.getManifest(repo, sha);
    const parsed = JSON.parse(manifest!.body.toString()) as {
      config: { digest: string };
      layers: { digest: string }[];
    };
    for (const blob of [parsed.config, ...parsed.layers]) {
      const head = await fetch(`http://${registry}/v2/${repo}/blobs/${blob.digest}`, {
        method: 'HEAD',
      });
      expect(head.status, blob.digest).toBe(200);
    }
  });

  it('builds and pushes base and app while the registry answers 500, 503 and slowly for a while, then recovers', async () => {
    const dir = mkdtempSync(join(scratch, 'repo-'));
    git(dir, 'init', '-q', '-b', 'feature/faults');
    const sha = commit(dir, {
      'Dockerfile.base': `FROM ${baseImage}\nRUN echo ${run} > /base.txt\n`,
      Dockerfile: 'FROM ${BASE_IMAGE_REF}\nRUN cat /base.txt > /app.txt\n',
    });
    const repo = `faults-${run}/web`;
    const options = buildOptions(dir, proxy.hostPort, repo, sha);
    const { logger, lines } = recorder();
    const retry: RetryOptions = { attempts: 8, baseDelayMs: 250, timeoutMs: 2_000 };
    const clients: BuildClients = { ...clientsFromEnv(env, logger, { retry }), retry };
    const plan = await prepareBuild(options, clients);
    expect(plan.base.action).toBe('build');

    // Base: every push request fails for a while (500, then 503 pages, then slow answers).
    const push = new RegExp(`^/v2/${repo}_base/(blobs/uploads/|manifests/)`);
    proxy.add(
      { path: push, fault: { kind: 'status', status: 500 }, times: 2 },
      { path: push, fault: HTML_503, times: 2 },
      { method: 'PUT', path: push, fault: { kind: 'delay', ms: 1_500 }, times: 1 },
    );
    const base = await applyBuild(plan, options, clients, { base: true, app: false });
    expect(base.base).toBe('build');
    // Each push attempt met one failure, and the slow answer was waited for.
    expect(faultsOn(`${repo}_base`)).toEqual([
      'POST status 500',
      'POST status 500',
      'POST status 503',
      'POST status 503',
      'PUT delay 201',
    ]);

    // App: the base is no longer in the engine, so the build pulls it through the proxy, whose
    // manifest reads fail twice; then the app's push meets a reset and a 500.
    for (const t of plan.base.tags) await engine.remove(`${plan.base.repository}:${t}`);
    expect(await engine.inspect(plan.baseImageRef)).toBeUndefined();
    proxy.add(
      {
        method: 'GET',
        path: `/v2/${repo}_base/manifests/`,
        fault: { kind: 'status', status: 500 },
        times: 2,
      },
      { method: 'PUT', path: `/v2/${repo}/manifests/`, fault: { kind: 'reset' }, times: 1 },
      {
        method: 'PUT',
        path: `/v2/${repo}/manifests/`,
        fault: { kind: 'status', status: 500 },
        times: 1,
      },
    );
    const app = await applyBuild(plan, options, clients, { base: false, app: true });
    expect(app.app).toBe('build');
    expect(faultsOn(`${repo}_base`).slice(5)).toEqual(['GET status 500', 'GET status 500']);
    expect(faultsOn(repo)).toContain('PUT status 500');
    for (const ref of [...base.pushed, ...app.pushed]) {
      const [repository, tag] = [
        ref.slice(proxy.hostPort.length + 1, ref.lastIndexOf(':')),
        ref.slice(ref.lastIndexOf(':') + 1),
      ];
      expect(await direct.manifestDigest(repository, tag), ref).toMatch(/^sha256:/);
    }
    expect(
      lines.some(
        (l) => l.level === 'warn' && /pulling its FROM image.*retrying in/.test(l.message),
      ),
    ).toBe(true);
  });
});

describe('a registry that stays down', () => {
  it('fails the build with one line naming the registry once the attempts run out', async () => {
    const dir = mkdtempSync(join(scratch, 'repo-'));
    git(dir, 'init', '-q', '-b', 'feature/down');
    const sha = commit(dir, { Dockerfile: `FROM ${baseImage}\n` });
    const repo = `faults-${run}/down`;
    proxy.add({ fault: HTML_503 });
    const retry = { attempts: 3, baseDelayMs: 100 };
    const clients: BuildClients = { ...clientsFromEnv(env, undefined, { retry }), retry };
    const error = await prepareBuild(buildOptions(dir, proxy.hostPort, repo, sha), clients).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ImageError);
    expect((error as ImageError).code).toBe('E_IMAGE_REGISTRY');
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(
      new RegExp(
        `^registry ${proxy.hostPort.replaceAll('.', '\\.')} answered HTTP 503 to look up ${repo}(_base)?:\\S+ after 3 attempts in .*; it may be down or overloaded: try again later$`,
      ),
    );
  });

  it(
    'a registry that stops answering fails the push within the configured deadline',
    // Without the deadline a push to a registry that never answers would wait for ever.
    { timeout: 90_000 },
    async () => {
      const dir = mkdtempSync(join(scratch, 'repo-'));
      git(dir, 'init', '-q', '-b', 'feature/hang');
      const sha = commit(dir, { Dockerfile: `FROM ${baseImage}\nRUN echo ${run} > /hang.txt\n` });
      const repo = `faults-${run}/hang`;
      const retry = { attempts: 1000, deadlineMs: 5_000, timeoutMs: 600_000 };
      const clients: BuildClients = { ...clientsFromEnv(env, undefined, { retry }), retry };
      const options = buildOptions(dir, proxy.hostPort, repo, sha);
      const plan = await prepareBuild(options, clients);
      proxy.add({ fault: { kind: 'hang' } });
      const error = await applyBuild(plan, options, clients).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageError);
      const host = proxy.hostPort.replaceAll('.', '\\.');
      const message = (error as Error).message;
      expect(message).not.toContain('\n');
      expect(message).toMatch(
        new RegExp(
          `^registry ${host} did not let us push ${host}/${repo}:\\S+ within the 5 s deadline \\(1 attempt\\); check that the registry is up, or allow more time$`,
        ),
      );
      // And the registry API calls stop at the same deadline.
      const hung = new RegistryClient(proxy.hostPort, { retry });
      await expect(hung.tagExists(repo, sha)).rejects.toThrow(
        new RegExp(
          `^registry ${host} did not answer within the 5 s deadline to look up ${repo}:${sha} `,
        ),
      );
    },
  );
});

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@t',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@t',
    },
  }).trim();
}

function commit(dir: string, files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'commit');
  return git(dir, 'rev-parse', 'HEAD');
}

function buildOptions(dir: string, host: string, repo: string, sha = 'unused'): BuildOptions {
  return {
    dir,
    sha,
    original: { sha, branch: 'feature-faults', latest: false },
    repository: `${host}/${repo}`,
    base: { repository: `${host}/${repo}_base` },
    env: {},
    runHook: false,
  };
}
