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

/** Options for source files. */
export const boundaries = {
  enforceBuildableLibDependency: false,
  allow: [],
  depConstraints: libraryConstraints,
};

/** Options for `*.integ.test.ts` / `*.e2e.test.ts`: the same, plus the harness. */
export const testBoundaries = {
  enforceBuildableLibDependency: false,
  allow: [],
  depConstraints: libraryConstraints.map((c) => ({
    ...c,
    onlyDependOnLibsWithTags: [...new Set([...c.onlyDependOnLibsWithTags, 'type:tool'])],
  })),
};
