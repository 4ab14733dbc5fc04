import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readChartFacts } from './chart.js';

const root = mkdtempSync(join(tmpdir(), 'deploytag-chart-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
  }
}

describe('readChartFacts', () => {
  write({
    'app/Chart.yaml':
      'apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: cache\n    version: 0.1.0\n    repository: file://../cache\n',
    'app/values.yaml': 'a: 1\n',
    'app/values-preview.yaml': 'a: 2\n',
    'app/templates/x.yaml': 'kind: ConfigMap\n',
    'cache/Chart.yaml': 'apiVersion: v2\nname: cache\nversion: 0.1.0\n',
    'cache/templates/y.yaml': 'kind: ConfigMap\n',
  });
  const first = readChartFacts('app', root);

  it('reads values files by kind and the dependencies', () => {
    expect(first.local).toBe(true);
    expect(first.hasDependencies).toBe(true);
    expect(first.kindValues).toEqual({ preview: join(root, 'app/values-preview.yaml') });
    expect(first.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores what helm dependency build writes (Chart.lock, charts/*.tgz)', () => {
    write({ 'app/Chart.lock': 'generated: now\n', 'app/charts/cache-0.1.0.tgz': 'bytes' });
    expect(readChartFacts('app', root).digest).toBe(first.digest);
  });

  it('changes when a file of the chart or of a file:// dependency changes', () => {
    write({ 'cache/templates/y.yaml': 'kind: Secret\n' });
    const afterDependency = readChartFacts('app', root).digest;
    expect(afterDependency).not.toBe(first.digest);
    write({ 'app/values.yaml': 'a: 3\n' });
    expect(readChartFacts('app', root).digest).not.toBe(afterDependency);
  });

  it('takes a repository reference as it is', () => {
    expect(readChartFacts('oci://registry.test/charts/app', root)).toMatchObject({
      local: false,
      digest: undefined,
    });
  });
});
