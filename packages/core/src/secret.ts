/** The text every printing path of a {@link Secret} shows instead of its value. */
export const SECRET_PLACEHOLDER = '***';

const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/** Brand shared by every copy of this package loaded in one process. */
const secretBrand = Symbol.for('deploytag.core.secret');

/**
 * A string that must not be printed: a password, a token, a private key.
 *
 * @remarks
 * The value lives in an ECMAScript private field, so enumerating properties, `Object.entries`,
 * spreading and structured cloning never see it. Every way of turning a `Secret` into text shows
 * `***` instead: `String(secret)`, template literals, string concatenation, `JSON.stringify`
 * (also nested in objects), `util.inspect` and `console.log` (also nested). The only way to read
 * the value is {@link Secret.reveal}, which makes each place that needs the value easy to find.
 *
 * A `Secret` hides its own rendering only; once revealed, the plain string is an ordinary string.
 * Add secrets to a {@link Redactor} so that text that contains the revealed value (a program's
 * error output, a log line) is scrubbed too.
 *
 * @example
 * ```ts
 * const token = Secret.of(process.env.REGISTRY_TOKEN ?? '');
 * console.log(`token: ${token}`); // token: ***
 * headers.authorization = `Bearer ${token.reveal()}`;
 * ```
 */
export class Secret {
  readonly #value: string;

  private constructor(value: string) {
    this.#value = value;
    Object.defineProperty(this, secretBrand, { value: true, enumerable: false });
    Object.freeze(this);
  }

  /**
   * Wraps a value so that it prints as `***`.
   *
   * @param value - the sensitive text
   * @returns a new `Secret` holding `value`
   */
  static of(value: string): Secret {
    return new Secret(value);
  }

  /**
   * Tells whether a value is a {@link Secret}, also one created by another copy of this package.
   *
   * @param value - anything
   * @returns true when `value` is a `Secret`
   */
  static isSecret(value: unknown): value is Secret {
    if (typeof value !== 'object' || value === null) return false;
    if (#value in value) return true;
    return (value as Record<symbol, unknown>)[secretBrand] === true;
  }

  /**
   * Returns the plain value. Call it only where the value is handed to the thing that needs it
   * (a child's environment, a request header), never to build text that is printed.
   *
   * @returns the sensitive text
   */
  reveal(): string {
    return this.#value;
  }

  /** @returns `***` */
  toString(): string {
    return SECRET_PLACEHOLDER;
  }

  /** @returns `***`, so `JSON.stringify` of any object holding a `Secret` hides it */
  toJSON(): string {
    return SECRET_PLACEHOLDER;
  }

  /** @returns `***` for every conversion hint, so string concatenation hides the value */
  [Symbol.toPrimitive](): string {
    return SECRET_PLACEHOLDER;
  }

  /** @returns `***` for `util.inspect`, `console.log` and `util.format` with `%o` */
  [inspectCustom](): string {
    return SECRET_PLACEHOLDER;
  }
}
