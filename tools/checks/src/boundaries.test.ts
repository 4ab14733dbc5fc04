/**
 * The dependency rule is only worth something if lint fails a violation. Each case lints a probe
 * import as if it were a source file of a given package, with the workspace's real boundary
 * options and Nx project graph, and checks that exactly the forbidden imports are reported.
 */
import { resolve } from 'node:path';
import { ESLint } from 'eslint';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
// The rule's options live beside eslint.config.js, outside any project: read the very file lint uses.
// @ts-expect-error -- a plain ESM config module without type declarations
import { boundaries, testBoundaries } from '../../../eslint.boundaries.js'; // eslint-disable-line @nx/enforce-module-boundaries

const root = resolve(import.meta.dirname, '../../..');

async function violations(file: string, importOf: string): Promise<string[]> {
  const test = /\.(integ|e2e)\.test\.ts$/.test(file) || file.includes('/bench/');
  const eslint = new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser },
        // The plugin's published config types predate ESLint 9's; its rules are what is used here.
        plugins: { '@nx': nx as unknown as ESLint.Plugin },
        rules: { '@nx/enforce-module-boundaries': ['error', test ? testBoundaries : boundaries] },
      },
    ],
  });
  const [result] = await eslint.lintText(
    `import { x } from '${importOf}';\nexport const y = x;\n`,
    {
      filePath: resolve(root, file),
    },
  );
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('the dependency rule (Nx module boundaries)', () => {
  it.each([
    ['packages/core/src/probe.ts', '@deploytag/cli', 'core importing the CLI'],
    [
      'packages/core/src/probe.ts',
      '@deploytag/context',
      'core importing a package of ours (also a cycle)',
    ],
    // git does not depend on context, so this is no cycle: only the scope:context constraint forbids it.
    ['packages/context/src/probe.ts', '@deploytag/git', 'context importing beyond core'],
    ['packages/helm/src/probe.ts', '@deploytag/cli', 'a library importing the CLI'],
    ['packages/db/src/probe.ts', '@deploytag/harness', 'a library importing the harness'],
    ['packages/db/src/db.test.ts', '@deploytag/harness', 'a unit test importing the harness'],
  ])('fails %s importing %s (%s)', async (file, dep) => {
    const found = await violations(file, dep);
    expect(found.some((m) => m.startsWith('@nx/enforce-module-boundaries'))).toBe(true);
  });

  it.each([
    ['packages/context/src/probe.ts', '@deploytag/core'],
    ['packages/secrets/src/probe.ts', '@deploytag/git'],
    ['packages/helm/src/probe.ts', '@deploytag/context'],
    ['packages/cli/src/probe.ts', '@deploytag/helm'],
    ['packages/db/src/db.integ.test.ts', '@deploytag/harness'],
    ['tools/bench/src/probe.ts', '@deploytag/harness'],
    ['packages/cli/bench/probe.bench.ts', '@deploytag/bench'],
  ])('allows %s importing %s', async (file, dep) => {
    expect(await violations(file, dep)).toEqual([]);
  });
});
