/**
 * The container engine: podman's Docker-compatible Engine API on a private unix socket, rootful,
 * with its own storage, configuration and base image, so tests never see or touch the machine's
 * own podman setup or images.
 */
import type { Component, StartContext, StartedComponent } from '../component.js';
import { startDaemon, stopDaemons, type DaemonRecord } from '../daemon.js';
import { HarnessError } from '../exec.js';
import { freePortsBelowEphemeral } from '../ports.js';
import { ensureApt } from '../provision.js';
import { engineRequest } from './engine/api.js';
import { BASE_IMAGE, ensureBaseImageTar, importBaseImage } from './engine/base-image.js';
import {
  engineEnv,
  engineLayout,
  ensureMountPoints,
  serviceCommand,
  writeEngineConfig,
} from './engine/config.js';
import { sweepEngineLeftovers } from './engine/cleanup.js';

/**
 * Debian packages the engine needs: runc named explicitly (podman's `crun | runc` would pick crun),
 * util-linux and mount for the service's private mount namespace (`unshare`, `mount --bind`).
 */
const PACKAGES = ['podman', 'runc', 'conmon', 'busybox-static', 'util-linux', 'mount'] as const;

/** Longest path a unix socket address can hold on Linux (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/** Resolves true when the engine answers `GET /_ping` with `OK`. */
async function pingOk(socket: string): Promise<boolean> {
  const res = await engineRequest(socket, '/_ping', { timeoutMs: 2_000 });
  return res.status === 200 && res.body.toString('utf8').trim() === 'OK';
}

/**
 * How many loopback ports the engine trusts as plain-HTTP registries for tests' fault proxies
 * (`DEPLOYTAG_FAULT_PROXY_PORTS`): a test listens on one of them with a proxy in front of a real
 * registry, and podman pushes through it.
 */
const FAULT_PROXY_PORTS = 6;

/** The `host:port` registries of the stack, which podman must reach over plain HTTP. */
function insecureRegistries(env: Record<string, string>): string[] {
  return ['DEPLOYTAG_REGISTRY', 'DEPLOYTAG_AUTH_REGISTRY', 'DEPLOYTAG_TOKEN_REGISTRY'].flatMap(
    (k) => {
      const v = env[k];
      return v === undefined || v === '' ? [] : [v];
    },
  );
}

async function start(ctx: StartContext): Promise<StartedComponent> {
  const layout = engineLayout(ctx.dir);
  if (Buffer.byteLength(layout.socket) > MAX_SOCKET_PATH) {
    throw new HarnessError(
      `the engine socket path ${layout.socket} is longer than ${MAX_SOCKET_PATH} bytes: set DEPLOYTAG_STACK_TMP to a shorter folder`,
    );
  }
  const baseTar = await ensureBaseImageTar();
  // Below the ephemeral range, so that no outgoing connection holds one when a test listens on it.
  const faultPorts = await freePortsBelowEphemeral(FAULT_PROXY_PORTS);
  writeEngineConfig(layout, [
    ...insecureRegistries(ctx.env),
    ...faultPorts.map((p) => `127.0.0.1:${p}`),
  ]);
  ensureMountPoints();
  const daemons: DaemonRecord[] = [];
  try {
    daemons.push(
      await startDaemon({
        name: 'podman',
        ...serviceCommand(layout),
        env: engineEnv(layout),
        cwd: ctx.dir,
        logFile: layout.log,
        ready: () => pingOk(layout.socket),
        readyTimeoutMs: 60_000,
      }),
    );
    await importBaseImage(layout.socket, baseTar);
  } catch (err) {
    await stopDaemons(daemons);
    await sweepEngineLeftovers(ctx.dir);
    throw err;
  }
  return {
    daemons,
    env: {
      DOCKER_HOST: `unix://${layout.socket}`,
      DEPLOYTAG_BASE_IMAGE: BASE_IMAGE,
      DEPLOYTAG_FAULT_PROXY_PORTS: faultPorts.join(','),
    },
  };
}

/**
 * The container engine component: `podman system service` (rootful, vfs, runc, cgroups off, host
 * network, file locks and events, in a private mount namespace) serving the Docker Engine API on
 * `<dir>/podman.sock`, with the offline busybox base image imported. Exports `DOCKER_HOST` and
 * `DEPLOYTAG_BASE_IMAGE`; trusts the stack's registries (`DEPLOYTAG_REGISTRY`,
 * `DEPLOYTAG_AUTH_REGISTRY`) over plain HTTP, and as well `127.0.0.1` at each port listed in
 * `DEPLOYTAG_FAULT_PROXY_PORTS` (reserved, left free for tests' fault proxies; see
 * `startFaultProxy`).
 */
export const engine: Component = {
  name: 'engine',
  description:
    'podman Docker-compatible Engine API on a unix socket (rootful, vfs, runc), busybox base image',
  dependsOn: ['registry'],
  async provision() {
    await ensureApt(PACKAGES);
    await ensureBaseImageTar();
  },
  start,
  async cleanup(state) {
    await sweepEngineLeftovers(state.dir);
  },
};
