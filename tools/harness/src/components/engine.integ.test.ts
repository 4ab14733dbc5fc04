/**
 * Integration tests of the `engine` component: the real podman service, driven through its
 * Docker-compatible Engine API on the exported unix socket (builds from a tar-fs context, image
 * export, pushes to the stack's two real registries).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, pack } from 'tar-fs';
import { afterAll, describe, expect, it } from 'vitest';
import { startFaultProxy, trustedFaultProxyPorts } from '../fault-proxy.js';
import { requireEnv } from '../test-env.js';
import {
  ENGINE_API_VERSION,
  engineRequest,
  parseJsonStream,
  socketPathOf,
  streamErrors,
  type StreamMessage,
} from './engine/api.js';

const V = `/${ENGINE_API_VERSION}`;
const scratch = mkdtempSync(join(tmpdir(), 'deploytag-engine-test-'));

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function registryAuthHeader(username: string, password: string, serveraddress: string): string {
  return Buffer.from(JSON.stringify({ username, password, serveraddress })).toString('base64');
}

function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** A folder holding a Dockerfile (and any other files), packed as a tar stream by tar-fs. */
function buildContext(files: Record<string, string>): Readable {
  const dir = mkdtempSync(join(scratch, 'context-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return pack(dir);
}

describe('engine component', () => {
  const socket = socketPathOf(requireEnv('DOCKER_HOST'));
  const baseImage = requireEnv('DEPLOYTAG_BASE_IMAGE');
  const openRegistry = requireEnv('DEPLOYTAG_REGISTRY');
  const authRegistry = requireEnv('DEPLOYTAG_AUTH_REGISTRY');
  const user = requireEnv('DEPLOYTAG_AUTH_REGISTRY_USER');
  const password = requireEnv('DEPLOYTAG_AUTH_REGISTRY_PASSWORD');
  const repo = 'deploytag-harness/engine-test';
  const tag = `run-${randomBytes(4).toString('hex')}`;
  const openRef = `${openRegistry}/${repo}`;
  const authRef = `${authRegistry}/${repo}`;

  async function build(
    dockerfile: string,
    t: string,
  ): Promise<{ status: number; messages: StreamMessage[] }> {
    const res = await engineRequest(
      socket,
      `${V}/build?${new URLSearchParams({ t, rm: '1', nocache: '1' }).toString()}`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-tar' },
        body: buildContext({ Dockerfile: dockerfile }),
        timeoutMs: 150_000,
      },
    );
    return { status: res.status, messages: parseJsonStream(res.body.toString('utf8')) };
  }

  async function push(name: string, pushTag: string, auth?: string): Promise<StreamMessage[]> {
    const res = await engineRequest(
      socket,
      `${V}/images/${name}/push?tag=${encodeURIComponent(pushTag)}`,
      {
        method: 'POST',
        headers: auth === undefined ? {} : { 'X-Registry-Auth': auth },
      },
    );
    const text = res.body.toString('utf8');
    // An error can come as an HTTP status (before the stream starts) or inside the stream.
    return res.status === 200 ? parseJsonStream(text) : [{ error: `HTTP ${res.status}: ${text}` }];
  }

  async function tagsOf(hostPort: string, headers: Record<string, string> = {}): Promise<string[]> {
    const res = await fetch(`http://${hostPort}/v2/${repo}/tags/list`, { headers });
    if (res.status === 404) return [];
    expect(res.status).toBe(200);
    return ((await res.json()) as { tags?: string[] | null }).tags ?? [];
  }

  /** Reads one file out of an image, by exporting it (docker-archive) and unpacking its layers. */
  async function fileInImage(name: string, path: string): Promise<string | undefined> {
    const res = await engineRequest(socket, `${V}/images/${name}/get`);
    expect(res.status).toBe(200);
    const archive = mkdtempSync(join(scratch, 'archive-'));
    await pipeline(Readable.from([res.body]), extract(archive));
    const manifest = JSON.parse(readFileSync(join(archive, 'manifest.json'), 'utf8')) as {
      Layers: string[];
    }[];
    const layers = manifest[0]?.Layers ?? [];
    expect(layers.length).toBeGreaterThan(0);
    // The top-most layer holding the file wins.
    for (const layer of [...layers].reverse()) {
      const out = mkdtempSync(join(scratch, 'layer-'));
      await pipeline(Readable.from([readFileSync(join(archive, layer))]), extract(out));
      try {
        return readFileSync(join(out, path), 'utf8');
      } catch {
        // not in this layer
      }
    }
    return undefined;
  }

  it('is podman answering the Engine API with its own vfs storage next to its socket', async () => {
    const ping = await engineRequest(socket, '/_ping');
    expect(ping.status).toBe(200);
    expect(ping.body.toString()).toBe('OK');
    const version = JSON.parse((await engineRequest(socket, `${V}/version`)).body.toString()) as {
      Components?: { Name: string }[];
    };
    expect(version.Components?.map((c) => c.Name)).toContain('Podman Engine');
    const info = JSON.parse((await engineRequest(socket, `${V}/info`)).body.toString()) as {
      Driver: string;
      DockerRootDir: string;
    };
    expect(info.Driver).toBe('vfs');
    expect(info.DockerRootDir.startsWith(`${dirname(socket)}/`)).toBe(true);
  });

  it('has the offline base image', async () => {
    const res = await engineRequest(socket, `${V}/images/${baseImage}/json`);
    expect(res.status).toBe(200);
    const image = JSON.parse(res.body.toString()) as {
      RepoTags: string[];
      Config: { Env: string[] | null };
    };
    expect(image.RepoTags).toContain(baseImage);
    expect(image.Config.Env?.some((e) => e.startsWith('PATH='))).toBe(true);
  });

  it('builds from the base image, running a RUN step, and pushes to both registries', async () => {
    // The shell computes "xyz" at build time, so finding it proves the RUN step really ran.
    const dockerfile = [
      `FROM ${baseImage}`,
      `RUN echo "built $(echo abc | tr a-c x-z) on $(uname -s)" > /built.txt && cat /built.txt`,
      '',
    ].join('\n');
    const built = await build(dockerfile, `${openRef}:${tag}`);
    expect(built.status).toBe(200);
    expect(streamErrors(built.messages)).toEqual([]);
    const log = built.messages.map((m) => m.stream ?? '').join('');
    expect(log).toContain('built xyz on Linux');
    expect(log).toContain(`Successfully tagged ${openRef}:${tag}`);

    const inspect = await engineRequest(socket, `${V}/images/${openRef}:${tag}/json`);
    expect(inspect.status).toBe(200);
    expect((JSON.parse(inspect.body.toString()) as { RepoTags: string[] }).RepoTags).toContain(
      `${openRef}:${tag}`,
    );
    expect(await fileInImage(`${openRef}:${tag}`, 'built.txt')).toBe('built xyz on Linux\n');

    // Open registry: no credentials needed.
    const pushedOpen = await push(openRef, tag);
    expect(streamErrors(pushedOpen)).toEqual([]);
    const digestLine = pushedOpen
      .map((m) => m.status ?? '')
      .find((s) => s.includes('digest: sha256:'));
    expect(digestLine).toBeDefined();
    expect(await tagsOf(openRegistry)).toContain(tag);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(digestLine!)?.[1];
    const head = await fetch(`http://${openRegistry}/v2/${repo}/manifests/${tag}`, {
      method: 'HEAD',
      headers: {
        Accept:
          'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
      },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(digest);

    // Auth registry: tag the same image for it, then push without, with wrong, and with credentials.
    const tagged = await engineRequest(
      socket,
      `${V}/images/${openRef}:${tag}/tag?${new URLSearchParams({ repo: authRef, tag }).toString()}`,
      { method: 'POST' },
    );
    expect(tagged.status).toBe(201);

    const anonymous = await push(authRef, tag);
    expect(streamErrors(anonymous).join('\n')).toMatch(/unauthorized|authentication required/i);
    const wrong = await push(
      authRef,
      tag,
      registryAuthHeader(user, `${password}-wrong`, authRegistry),
    );
    expect(streamErrors(wrong).join('\n')).toMatch(/unauthorized|authentication required/i);
    const basic = { Authorization: basicAuth(user, password) };
    expect(await tagsOf(authRegistry, basic)).not.toContain(tag);

    const pushedAuth = await push(authRef, tag, registryAuthHeader(user, password, authRegistry));
    expect(streamErrors(pushedAuth)).toEqual([]);
    expect(pushedAuth.some((m) => m.status?.includes('digest: sha256:'))).toBe(true);
    expect(await tagsOf(authRegistry, basic)).toContain(tag);
    const listAnonymously = await fetch(`http://${authRegistry}/v2/${repo}/tags/list`);
    expect(listAnonymously.status).toBe(401);
  });

  it('reports a failing RUN step as an error in the build stream and makes no image', async () => {
    const failing = `localhost/deploytag-harness/failing:${tag}`;
    const built = await build(`FROM ${baseImage}\nRUN echo about to fail && exit 7\n`, failing);
    const errors = streamErrors(built.messages);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toMatch(/exit status 7/);
    const log = built.messages.map((m) => m.stream ?? '').join('');
    expect(log).toContain('about to fail');
    const inspect = await engineRequest(socket, `${V}/images/${failing}/json`);
    expect(inspect.status).toBe(404);
  });

  it('trusts the reserved fault-proxy ports as registries: podman pushes through a proxy on one', async () => {
    const ports = trustedFaultProxyPorts();
    expect(ports).toHaveLength(6);
    const low = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    for (const p of ports) expect(p).toBeLessThan(low);
    const conf = readFileSync(join(dirname(socket), 'registries.conf'), 'utf8');
    for (const p of ports)
      expect(conf).toContain(`[[registry]]\nlocation = "127.0.0.1:${p}"\ninsecure = true\n`);

    const proxy = await startFaultProxy({ target: openRegistry, ports });
    try {
      const ref = `${proxy.hostPort}/${repo}`;
      const tagged = await engineRequest(
        socket,
        `${V}/images/${baseImage}/tag?${new URLSearchParams({ repo: ref, tag }).toString()}`,
        { method: 'POST' },
      );
      expect(tagged.status).toBe(201);
      expect(streamErrors(await push(ref, tag))).toEqual([]);
      expect(
        proxy.requests.some((r) => r.method === 'PUT' && r.url.includes(`/manifests/${tag}`)),
      ).toBe(true);
      expect(await tagsOf(openRegistry)).toContain(tag);
    } finally {
      await proxy.close();
    }
  });
});
