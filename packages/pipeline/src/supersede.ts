import type { Logger } from '@deploytag/core';

/**
 * The deploy's superseded-commit check (`isSuperseded` of `@deploytag/helm`) for a push of commit
 * `sha` from the git clone at `dir`: the live commit is newer when `sha` is one of its ancestors.
 *
 * @remarks
 * A live commit this clone does not have (a shallow clone that stops before it, a branch that was
 * force-pushed, a deploy from another repository), or a folder that is not a clone at all, counts
 * as not newer: the deploy goes ahead, as every deploy did before the check existed, and one info
 * line says why. Refusing instead would leave a branch stuck on a commit nobody can deploy over.
 *
 * @param dir - the project's work tree
 * @param sha - the commit being pushed
 * @param logger - receives the line about an unknown commit
 */
export function newerCommitCheck(
  dir: string,
  sha: string,
  logger: Logger,
): (liveSha: string) => Promise<boolean> {
  return async (liveSha) => {
    if (liveSha === sha) return false;
    const { isAncestor } = await import('@deploytag/git');
    try {
      return await isAncestor(dir, sha, liveSha);
    } catch (error) {
      logger.info(
        `cannot tell whether the deployed commit ${liveSha.slice(0, 7)} is newer than ${sha.slice(0, 7)} (${error instanceof Error ? error.message : String(error)}); deploying`,
      );
      return false;
    }
  };
}
