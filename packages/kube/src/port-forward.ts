import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { PortForward } from '@kubernetes/client-node';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import type { Logger } from '@deploytag/core';
import { UsageError, runCommand, silentLogger } from '@deploytag/core';
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
  /** Progress. */
  logger?: Logger;
}

/** A running port-forward. */
export interface RunningPortForward {
  /** The local port (on 127.0.0.1). */
  localPort: number;
  /** The pod forwarded to. */
  pod: string;
  /** Stops listening and closes every tunnel. */
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

/** Opens one tunnel through the API server's `portforward` subresource and resolves once it is open. */
async function openTunnel(
  clients: KubeClients,
  namespace: string,
  pod: string,
  port: number,
  output: (NodeJS.WritableStream & PassThrough) | Socket,
  input: NodeJS.ReadableStream & (PassThrough | Socket),
): Promise<{ close(): void }> {
  const forward = new PortForward(clients.kc, true);
  type Closable = { close(): void };
  const ws = (await forward.portForward(
    namespace,
    pod,
    [port],
    output,
    null,
    input,
    0,
  )) as unknown as Closable | (() => Closable | null);
  const socket = typeof ws === 'function' ? ws() : ws;
  return {
    close: () => {
      socket?.close();
    },
  };
}

/**
 * Forwards a local port to a pod through the Kubernetes API (`pods/portforward`, as kubectl
 * does), after checking that one tunnel can be opened. Each local connection gets its own tunnel.
 *
 * @param clients - the API clients
 * @param options - target, ports
 * @throws KubeError `E_KUBE_PORT_FORWARD` when the tunnel cannot be opened
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
    socket.on('close', () => sockets.delete(socket));
    openTunnel(clients, options.namespace, pod, port, socket, socket).then(
      (tunnel) => {
        tunnels.add(tunnel);
        socket.on('close', () => {
          tunnels.delete(tunnel);
          tunnel.close();
        });
      },
      (error: unknown) => {
        logger.warn(
          `port-forward connection failed: ${error instanceof Error ? error.message : String(error)}`,
        );
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
        server.close(() => resolve());
      }),
  };
}

/**
 * The `db-connect` flow: forward a local port, run a command (which connects to
 * 127.0.0.1:localPort; `DEPLOYTAG_FORWARD_PORT` tells it the port), stop the forward, and return
 * the command's exit status.
 *
 * @param clients - the API clients
 * @param options - target and ports
 * @param command - the program and its arguments
 * @returns the command's exit code (143 when it was killed) and its output
 */
export async function runWithPortForward(
  clients: KubeClients,
  options: PortForwardOptions,
  command: readonly string[],
): Promise<{ exitCode: number; stdout: string; stderr: string; localPort: number }> {
  const [program, ...args] = command;
  if (program === undefined)
    throw new UsageError('give the command to run after --, such as: db-connect -- psql');
  const forward = await startPortForward(clients, options);
  try {
    const result = await runCommand(program, args, {
      allowFailure: true,
      env: { DEPLOYTAG_FORWARD_PORT: String(forward.localPort) },
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
    return {
      exitCode: result.code ?? 128 + 15,
      stdout: result.stdout,
      stderr: result.stderr,
      localPort: forward.localPort,
    };
  } finally {
    await forward.close();
  }
}
