import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parse } from 'yaml';

/** What a deploy needs to know about a chart. */
export interface ChartFacts {
  /** The chart as helm is given it: an absolute path for a local chart, else the reference. */
  ref: string;
  /** Whether it is a local chart folder. */
  local: boolean;
  /** `values-<kind>.yaml` files present, by kind (absolute paths). */
  kindValues: Record<string, string>;
  /** Whether `Chart.yaml` declares dependencies (then `helm dependency build` runs). */
  hasDependencies: boolean;
  /**
   * SHA-256 of a local chart's files (names and contents, not the archives `helm dependency build`
   * writes) and of its `file://` dependencies, for skipping unchanged deploys.
   */
  digest: string | undefined;
}

function walk(dir: string, root: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, root, out);
    else if (entry.isFile()) out.push(relative(root, path));
  }
}

/** Files `helm dependency build` writes: they change on every build, so they are not content. */
function generatedByHelm(file: string): boolean {
  return file === 'Chart.lock' || /^charts\/[^/]+\.tgz$/.test(file);
}

/**
 * A digest of a chart folder's own files (not the archives `helm dependency build` writes) and of
 * every `file://` dependency's folder, recursively; a repository dependency counts by the version
 * `Chart.yaml` asks for.
 */
function chartDigest(path: string, seen: Set<string> = new Set()): string {
  seen.add(path);
  const files: string[] = [];
  walk(path, path, files);
  const hash = createHash('sha256');
  for (const file of files.filter((f) => !generatedByHelm(f)).sort()) {
    const data = readFileSync(join(path, file));
    hash.update(`${file}\0${data.length}\0`);
    hash.update(data);
  }
  for (const dep of readDependencies(path)) {
    const repository = dep.repository ?? '';
    if (!repository.startsWith('file://')) continue;
    const target = resolve(path, repository.slice('file://'.length));
    if (seen.has(target) || !existsSync(join(target, 'Chart.yaml'))) continue;
    hash.update(`dependency\0${dep.name ?? ''}\0${chartDigest(target, seen)}`);
  }
  return hash.digest('hex');
}

function readDependencies(path: string): { name?: string; repository?: string }[] {
  const chartYaml = parse(readFileSync(join(path, 'Chart.yaml'), 'utf8')) as {
    dependencies?: { name?: string; repository?: string }[];
  } | null;
  return chartYaml?.dependencies ?? [];
}

/**
 * Reads a chart's facts: for a local folder its `values-<kind>.yaml` files, whether it declares
 * dependencies, and a digest of its files; a repository or OCI reference is taken as it is.
 *
 * @param chart - `CHART_NAME`: a folder, a packaged `.tgz`, `repo/name` or `oci://…`
 * @param cwd - what a relative path is relative to
 */
export function readChartFacts(chart: string, cwd: string = process.cwd()): ChartFacts {
  const path = isAbsolute(chart) ? chart : resolve(cwd, chart);
  if (!existsSync(join(path, 'Chart.yaml')) || !statSync(path).isDirectory()) {
    const isFile = existsSync(path) && statSync(path).isFile();
    return {
      ref: isFile ? path : chart,
      local: false,
      kindValues: {},
      hasDependencies: false,
      digest: undefined,
    };
  }
  const kindValues: Record<string, string> = {};
  for (const name of readdirSync(path)) {
    const m = /^values-([a-z0-9-]+)\.ya?ml$/.exec(name);
    if (m) kindValues[m[1]!] = join(path, name);
  }
  return {
    ref: path,
    local: true,
    kindValues,
    hasDependencies: readDependencies(path).length > 0,
    digest: chartDigest(path),
  };
}
