import { readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';

/** Asks the kernel for a free TCP port on 127.0.0.1 (or checks that `port` is free and returns it). */
export async function freePort(port = 0): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('no port assigned'));
        return;
      }
      const { port } = addr;
      srv.close(() => resolve(port));
    });
  });
}

/** Reserves `n` distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** Resolves true when something accepts a TCP connection on host:port. */
export async function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return await new Promise((resolve) => {
    const sock = connect({ port, host });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** The first port of the kernel's ephemeral range (what it hands out for outgoing connections). */
function ephemeralStart(): number {
  try {
    const low = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    return Number.isInteger(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

/**
 * Picks `n` distinct ports that are free now and lie below the kernel's ephemeral range, so no
 * outgoing connection takes them meanwhile: for ports reserved at start and listened on later
 * (such as the fault-proxy ports the engine trusts as registries).
 */
export async function freePortsBelowEphemeral(n: number): Promise<number[]> {
  const high = ephemeralStart() - 1;
  const low = Math.max(10_000, high - 20_000);
  const ports = new Set<number>();
  for (let tries = 0; ports.size < n && tries < n * 50; tries++) {
    const candidate = low + Math.floor(Math.random() * (high - low));
    if (ports.has(candidate)) continue;
    try {
      ports.add(await freePort(candidate));
    } catch {
      // taken: try another
    }
  }
  if (ports.size < n) throw new Error(`could not find ${n} free ports between ${low} and ${high}`);
  return [...ports];
}
