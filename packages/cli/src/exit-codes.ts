/**
 * Exit codes shared by every DeployTag command (documented in the README):
 * - 0: success
 * - 1: failure (a step failed, a program exited non-zero); for `should-build-base` and `db-exists`, "no"
 * - 2: usage or configuration error: nothing was started
 * - 3: the branch is not deployable (see `@deploytag/context`)
 * - 130 / 143: interrupted by SIGINT / SIGTERM
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  notDeployable: 3,
  interrupted: 130,
  terminated: 143,
} as const;
