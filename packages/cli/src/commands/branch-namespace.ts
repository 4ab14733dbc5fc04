/**
 * The namespace of the branch the CI variables name (as `deploy` computes it: `default` for
 * staging and releases, the branch's own namespace for a preview). Commands that need only the
 * namespace (`apply-registry-secret`, `db-connect`) use this instead of a whole deploy context,
 * which would also demand the chart, domain and registry.
 *
 * @param env - the environment contract (CI variables)
 * @throws NotDeployableError for a ref that is deployed nowhere (such as a non-release tag)
 */
export async function branchNamespace(env: NodeJS.ProcessEnv): Promise<string> {
  const context = await import('@deploytag/context');
  const facts = context.resolveFacts({ env });
  const classification = context.classifyBranch(
    facts.branch,
    facts.tag === undefined ? {} : { tag: facts.tag },
  );
  if (classification.kind === 'none') {
    throw new context.NotDeployableError(classification.reason, {
      ...(facts.branch === undefined ? {} : { branch: facts.branch }),
      ...(facts.tag === undefined ? {} : { tag: facts.tag }),
    });
  }
  return context.namespaceFor(classification.kind, facts.branch);
}
