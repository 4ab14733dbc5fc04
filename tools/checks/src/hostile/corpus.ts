/**
 * The hostile-input corpus of `tools/checks/corpus`, read for the tests beside this file: branch
 * names, secret values, bad config and values files, and commits that break one pipeline step.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The corpus folder. */
export const CORPUS_DIR = resolve(import.meta.dirname, '../../corpus');

function readJson(...path: string[]): unknown {
  return JSON.parse(readFileSync(join(CORPUS_DIR, ...path), 'utf8'));
}

/** One hostile branch name. */
export interface BranchEntry {
  /** The raw name; `@PWNED@` stands for a file that must never be created. */
  branch: string;
  /** Why it is here. */
  note: string;
  /** False when git refuses the name: it is then only given as CIRCLE_BRANCH or --branch. */
  git?: false;
  /** False when no process argument or environment variable can carry it (a NUL, a lone surrogate). */
  env?: false;
  /** Deployed by the end-to-end test. */
  deploy?: true;
}

/** Branches that share their names on purpose, with the reason. */
export interface SameNames {
  branches: string[];
  note: string;
}

/** The branch corpus. */
export function branchCorpus(): { branches: BranchEntry[]; sameNames: SameNames[] } {
  return readJson('branches.json') as { branches: BranchEntry[]; sameNames: SameNames[] };
}

/** One hostile secret value. */
export interface SecretEntry {
  /** The variable's name. */
  name: string;
  /** The value, with `@TOKEN@` and `@PWNED@` still in it. */
  value: string;
  /** Why it is here. */
  note: string;
  /** True for a value no environment variable can hold (it holds a NUL). */
  nul?: true;
}

interface GeneratedSecret {
  name: string;
  bytes: number;
  note: string;
}

/** Pieces the generated value cycles through: every kind the corpus tests one by one. */
const GENERATED_PIECES: readonly string[] = [
  ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)),
  '\n',
  '\t',
  '\r\n',
  "'\\''",
  '$(x)',
  '`y`',
  'é',
  '日本',
  '🚀',
];

/**
 * A value of exactly `bytes` bytes of UTF-8: the token at the start of every 1000 bytes or so (so
 * that any part of it that leaks still shows the token), hostile characters between.
 */
function generatedValue(bytes: number, token: string): string {
  let out = '';
  let size = 0;
  let next = 0;
  let lastToken = -Infinity;
  while (size < bytes) {
    let piece: string;
    if (size - lastToken >= 1000) {
      piece = token;
      lastToken = size;
    } else {
      piece = GENERATED_PIECES[next++ % GENERATED_PIECES.length] ?? 'x';
    }
    const pieceBytes = Buffer.byteLength(piece);
    if (size + pieceBytes > bytes) {
      out += 'z'.repeat(bytes - size);
      break;
    }
    out += piece;
    size += pieceBytes;
  }
  return out;
}

/**
 * The secret corpus with its placeholders filled: `@TOKEN@` by `token` (so that a leak is found by
 * searching for it) and `@PWNED@` by `pwned`, plus the generated 64 KiB value.
 *
 * @param token - a random, alphanumeric token for this run
 * @param pwned - a file path that must never be created
 */
export function secretCorpus(token: string, pwned: string): SecretEntry[] {
  const doc = readJson('secrets.json') as { values: SecretEntry[]; generated: GeneratedSecret[] };
  return [
    ...doc.values.map((e) => ({
      ...e,
      value: e.value.replaceAll('@TOKEN@', token).replaceAll('@PWNED@', pwned),
    })),
    ...doc.generated.map((g) => ({
      name: g.name,
      value: generatedValue(g.bytes, token),
      note: g.note,
    })),
  ];
}

/** A bad config file and what its error must name. */
export interface ConfigCase {
  /** The file, relative to `corpus/config`. */
  file: string;
  /** Texts the one-line error must contain besides the file. */
  names: string[];
  note: string;
  /** Found by the checks made before any step (or deploy) starts, not by the schema alone. */
  pipeline?: true;
  /** False for settings `deploytag deploy` does not use (the pipeline's test command, …). */
  deploy?: false;
  /** Variables that would hide the file's value (the environment wins over the file). */
  withoutEnv?: string[];
}

/** The bad config files (paths relative to `corpus/config`). */
export function configCases(): ConfigCase[] {
  return (readJson('config', 'cases.json') as { cases: ConfigCase[] }).cases;
}

/** A bad values file or HELM_VARS text and what its error must name. */
export interface ValuesCase {
  file?: string;
  text?: string;
  names: string[];
  note: string;
  /** Also given to `parse-helm-vars` (a bare assignment list). */
  parse?: true;
}

/** The bad values files (relative to `corpus/values`) and HELM_VARS texts. */
export function valuesCases(): { files: ValuesCase[]; helmVars: ValuesCase[] } {
  return readJson('values', 'cases.json') as { files: ValuesCase[]; helmVars: ValuesCase[] };
}

/** A commit that breaks one step of the sample pipeline. */
export interface FailingCase {
  /** The folder under `corpus/failing` whose files are written over the sample project. */
  dir: string;
  /** The step that must fail. */
  step: string;
  /** What its error must name. */
  names: string[];
  note: string;
}

/** The failing commits. */
export function failingCases(): FailingCase[] {
  return (readJson('failing', 'cases.json') as { cases: FailingCase[] }).cases;
}

/** Every line of `text` on which a secret could be found: the value, its base64, the token's. */
export function leakPatterns(token: string, values: readonly string[]): string[] {
  const patterns = new Set<string>([token]);
  // The token inside any base64 text, whatever its alignment: encode it after 0, 1 and 2 bytes and
  // keep the characters that do not depend on the neighbours.
  for (const shift of [0, 1, 2]) {
    const encoded = Buffer.from(`${'\0'.repeat(shift)}${token}`).toString('base64');
    const start = Math.ceil((shift * 4) / 3) + 1;
    patterns.add(encoded.slice(start, encoded.length - 4));
  }
  for (const value of values)
    if (value.length >= 8) patterns.add(Buffer.from(value).toString('base64'));
  return [...patterns];
}
