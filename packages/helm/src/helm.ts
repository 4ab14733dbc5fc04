import type { CommandResult, Logger } from '@deploytag/core';
import { runCommand, silentLogger } from '@deploytag/core';
import type { HelmBinary } from './binary.js';

/** Where helm connects: passed explicitly on every call. */
export interface HelmTarget {
  /** Path of the kubeconfig file (`--kubeconfig`). */
  kubeconfig: string;
  /** The context (`--kube-context`); the file's current one when absent. */
  kubeContext?: string;
}

/** Options of one helm call. */
export interface HelmCallOptions {
  /** `--namespace`. */
  namespace: string;
  /** Stops helm after this long. */
  timeoutMs?: number;
  /** Cancels helm (SIGTERM, then SIGKILL). */
  signal?: AbortSignal;
  /** Resolve on a non-zero exit instead of rejecting. */
  allowFailure?: boolean;
  /** Folder to run in. */
  cwd?: string;
  /** Log helm's stderr at debug instead of info (for reads whose failure is expected, such as "not found"). */
  quiet?: boolean;
}

/** Runs helm with the cluster flags on every call, through core's `runCommand`. */
export interface Helm {
  /** The binary and its version. */
  readonly binary: HelmBinary;
  /** The cluster target. */
  readonly target: HelmTarget;
  /**
   * Runs `helm <args> --kubeconfig … [--kube-context …] --namespace …`.
   *
   * @param args - the subcommand and its arguments (never secret values)
   * @param options - namespace, time limit, cancellation
   */
  run(args: readonly string[], options: HelmCallOptions): Promise<CommandResult>;
}

/**
 * Makes a {@link Helm} for one binary and cluster.
 *
 * @param binary - from `findHelm`
 * @param target - kubeconfig and context
 * @param logger - receives helm's output lines (stdout at debug, stderr at info)
 */
export function createHelm(
  binary: HelmBinary,
  target: HelmTarget,
  logger: Logger = silentLogger,
): Helm {
  return {
    binary,
    target,
    run(args, options) {
      const flags = ['--kubeconfig', target.kubeconfig, '--namespace', options.namespace];
      if (target.kubeContext !== undefined) flags.push('--kube-context', target.kubeContext);
      return runCommand(binary.path, [...args, ...flags], {
        logger: logger.child('helm'),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.allowFailure === undefined ? {} : { allowFailure: options.allowFailure }),
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        ...(options.quiet === true ? { outputLevels: { stdout: 'debug', stderr: 'debug' } } : {}),
      });
    },
  };
}
