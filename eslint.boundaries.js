// @ts-check
/**
 * The dependency rule (DESIGN.md), enforced by @nx/enforce-module-boundaries on Nx project tags:
 * libraries never import a bin or the CLI; core imports nothing of ours; context only core; tools
 * (harness, bench) may use libraries; nothing imports a tool, except integration and e2e tests,
 * which reach the real components through the harness.
 */
const libraryConstraints = [
  { sourceTag: 'scope:core', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:context', onlyDependOnLibsWithTags: ['scope:core'] },
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:cli', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:tool'] },
];

// The CLI imports libraries inside each command's `run` so that `deploytag --help` starts fast;
// nothing is code-split by a bundler, so a static import elsewhere of a lazily loaded package of
// ours is fine.
const lazyLoadedOk = ['@deploytag/*'];

/** Options for source files. */
export const boundaries = {
  enforceBuildableLibDependency: false,
  allow: [],
  checkDynamicDependenciesExceptions: lazyLoadedOk,
  depConstraints: libraryConstraints,
};

/** Options for `*.integ.test.ts` / `*.e2e.test.ts`: the same, plus the harness. */
export const testBoundaries = {
  enforceBuildableLibDependency: false,
  allow: [],
  checkDynamicDependenciesExceptions: lazyLoadedOk,
  depConstraints: libraryConstraints.map((c) => ({
    ...c,
    onlyDependOnLibsWithTags: [...new Set([...c.onlyDependOnLibsWithTags, 'type:tool'])],
  })),
};
