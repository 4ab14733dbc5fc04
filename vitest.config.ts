import { defineConfig } from 'vitest/config';

/**
 * Three tiers, chosen by file name:
 * - `*.test.ts`        unit: pure logic, no processes or network (mocks allowed here only)
 * - `*.integ.test.ts`  integration: real components from tools/harness
 * - `*.e2e.test.ts`    end to end: built bins against the harness
 * Workspace packages resolve to their TypeScript sources through the `@deploytag/source` condition,
 * so tests never need a prior build.
 */
const conditions = ['@deploytag/source', 'node', 'default'];
const sources = ['packages/*/src/**', 'tools/*/src/**', 'examples/**'];
const ignored = ['**/node_modules/**', '**/dist/**'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@deploytag/source'] } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: sources.map((s) => `${s}/*.test.ts`),
          exclude: [...ignored, '**/*.integ.test.ts', '**/*.e2e.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integ',
          include: sources.map((s) => `${s}/*.integ.test.ts`),
          exclude: ignored,
          globalSetup: ['tools/harness/src/vitest-global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: sources.map((s) => `${s}/*.e2e.test.ts`),
          exclude: ignored,
          globalSetup: ['tools/harness/src/vitest-global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
