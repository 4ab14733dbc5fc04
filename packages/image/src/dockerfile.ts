import { posix } from 'node:path';

/** One instruction of a Dockerfile: keyword (upper case), its arguments text, its line. */
export interface DockerfileInstruction {
  /** The keyword in upper case, such as `COPY`. */
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

/**
 * Splits a Dockerfile into instructions: comments and blank lines dropped, lines ending with the
 * escape character (`\`, or the one set by a `# escape=` directive) joined, heredoc bodies skipped.
 *
 * @param text - the Dockerfile's content
 */
export function parseDockerfile(text: string): DockerfileInstruction[] {
  const lines = text.split(/\r?\n/);
  let escape = '\\';
  const directive = /^#\s*escape\s*=\s*(\S)\s*$/i.exec(lines[0] ?? '');
  if (directive?.[1] !== undefined) escape = directive[1];
  const out: DockerfileInstruction[] = [];
  let i = 0;
  while (i < lines.length) {
    const first = lines[i] ?? '';
    const start = i + 1;
    i++;
    const trimmed = first.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    let text = first;
    while (text.trimEnd().endsWith(escape) && i < lines.length) {
      text = text.trimEnd().slice(0, -1);
      // Comment lines inside a continuation are dropped; the continuation goes on.
      while (i < lines.length && (lines[i] ?? '').trim().startsWith('#')) i++;
      text += lines[i] ?? '';
      i++;
    }
    const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(text);
    if (m?.[1] === undefined) continue;
    const keyword = m[1].toUpperCase();
    const args = (m[2] ?? '').trim();
    out.push({ keyword, args, line: start });
    // Heredocs (`<<EOF` or `<<-EOF`): skip their bodies.
    for (const h of args.matchAll(/<<-?(["']?)([A-Za-z0-9_]+)\1/g)) {
      const word = h[2] ?? '';
      while (i < lines.length && (lines[i] ?? '').trim() !== word) i++;
      i++;
    }
  }
  return out;
}

/** Splits arguments on white space, honouring double and single quotes. */
function splitWords(args: string): string[] {
  const words: string[] = [];
  for (const m of args.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)) {
    words.push(m[1] ?? m[2] ?? m[3] ?? '');
  }
  return words;
}

/** The source operands of a `COPY`/`ADD` (flags and destination removed), or [] when `--from`. */
function sourcesOf(args: string): string[] {
  let rest = args.trim();
  const flags: string[] = [];
  while (rest.startsWith('--')) {
    const m = /^(--\S+)\s*/.exec(rest);
    if (m?.[1] === undefined) break;
    flags.push(m[1]);
    rest = rest.slice(m[0].length);
  }
  if (flags.some((f) => f.startsWith('--from'))) return [];
  let words: string[];
  if (rest.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(rest);
      words = Array.isArray(parsed) ? parsed.map(String) : splitWords(rest);
    } catch {
      words = splitWords(rest);
    }
  } else {
    words = splitWords(rest);
  }
  return words.slice(0, -1);
}

/** What a Dockerfile reads from its build context. */
export interface ContextInputs {
  /**
   * Context-relative paths (files or folders; `.` for the whole context) whose content the
   * Dockerfile's `COPY`/`ADD` instructions read. A source with a wildcard or a variable is widened
   * to the folder before it, so the list never misses a file (it may include more).
   */
  paths: string[];
  /** Remote `ADD` sources (URLs, git repositories), which are part of the inputs as text. */
  remote: string[];
}

const REMOTE = /^(https?:\/\/|git@|git:\/\/)/;

/**
 * The files a Dockerfile reads from its build context: the sources of every `COPY` and `ADD`
 * without `--from`, heredoc sources excluded.
 *
 * @param text - the Dockerfile's content
 */
export function contextInputsOf(text: string): ContextInputs {
  const paths = new Set<string>();
  const remote = new Set<string>();
  for (const ins of parseDockerfile(text)) {
    if (ins.keyword !== 'COPY' && ins.keyword !== 'ADD') continue;
    for (const src of sourcesOf(ins.args)) {
      if (src.startsWith('<<')) continue;
      if (REMOTE.test(src)) {
        remote.add(src);
        continue;
      }
      paths.add(widen(src));
    }
  }
  const list = [...paths].sort();
  if (list.includes('.')) return { paths: ['.'], remote: [...remote].sort() };
  // Drop paths inside another listed folder.
  const kept = list.filter((p) => !list.some((q) => q !== p && p.startsWith(`${q}/`)));
  return { paths: kept, remote: [...remote].sort() };
}

/** A COPY source as a context path; wildcards and variables widen it to the folder before them. */
function widen(src: string): string {
  const clean = posix.normalize(src.replace(/^\/+/, '')).replace(/\/+$/, '');
  const special = clean.search(/[*?[\\$]/);
  if (special === -1) return clean.startsWith('..') ? '.' : clean || '.';
  const before = clean.slice(0, special);
  const dir = before.includes('/') ? before.slice(0, before.lastIndexOf('/')) : '.';
  return dir === '' || dir.startsWith('..') ? '.' : dir;
}

/**
 * Substitutes `${NAME}` and `$NAME` as `envsubst` does, but only for the variables given: any
 * other reference (an `ARG` or `ENV` the Dockerfile uses itself) is left untouched. A variable
 * that is given but empty substitutes as empty text.
 *
 * @param text - the Dockerfile's content
 * @param vars - the variables to substitute, by name
 * @returns the text with those references replaced
 */
export function substituteVariables(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? '';
      return Object.hasOwn(vars, name) ? (vars[name] ?? '') : whole;
    },
  );
}

/**
 * The names of variables referenced as `${NAME}` or `$NAME` in a text.
 *
 * @param text - a Dockerfile's content
 */
export function referencedVariables(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g)) {
    names.add(m[1] ?? m[2] ?? '');
  }
  return [...names];
}
