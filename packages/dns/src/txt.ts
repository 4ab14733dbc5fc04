/**
 * TXT values in the zone-file form Route 53 reads and writes: one or more double-quoted character
 * strings of at most 255 bytes each, separated by spaces, with `"` and `\` escaped by a backslash
 * and every byte outside printable ASCII written as `\` and three octal digits.
 *
 * @packageDocumentation
 */

/** Longest character string inside one TXT value (RFC 1035 §3.3). */
export const TXT_STRING_MAX_BYTES = 255;

function escapeByte(byte: number): string {
  if (byte === 0x22) return '\\"';
  if (byte === 0x5c) return '\\\\';
  if (byte >= 0x20 && byte <= 0x7e) return String.fromCharCode(byte);
  return `\\${byte.toString(8).padStart(3, '0')}`;
}

/**
 * The zone-file form of a TXT value: quoted, escaped, and cut into strings of at most 255 bytes
 * (never inside a UTF-8 character), which DNS clients join back together.
 *
 * @param text - the value
 * @returns for example `"heritage=deploytag"`
 */
export function quoteTxt(text: string): string {
  const chunks: string[] = [];
  let current: number[] = [];
  for (const char of text) {
    const bytes = Buffer.from(char, 'utf8');
    if (current.length + bytes.length > TXT_STRING_MAX_BYTES) {
      chunks.push(renderChunk(current));
      current = [];
    }
    current.push(...bytes);
  }
  if (current.length > 0 || chunks.length === 0) chunks.push(renderChunk(current));
  return chunks.join(' ');
}

function renderChunk(bytes: readonly number[]): string {
  return `"${bytes.map(escapeByte).join('')}"`;
}

/**
 * The text of a TXT value given in zone-file form: the quoted strings joined, escapes decoded
 * (`\"`, `\\`, `\` + three octal digits). A value that does not start with a quote is returned
 * as it is (Cloudflare accepts and returns unquoted TXT content).
 *
 * @param raw - the value as the provider returned it
 */
export function unquoteTxt(raw: string): string {
  const text = raw.trim();
  if (!text.startsWith('"')) return raw;
  const bytes: number[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch !== '"') {
      // Not the quoted form after all: keep the raw text rather than guess.
      return raw;
    }
    i++;
    let closed = false;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        closed = true;
        i++;
        break;
      }
      if (c === '\\') {
        const octal = /^[0-7]{3}/.exec(text.slice(i + 1, i + 4));
        if (octal) {
          bytes.push(parseInt(octal[0], 8));
          i += 4;
          continue;
        }
        const next = text[i + 1];
        if (next === undefined) return raw;
        bytes.push(...Buffer.from(next, 'utf8'));
        i += 2;
        continue;
      }
      const codePoint = text.codePointAt(i)!;
      const char = String.fromCodePoint(codePoint);
      bytes.push(...Buffer.from(char, 'utf8'));
      i += char.length;
    }
    if (!closed) return raw;
  }
  return Buffer.from(bytes).toString('utf8');
}
