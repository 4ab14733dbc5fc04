/**
 * Container registries: two private instances of the CNCF distribution registry (Debian
 * `docker-registry`), one open and one behind htpasswd basic auth, both plain HTTP on loopback
 * with filesystem storage and deletion enabled.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Component, StartContext, StartedComponent } from '../component.js';
import { startDaemon, stopDaemons, type DaemonRecord } from '../daemon.js';
import { HarnessError, run } from '../exec.js';
import { freePorts } from '../ports.js';
import { ensureApt } from '../provision.js';

const PACKAGES = ['docker-registry', 'apache2-utils'] as const;

/** The user of the auth registry (its password is random per start). */
const AUTH_USER = 'deploytag';

/** The status `GET /v2/` answers on a registry at `host:port`, or undefined when it does not answer. */
async function v2Status(hostPort: string): Promise<number | undefined> {
  try {
    const res = await fetch(`http://${hostPort}/v2/`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

/**
 * A bcrypt htpasswd line for `user`, made by `htpasswd -B -i -n` with the password on stdin, so it
 * never appears in a process's arguments.
 */
async function htpasswdLine(user: string, password: string): Promise<string> {
  const { stdout } = await run('htpasswd', ['-B', '-i', '-n', user], { input: password });
  const line = stdout.split('\n').find((l) => l.startsWith(`${user}:$2`));
  if (line === undefined)
    throw new HarnessError(`htpasswd -B did not print a bcrypt entry for ${user}`);
  return `${line.trim()}\n`;
}

/**
 * The environment of a registry daemon: the caller's, without `REGISTRY_*` variables, which
 * distribution reads as overrides of its configuration (a podman user's `REGISTRY_AUTH_FILE`
 * would otherwise turn into an unknown `auth.file` access controller).
 */
function registryEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_')),
  );
}

interface Instance {
  name: string;
  port: number;
  /** The status `GET /v2/` answers once the instance serves. */
  readyStatus: number;
  htpasswd?: string;
}

function configYaml(dir: string, inst: Instance): string {
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'info', fields: { service: inst.name } },
    storage: {
      filesystem: { rootdirectory: join(dir, 'data') },
      delete: { enabled: true },
      // Nothing to purge in a short-lived registry; keeps it from scanning its storage.
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: {
      addr: `127.0.0.1:${inst.port}`,
      secret: randomBytes(24).toString('hex'),
    },
  };
  if (inst.htpasswd !== undefined) {
    config['auth'] = { htpasswd: { realm: 'deploytag-harness', path: inst.htpasswd } };
  }
  return stringify(config);
}

async function startInstance(dir: string, inst: Instance): Promise<DaemonRecord> {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const configFile = join(dir, 'config.yml');
  writeFileSync(configFile, configYaml(dir, inst), { mode: 0o600 });
  const hostPort = `127.0.0.1:${inst.port}`;
  return await startDaemon({
    name: inst.name,
    cmd: 'docker-registry',
    args: ['serve', configFile],
    env: registryEnv(),
    cwd: dir,
    logFile: join(dir, 'registry.log'),
    ready: async () => (await v2Status(hostPort)) === inst.readyStatus,
    readyTimeoutMs: 30_000,
  });
}

async function start(ctx: StartContext): Promise<StartedComponent> {
  const [openPort, authPort] = await freePorts(2);
  if (openPort === undefined || authPort === undefined)
    throw new HarnessError('could not reserve two free ports');
  const password = randomBytes(18).toString('base64url');
  const authDir = join(ctx.dir, 'auth');
  mkdirSync(authDir, { recursive: true, mode: 0o700 });
  const htpasswd = join(authDir, 'htpasswd');
  writeFileSync(htpasswd, await htpasswdLine(AUTH_USER, password), { mode: 0o600 });
  const instances: [string, Instance][] = [
    [join(ctx.dir, 'open'), { name: 'registry-open', port: openPort, readyStatus: 200 }],
    [authDir, { name: 'registry-auth', port: authPort, readyStatus: 401, htpasswd }],
  ];
  const settled = await Promise.allSettled(
    instances.map(([dir, inst]) => startInstance(dir, inst)),
  );
  const daemons = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failed.length > 0) {
    await stopDaemons(daemons);
    throw new HarnessError(
      failed.map((e) => (e instanceof Error ? e.message : String(e))).join('\n'),
    );
  }
  return {
    daemons,
    env: {
      DEPLOYTAG_REGISTRY: `127.0.0.1:${openPort}`,
      DEPLOYTAG_AUTH_REGISTRY: `127.0.0.1:${authPort}`,
      DEPLOYTAG_AUTH_REGISTRY_USER: AUTH_USER,
      DEPLOYTAG_AUTH_REGISTRY_PASSWORD: password,
    },
  };
}

/**
 * The registry component: an open distribution registry and one with htpasswd basic auth (random
 * password per start), plain HTTP on free loopback ports, deletion enabled. Exports
 * `DEPLOYTAG_REGISTRY`, `DEPLOYTAG_AUTH_REGISTRY`, `DEPLOYTAG_AUTH_REGISTRY_USER` and
 * `DEPLOYTAG_AUTH_REGISTRY_PASSWORD`.
 */
export const registry: Component = {
  name: 'registry',
  description: 'CNCF distribution registries on loopback: one open, one with htpasswd basic auth',
  async provision() {
    await ensureApt(PACKAGES);
  },
  start,
};
