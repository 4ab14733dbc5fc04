import { DeploytagError } from '@deploytag/core';

/** Stable error codes raised by `@deploytag/git`. */
export const GitErrorCodes = {
  /** The folder is not inside a git repository, or the repository has no commits. */
  NOT_A_REPOSITORY: 'E_GIT_NOT_A_REPOSITORY',
  /** A ref, tag or commit could not be resolved. */
  UNKNOWN_REF: 'E_GIT_UNKNOWN_REF',
  /** A tag exists already and points at another commit. */
  TAG_CONFLICT: 'E_GIT_TAG_CONFLICT',
  /** The remote refused the credentials or asked for some. */
  AUTH: 'E_GIT_AUTH',
  /** The remote could not be reached or refused an update. */
  REMOTE: 'E_GIT_REMOTE',
} as const;

/** A git operation failed; `code` is one of {@link GitErrorCodes}. */
export class GitError extends DeploytagError {}
