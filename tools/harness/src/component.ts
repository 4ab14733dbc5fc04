import type { DaemonRecord } from './daemon.js';

/** The real components the harness can run. */
export const COMPONENT_NAMES = [
  'kube',
  'helm',
  'engine',
  'registry',
  'aws',
  'postgres',
  'mariadb',
  'git',
] as const;
export type ComponentName = (typeof COMPONENT_NAMES)[number];

/** What a component hands back once it serves: its processes and the variables tests need. */
export interface StartedComponent {
  daemons: DaemonRecord[];
  /** Variables exported by `stack env` and set for tests (addresses, credentials, binary paths). */
  env: Record<string, string>;
}

export interface StartContext {
  /** A fresh folder for this component's state (data dirs, sockets, configs, logs). */
  dir: string;
  /** Variables of the components started before this one (see {@link Component.dependsOn}). */
  env: Record<string, string>;
}

/** One real component of the local stack. */
export interface Component {
  name: ComponentName;
  /** One line for `stack status`. */
  description: string;
  /** Components that must serve before this one starts (their env is passed to `start`). */
  dependsOn?: readonly ComponentName[];
  /** Installs or builds what is missing (apt, pip, go); cached outside the repo, idempotent. */
  provision(): Promise<void>;
  /**
   * Starts the component on free loopback ports and waits until it serves. If it fails half-way it
   * stops whatever it already started before rethrowing.
   */
  start(ctx: StartContext): Promise<StartedComponent>;
  /** Extra clean-up after its daemons were stopped (optional). */
  cleanup?(state: StartedComponent & { dir: string }): Promise<void>;
}
