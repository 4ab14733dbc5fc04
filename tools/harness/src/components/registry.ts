/**
 * Container registries: three private instances of the CNCF distribution registry (Debian
 * `docker-registry`): one open, one behind htpasswd basic auth, and one behind bearer-token auth
 * (the flow of Docker Hub, GHCR, GCR and Harbor) with the harness's token service
 * (`daemons/registry-token.ts`) as its realm. All plain HTTP on loopback with filesystem storage
 * and deletion enabled.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Component, StartContext, StartedComponent } from '../component.js';
import { nodeScript, startDaemon, stopDaemons, type DaemonRecord } from '../daemon.js';
import { HarnessError, run } from '../exec.js';
import { freePorts } from '../ports.js';
import { ensureApt, ensureGoTool } from '../provision.js';
import { CREDENTIAL_HELPERS_VERSION } from './versions.js';

/** The registries, htpasswd and openssl for their auth, and `pass` for the credential helper. */
const PACKAGES = ['docker-registry', 'apache2-utils', 'openssl', 'pass', 'gnupg'] as const;

/** Docker's `pass` credential helper, built from the Go module proxy. */
const passHelperTool = {
  name: `docker-credential-pass-${CREDENTIAL_HELPERS_VERSION}`,
  pkg: `github.com/docker/docker-credential-helpers/pass/cmd@${CREDENTIAL_HELPERS_VERSION}`,
  ldflags: `-X github.com/docker/docker-credential-helpers/credentials.Version=${CREDENTIAL_HELPERS_VERSION}`,
};

/**
 * A folder holding `docker-credential-pass` under the name the Docker config's `credsStore: pass`
 * looks for, to put on a test's PATH.
 */
async function credentialHelperDir(dir: string): Promise<string> {
  const bin = await ensureGoTool(passHelperTool);
  const helpers = join(dir, 'credential-helpers');
  mkdirSync(helpers, { recursive: true });
  symlinkSync(bin, join(helpers, 'docker-credential-pass'));
  return helpers;
}

/** The user of the auth registries (its password is random per start). */
const AUTH_USER = 'deploytag';

/** The token registry's user who may pull but not push (its password is random per start). */
const READER_USER = 'reader';

/** The `service` (token audience) and `issuer` the token registry trusts. */
const TOKEN_SERVICE = 'deploytag-harness-registry';
const TOKEN_ISSUER = 'deploytag-harness-token-service';

/** The status a `GET` of `url` answers (within 2 s), or undefined when nothing answers. */
async function httpStatus(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
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
  token?: { realm: string; rootcertbundle: string };
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
  if (inst.token !== undefined) {
    config['auth'] = {
      token: {
        realm: inst.token.realm,
        service: TOKEN_SERVICE,
        issuer: TOKEN_ISSUER,
        rootcertbundle: inst.token.rootcertbundle,
      },
    };
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
    ready: async () => (await httpStatus(`http://${hostPort}/v2/`)) === inst.readyStatus,
    readyTimeoutMs: 30_000,
  });
}

/** The users of the token service and what each may do. */
interface TokenUsers {
  pusher: string;
  reader: string;
  refreshToken: string;
}

/**
 * Starts the token service: a signing key and a self-signed certificate made by openssl (the
 * registry trusts that certificate as its root bundle), and the users in the daemon's environment.
 */
async function startTokenService(
  dir: string,
  port: number,
  users: TokenUsers,
): Promise<{ daemon: DaemonRecord; cert: string }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = join(dir, 'signing-key.pem');
  const cert = join(dir, 'signing-cert.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '30',
    '-subj',
    '/CN=deploytag harness token service',
  ]);
  const script = nodeScript(new URL('../daemons/registry-token.ts', import.meta.url), [
    ...['--port', String(port), '--key', key, '--cert', cert],
    ...['--issuer', TOKEN_ISSUER, '--service', TOKEN_SERVICE],
  ]);
  const tokenUsers = {
    [AUTH_USER]: {
      password: users.pusher,
      actions: ['pull', 'push'],
      refreshToken: users.refreshToken,
    },
    [READER_USER]: { password: users.reader, actions: ['pull'] },
  };
  const daemon = await startDaemon({
    name: 'registry-token-service',
    cmd: script.cmd,
    args: script.args,
    // The passwords reach the daemon through its environment only, never its command line.
    env: { ...process.env, DEPLOYTAG_TOKEN_USERS: JSON.stringify(tokenUsers) },
    cwd: dir,
    logFile: join(dir, 'token-service.log'),
    ready: async () => (await httpStatus(`http://127.0.0.1:${port}/_health`)) === 200,
    readyTimeoutMs: 30_000,
  });
  return { daemon, cert };
}

/** Starts every instance, and stops the ones that started when any fails. */
async function startAll(
  instances: readonly [string, Instance][],
  started: DaemonRecord[],
): Promise<DaemonRecord[]> {
  const settled = await Promise.allSettled(
    instances.map(([dir, inst]) => startInstance(dir, inst)),
  );
  const daemons = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failed.length > 0) {
    await stopDaemons([...daemons, ...started]);
    throw new HarnessError(
      failed.map((e) => (e instanceof Error ? e.message : String(e))).join('\n'),
    );
  }
  return [...started, ...daemons];
}

async function start(ctx: StartContext): Promise<StartedComponent> {
  const [openPort, authPort, tokenPort, tokenServicePort] = await freePorts(4);
  if (
    openPort === undefined ||
    authPort === undefined ||
    tokenPort === undefined ||
    tokenServicePort === undefined
  )
    throw new HarnessError('could not reserve four free ports');
  const secret = (): string => randomBytes(18).toString('base64url');
  const password = secret();
  const users: TokenUsers = { pusher: secret(), reader: secret(), refreshToken: secret() };
  const authDir = join(ctx.dir, 'auth');
  mkdirSync(authDir, { recursive: true, mode: 0o700 });
  const htpasswd = join(authDir, 'htpasswd');
  writeFileSync(htpasswd, await htpasswdLine(AUTH_USER, password), { mode: 0o600 });
  const tokenDir = join(ctx.dir, 'token');
  const service = await startTokenService(join(tokenDir, 'service'), tokenServicePort, users);
  const instances: [string, Instance][] = [
    [join(ctx.dir, 'open'), { name: 'registry-open', port: openPort, readyStatus: 200 }],
    [authDir, { name: 'registry-auth', port: authPort, readyStatus: 401, htpasswd }],
    [
      tokenDir,
      {
        name: 'registry-token',
        port: tokenPort,
        readyStatus: 401,
        token: {
          realm: `http://127.0.0.1:${tokenServicePort}/token`,
          rootcertbundle: service.cert,
        },
      },
    ],
  ];
  const daemons = await startAll(instances, [service.daemon]);
  return {
    daemons,
    env: {
      DEPLOYTAG_CREDENTIAL_HELPERS: await credentialHelperDir(ctx.dir),
      DEPLOYTAG_REGISTRY: `127.0.0.1:${openPort}`,
      DEPLOYTAG_AUTH_REGISTRY: `127.0.0.1:${authPort}`,
      DEPLOYTAG_AUTH_REGISTRY_USER: AUTH_USER,
      DEPLOYTAG_AUTH_REGISTRY_PASSWORD: password,
      DEPLOYTAG_TOKEN_REGISTRY: `127.0.0.1:${tokenPort}`,
      DEPLOYTAG_TOKEN_REGISTRY_USER: AUTH_USER,
      DEPLOYTAG_TOKEN_REGISTRY_PASSWORD: users.pusher,
      DEPLOYTAG_TOKEN_REGISTRY_REFRESH_TOKEN: users.refreshToken,
      DEPLOYTAG_TOKEN_REGISTRY_READER: READER_USER,
      DEPLOYTAG_TOKEN_REGISTRY_READER_PASSWORD: users.reader,
    },
  };
}

/**
 * The registry component: an open distribution registry, one with htpasswd basic auth, and one
 * with bearer-token auth behind the harness token service (random passwords per start), plain
 * HTTP on free loopback ports, deletion enabled. Exports `DEPLOYTAG_REGISTRY`,
 * `DEPLOYTAG_AUTH_REGISTRY` with `DEPLOYTAG_AUTH_REGISTRY_USER` and
 * `DEPLOYTAG_AUTH_REGISTRY_PASSWORD`, and `DEPLOYTAG_TOKEN_REGISTRY` with
 * `DEPLOYTAG_TOKEN_REGISTRY_USER`/`_PASSWORD` (pull and push), `_REFRESH_TOKEN` (that user's
 * identity token) and `_READER`/`_READER_PASSWORD` (pull only); and
 * `DEPLOYTAG_CREDENTIAL_HELPERS`, a folder with Docker's `docker-credential-pass` helper.
 */
export const registry: Component = {
  name: 'registry',
  description:
    'CNCF distribution registries on loopback: open, htpasswd basic auth, and bearer-token auth',
  async provision() {
    await ensureApt(PACKAGES);
    await ensureGoTool(passHelperTool);
  },
  start,
};
