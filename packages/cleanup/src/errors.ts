import { DeploytagError } from '@deploytag/core';
import type { DeploytagErrorOptions } from '@deploytag/core';

/** Stable codes of the errors raised by `@deploytag/cleanup`. */
export const CleanupErrorCodes = {
  /** The Kubernetes API refused or failed a request made by cleanup. */
  KUBE: 'E_CLEANUP_KUBE',
  /** The namespace changed hands (labels or branch) between planning and removal. */
  NOT_OURS: 'E_CLEANUP_NOT_OURS',
  /** A planned step needs a client that was not given (database server, registry). */
  MISSING_CLIENT: 'E_CLEANUP_MISSING_CLIENT',
  /** The run was stopped through its `AbortSignal` before this environment was finished. */
  INTERRUPTED: 'E_CLEANUP_INTERRUPTED',
} as const;

/** An error of `@deploytag/cleanup`; `code` is one of {@link CleanupErrorCodes}. */
export class CleanupError extends DeploytagError {
  /**
   * @param code - one of {@link CleanupErrorCodes}
   * @param message - what went wrong and what to do
   * @param options - cause, details, exit code
   */
  constructor(
    code: (typeof CleanupErrorCodes)[keyof typeof CleanupErrorCodes],
    message: string,
    options: DeploytagErrorOptions = {},
  ) {
    super(code, message, options);
  }
}
