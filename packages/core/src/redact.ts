import { Buffer } from 'node:buffer';
import { SECRET_PLACEHOLDER, Secret } from './secret.js';

/** Options of a {@link Redactor}. */
export interface RedactorOptions {
  /**
   * Values shorter than this many characters are ignored by {@link Redactor.add}, because
   * replacing every occurrence of a two- or three-character string would mangle ordinary text
   * (and would tell a reader which short strings are secret).
   *
   * @defaultValue 4
   */
  minLength?: number;
}

/** Shortest value a {@link Redactor} accepts unless configured otherwise. */
export const DEFAULT_REDACT_MIN_LENGTH = 4;

/**
 * A compiled multi-pattern matcher (Aho–Corasick over UTF-16 code units). `next[s]` holds the
 * transitions of state `s`, `fail[s]` its failure link, and `longest[s]` the length of the longest
 * pattern that ends at `s` (0 when none).
 */
interface Automaton {
  readonly next: Map<number, number>[];
  readonly fail: number[];
  readonly longest: number[];
  readonly shortest: number;
}

/**
 * Replaces known secret values in text with `***`.
 *
 * @remarks
 * For every value added, the redactor also recognises the forms a value usually takes when a
 * program prints it:
 *
 * - base64 and base64url, including the part of the encoding that does not depend on the
 *   neighbouring bytes, so the value is found inside a longer encoded string such as the
 *   base64 of `user:password` in a Basic authorization header or a Docker `config.json`;
 *
 * - URL encoding (`encodeURIComponent`, and the form encoding that writes spaces as `+`);
 *
 * - the JSON string escape of the value (quotes, backslashes, newlines escaped);
 *
 * - each line of a multi-line value (a PEM key), because output is usually handled line by line.
 *
 * Values (and derived forms) shorter than `minLength` (default 4) are ignored; see
 * {@link RedactorOptions.minLength}.
 *
 * Matching is linear in the length of the text whatever the number of values: the values are
 * compiled once into an automaton, which is cached until the next {@link Redactor.add}. Where
 * values overlap, the union of all matches is replaced, so the longest value always wins and no
 * fragment of any value is left visible; adjacent matches collapse into one `***`.
 */
export class Redactor {
  readonly #minLength: number;
  readonly #values = new Set<string>();
  readonly #patterns = new Set<string>();
  #automaton: Automaton | undefined;

  /**
   * @param options - see {@link RedactorOptions}
   */
  constructor(options: RedactorOptions = {}) {
    this.#minLength = Math.max(1, options.minLength ?? DEFAULT_REDACT_MIN_LENGTH);
  }

  /** Number of distinct values added (derived encodings are not counted). */
  get size(): number {
    return this.#values.size;
  }

  /**
   * Registers a value to hide, with its common encodings. Empty values and values shorter than
   * the minimum length are ignored; adding a value twice has no further effect.
   *
   * @param value - a plain string or a {@link Secret}
   * @returns this redactor, for chaining
   */
  add(value: string | Secret): this {
    const plain = Secret.isSecret(value) ? value.reveal() : value;
    if (plain.length < this.#minLength || this.#values.has(plain)) return this;
    this.#values.add(plain);
    let changed = false;
    for (const form of derivedForms(plain)) {
      if (form.length >= this.#minLength && !this.#patterns.has(form)) {
        this.#patterns.add(form);
        changed = true;
      }
    }
    if (changed) this.#automaton = undefined;
    return this;
  }

  /**
   * Tells whether a value (exactly as given) has been added.
   *
   * @param value - a plain string or a {@link Secret}
   */
  has(value: string | Secret): boolean {
    return this.#values.has(Secret.isSecret(value) ? value.reveal() : value);
  }

  /**
   * Returns `text` with every occurrence of every known value (and its encodings) replaced by
   * `***`.
   *
   * @param text - any text about to be printed or stored
   */
  redact(text: string): string {
    if (this.#patterns.size === 0 || text.length === 0) return text;
    const automaton = (this.#automaton ??= compile(this.#patterns));
    if (text.length < automaton.shortest) return text;
    const ranges = findCoveredRanges(automaton, text);
    if (ranges.length === 0) return text;
    let out = '';
    let pos = 0;
    for (let i = 0; i < ranges.length; i += 2) {
      const start = ranges[i]!;
      const end = ranges[i + 1]!;
      out += text.slice(pos, start) + SECRET_PLACEHOLDER;
      pos = end;
    }
    return out + text.slice(pos);
  }
}

/**
 * A process-wide redactor, used by default by {@link createLogger}, {@link reportError} and
 * {@link runCommand} (which adds the `Secret` values it is given). Add every secret the process
 * loads to it, so that every line the CLI prints is scrubbed. Libraries and tests that want an
 * isolated set of values create their own {@link Redactor} and pass it explicitly.
 */
export const globalRedactor: Redactor = new Redactor();

/** The value itself and the forms it commonly takes in program output. */
function derivedForms(value: string): string[] {
  const forms = new Set<string>([value]);
  const lines = value.split(/\r?\n/).map((line) => line.trim());
  if (lines.length > 1) for (const line of lines) forms.add(line);
  forms.add(JSON.stringify(value).slice(1, -1));
  const uri = encodeURIComponent(value);
  forms.add(uri);
  forms.add(uri.replaceAll('%20', '+'));
  const bytes = Buffer.from(value, 'utf8');
  for (const fragment of base64Fragments(bytes)) {
    forms.add(fragment);
    forms.add(fragment.replaceAll('+', '-').replaceAll('/', '_'));
  }
  forms.delete('');
  return [...forms];
}

/**
 * The base64 text of `bytes` as it appears inside a longer encoded string, for each of the three
 * alignments the bytes can have: the characters that depend on neighbouring bytes are cut off.
 * With no neighbours (alignment 0) the result is the exact unpadded encoding.
 */
function base64Fragments(bytes: Buffer): string[] {
  const fragments: string[] = [];
  // Characters at the start of the encoding that also depend on the bytes before the value.
  const skipped = [0, 2, 3] as const;
  for (const offset of [0, 1, 2] as const) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const encoded = padded.toString('base64').replace(/=+$/, '');
    // A partial last group's final character also depends on the bytes after the value.
    const end = padded.length % 3 === 0 ? encoded.length : encoded.length - 1;
    const fragment = encoded.slice(skipped[offset], end);
    fragments.push(offset === 0 ? encoded : fragment);
    if (offset === 0 && end !== encoded.length) fragments.push(fragment);
  }
  return fragments;
}

function compile(patterns: Iterable<string>): Automaton {
  const next: Map<number, number>[] = [new Map<number, number>()];
  const depth: number[] = [0];
  const terminal: boolean[] = [false];
  let shortest = Infinity;
  for (const pattern of patterns) {
    shortest = Math.min(shortest, pattern.length);
    let state = 0;
    for (let i = 0; i < pattern.length; i++) {
      const code = pattern.charCodeAt(i);
      const transitions = next[state]!;
      let target = transitions.get(code);
      if (target === undefined) {
        target = next.length;
        next.push(new Map<number, number>());
        depth.push(depth[state]! + 1);
        terminal.push(false);
        transitions.set(code, target);
      }
      state = target;
    }
    terminal[state] = true;
  }
  const fail = new Array<number>(next.length).fill(0);
  const longest = new Array<number>(next.length).fill(0);
  // Breadth-first, so a state's failure target is complete before the state itself.
  const queue: number[] = [];
  for (const child of next[0]!.values()) queue.push(child);
  for (let head = 0; head < queue.length; head++) {
    const state = queue[head]!;
    longest[state] = terminal[state] ? depth[state]! : longest[fail[state]!]!;
    for (const [code, child] of next[state]!) {
      let f = fail[state]!;
      while (f !== 0 && !next[f]!.has(code)) f = fail[f]!;
      const target = next[f]!.get(code);
      fail[child] = target !== undefined && target !== child ? target : 0;
      queue.push(child);
    }
  }
  return { next, fail, longest, shortest };
}

/**
 * Start and end offsets (flattened pairs, end exclusive) of the maximal runs of `text` covered by
 * any pattern occurrence. Runs that touch are merged.
 */
function findCoveredRanges(automaton: Automaton, text: string): number[] {
  const { next, fail, longest } = automaton;
  const ranges: number[] = [];
  let state = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    while (state !== 0 && !next[state]!.has(code)) state = fail[state]!;
    state = next[state]!.get(code) ?? 0;
    const length = longest[state]!;
    if (length === 0) continue;
    // Matches arrive by increasing end, but a longer match may start before earlier ones.
    let start = i + 1 - length;
    const end = i + 1;
    while (ranges.length > 0 && ranges[ranges.length - 1]! >= start) {
      start = Math.min(start, ranges[ranges.length - 2]!);
      ranges.length -= 2;
    }
    ranges.push(start, end);
  }
  return ranges;
}
