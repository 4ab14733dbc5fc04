import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import dockerignoreModule from '@balena/dockerignore';

/** Which files of a build context are sent, following `.dockerignore` as Docker does. */
export interface ContextFilter {
  /** The ignore file that was read (context-relative), or undefined when there was none. */
  readonly ignoreFile: string | undefined;
  /** The patterns in effect, in order (comments and blank lines removed). */
  readonly patterns: readonly string[];
  /** True when the context-relative path (file or directory, `/`-separated) is left out. */
  excludes(relPath: string): boolean;
  /**
   * True when an excluded directory must still be walked because an exception (`!pattern`) or a
   * file that is always sent may lie inside it. Its own entry is not sent.
   */
  mayIncludeUnder(relDir: string): boolean;
}

/** Options of {@link readContextFilter} and {@link createContextFilter}. */
export interface ContextFilterOptions {
  /** The Dockerfile, relative to the context (always sent). Default `Dockerfile`. */
  dockerfile?: string;
}

const GLOB = /[*?[\\]/;

/**
 * The matcher memoises the answer for every path it is asked about, so a walk of a large context
 * would keep every file name in memory. A walk asks about each path once, so the memo is dropped
 * after this many answers (through the matcher's own cache reset, when it has one).
 */
const MATCHER_MEMO_LIMIT = 1024;

/** The package is CommonJS with `factory.default = factory`; this works under every loader. */
const dockerignore = dockerignoreModule.default;

/** Normalises a pattern the way Docker does: trims, drops a leading `/`, cleans `.`/`..`. */
function cleanPattern(raw: string): string | undefined {
  let p = raw.trim();
  if (p === '' || p.startsWith('#')) return undefined;
  const negated = p.startsWith('!');
  if (negated) p = p.slice(1).trim();
  p = posix.normalize(p.replaceAll('\\', '/'));
  p = p.replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === '' || p === '.') p = '.';
  return negated ? `!${p}` : p;
}

/**
 * Parses the text of a `.dockerignore` file into patterns: one per line, `#` comments and blank
 * lines dropped, surrounding white space trimmed, a leading `/` removed.
 *
 * @param text - the file's content
 */
export function parseDockerignore(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map(cleanPattern)
    .filter((p): p is string => p !== undefined);
}

/**
 * A filter for a build context from patterns in `.dockerignore` syntax. Matching is done by
 * `@balena/dockerignore`, a port of Docker's own matcher (`*` within one path segment, `**` across
 * segments, `?`, character classes, `!` exceptions where the last matching pattern wins, and a
 * pattern that matches a directory excluding everything below it). The Dockerfile, `.dockerignore`
 * and the per-Dockerfile ignore file are always sent, as Docker does.
 *
 * @param patterns - the patterns, in order
 * @param options - the Dockerfile path
 * @param ignoreFile - the ignore file the patterns came from, if any
 */
export function createContextFilter(
  patterns: readonly string[],
  options: ContextFilterOptions = {},
  ignoreFile?: string,
): ContextFilter {
  const dockerfile = posix.normalize(options.dockerfile ?? 'Dockerfile').replace(/^\.?\/+/, '');
  const always = new Set([dockerfile, '.dockerignore', `${dockerfile}.dockerignore`]);
  if (ignoreFile !== undefined) always.add(ignoreFile);
  const matcher = dockerignore().add([...patterns]);
  const resetMemo = (matcher as unknown as { _initCache?: () => void })._initCache?.bind(matcher);
  let answers = 0;
  const exceptions = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
  const alwaysDirs = new Set<string>();
  for (const file of always) {
    for (let d = posix.dirname(file); d !== '.' && d !== '/'; d = posix.dirname(d)) {
      alwaysDirs.add(d);
    }
  }
  return {
    ignoreFile,
    patterns: [...patterns],
    excludes(relPath: string): boolean {
      if (always.has(relPath)) return false;
      if (++answers >= MATCHER_MEMO_LIMIT) {
        answers = 0;
        resetMemo?.();
      }
      return matcher.ignores(relPath);
    },
    mayIncludeUnder(relDir: string): boolean {
      if (alwaysDirs.has(relDir)) return true;
      const prefix = `${relDir}/`;
      // Conservative: a glob may reach inside, so walk; every entry is still matched on its own.
      return exceptions.some((e) => e.startsWith(prefix) || GLOB.test(e) || e === '.');
    },
  };
}

/**
 * Reads the ignore file of a build context the way BuildKit does: `<Dockerfile>.dockerignore`
 * next to the Dockerfile (such as `Dockerfile.base.dockerignore`) when it exists, else
 * `.dockerignore` at the context root, else nothing is ignored.
 *
 * @param contextDir - the build context folder
 * @param options - the Dockerfile path, relative to the context
 */
export function readContextFilter(
  contextDir: string,
  options: ContextFilterOptions = {},
): ContextFilter {
  const dockerfile = options.dockerfile ?? 'Dockerfile';
  const candidates = [`${dockerfile}.dockerignore`, '.dockerignore'];
  for (const rel of candidates) {
    const abs = join(contextDir, rel);
    if (existsSync(abs)) {
      const relPosix = posix.normalize(rel.replaceAll('\\', '/'));
      return createContextFilter(parseDockerignore(readFileSync(abs, 'utf8')), options, relPosix);
    }
  }
  return createContextFilter([], options);
}
