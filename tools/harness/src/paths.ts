import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where provisioned programs and build outputs are cached between runs: outside the repository, so
 * that a fresh clone on a machine that built them once starts in seconds.
 * `DEPLOYTAG_CACHE` overrides the default `~/.cache/deploytag`.
 */
export function cacheDir(): string {
  return process.env['DEPLOYTAG_CACHE'] ?? join(homedir(), '.cache', 'deploytag');
}

/** Folder for binaries the harness builds or installs itself. */
export function binDir(): string {
  return join(cacheDir(), 'bin');
}

/** Folder for provisioning logs (long builds write here; failures quote their tail). */
export function logDir(): string {
  return join(cacheDir(), 'logs');
}

/**
 * The file that records the running stack (pids, ports, env). One stack per user by default;
 * `DEPLOYTAG_STACK_FILE` points elsewhere to run several side by side.
 */
export function stackFile(): string {
  return process.env['DEPLOYTAG_STACK_FILE'] ?? join(cacheDir(), 'stack.json');
}
