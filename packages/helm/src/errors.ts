import { DeploytagError } from '@deploytag/core';
import type { DeploytagErrorOptions } from '@deploytag/core';

/** Stable codes of the errors raised by `@deploytag/helm`. */
export const HelmErrorCodes = {
  /** helm is missing or too old. */
  BINARY: 'E_HELM_BINARY',
  /** `HELM_VARS` or a values input cannot be read. */
  VALUES: 'E_HELM_VALUES',
  /** The release is not installed. */
  NOT_FOUND: 'E_HELM_RELEASE_NOT_FOUND',
  /** The rollout did not become ready. */
  ROLLOUT: 'E_HELM_ROLLOUT',
  /** helm refused or failed the upgrade itself (a template that does not render, a rejected object). */
  UPGRADE: 'E_HELM_UPGRADE',
} as const;

/**
 * An error of `@deploytag/helm`. Unreadable values (`E_HELM_VALUES`) are bad input: exit code 2,
 * like every configuration error, unless the options say otherwise.
 */
export class HelmError extends DeploytagError {
  /**
   * @param code - one of {@link HelmErrorCodes}
   * @param message - what went wrong and what to do
   * @param options - cause, details, exit code
   */
  constructor(
    code: (typeof HelmErrorCodes)[keyof typeof HelmErrorCodes],
    message: string,
    options: DeploytagErrorOptions = {},
  ) {
    super(code, message, {
      ...options,
      exitCode: options.exitCode ?? (code === HelmErrorCodes.VALUES ? 2 : 1),
    });
  }
}
