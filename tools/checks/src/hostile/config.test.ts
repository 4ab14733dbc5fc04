/**
 * The bad config files and values of the corpus against the readers of `@deploytag/context` and
 * `@deploytag/helm`: each is refused with one `ConfigError`-like error (exit code 2) whose message
 * is one line naming the file and the key (or the line of a syntax error). The end-to-end test
 * runs the same files through the built bin.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile, resolveDeployContext } from '@deploytag/context';
import { isDeploytagError } from '@deploytag/core';
import {
  parseHelmVars,
  parseHelmVarsArgs,
  prepareDeployInput,
  readChartFacts,
} from '@deploytag/helm';
import { CORPUS_DIR, configCases, valuesCases } from './corpus.js';

/** The environment of a preview push with everything but what the files set. */
const ENV = {
  CIRCLE_BRANCH: 'feature/hostile-config',
  CIRCLE_SHA1: 'b'.repeat(40),
  CIRCLE_PROJECT_REPONAME: 'sample-service',
  CONTAINER_REGISTRY: 'registry.test:5000',
};

/** Runs `fn` and returns what it threw, checking it is an expected error with exit code 2. */
async function refusal(fn: () => unknown): Promise<{ message: string; exitCode: number }> {
  try {
    await fn();
  } catch (error) {
    if (!isDeploytagError(error)) throw error;
    return { message: error.message, exitCode: error.exitCode };
  }
  throw new Error('no error was thrown');
}

describe.each(configCases().filter((c) => c.pipeline !== true))('config $file ($note)', (c) => {
  it('is refused with one line naming the file and the key', async () => {
    const env: Record<string, string> = { ...ENV };
    for (const name of c.withoutEnv ?? []) Reflect.deleteProperty(env, name);
    const file = join(CORPUS_DIR, 'config', c.file);
    const { message, exitCode } = await refusal(async () => {
      const loaded = await loadConfigFile({ cwd: CORPUS_DIR, file });
      resolveDeployContext({ env, ...(loaded === undefined ? {} : loaded) });
    });
    expect(exitCode).toBe(2);
    expect(message).not.toContain('\n');
    expect(message).toContain(`config/${c.file}`);
    for (const name of c.names) expect(message).toContain(name);
  });
});

const scratch = mkdtempSync(join(tmpdir(), 'deploytag-hostile-values-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A chart folder whose values-preview.yaml is `file` of the corpus. */
function chartWith(file: string, name = file): string {
  const dir = join(scratch, name.replace(/\W/g, '-'));
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: web\nversion: 0.1.0\n');
  writeFileSync(join(dir, 'values.yaml'), 'replicas: 1\n');
  copyFileSync(join(CORPUS_DIR, 'values', file), join(dir, 'values-preview.yaml'));
  return dir;
}

const context = {
  kind: 'preview',
  namespace: 'feature-x',
  release: 'feature-x-web',
  host: 'feature-x-web.sample.test',
  url: 'https://feature-x-web.sample.test',
  sha: 'c'.repeat(40),
  repo: 'sample-service',
  branch: 'feature/x',
  cloudProvider: 'aws',
  image: { shaTag: 'c'.repeat(40) },
} as const;

/** A chart from a repository: nothing of it is read locally. */
const remoteChart = {
  ref: 'repo/web',
  local: false,
  kindValues: {},
  hasDependencies: false,
  digest: undefined,
};

describe.each(valuesCases().files)('values $file ($note)', (c) => {
  it("is refused as the chart's values-preview.yaml, naming the file", async () => {
    const chart = chartWith(c.file!);
    const { message, exitCode } = await refusal(() => readChartFacts(chart));
    expect(exitCode).toBe(2);
    expect(message).not.toContain('\n');
    expect(message).toContain(join(chart, 'values-preview.yaml'));
    for (const name of c.names) expect(message).toContain(name);
  });

  it('is refused as a HELM_VARS -f file, naming HELM_VARS and the file', async () => {
    const file = join(CORPUS_DIR, 'values', c.file!);
    const { message, exitCode } = await refusal(() =>
      prepareDeployInput({ context: { ...context, helmVars: `-f ${file}` }, chart: remoteChart }),
    );
    expect(exitCode).toBe(2);
    expect(message).not.toContain('\n');
    expect(message).toContain('HELM_VARS');
    expect(message).toContain(file);
    for (const name of c.names) expect(message).toContain(name);
  });
});

describe("a chart's own files", () => {
  it.each(valuesCases().files.map((c) => [c.file!, c] as const))(
    'a Chart.yaml like values/%s is refused, naming it',
    async (_file, c) => {
      const chart = chartWith('root-list.yaml', `chart-yaml-${c.file!}`);
      writeFileSync(join(chart, 'values-preview.yaml'), 'replicas: 1\n');
      copyFileSync(join(CORPUS_DIR, 'values', c.file!), join(chart, 'Chart.yaml'));
      const { message, exitCode } = await refusal(() => readChartFacts(chart));
      expect(exitCode).toBe(2);
      expect(message).not.toContain('\n');
      expect(message).toContain(join(chart, 'Chart.yaml'));
    },
  );

  it('a chart folder that does not exist is refused, naming CHART_NAME and the folder', async () => {
    const { message, exitCode } = await refusal(() => readChartFacts('./no-such-chart', scratch));
    expect(exitCode).toBe(2);
    expect(message).toContain('CHART_NAME');
    expect(message).toContain(join(scratch, 'no-such-chart'));
  });
});

describe.each(valuesCases().helmVars)('HELM_VARS $text ($note)', (c) => {
  it('is refused before anything starts, naming HELM_VARS', async () => {
    const text = c.text!;
    expect(() => parseHelmVarsArgs(text)).not.toThrow(TypeError);
    const { message, exitCode } = await refusal(() =>
      prepareDeployInput({ context: { ...context, helmVars: text }, chart: remoteChart }),
    );
    expect(exitCode).toBe(2);
    expect(message).not.toContain('\n');
    for (const name of c.names) expect(message).toContain(name);
  });

  it.runIf(c.parse === true)('is refused by parse-helm-vars too', async () => {
    const { message, exitCode } = await refusal(() => parseHelmVars(c.text!, false, 'HELM_VARS'));
    expect(exitCode).toBe(2);
    for (const name of c.names) expect(message).toContain(name);
  });
});
