import { runCommand } from '@deploytag/core';
import { HelmError, HelmErrorCodes } from './errors.js';

/** A parsed helm version. */
export interface HelmVersion {
  /** Major version (3 or 4). */
  major: number;
  /** Minor version. */
  minor: number;
  /** Patch version. */
  patch: number;
  /** As printed, such as `v3.14.2`. */
  text: string;
}

/**
 * Reads `helm version --template '{{.Version}}'` output (pure).
 *
 * @param text - such as `v3.14.2` or `v4.0.0+g1234`
 * @returns the version, or undefined when it is not one
 */
export function parseHelmVersion(text: string): HelmVersion | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: text.trim() };
}

/**
 * Whether a helm version is supported: 3.8 or later within 3, or 4 (pure).
 *
 * @param version - the parsed version
 */
export function isSupportedHelm(version: HelmVersion): boolean {
  return (version.major === 3 && version.minor >= 8) || version.major === 4;
}

/** A helm executable that was found and checked. */
export interface HelmBinary {
  /** The path or name run. */
  path: string;
  /** Its version. */
  version: HelmVersion;
}

/**
 * Finds helm (`HELM_BIN`, then `helm` on PATH) and checks its version (3.8+ or 4).
 *
 * @param env - where `HELM_BIN` is read; `process.env` by default
 * @throws HelmError `E_HELM_BINARY` when it is missing, unreadable or too old
 */
export async function findHelm(
  env: Record<string, string | undefined> = process.env,
): Promise<HelmBinary> {
  const path = env.HELM_BIN !== undefined && env.HELM_BIN !== '' ? env.HELM_BIN : 'helm';
  let out: string;
  try {
    out = (await runCommand(path, ['version', '--template', '{{.Version}}'], { timeoutMs: 30_000 }))
      .stdout;
  } catch (error) {
    throw new HelmError(
      HelmErrorCodes.BINARY,
      `cannot run helm (${path}): ${error instanceof Error ? error.message : String(error)}; install Helm 3.8+ or set HELM_BIN to its path`,
      { cause: error },
    );
  }
  const version = parseHelmVersion(out);
  if (version === undefined || !isSupportedHelm(version)) {
    throw new HelmError(
      HelmErrorCodes.BINARY,
      `helm at ${path} is version ${out.trim() || 'unknown'}; DeployTag needs Helm 3.8 or later (or Helm 4): upgrade it or set HELM_BIN`,
    );
  }
  return { path, version };
}
