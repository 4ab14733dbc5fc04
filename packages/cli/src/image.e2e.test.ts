/**
 * The deploy image (the repository's Dockerfile), built through the harness engine and run as CI
 * runs it: every `/scripts/<original name>` answers `--help`, `. /scripts/set_env.sh` exports the
 * context in sh and bash, the user is not root, helm is the pinned version, and only production
 * dependencies are inside.
 *
 * Nothing can be pulled here, so the test builds a stand-in for the Node base image from this
 * machine's own node (the same version as the pinned tag), bash and their shared libraries on the
 * harness busybox base, with the `node` user the official image has. The Dockerfile's offline
 * modes then take helm (the harness's HELM_BIN) and the application folder (assembled from this
 * built checkout by docker/assemble-app.mjs) from the build context. The download mode of helm is
 * built too, against a local mirror, to prove the checksum check passes and refuses.
 *
 * The harness engine runs podman without cgroups, which podman's Docker-compatible API refuses for
 * runc containers; containers are therefore created through podman's own API, with cgroups left as
 * they are and resource limits no higher than the engine's.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireEnv } from '@deploytag/harness';
import {
  EngineClient,
  createContextFilter,
  engineConnectionFromEnv,
  packContext,
} from '@deploytag/image';
import { commands } from './commands/index.js';

const repo = resolve(import.meta.dirname, '../../..');
const bin = resolve(import.meta.dirname, '../dist/bin/deploytag.js');
const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
const run = randomBytes(4).toString('hex');
const image = `localhost/deploytag-e2e-image:${run}`;
const standin = `localhost/deploytag-node-standin:${process.versions.node.split('.')[0] ?? '20'}`;
const work = mkdtempSync(join(tmpdir(), 'deploytag-image-'));
const made: string[] = [];

/** The default of an `ARG` in the Dockerfile. */
function argDefault(name: string): string {
  const m = new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(dockerfile);
  if (m?.[1] === undefined) throw new Error(`the Dockerfile has no ARG ${name}=…`);
  return m[1];
}

/** The `/scripts` entries the image must have: each command's original script file name. */
const originals = commands.flatMap((c) =>
  c.original !== undefined && /^[\w.-]+$/.test(c.original)
    ? [{ file: c.original, command: c.name }]
    : [],
);

let engine: EngineClient;
let socketPath: string;
let app: Session;

// ---- podman's API, for containers -----------------------------------------------------------------

interface Answer {
  status: number;
  body: Buffer;
}

function call(method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((done, fail) => {
    const req = request(
      {
        socketPath,
        method,
        path: `/v4.0.0/libpod${path}`,
        headers: { Host: 'podman', 'Content-Type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
        });
      },
    );
    req.on('error', fail);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Splits the multiplexed log stream (8-byte frame headers: stream, 0, 0, 0, size). */
function demux(buf: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    const size = buf.readUInt32BE(at + 4);
    const frame = buf.subarray(at + 8, at + 8 + size);
    (buf[at] === 2 ? err : out).push(frame);
    at += 8 + size;
  }
  return {
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** A container of an image, kept running so that each check is a cheap `exec` in it. */
interface Session {
  /** Runs `command` in the container as the image's user, with `env` added. */
  exec(command: string[], env?: Record<string, string>): Promise<Ran>;
  /** Removes the container. */
  stop(): Promise<void>;
}

/** Creates and starts a container of `ref` that only sleeps; returns its id. */
async function startContainer(ref: string, name: string): Promise<string> {
  const created = await call('POST', '/containers/create', {
    image: ref,
    name,
    command: ['sleep', '3600'],
    cgroups_mode: 'enabled',
    netns: { nsmode: 'none' },
    r_limits: [
      { type: 'nofile', soft: 1024, hard: 1024 },
      { type: 'nproc', soft: 4096, hard: 4096 },
    ],
  });
  if (created.status !== 201) {
    throw new Error(`creating a container of ${ref} failed: ${created.body.toString('utf8')}`);
  }
  const { Id: id } = JSON.parse(created.body.toString('utf8')) as { Id: string };
  const started = await call('POST', `/containers/${id}/start`);
  if (started.status !== 204) {
    await call('DELETE', `/containers/${id}?force=true&timeout=0`);
    throw new Error(`starting a container of ${ref} failed: ${started.body.toString('utf8')}`);
  }
  return id;
}

/**
 * Starts a container of `ref` that only sleeps. (A new container per check would copy the whole
 * image each time on the engine's vfs storage.) The engine is shared: when someone else's cleanup
 * removed the container, the next check starts a new one.
 */
async function startSession(ref: string): Promise<Session> {
  const name = `deploytag-e2e-${run}-${randomBytes(3).toString('hex')}`;
  let id = await startContainer(ref, name);
  const attempt = async (
    command: string[],
    env: Record<string, string>,
  ): Promise<Ran | undefined> => {
    const made = await call('POST', `/containers/${id}/exec`, {
      Cmd: command,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      AttachStdout: true,
      AttachStderr: true,
    });
    const text = made.body.toString('utf8');
    if (made.status === 404 || /container state improper/.test(text)) return undefined;
    if (made.status !== 201) throw new Error(`exec ${command.join(' ')} failed: ${text}`);
    const { Id: exec } = JSON.parse(text) as { Id: string };
    const output = await call('POST', `/exec/${exec}/start`, { Detach: false, Tty: false });
    const state = await call('GET', `/exec/${exec}/json`);
    const { ExitCode: code } = JSON.parse(state.body.toString('utf8')) as { ExitCode: number };
    return { code, ...demux(output.body) };
  };
  return {
    async stop() {
      await call('DELETE', `/containers/${id}?force=true&timeout=0`);
    },
    async exec(command, env = {}) {
      const first = await attempt(command, env);
      if (first !== undefined) return first;
      await call('DELETE', `/containers/${id}?force=true&timeout=0`);
      id = await startContainer(ref, `${name}-again`);
      const again = await attempt(command, env);
      if (again === undefined) throw new Error(`the container of ${ref} stopped again`);
      return again;
    },
  };
}

// ---- building ---------------------------------------------------------------------------------------

async function build(
  context: string,
  tag: string,
  buildArgs: Record<string, string>,
  target?: string,
): Promise<void> {
  made.push(tag);
  await engine.build(packContext(context, { filter: createContextFilter([]) }), {
    tags: [tag],
    buildArgs,
    ...(target === undefined ? {} : { target }),
  });
}

/** The shared libraries `ldd` lists for a program (the loader included). */
function sharedLibraries(program: string): string[] {
  return execFileSync('ldd', [program], { encoding: 'utf8' })
    .split('\n')
    .flatMap((line) => {
      const m = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
      return m?.[1] === undefined ? [] : [m[1]];
    });
}

/**
 * A stand-in for the official Node image: node at /usr/local/bin, bash, their libraries, and the
 * `node` user (1000) with its home, on the harness busybox base (whose `sh` plays /bin/sh).
 */
async function buildStandin(): Promise<void> {
  const dir = join(work, 'standin');
  const rootfs = join(dir, 'rootfs');
  const put = (from: string, to: string): void => {
    mkdirSync(dirname(join(rootfs, to)), { recursive: true });
    copyFileSync(realpathSync(from), join(rootfs, to));
  };
  const node = realpathSync(process.execPath);
  const bash = realpathSync('/bin/bash');
  put(node, 'usr/local/bin/node');
  put(bash, 'bin/bash');
  for (const lib of new Set([...sharedLibraries(node), ...sharedLibraries(bash)])) put(lib, lib);
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  mkdirSync(join(rootfs, 'home/node'), { recursive: true });
  writeFileSync(
    join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n');
  writeFileSync(
    join(dir, 'Dockerfile'),
    [
      'ARG BASE',
      'FROM ${BASE}',
      'COPY rootfs/ /',
      'RUN chown -R 1000:1000 /home/node',
      `ENV NODE_VERSION=${process.versions.node}`,
      'CMD ["node"]',
      '',
    ].join('\n'),
  );
  await engine.build(packContext(dir, { filter: createContextFilter([]) }), {
    tags: [standin],
    buildArgs: { BASE: requireEnv('DEPLOYTAG_BASE_IMAGE') },
  });
}

/** A build context holding only the Dockerfile (for the stages that read nothing else). */
function dockerfileOnly(): string {
  const dir = join(work, 'dockerfile-only');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(repo, 'Dockerfile'), join(dir, 'Dockerfile'));
  return dir;
}

/** The offline build context: the Dockerfile, helm and the assembled application. */
function prepareContext(): string {
  const dir = join(work, 'context');
  mkdirSync(join(dir, 'prebuilt'), { recursive: true });
  copyFileSync(join(repo, 'Dockerfile'), join(dir, 'Dockerfile'));
  copyFileSync(requireEnv('HELM_BIN'), join(dir, 'prebuilt/helm'));
  execFileSync(
    process.execPath,
    [join(repo, 'docker/assemble-app.mjs'), repo, join(dir, 'prebuilt/app')],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return dir;
}

const figures: string[] = [];

describe('the deploy image', () => {
  beforeAll(async () => {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npm run build)`);
    const conn = engineConnectionFromEnv(process.env);
    if (conn.socketPath === undefined) throw new Error('the harness engine is a unix socket');
    socketPath = conn.socketPath;
    engine = new EngineClient(conn);
    await engine.ping();
    await buildStandin();
    const context = prepareContext();
    const started = performance.now();
    await build(context, image, {
      NODE_IMAGE: standin,
      HELM_FROM: 'context',
      APP_FROM: 'context',
      // apt-get has no archive to reach here; the stand-in has no apt either.
      OS_PACKAGES: '',
    });
    const seconds = (performance.now() - started) / 1000;
    const size = Number((await engine.inspect(image))?.['Size'] ?? 0);
    const base = Number((await engine.inspect(standin))?.['Size'] ?? 0);
    app = await startSession(image);
    figures.push(
      `deploy image build: ${seconds.toFixed(1)} s; size ${(size / 1e6).toFixed(0)} MB, of which the Node stand-in base ${(base / 1e6).toFixed(0)} MB`,
    );
  });

  afterAll(async () => {
    for (const line of figures) console.info(line);
    await app.stop();
    for (const tag of made) await engine.remove(tag).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  it('has every original script at /scripts/<name>, each answering --help', async () => {
    const listed = await app.exec(['ls', '-1', '/scripts']);
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n').sort()).toEqual(originals.map((o) => o.file).sort());
    // The scripts the original README names.
    expect(originals.map((o) => o.file)).toEqual(
      expect.arrayContaining(['set_env.sh', 'build.sh', 'deploy.sh', 'release', 'init_db.sh']),
    );
    for (const { file, command } of originals) {
      const r = await app.exec([`/scripts/${file}`, '--help']);
      expect({ file, code: r.code, stderr: r.stderr }).toEqual({ file, code: 0, stderr: '' });
      expect(r.stdout).toContain(`Usage: deploytag ${command} `);
    }
    // The original's own way to ask release for its usage.
    const help = await app.exec(['/scripts/release', 'help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: deploytag release ');
  });

  it('puts deploytag and every deploytag-<name> bin on PATH', async () => {
    const help = await app.exec(['deploytag', '--help']);
    expect(help.code).toBe(0);
    for (const c of commands) expect(help.stdout).toContain(c.name);
    const pkg = JSON.parse(readFileSync(join(repo, 'packages/cli/package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    const names = Object.keys(pkg.bin);
    const found = await app.exec([
      'sh',
      '-c',
      'for b in "$@"; do command -v "$b"; done',
      'sh',
      ...names,
    ]);
    expect(found.stdout.trim().split('\n')).toEqual(names.map((n) => `/opt/deploytag/bin/${n}`));
    const parsed = await app.exec(['deploytag-parse-helm-vars', 'replicas=3,image.tag=abc']);
    expect(parsed).toEqual({ code: 0, stdout: 'replicas: 3\nimage:\n  tag: abc\n', stderr: '' });
  });

  describe('. /scripts/set_env.sh', () => {
    const ci = {
      CIRCLE_BRANCH: 'feature/Login-Page',
      CIRCLE_SHA1: '0123456789abcdef0123456789abcdef01234567',
      CIRCLE_PROJECT_REPONAME: 'shop',
      CHART_NAME: 'web',
      IMAGE: 'shop',
      CONTAINER_REGISTRY: 'registry.example.com',
      DOMAIN: 'example.com',
    };
    const names = [
      'HELM_NAME',
      'DATABASE',
      'HOST',
      'URL_HOST',
      'DEPLOYTAG_NAMESPACE',
      'BASE_IMAGE',
    ];
    const show = names.map((n) => `${n}=$${n}`).join(' ');

    /** What the same command prints on this machine: the values the image must export. */
    function expected(): Record<string, string> {
      const out = execFileSync(process.execPath, [bin, 'set-env', '--format', 'json', '--no-git'], {
        encoding: 'utf8',
        cwd: work,
        env: { PATH: process.env['PATH'] ?? '', ...ci },
      });
      return JSON.parse(out) as Record<string, string>;
    }

    it.each(['sh', 'bash'])('exports the context into %s', async (shell) => {
      const values = expected();
      expect(values['HELM_NAME']).toMatch(/^feature-login-page-web/);
      const want = names.map((n) => `${n}=${values[n] ?? ''}`).join(' ');
      const r = await app.exec([shell, '-c', `. /scripts/set_env.sh && echo "${show}"`], ci);
      expect(r).toEqual({ code: 0, stdout: `${want}\n`, stderr: '' });
    });

    it('returns the failure to a `set -e` shell and exports nothing', async () => {
      const withoutDomain: Record<string, string> = { ...ci };
      delete withoutDomain['DOMAIN'];
      const r = await app.exec(
        ['bash', '-c', 'set -e; . /scripts/set_env.sh; echo "reached HELM_NAME=$HELM_NAME"'],
        withoutDomain,
      );
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('DOMAIN');
    });

    it('prints the export lines when run instead of sourced', async () => {
      const r = await app.exec(['/scripts/set_env.sh'], ci);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`export HELM_NAME='${expected()['HELM_NAME'] ?? ''}'\n`);
    });
  });

  it('runs as the non-root node user, who cannot change the installed tools', async () => {
    const config = (await engine.inspect(image))?.['Config'] as { User?: string } | undefined;
    expect(config?.User).toBe('node');
    const r = await app.exec([
      'sh',
      '-c',
      'id -u; id -un; for d in /opt/deploytag /opt/deploytag/bin /scripts /usr/local/bin; do touch "$d/x" 2>/dev/null || echo "$d read-only"; done',
    ]);
    expect(r.stdout).toBe(
      '1000\nnode\n/opt/deploytag read-only\n/opt/deploytag/bin read-only\n/scripts read-only\n/usr/local/bin read-only\n',
    );
  });

  it('has helm on PATH, at the version the Dockerfile pins', async () => {
    const r = await app.exec(['helm', 'version', '--short']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(
      new RegExp(`^${argDefault('HELM_VERSION').replaceAll('.', '\\.')}\\b`),
    );
  });

  it('holds only production dependencies, without type declarations', async () => {
    const r = await app.exec([
      'sh',
      '-c',
      'cd /opt/deploytag/node_modules && ls -d vitest typescript esbuild nx @types 2>/dev/null; find . -name "*.d.ts" | head -n 3; ls -d commander @deploytag/cli/dist/bin/deploytag.js',
    ]);
    expect(r.stdout).toBe('@deploytag/cli/dist/bin/deploytag.js\ncommander\n');
  });

  describe('HELM_FROM=download', () => {
    let mirror: Server;
    let archive: Buffer;
    const version = argDefault('HELM_VERSION');
    const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';

    beforeAll(async () => {
      // A release archive of the layout get.helm.sh serves, holding a recognisable program.
      const dir = join(work, 'mirror');
      mkdirSync(join(dir, `linux-${arch}`), { recursive: true });
      writeFileSync(join(dir, `linux-${arch}/helm`), '#!/bin/sh\necho "mirrored helm $*"\n', {
        mode: 0o755,
      });
      execFileSync('tar', ['-czf', join(dir, 'helm.tar.gz'), '-C', dir, `linux-${arch}`]);
      archive = readFileSync(join(dir, 'helm.tar.gz'));
      mirror = createServer((req, res) => {
        if (req.url === `/helm-${version}-linux-${arch}.tar.gz`) res.end(archive);
        else res.writeHead(404).end();
      });
      await new Promise<void>((done) => mirror.listen(0, '127.0.0.1', done));
    });
    afterAll(() => new Promise<void>((done) => mirror.close(() => done())));

    const args = (sha: string | undefined): Record<string, string> => ({
      NODE_IMAGE: standin,
      HELM_MIRROR: `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`,
      ...(sha === undefined ? {} : { [`HELM_SHA256_${arch.toUpperCase()}`]: sha }),
    });

    it('installs the archive whose sha256 is the pinned one', async () => {
      const sha = createHash('sha256').update(archive).digest('hex');
      const tag = `localhost/deploytag-e2e-helm:${run}`;
      await build(dockerfileOnly(), tag, args(sha), 'helm-download');
      const helm = await startSession(tag);
      try {
        const r = await helm.exec(['/out/helm', 'version']);
        expect(r).toEqual({ code: 0, stdout: 'mirrored helm version\n', stderr: '' });
      } finally {
        await helm.stop();
      }
    });

    it('refuses an archive that does not match the pinned sha256', async () => {
      const tag = `localhost/deploytag-e2e-helm:${run}-bad`;
      await expect(build(dockerfileOnly(), tag, args(undefined), 'helm-download')).rejects.toThrow(
        /sha256sum|FAILED/,
      );
    });
  });
});
