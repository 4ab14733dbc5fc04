import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { COMPONENT_NAMES, type ComponentName, type StartedComponent } from './component.js';
import { loadComponent } from './components/index.js';
import { isAlive, stopDaemons } from './daemon.js';
import { HarnessError } from './exec.js';
import { stackFile } from './paths.js';
import { say, withHeartbeat } from './report.js';

/** The running stack as recorded in the stack file. */
export interface StackState {
  version: 1;
  /** Temporary folder holding every component's state. */
  dir: string;
  startedAt: string;
  components: Partial<Record<ComponentName, StartedComponent & { dir: string }>>;
}

/** Reads the stack file, or undefined when no stack was started. */
export function readState(): StackState | undefined {
  const file = stackFile();
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

function writeState(state: StackState): void {
  const file = stackFile();
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** Names of the recorded components whose every process is still alive. */
export function healthyComponents(state: StackState | undefined): ComponentName[] {
  if (!state) return [];
  return COMPONENT_NAMES.filter((n) => {
    const c = state.components[n];
    return c !== undefined && c.daemons.every(isAlive);
  });
}

/** Parses a component list such as `kube,postgres` (empty or `all` means every component). */
export function parseComponents(list: string | undefined): ComponentName[] {
  if (!list || list === 'all') return [...COMPONENT_NAMES];
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!(COMPONENT_NAMES as readonly string[]).includes(n)) {
      throw new HarnessError(`unknown component "${n}": choose from ${COMPONENT_NAMES.join(', ')}`);
    }
  }
  return names as ComponentName[];
}

/** The named components plus everything they depend on, in COMPONENT_NAMES order. */
export async function withDependencies(names: readonly ComponentName[]): Promise<ComponentName[]> {
  const all = new Set<ComponentName>();
  const visit = async (n: ComponentName): Promise<void> => {
    if (all.has(n)) return;
    all.add(n);
    for (const d of (await loadComponent(n)).dependsOn ?? []) await visit(d);
  };
  for (const n of names) await visit(n);
  return COMPONENT_NAMES.filter((n) => all.has(n));
}

/** Orders components so that each comes after everything it depends on. */
export async function startOrder(names: readonly ComponentName[]): Promise<ComponentName[]> {
  const ordered: ComponentName[] = [];
  const visit = async (n: ComponentName): Promise<void> => {
    if (ordered.includes(n) || !names.includes(n)) return;
    for (const d of (await loadComponent(n)).dependsOn ?? []) await visit(d);
    ordered.push(n);
  };
  for (const n of names) await visit(n);
  return ordered;
}

/** Installs or builds everything the named components need (no processes are started). */
export async function provision(names: readonly ComponentName[] = COMPONENT_NAMES): Promise<void> {
  // Sequential: apt holds a lock, and the Go builds each want both cores.
  for (const n of names) await (await loadComponent(n)).provision();
}

/**
 * Starts the named components (after provisioning them) and records them in the stack file.
 * Components already running and healthy are kept. If any component fails to start, the ones this
 * call started are stopped again and the error is rethrown: nothing is left half up.
 */
export async function up(
  requested: readonly ComponentName[] = COMPONENT_NAMES,
): Promise<StackState> {
  const names = await withDependencies(requested);
  await provision(names);
  let state = readState();
  const healthy = new Set(healthyComponents(state));
  if (!state || !existsSync(state.dir)) {
    if (state) await down();
    state = {
      version: 1,
      dir: mkdtempSync(join(process.env['DEPLOYTAG_STACK_TMP'] ?? tmpdir(), 'deploytag-stack-')),
      startedAt: new Date().toISOString(),
      components: {},
    };
    healthy.clear();
  }
  const current = state;
  const loaded = new Map(
    await Promise.all(names.map(async (n) => [n, await loadComponent(n)] as const)),
  );
  // A component restarts when it is unhealthy or when anything it depends on restarts (it may have
  // moved to new ports, and the dependent was configured with the old ones).
  const restart = new Set(names.filter((n) => !healthy.has(n)));
  for (let grew = true; grew;) {
    grew = false;
    for (const n of names) {
      if (!restart.has(n) && (loaded.get(n)!.dependsOn ?? []).some((d) => restart.has(d))) {
        restart.add(n);
        grew = true;
      }
    }
  }
  const toStart = names.filter((n) => restart.has(n));
  for (const n of toStart) {
    await stopComponent(current, n);
  }
  // Start in waves: a component starts once every component it depends on serves.
  const results: PromiseSettledResult<void>[] = [];
  const pending = new Set(toStart);
  while (pending.size > 0) {
    const wave = [...pending].filter((n) =>
      (loaded.get(n)!.dependsOn ?? []).every((d) => !pending.has(d)),
    );
    if (wave.length === 0)
      throw new HarnessError(
        `components depend on each other in a cycle: ${[...pending].join(', ')}`,
      );
    const settled = await Promise.allSettled(
      wave.map(async (n) => {
        const dir = join(current.dir, n);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const component = loaded.get(n)!;
        const env = stackEnv(current);
        const started = await withHeartbeat(`starting ${n}`, () =>
          component.start({ dir, env }),
        ).catch((err: unknown) => {
          throw new HarnessError(`${n}: ${err instanceof Error ? err.message : String(err)}`, {
            cause: err,
          });
        });
        current.components[n] = { ...started, dir };
        writeState(current);
      }),
    );
    for (const n of wave) pending.delete(n);
    results.push(...settled);
    if (settled.some((r) => r.status === 'rejected')) {
      for (const n of pending)
        results.push({
          status: 'rejected',
          reason: new HarnessError(`${n}: not started, because an earlier component failed`),
        });
      pending.clear();
    }
  }
  const failures = results.flatMap((r) =>
    r.status === 'rejected' ? [{ error: r.reason as unknown }] : [],
  );
  if (failures.length > 0) {
    for (const n of toStart) await stopComponent(current, n);
    writeState(current);
    const msg = failures
      .map((f) => (f.error instanceof Error ? f.error.message : String(f.error)))
      .join('\n');
    throw new HarnessError(`the stack could not start:\n${msg}`);
  }
  writeState(current);
  return current;
}

async function stopComponent(state: StackState, n: ComponentName): Promise<void> {
  const c = state.components[n];
  if (!c) return;
  await stopDaemons(c.daemons);
  try {
    await (await loadComponent(n)).cleanup?.(c);
  } catch (err) {
    say(`cleanup of ${n} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  state.components = Object.fromEntries(Object.entries(state.components).filter(([k]) => k !== n));
}

/** Stops every recorded component, removes the state folder and the stack file. */
export async function down(): Promise<void> {
  const state = readState();
  if (!state) return;
  // Dependents first: stop in the reverse of the start order.
  const order = await withDependencies(
    COMPONENT_NAMES.filter((n) => state.components[n] !== undefined),
  );
  for (const n of (await startOrder(order)).reverse()) await stopComponent(state, n);
  rmSync(state.dir, { recursive: true, force: true });
  rmSync(stackFile(), { force: true });
}

/** The variables of every recorded component, merged. */
export function stackEnv(state: StackState | undefined = readState()): Record<string, string> {
  const env: Record<string, string> = {};
  if (!state) return env;
  for (const n of COMPONENT_NAMES) Object.assign(env, state.components[n]?.env ?? {});
  return env;
}

/** Quotes a value for a POSIX shell (single quotes, with embedded quotes escaped). */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
