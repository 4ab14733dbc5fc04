import { DeploytagError } from '@deploytag/core';

/** Stable codes of {@link SecretsError}. */
export const SecretsErrorCodes = {
  /** A secret id does not exist. */
  NOT_FOUND: 'E_SECRET_NOT_FOUND',
  /** The credentials may not read a secret (or its key). */
  FORBIDDEN: 'E_SECRET_FORBIDDEN',
  /** A secret's content cannot be turned into environment variables. */
  INVALID: 'E_SECRET_INVALID',
  /** Reading secrets failed for another reason (several ids may be listed). */
  FETCH: 'E_SECRET_FETCH',
  /** The credentials could not be verified. */
  AUTH: 'E_AUTH',
} as const;

/**
 * Loading or checking secrets failed. The message names secret ids and variable names, never a
 * value.
 */
export class SecretsError extends DeploytagError {
  /** The secret ids involved. */
  readonly ids: readonly string[];

  /**
   * @param code - one of {@link SecretsErrorCodes}
   * @param message - what failed and what to do
   * @param options - the ids involved and the cause
   */
  constructor(
    code: string,
    message: string,
    options: { ids?: readonly string[]; cause?: unknown } = {},
  ) {
    super(code, message, {
      details: { ids: options.ids ?? [] },
      ...('cause' in options ? { cause: options.cause } : {}),
    });
    this.ids = options.ids ?? [];
  }
}
