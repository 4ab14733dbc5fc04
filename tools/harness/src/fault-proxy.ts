/**
 * A fault-injecting HTTP(S) proxy for integration tests. It sits in front of one real server (a
 * registry, the Kubernetes API server) and forwards every request to it unchanged (the `Host`
 * header included, so a registry's upload URLs keep pointing at the proxy), except those a
 * {@link FaultSchedule} picks: those get a status (500, 503, 409…), a delay, a reset connection, no
 * answer at all, or a stream cut short. Tests change the schedule while the proxy runs and read
 * the log of what it did.
 *
 * It serves plain HTTP, or HTTPS with a given certificate (for the API server: its own, which the
 * kubeconfig already trusts), and reaches the upstream over HTTP or HTTPS. Connection upgrades
 * (port-forward, exec) are passed through at the socket level, with the same faults.
 */
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import {
  Agent as HttpAgent,
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import {
  Agent as HttpsAgent,
  createServer as createHttpsServer,
  request as httpsRequest,
} from 'node:https';
import { connect as netConnect, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { dirname, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { HarnessError } from './exec.js';
import { FaultSchedule, type Fault, type FaultRule } from './fault-schedule.js';
import { requireEnv } from './test-env.js';

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** The real server, `host:port`. */
  target: string;
  /**
   * Ports to listen on, tried in order until one is free (for example the ports the engine
   * trusts as registries, `DEPLOYTAG_FAULT_PROXY_PORTS`); any free port when absent.
   */
  ports?: readonly number[];
  /** Serve HTTPS with this certificate chain and key (PEM) instead of plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Reach the target over HTTPS, trusting these certificates (PEM). */
  upstreamTls?: { ca: string | Buffer };
  /** Rules in force from the start. */
  rules?: readonly FaultRule[];
}

/** One request the proxy saw, and what it did with it. */
export interface ProxiedRequest {
  method: string;
  url: string;
  /** The fault it got, if any. */
  fault?: Fault['kind'];
  /** The status the client got (injected or the target's), once known. */
  status?: number;
  /** Why forwarding failed, when it did. */
  error?: string;
  /** True for a connection upgrade (port-forward, exec, watch over WebSocket). */
  upgrade?: boolean;
}

/** A running fault proxy. */
export interface FaultProxy {
  /** `127.0.0.1`. */
  readonly host: string;
  /** The port it listens on. */
  readonly port: number;
  /** `127.0.0.1:<port>`: use it where the target's address would go. */
  readonly hostPort: string;
  /** `http://…` or `https://…` of the proxy. */
  readonly url: string;
  /** Adds rules to the schedule (see {@link FaultSchedule}). */
  add(...rules: readonly FaultRule[]): void;
  /** Drops every rule: from now on everything is forwarded. Hung requests stay hung. */
  clear(): void;
  /** Every request so far, oldest first. */
  readonly requests: readonly ProxiedRequest[];
  /** The requests that got a fault. */
  faulted(): ProxiedRequest[];
  /** Stops listening and closes every connection (hung ones included). */
  close(): Promise<void>;
}

/** Headers that belong to one connection and are never passed on. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  }
  return out;
}

/** Splits `host:port` (`[::1]:5000` too). */
function splitHostPort(hostPort: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(hostPort);
  if (m?.[1] === undefined || m[2] === undefined)
    throw new HarnessError(`fault proxy target ${hostPort} is not host:port`);
  return { host: m[1], port: Number(m[2]) };
}

/** Closes a connection abruptly: a TCP reset when possible, else an unclean close. */
function reset(socket: Duplex): void {
  if (socket instanceof Socket && !('encrypted' in socket)) {
    try {
      socket.resetAndDestroy();
      return;
    } catch {
      // not a TCP handle: fall through
    }
  }
  socket.destroy();
}

async function listenOn(server: Server, ports: readonly number[] | undefined): Promise<number> {
  const candidates = ports === undefined || ports.length === 0 ? [0] : ports;
  const refused: string[] = [];
  for (const port of candidates) {
    try {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
      const addr = server.address();
      if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
      return addr.port;
    } catch (err) {
      refused.push(`${port}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new HarnessError(`the fault proxy could not listen on any port (${refused.join('; ')})`);
}

/**
 * Starts a fault proxy in this process, in front of `options.target`.
 *
 * @example
 * ```ts
 * const proxy = await startFaultProxy({ target: requireEnv('DEPLOYTAG_REGISTRY'), ports: trustedFaultProxyPorts() });
 * proxy.add({ method: 'PUT', path: /\/manifests\//, fault: { kind: 'status', status: 500 }, times: 2 });
 * // push to `${proxy.hostPort}/repo:tag` …
 * await proxy.close();
 * ```
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = splitHostPort(options.target);
  const schedule = new FaultSchedule();
  if (options.rules !== undefined) schedule.add(...options.rules);
  const log: ProxiedRequest[] = [];
  const sockets = new Set<Duplex>();
  const timers = new Set<NodeJS.Timeout>();
  const upstreamTls = options.upstreamTls;
  const agent = upstreamTls
    ? new HttpsAgent({ keepAlive: true, ca: upstreamTls.ca })
    : new HttpAgent({ keepAlive: true });

  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  };

  const forward = (req: IncomingMessage, res: ServerResponse, entry: ProxiedRequest): void => {
    const common = {
      host: target.host,
      port: target.port,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: endToEnd(req.headers),
    };
    const up = upstreamTls
      ? httpsRequest({ ...common, agent: agent as HttpsAgent, ca: upstreamTls.ca })
      : httpRequest({ ...common, agent });
    up.on('response', (ures) => {
      entry.status = ures.statusCode ?? 502;
      res.writeHead(entry.status, endToEnd(ures.headers));
      ures.pipe(res);
      ures.on('error', () => res.destroy());
    });
    up.on('error', (err) => {
      entry.error = err.message;
      if (!res.headersSent && !res.destroyed) {
        entry.status = 502;
        res.writeHead(502, { 'content-type': 'text/plain' }).end(`fault proxy: ${err.message}\n`);
      } else res.destroy();
    });
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const entry: ProxiedRequest = { method: req.method ?? 'GET', url: req.url ?? '/' };
    log.push(entry);
    const fault = schedule.take(entry);
    if (fault !== undefined) entry.fault = fault.kind;
    switch (fault?.kind) {
      case undefined:
        forward(req, res, entry);
        return;
      case 'status': {
        entry.status = fault.status;
        const body = fault.body ?? `injected fault: HTTP ${fault.status}\n`;
        req.resume();
        req.once('end', () => {
          res
            .writeHead(fault.status, { 'content-type': 'text/plain', ...fault.headers })
            .end(req.method === 'HEAD' ? undefined : body);
        });
        return;
      }
      case 'reset':
        reset(req.socket);
        return;
      case 'hang':
        return;
      case 'delay': {
        const t = later(fault.ms, () => {
          if (!res.destroyed) forward(req, res, entry);
        });
        res.once('close', () => {
          clearTimeout(t);
          timers.delete(t);
        });
        return;
      }
      case 'cut': {
        later(fault.afterMs, () => {
          req.socket.destroy();
        });
        forward(req, res, entry);
        return;
      }
    }
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const entry: ProxiedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      upgrade: true,
    };
    log.push(entry);
    const fault = schedule.take(entry);
    if (fault !== undefined) entry.fault = fault.kind;
    const pass = (): void => {
      const up = upstreamTls
        ? tlsConnect({ host: target.host, port: target.port, ca: upstreamTls.ca })
        : netConnect({ host: target.host, port: target.port });
      sockets.add(up);
      up.once('close', () => sockets.delete(up));
      const ready = upstreamTls ? 'secureConnect' : 'connect';
      up.once(ready, () => {
        const lines = [`${entry.method} ${entry.url} HTTP/1.1`];
        for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
          lines.push(`${req.rawHeaders[i] ?? ''}: ${req.rawHeaders[i + 1] ?? ''}`);
        up.write(`${lines.join('\r\n')}\r\n\r\n`);
        if (head.length > 0) up.write(head);
        up.pipe(socket);
        socket.pipe(up);
      });
      up.on('error', (err: Error) => {
        entry.error = err.message;
        socket.destroy();
      });
      socket.on('error', () => up.destroy());
      socket.once('close', () => up.destroy());
    };
    switch (fault?.kind) {
      case undefined:
        pass();
        return;
      case 'status':
        entry.status = fault.status;
        socket.end(
          `HTTP/1.1 ${fault.status} Injected\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${fault.body ?? `injected fault: HTTP ${fault.status}\n`}`,
        );
        return;
      case 'reset':
        reset(socket);
        return;
      case 'hang':
        return;
      case 'delay':
        later(fault.ms, () => {
          if (!socket.destroyed) pass();
        });
        return;
      case 'cut':
        later(fault.afterMs, () => socket.destroy());
        pass();
        return;
    }
  };

  const server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest)
    : createHttpServer(onRequest);
  server.on('upgrade', onUpgrade);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  // A client that goes away mid-request is expected here: never let it crash the test process.
  server.on('clientError', (_err, socket) => socket.destroy());
  const port = await listenOn(server, options.ports);
  const host = '127.0.0.1';
  let closed: Promise<void> | undefined;
  return {
    host,
    port,
    hostPort: `${host}:${port}`,
    url: `${options.tls ? 'https' : 'http'}://${host}:${port}`,
    add: (...rules) => schedule.add(...rules),
    clear: () => schedule.clear(),
    get requests() {
      return log;
    },
    faulted: () => log.filter((r) => r.fault !== undefined),
    close() {
      closed ??= (async () => {
        schedule.clear();
        for (const t of timers) clearTimeout(t);
        timers.clear();
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        agent.destroy();
        await done;
      })();
      return closed;
    },
  };
}

/**
 * The ports the engine trusts as plain-HTTP registries for fault proxies
 * (`DEPLOYTAG_FAULT_PROXY_PORTS`, exported by the engine component): pass them as
 * {@link FaultProxyOptions.ports} so that podman can push through the proxy.
 */
export function trustedFaultProxyPorts(): number[] {
  return requireEnv('DEPLOYTAG_FAULT_PROXY_PORTS')
    .split(',')
    .map((p) => Number(p.trim()))
    .filter((p) => Number.isInteger(p) && p > 0);
}

/** A fault proxy in front of the API server, and a kubeconfig that goes through it. */
export interface KubeApiFaultProxy {
  proxy: FaultProxy;
  /** A kubeconfig file: the stack's, with the server replaced by the proxy. */
  kubeconfig: string;
}

interface KubeconfigShape {
  clusters?: { name?: string; cluster?: { server?: string } }[];
}

/**
 * Starts a fault proxy in front of the stack's kube-apiserver. The proxy serves HTTPS with the
 * API server's own certificate (`pki/apiserver.{crt,key}` next to the stack's kubeconfig), so a
 * client that trusts the stack's kubeconfig trusts the proxy too; requests (bearer token
 * included) are forwarded over HTTPS to the real server.
 *
 * @param options - the stack's kubeconfig (`KUBECONFIG`), a private folder for the new
 *   kubeconfig, and rules in force from the start
 */
export async function startKubeApiFaultProxy(options: {
  kubeconfig: string;
  dir: string;
  rules?: readonly FaultRule[];
}): Promise<KubeApiFaultProxy> {
  const text = readFileSync(options.kubeconfig, 'utf8');
  const config = parseYaml(text) as KubeconfigShape;
  const server = config.clusters?.[0]?.cluster?.server;
  if (server === undefined) throw new HarnessError(`${options.kubeconfig} names no cluster server`);
  const url = new URL(server);
  const pki = join(dirname(options.kubeconfig), 'pki');
  const cert = readFileSync(join(pki, 'apiserver.crt'));
  const proxy = await startFaultProxy({
    target: url.host,
    tls: { cert, key: readFileSync(join(pki, 'apiserver.key')) },
    upstreamTls: { ca: cert },
    ...(options.rules === undefined ? {} : { rules: options.rules }),
  });
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const kubeconfig = join(options.dir, `kubeconfig-fault-proxy-${proxy.port}`);
  writeFileSync(kubeconfig, text.replace(server, proxy.url), { mode: 0o600 });
  return { proxy, kubeconfig };
}
