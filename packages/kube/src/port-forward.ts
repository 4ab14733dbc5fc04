import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { PassThrough, Writable } from 'node:stream';
import { PortForward } from '@kubernetes/client-node';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import type { Logger } from '@deploytag/core';
import { DeploytagError, ErrorCodes, UsageError, runCommand, silentLogger } from '@deploytag/core';
import type { KubeClients } from './clients.js';
import { KubeError, KubeErrorCodes, apiError } from './errors.js';

/** What to forward to: `deployment/NAME` (a bare NAME means a Deployment, as `DATABASE_DEPLOYMENT`), `service/NAME` or `pod/NAME`. */
export interface ForwardTarget {
  /** The kind of object. */
  kind: 'deployment' | 'service' | 'pod';
  /** Its name. */
  name: string;
}

/**
 * Parses `deployment/db`, `svc/db`, `pod/db-0` or a bare Deployment name (pure).
 *
 * @param text - the target
 * @throws UsageError for an unknown kind or an empty name
 */
export function parseForwardTarget(text: string): ForwardTarget {
  const [first, second, ...rest] = text.split('/');
  if (second === undefined) {
    if (!first)
      throw new UsageError(
        'give the Deployment, Service or Pod to forward to, such as deployment/postgres',
      );
    return { kind: 'deployment', name: first };
  }
  if (rest.length > 0 || second === '')
    throw new UsageError(`cannot read the forward target ${JSON.stringify(text)}; use KIND/NAME`);
  const kinds: Record<string, ForwardTarget['kind']> = {
    deployment: 'deployment',
    deploy: 'deployment',
    deployments: 'deployment',
    service: 'service',
    svc: 'service',
    services: 'service',
    pod: 'pod',
    po: 'pod',
    pods: 'pod',
  };
  const kind = kinds[first!.toLowerCase()];
  if (kind === undefined)
    throw new UsageError(
      `cannot forward to a ${first}; use deployment/NAME, service/NAME or pod/NAME`,
    );
  return { kind, name: second };
}

function isReadyPod(pod: V1Pod): boolean {
  return (
    pod.status?.phase === 'Running' &&
    pod.metadata?.deletionTimestamp === undefined &&
    (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

function selectorText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Maps a Service port to the pod's port (a named targetPort is looked up in the pod). */
function servicePortToPod(svc: V1Service, pod: V1Pod, port: number): number {
  const entry =
    svc.spec?.ports?.find((p) => p.port === port) ??
    (svc.spec?.ports?.length === 1 ? svc.spec.ports[0] : undefined);
  const target = entry?.targetPort;
  if (target === undefined) return entry?.port ?? port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod.spec?.containers ?? []) {
    const found = c.ports?.find((p) => p.name === target);
    if (found) return found.containerPort;
  }
  throw new KubeError(
    KubeErrorCodes.PORT_FORWARD,
    `the pod ${pod.metadata?.name ?? '?'} has no port named ${target}`,
  );
}

/**
 * Finds the ready pod behind a target and the pod port for a remote port.
 *
 * @param clients - the API clients
 * @param namespace - the namespace
 * @param target - deployment, service or pod
 * @param port - the port on the target (a Service's port is mapped to its targetPort)
 */
export async function resolveForwardTarget(
  clients: KubeClients,
  namespace: string,
  target: ForwardTarget,
  port: number,
): Promise<{ pod: string; port: number }> {
  const what = `${target.kind}/${target.name} in ${namespace}`;
  try {
    if (target.kind === 'pod') return { pod: target.name, port };
    let labels: Record<string, string> | undefined;
    let svc: V1Service | undefined;
    if (target.kind === 'deployment') {
      const d = await clients.apps.readNamespacedDeployment({ name: target.name, namespace });
      labels = d.spec?.selector.matchLabels;
    } else {
      svc = await clients.core.readNamespacedService({ name: target.name, namespace });
      labels = svc.spec?.selector;
    }
    if (labels === undefined || Object.keys(labels).length === 0) {
      throw new KubeError(
        KubeErrorCodes.PORT_FORWARD,
        `${what} has no label selector; forward to a pod instead`,
      );
    }
    const pods = await clients.core.listNamespacedPod({
      namespace,
      labelSelector: selectorText(labels),
    });
    const pod = pods.items.find(isReadyPod);
    if (pod?.metadata?.name === undefined) {
      throw new KubeError(
        KubeErrorCodes.PORT_FORWARD,
        `${what} has no ready pod to forward to; check that it is running`,
      );
    }
    return { pod: pod.metadata.name, port: svc ? servicePortToPod(svc, pod, port) : port };
  } catch (error) {
    if (error instanceof KubeError) throw error;
    throw apiError(`finding ${what}`, error);
  }
}

/** Options of {@link startPortForward}. */
export interface PortForwardOptions {
  /** The namespace. */
  namespace: string;
  /** What to forward to. */
  target: ForwardTarget;
  /** The port on the target (`DATABASE_PORT`). */
  remotePort: number;
  /** The local port (`DATABASE_FORWARD_PORT`); a free one when 0 or absent. */
  localPort?: number;
  /** Progress, and a warning for each connection the cluster refuses. */
  logger?: Logger;
}

/** A running port-forward. */
export interface RunningPortForward {
  /** The local port (on 127.0.0.1). */
  localPort: number;
  /** The pod forwarded to. */
  pod: string;
  /** Stops listening and closes every tunnel and connection. */
  close(): Promise<void>;
}

/** A readable reason from whatever the WebSocket layer rejected with (an Error, an ErrorEvent, …). */
function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) {
    const {
      message,
      error: inner,
      type,
    } = error as { message?: unknown; error?: unknown; type?: unknown };
    if (typeof message === 'string' && message !== '') return message;
    if (inner instanceof Error) return inner.message;
    if (typeof type === 'string') return `the connection failed (${type})`;
  }
  return String(error);
}

/** The part of the WebSocket that `PortForward` resolves with which a tunnel needs. */
interface TunnelSocket {
  close(): void;
  once(event: 'close', listener: () => void): unknown;
}

/** Callbacks of one tunnel. */
interface TunnelEvents {
  /** The cluster reported an error for this connection (the kubelet could not reach the port). */
  onError(message: string): void;
  /** The tunnel closed (either side). */
  onClose(): void;
}

/**
 * Opens one tunnel through the API server's `portforward` subresource and resolves once it is
 * open. Bytes from the pod go to `output`, bytes of `input` go to the pod; an error the kubelet
 * sends on the port's error channel and the end of the tunnel are reported through `events`.
 */
async function openTunnel(
  clients: KubeClients,
  namespace: string,
  pod: string,
  port: number,
  output: (NodeJS.WritableStream & PassThrough) | Socket,
  input: NodeJS.ReadableStream & (PassThrough | Socket),
  events: TunnelEvents,
): Promise<{ close(): void }> {
  let failed = false;
  const errors = new Writable({
    write(chunk: Buffer, _encoding, done) {
      // The kubelet writes its reason once, then gives up on the connection.
      const text = chunk.toString('utf8').trim();
      if (!failed && text !== '') {
        failed = true;
        events.onError(text);
      }
      done();
    },
  });
  const forward = new PortForward(clients.kc, true);
  const ws = (await forward.portForward(
    namespace,
    pod,
    [port],
    output,
    errors,
    input,
    0,
  )) as unknown as TunnelSocket;
  ws.once('close', () => {
    events.onClose();
  });
  return {
    close: () => {
      ws.close();
    },
  };
}

/**
 * Forwards a local port to a pod through the Kubernetes API (`pods/portforward`, as kubectl
 * does), after checking that one tunnel can be opened. Each local connection gets its own tunnel;
 * when the cluster cannot reach the pod's port for a connection, the connection is closed and the
 * kubelet's reason is logged as a warning; when the pod side closes, the local connection ends.
 *
 * @param clients - the API clients
 * @param options - target, ports
 * @throws KubeError `E_KUBE_PORT_FORWARD` when the tunnel cannot be opened or the local port is taken
 */
export async function startPortForward(
  clients: KubeClients,
  options: PortForwardOptions,
): Promise<RunningPortForward> {
  const logger = options.logger ?? silentLogger;
  const { pod, port } = await resolveForwardTarget(
    clients,
    options.namespace,
    options.target,
    options.remotePort,
  );
  try {
    const probe = await openTunnel(
      clients,
      options.namespace,
      pod,
      port,
      new PassThrough(),
      new PassThrough(),
      { onError: () => undefined, onClose: () => undefined },
    );
    probe.close();
  } catch (error) {
    throw new KubeError(
      KubeErrorCodes.PORT_FORWARD,
      `cannot port-forward to pod ${pod} port ${port} in ${options.namespace}: ${describe(error)}; check that the pod runs on a node whose kubelet the API server can reach, and the pods/portforward permission`,
      { cause: error },
    );
  }
  const tunnels = new Set<{ close(): void }>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let tunnel: { close(): void } | undefined;
    socket.on('close', () => {
      sockets.delete(socket);
      if (tunnel !== undefined) {
        tunnels.delete(tunnel);
        tunnel.close();
      }
    });
    openTunnel(clients, options.namespace, pod, port, socket, socket, {
      onError: (message) => {
        logger.warn(`port-forward to pod ${pod} port ${port} failed: ${message}`);
        socket.destroy();
      },
      // The pod's side closed (or the API server dropped the tunnel): end the local connection.
      onClose: () => socket.end(),
    }).then(
      (opened) => {
        if (socket.destroyed) {
          opened.close();
          return;
        }
        tunnel = opened;
        tunnels.add(opened);
      },
      (error: unknown) => {
        logger.warn(`port-forward to pod ${pod} port ${port} failed: ${describe(error)}`);
        socket.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new KubeError(
          KubeErrorCodes.PORT_FORWARD,
          `cannot listen on 127.0.0.1:${options.localPort ?? 0}: ${error.code ?? error.message}; choose another DATABASE_FORWARD_PORT`,
          { cause: error },
        ),
      );
    });
    server.listen(options.localPort ?? 0, '127.0.0.1', resolve);
  });
  const localPort = (server.address() as AddressInfo).port;
  logger.info(`forwarding 127.0.0.1:${localPort} to pod ${pod} port ${port}`);
  return {
    localPort,
    pod,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of tunnels) t.close();
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** Options of {@link runWithPortForward}. */
export interface RunWithPortForwardOptions extends PortForwardOptions {
  /**
   * The command's environment (default: this process's); `DEPLOYTAG_FORWARD_PORT` is added.
   */
  env?: NodeJS.ProcessEnv;
  /**
   * `inherit` (the default): the command reads this process's stdin and writes to its stdout and
   * stderr, as the original script ran it, so an interactive `psql` works and `pg_dump > file`
   * gets every byte. `capture`: its output is collected (the tail of 16 MiB at most) and returned.
   */
  stdio?: 'inherit' | 'capture';
}

/** What {@link runWithPortForward} returns. */
export interface PortForwardCommandResult {
  /** The command's exit code; 128 + the signal number when a signal killed it. */
  exitCode: number;
  /** Its stdout with `stdio: 'capture'`, else empty. */
  stdout: string;
  /** Its stderr with `stdio: 'capture'`, else empty. */
  stderr: string;
  /** The local port the command was given. */
  localPort: number;
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number =
    signal === null ? undefined : (osConstants.signals as Partial<Record<string, number>>)[signal];
  return 128 + (number ?? osConstants.signals.SIGTERM);
}

/**
 * Runs a program with this process's stdin, stdout and stderr, as a shell runs a foreground
 * command: Ctrl-C in a terminal reaches the program directly (this process ignores it meanwhile),
 * SIGTERM and SIGHUP sent to this process are passed on to it.
 */
function runInherited(
  program: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const child = spawn(program, [...args], { stdio: 'inherit', env });
    const ignore = (): void => undefined;
    const pass = (signal: NodeJS.Signals): void => {
      logger.warn(`received ${signal}; passing it on to ${program}`);
      child.kill(signal);
    };
    process.on('SIGINT', ignore);
    process.on('SIGTERM', pass);
    process.on('SIGHUP', pass);
    const done = (): void => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', pass);
      process.off('SIGHUP', pass);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      done();
      reject(
        new DeploytagError(
          error.code === 'ENOENT' || error.code === 'EACCES'
            ? ErrorCodes.COMMAND_NOT_FOUND
            : ErrorCodes.COMMAND_SPAWN,
          error.code === 'ENOENT'
            ? `${program} was not found; install it, or give the full path to its executable`
            : `cannot run ${program}: ${error.code ?? error.message}; check that it is an executable program`,
          { details: { command: program } },
        ),
      );
    });
    child.once('exit', (code, signal) => {
      done();
      logger.debug(
        `${program} exited with ${code === null ? `signal ${signal ?? '?'}` : `code ${code}`}`,
      );
      resolve(exitCodeOf(code, signal));
    });
  });
}

/**
 * The `db-connect` flow: forward a local port, run a command (which connects to
 * 127.0.0.1:localPort; `DEPLOYTAG_FORWARD_PORT` tells it the port), stop the forward, and return
 * the command's exit status.
 *
 * @param clients - the API clients
 * @param options - target, ports, the command's environment and stdio
 * @param command - the program and its arguments (run directly, not through a shell)
 * @returns the command's exit code, its output (with `stdio: 'capture'`) and the local port
 * @throws KubeError `E_KUBE_PORT_FORWARD` when the forward cannot start (the command does not run)
 */
export async function runWithPortForward(
  clients: KubeClients,
  options: RunWithPortForwardOptions,
  command: readonly string[],
): Promise<PortForwardCommandResult> {
  const [program, ...args] = command;
  if (program === undefined)
    throw new UsageError('give the command to run after --, such as: db-connect -- psql');
  const logger = options.logger ?? silentLogger;
  const forward = await startPortForward(clients, options);
  const env = {
    ...(options.env ?? process.env),
    DEPLOYTAG_FORWARD_PORT: String(forward.localPort),
  };
  try {
    if (options.stdio === 'capture') {
      const result = await runCommand(program, args, {
        allowFailure: true,
        inheritEnv: false,
        env,
        logger,
        // The output is returned: logging it as well would show it twice.
        outputLevels: { stdout: 'debug', stderr: 'debug' },
      });
      return {
        exitCode: exitCodeOf(result.code, result.signal),
        stdout: result.stdout,
        stderr: result.stderr,
        localPort: forward.localPort,
      };
    }
    const exitCode = await runInherited(program, args, env, logger);
    return { exitCode, stdout: '', stderr: '', localPort: forward.localPort };
  } finally {
    await forward.close();
  }
}
