import { createHash } from 'node:crypto';

/** Number of hexadecimal characters of the SHA-256 digest kept in a shortened name. */
export const HASH_LENGTH = 8;

/** Matches a UTF-16 code unit that is half of a surrogate pair with its other half missing. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * The bytes hashed for one string.
 *
 * A well-formed string is hashed as its UTF-8 bytes, so the hash can be reproduced in a shell with
 * `printf %s "$BRANCH" | sha256sum | cut -c1-8`. A string holding a lone surrogate has no exact
 * UTF-8 form (Node would turn every lone surrogate into U+FFFD, so two different strings would hash
 * alike); it is hashed as the byte 0xFF followed by its UTF-16LE code units instead. 0xFF never
 * occurs in UTF-8, so the two encodings can never produce the same byte sequence.
 */
function bytesOf(text: string): Buffer {
  if (!LONE_SURROGATE.test(text)) return Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from([0xff]), Buffer.from(text, 'utf16le')]);
}

/**
 * The first {@link HASH_LENGTH} lowercase hex characters of the SHA-256 digest of `text`.
 *
 * Pure and deterministic: the same input gives the same hash on every machine and every push.
 */
export function shortHash(text: string): string {
  return createHash('sha256').update(bytesOf(text)).digest('hex').slice(0, HASH_LENGTH);
}

/**
 * The short hash of several parts, encoded unambiguously as a JSON array (for example
 * `["shop","feature/x"]`), so `("a-b", "c")` and `("a", "b-c")` never hash alike.
 * JSON escapes lone surrogates, so the encoded text is always well-formed.
 */
export function shortHashOfParts(parts: readonly (string | null)[]): string {
  return shortHash(JSON.stringify(parts));
}
