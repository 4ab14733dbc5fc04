/**
 * Clean-up after the podman service: whatever outlived the SIGTERM of its process group. conmon
 * daemonizes into its own session, runc puts each container (including a build's RUN step) into
 * its own session with its state in the component's runc folder; a killed service can leave all
 * of these behind. Everything is found by its tie to the component's folder, so other
 * podman instances on the machine are never touched.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, which } from '../../exec.js';

/** True when `path` is `dir` itself or inside it. */
function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

function readProc(pid: string, file: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1').split('\0');
  } catch {
    return [];
  }
}

/**
 * Pids of live processes tied to `dir`: an argument naming a path in it (conmon, podman's
 * `container cleanup` exit commands, the service itself) or, for children that keep the service's
 * environment (buildah-oci-runtime, runc), a `CONTAINERS_CONF` inside it.
 */
export function processesTiedTo(dir: string, configVar = 'CONTAINERS_CONF'): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const args = readProc(entry, 'cmdline');
    const hit =
      args.some((a) => a.includes(`${dir}/`) || a.endsWith(dir)) ||
      readProc(entry, 'environ').some(
        (e) => e.startsWith(`${configVar}=`) && within(e.slice(configVar.length + 1), dir),
      );
    if (hit) found.push(pid);
  }
  return found;
}

interface RuncContainer {
  id: string;
  bundle?: string;
}

/**
 * Containers in the runc state folder of the service (bind-mounted over /run/runc inside its
 * mount namespace, see `serviceCommand`), plus any in the machine-wide /run/runc whose bundle is
 * inside `dir`.
 */
async function runcContainers(dir: string): Promise<{ root: string; id: string }[]> {
  if (!which('runc')) return [];
  const found: { root: string; id: string }[] = [];
  for (const root of [join(dir, 'runc'), '/run/runc']) {
    const res = await run('runc', ['--root', root, 'list', '--format', 'json'], {
      allowFail: true,
    });
    if (res.code !== 0) continue;
    let list: unknown;
    try {
      list = JSON.parse(res.stdout);
    } catch {
      continue;
    }
    if (!Array.isArray(list)) continue;
    for (const c of list as RuncContainer[]) {
      const ours = root !== '/run/runc' || (c.bundle !== undefined && within(c.bundle, dir));
      if (ours) found.push({ root, id: c.id });
    }
  }
  return found;
}

/** Mount points (as this process sees them) inside `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const points = text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    // mountinfo escapes space, tab, newline and backslash as octal.
    .map((p) =>
      p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))),
    )
    .filter((p) => within(p, dir));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** What {@link sweepEngineLeftovers} found and removed. */
export interface SweepReport {
  runcContainers: string[];
  killed: number[];
  unmounted: string[];
}

/**
 * Removes runc containers, processes and mounts tied to `dir` (see the module comment). Safe to
 * call when nothing is left; never signals a process unrelated to `dir`.
 */
export async function sweepEngineLeftovers(dir: string): Promise<SweepReport> {
  const report: SweepReport = { runcContainers: [], killed: [], unmounted: [] };
  for (const c of await runcContainers(dir)) {
    await run('runc', ['--root', c.root, 'delete', '--force', c.id], { allowFail: true });
    report.runcContainers.push(c.id);
  }
  for (let round = 0; round < 3; round++) {
    const pids = processesTiedTo(dir);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        report.killed.push(pid);
      } catch {
        // already gone
      }
    }
    const deadline = Date.now() + 3_000;
    while (processesTiedTo(dir).length > 0 && Date.now() < deadline) await sleep(50);
  }
  for (const point of mountsUnder(dir)) {
    const res = await run('umount', [point], { allowFail: true });
    if (res.code !== 0) await run('umount', ['-l', point], { allowFail: true });
    report.unmounted.push(point);
  }
  return report;
}
