import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from '@deploytag/core';

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
  const chartYaml = readYamlMapping(join(path, 'Chart.yaml'), 'chart metadata') as {
    dependencies?: { name?: string; repository?: string }[];
  };
  return Array.isArray(chartYaml.dependencies) ? chartYaml.dependencies : [];
}

/** How many alias expansions a values document may make (helm's YAML reader also limits them). */
const MAX_ALIAS_COUNT = 100;

/**
 * Reads a YAML file that must hold a mapping (a chart's `Chart.yaml`, a values file): an empty
 * file (or one of comments only) is an empty mapping. Throws a one-line {@link ConfigError} (exit
 * code 2) naming the file and the line for anything helm would refuse later: a syntax error, an
 * alias bomb, a list or a scalar at the top.
 *
 * @param path - the file
 * @param what - what it holds, for messages (`values`, `chart metadata`)
 * @throws ConfigError (code `E_CONFIG_INVALID`)
 */
export function readYamlMapping(path: string, what = 'values'): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `${path}: cannot read the ${what} file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check the path`,
      { code: 'E_CONFIG_INVALID', file: path, cause: error },
    );
  }
  const invalid = (text: string, cause?: unknown): ConfigError =>
    new ConfigError(`${path}: ${text}`, {
      code: 'E_CONFIG_INVALID',
      file: path,
      ...(cause === undefined ? {} : { cause }),
    });
  // A key given twice is not refused: helm takes the last one, and so does this reader.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false });
  const [error] = doc.errors;
  if (error !== undefined) {
    const line = (error.message.split('\n')[0] ?? '').replace(/:\s*$/, '');
    throw invalid(`not valid YAML: ${line}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (cause) {
    throw invalid(`not valid YAML: ${(cause as Error).message}`, cause);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(
      `the ${what} must be a mapping of keys to values, not ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`,
    );
  }
  return value as Record<string, unknown>;
}

/** Whether `CHART_NAME` is written as a path (`./web`, `../charts/web`, `/srv/web`), not a reference. */
function looksLikePath(chart: string): boolean {
  return /^(?:\.{1,2}(?:[/\\]|$)|[/\\])/.test(chart);
}

/**
 * Reads a chart's facts: for a local folder its `values-<kind>.yaml` files, whether it declares
 * dependencies, and a digest of its files; a repository or OCI reference is taken as it is.
 * `Chart.yaml` and the values files must be valid YAML mappings, and a chart written as a path
 * (`./…`, `../…`, `/…`) must exist: otherwise a one-line `ConfigError` names the file (exit code 2).
 *
 * @param chart - `CHART_NAME`: a folder, a packaged `.tgz`, `repo/name` or `oci://…`
 * @param cwd - what a relative path is relative to
 * @throws ConfigError for a missing chart folder or a file helm could not read
 */
export function readChartFacts(chart: string, cwd: string = process.cwd()): ChartFacts {
  const path = isAbsolute(chart) ? chart : resolve(cwd, chart);
  if (!existsSync(join(path, 'Chart.yaml')) || !statSync(path).isDirectory()) {
    const isFile = existsSync(path) && statSync(path).isFile();
    if (!isFile && looksLikePath(chart)) {
      throw new ConfigError(
        `the chart ${chart} is not a folder with a Chart.yaml nor a packaged .tgz (looked in ${path}); set CHART_NAME (chart in the config file) to the chart's folder`,
        { code: 'E_CONFIG_INVALID', key: 'CHART_NAME' },
      );
    }
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
  // Every values file helm would read, checked now rather than after images are built.
  for (const name of ['values.yaml', 'values.yml']) {
    if (existsSync(join(path, name))) readYamlMapping(join(path, name));
  }
  for (const file of Object.values(kindValues)) readYamlMapping(file);
  return {
    ref: path,
    local: true,
    kindValues,
    hasDependencies: readDependencies(path).length > 0,
    digest: chartDigest(path),
  };
}
