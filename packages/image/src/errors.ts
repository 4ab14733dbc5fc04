import { DeploytagError, type DeploytagErrorOptions } from '@deploytag/core';

/** Stable error codes raised by `@deploytag/image`. */
export const ImageErrorCodes = {
  /** The Docker Engine API could not be reached or answered with an error. */
  ENGINE: 'E_IMAGE_ENGINE',
  /** A build step failed (the message names the step). */
  BUILD_FAILED: 'E_IMAGE_BUILD_FAILED',
  /** Pushing an image to a registry failed. */
  PUSH_FAILED: 'E_IMAGE_PUSH_FAILED',
  /** A registry refused the credentials, or none were given where needed. */
  REGISTRY_AUTH: 'E_IMAGE_REGISTRY_AUTH',
  /** A registry answered with an unexpected status, or could not be reached. */
  REGISTRY: 'E_IMAGE_REGISTRY',
  /** A build context, Dockerfile or build argument is invalid. */
  INPUT: 'E_IMAGE_INPUT',
  /** A secret would have been baked into an image. */
  SECRET_IN_IMAGE: 'E_IMAGE_SECRET',
} as const;

/** An expected failure of an image operation; `code` is one of {@link ImageErrorCodes}. */
export class ImageError extends DeploytagError {
  /**
   * @param code - one of {@link ImageErrorCodes}
   * @param message - what went wrong and what to do about it
   * @param options - cause, details, exit code
   */
  constructor(code: string, message: string, options: DeploytagErrorOptions = {}) {
    super(code, message, options);
  }
}
