import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, which, lastLine, HarnessError } from './exec.js';
import { binDir, cacheDir, logDir } from './paths.js';
import { say, withHeartbeat } from './report.js';

let aptUpdated = false;

async function dpkgInstalled(pkg: string): Promise<boolean> {
  const r = await run('dpkg-query', ['-W', '-f=${Status}', pkg], { allowFail: true });
  return r.code === 0 && r.stdout.includes('install ok installed');
}

/**
 * Installs the Debian packages that are missing, without starting their system services (the
 * harness runs private instances on its own ports). Prints one line per install.
 */
export async function ensureApt(packages: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const p of packages) if (!(await dpkgInstalled(p))) missing.push(p);
  if (missing.length === 0) return;
  if (!which('apt-get')) {
    throw new HarnessError(
      `missing Debian packages ${missing.join(', ')} and no apt-get to install them: install them by hand`,
    );
  }
  if (process.getuid?.() !== 0) {
    throw new HarnessError(
      `missing Debian packages ${missing.join(', ')}: run as root or install them with sudo apt-get install ${missing.join(' ')}`,
    );
  }
  // Keep package installs from starting system-wide services (mariadb, postgresql, docker-registry).
  // The guard is removed again afterwards unless it was already there.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    await aptInstall(missing);
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}

async function aptInstall(missing: readonly string[]): Promise<void> {
  const log = join(logDir(), 'apt.log');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    await withHeartbeat(
      'apt-get update',
      () => run('apt-get', ['update'], { env, logFile: log }),
      () => lastLine(log),
    );
    aptUpdated = true;
  }
  await withHeartbeat(
    `apt-get install ${missing.join(' ')}`,
    () =>
      run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
        env,
        logFile: log,
      }),
    () => lastLine(log),
  );
}

export interface GoToolSpec {
  /** Binary name in the cache, versioned by the caller, e.g. `helm-v3.19.0`. */
  name: string;
  /** Package path with version, e.g. `helm.sh/helm/v3/cmd/helm@v3.19.0`. */
  pkg: string;
  ldflags?: string;
}

/**
 * Builds a Go command with `go install` into the cache (GOBIN) unless it is there already.
 * Returns the binary's path.
 */
export async function ensureGoTool(spec: GoToolSpec): Promise<string> {
  const target = join(binDir(), spec.name);
  if (existsSync(target)) return target;
  if (!which('go'))
    throw new HarnessError(
      `building ${spec.name} needs the Go toolchain: install Go 1.24 or newer`,
    );
  const gobin = join(cacheDir(), 'gobin', spec.name);
  mkdirSync(gobin, { recursive: true });
  mkdirSync(binDir(), { recursive: true });
  const log = join(logDir(), `${spec.name}.log`);
  const args = ['install', '-trimpath'];
  if (spec.ldflags) args.push('-ldflags', spec.ldflags);
  args.push(spec.pkg);
  await withHeartbeat(
    `building ${spec.name} (go install ${spec.pkg})`,
    () =>
      run('go', args, {
        env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' },
        logFile: log,
      }),
    () => lastLine(log),
  );
  const base = spec.pkg.split('@')[0]!.split('/').pop()!;
  renameSync(join(gobin, base), target);
  return target;
}

/**
 * Creates (once) a Python virtualenv under the cache with the given requirements and returns its
 * folder. The venv is keyed by `name`, which the caller versions.
 */
export async function ensureVenv(name: string, requirements: readonly string[]): Promise<string> {
  const dir = join(cacheDir(), 'venv', name);
  const marker = join(dir, '.deploytag-complete');
  if (existsSync(marker)) return dir;
  const python = which('python3');
  if (!python)
    throw new HarnessError('python3 is needed for moto: install python3 and python3-venv');
  const log = join(logDir(), `venv-${name}.log`);
  await withHeartbeat(
    `creating virtualenv ${name}`,
    async () => {
      await run(python, ['-m', 'venv', '--clear', dir], { logFile: log });
      await run(
        join(dir, 'bin', 'pip'),
        ['install', '--disable-pip-version-check', ...requirements],
        { logFile: log },
      );
    },
    () => lastLine(log),
  );
  writeFileSync(marker, `${requirements.join('\n')}\n`);
  return dir;
}

/** Prints a step line (re-exported so components need only this module). */
export { say };
