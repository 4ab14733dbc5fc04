import { Secret } from '@deploytag/core';
import { SecretsError, SecretsErrorCodes } from './errors.js';

/** One environment variable read from a secret: its name and its value, kept as a `Secret`. */
export interface SecretEntry {
  /** The variable's name (a valid environment variable name). */
  name: string;
  /** The value. */
  value: Secret;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether `name` can be an environment variable that every shell can export: letters, digits and
 * `_`, not starting with a digit.
 */
export function isEnvName(name: string): boolean {
  return ENV_NAME.test(name);
}

function invalid(source: string, text: string): SecretsError {
  return new SecretsError(SecretsErrorCodes.INVALID, `secret "${source}": ${text}`, {
    ids: [source],
  });
}

/**
 * Checks a name and a value can be an environment variable; names the variable, never the value.
 *
 * @param name - the variable's name
 * @param value - its value
 * @param source - the secret id or file, for the message
 * @param where - e.g. `line 3`, for the message
 * @throws SecretsError (`E_SECRET_INVALID`) for a name that is not an environment variable name, a
 *   value holding a NUL character (which no environment can hold), or a value that is not valid
 *   Unicode text
 */
export function checkEntry(name: string, value: string, source: string, where?: string): void {
  const at = where === undefined ? '' : ` (${where})`;
  if (!isEnvName(name)) {
    throw invalid(
      source,
      `${JSON.stringify(name)}${at} is not a valid environment variable name: use letters, digits and _, not starting with a digit`,
    );
  }
  if (value.includes('\0')) {
    throw invalid(
      source,
      `the value of ${name}${at} contains a NUL character, which no environment variable can hold`,
    );
  }
  if (LONE_SURROGATE.test(value)) {
    throw invalid(source, `the value of ${name}${at} is not valid Unicode text`);
  }
}

/** Reads a quoted value starting at `text[start]` (the quote); returns the value and the end. */
function readQuoted(
  text: string,
  start: number,
  source: string,
  line: number,
): { value: string; end: number } {
  const quote = text[start];
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === quote) return { value, end: i + 1 };
    if (quote === '"' && c === '\\' && i + 1 < text.length) {
      const next = text[i + 1]!;
      const escapes: Record<string, string> = {
        n: '\n',
        r: '\r',
        t: '\t',
        '"': '"',
        '\\': '\\',
        $: '$',
      };
      value += escapes[next] ?? `\\${next}`;
      i += 2;
      continue;
    }
    value += c;
    i += 1;
  }
  throw invalid(source, `the quoted value starting on line ${line} is never closed`);
}

/**
 * Parses `KEY=VALUE` lines (the original's format, also a dotenv file): blank lines and `#`
 * comments are skipped, `export ` before a name is allowed; a value in double quotes may span
 * lines and understands `\n`, `\r`, `\t`, `\"`, `\\` and `\$`; a value in single quotes is taken
 * literally (also across lines); an unquoted value is the rest of the line, literally (no `$`
 * expansion and no inline comments, so the original's values keep their meaning). Later
 * duplicates win.
 *
 * @param text - the secret's text
 * @param source - the secret id or file, for messages
 * @throws SecretsError naming the line for a line that is not `KEY=VALUE`, an invalid name or value
 */
export function parseEnvLines(text: string, source: string): SecretEntry[] {
  const entries: SecretEntry[] = [];
  let pos = 0;
  let line = 1;
  while (pos <= text.length) {
    const eol = text.indexOf('\n', pos);
    const lineEnd = eol === -1 ? text.length : eol;
    const raw = text.slice(pos, lineEnd);
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      if (eol === -1) break;
      pos = eol + 1;
      line += 1;
      continue;
    }
    const offset = raw.length - raw.trimStart().length;
    const body = trimmed.replace(/^export\s+/, '');
    const eq = body.indexOf('=');
    if (eq <= 0) {
      throw invalid(source, `line ${line} is not KEY=VALUE (nor a # comment)`);
    }
    const name = body.slice(0, eq).trim();
    const valueStart = pos + offset + (trimmed.length - body.length) + eq + 1;
    const first = text[valueStart];
    let value: string;
    let next: number;
    const startLine = line;
    if (first === '"' || first === "'") {
      const quoted = readQuoted(text, valueStart, source, line);
      value = quoted.value;
      const restEnd = text.indexOf('\n', quoted.end);
      const rest = text.slice(quoted.end, restEnd === -1 ? text.length : restEnd).trim();
      if (rest !== '' && !rest.startsWith('#')) {
        throw invalid(
          source,
          `line ${startLine}: unexpected text after the closing quote of ${name}`,
        );
      }
      line += text.slice(valueStart, quoted.end).split('\n').length - 1;
      next = restEnd === -1 ? text.length + 1 : restEnd + 1;
    } else {
      value = text.slice(valueStart, lineEnd).replace(/\r$/, '');
      next = eol === -1 ? text.length + 1 : eol + 1;
    }
    checkEntry(name, value, source, `line ${startLine}`);
    entries.push({ name, value: Secret.of(value) });
    pos = next;
    line += 1;
  }
  return entries;
}

/**
 * Parses a JSON object of variables (what the AWS console writes): string values as they are,
 * numbers and booleans as their JSON text.
 *
 * @throws SecretsError for a document that is not an object, a null, object or list value, or an
 *   invalid name or value (the message names the key, never a value)
 */
export function parseJsonObject(text: string, source: string): SecretEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // The parser's message may quote the text: never show it.
    throw invalid(
      source,
      'starts with "{" but is not valid JSON; store a JSON object or KEY=VALUE lines',
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw invalid(source, 'holds JSON that is not an object of variables');
  }
  const entries: SecretEntry[] = [];
  for (const [name, raw] of Object.entries(json)) {
    let value: string;
    if (typeof raw === 'string') value = raw;
    else if (typeof raw === 'number' || typeof raw === 'boolean') value = JSON.stringify(raw);
    else {
      throw invalid(
        source,
        `the value of ${JSON.stringify(name)} is ${raw === null ? 'null' : Array.isArray(raw) ? 'a list' : 'an object'}; only strings, numbers and booleans can be environment variables`,
      );
    }
    checkEntry(name, value, source, 'JSON key');
    entries.push({ name, value: Secret.of(value) });
  }
  return entries;
}

/**
 * Parses a secret's text in either shape people store: a JSON object (text starting with `{`) or
 * `KEY=VALUE` lines.
 *
 * @param text - the secret string
 * @param source - the secret id or file, for messages
 */
export function parseSecretText(text: string, source: string): SecretEntry[] {
  return text.trimStart().startsWith('{')
    ? parseJsonObject(text, source)
    : parseEnvLines(text.replace(/^\uFEFF/, ''), source);
}

/**
 * Parses a binary secret: UTF-8 text is parsed like a secret string; anything else is refused.
 *
 * @throws SecretsError when the bytes are not UTF-8 text
 */
export function parseSecretBinary(bytes: Uint8Array, source: string): SecretEntry[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid(
      source,
      'is a binary secret that is not UTF-8 text; environment variables can only hold text, so store KEY=VALUE lines or a JSON object (base64-encode binary values inside it)',
    );
  }
  return parseSecretText(text, source);
}
