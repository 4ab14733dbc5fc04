/**
 * A small JSON Schema (draft-07) validator for the schemas ts-json-schema-generator writes for the
 * Cloudflare test server. It knows exactly the keywords those schemas use — `type`, `properties`,
 * `required`, `additionalProperties`, `items`, `anyOf`, `enum`, `const`, `$ref` into
 * `definitions` — and refuses a schema with any other keyword, so a constraint can never be
 * ignored silently.
 */

/** A JSON Schema, as a plain object. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** One validation failure: where (a JSON pointer) and what. */
export interface SchemaIssue {
  /** JSON pointer of the offending value (`''` for the root). */
  path: string;
  /** What is wrong. */
  message: string;
}

/** Options of {@link validateJson}. */
export interface ValidateOptions {
  /**
   * Accept strings where the schema wants a number, an integer or a boolean when they spell one,
   * and a single value where it wants an array: what query-string parameters look like.
   */
  coerceStrings?: boolean;
}

const KNOWN = new Set([
  '$schema',
  '$ref',
  'definitions',
  'description',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'anyOf',
  'enum',
  'const',
]);

const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks that a schema uses only the keywords this validator implements, and that every `$ref`
 * resolves.
 *
 * @param schema - the root schema
 * @throws Error naming the first unsupported keyword or dangling reference
 */
export function assertSupportedSchema(schema: JsonSchema): void {
  const walk = (node: unknown, at: string): void => {
    if (!isObject(node)) throw new Error(`${at}: a schema must be an object`);
    for (const [keyword, value] of Object.entries(node)) {
      if (!KNOWN.has(keyword)) throw new Error(`${at}: unsupported keyword ${keyword}`);
      if (keyword === 'type') {
        const types = Array.isArray(value) ? (value as unknown[]) : [value];
        for (const t of types) {
          if (typeof t !== 'string' || !TYPES.has(t))
            throw new Error(`${at}: bad type ${String(t)}`);
        }
      }
      if (keyword === '$ref') resolveRef(schema, value, at);
      if (keyword === 'properties' || keyword === 'definitions') {
        if (!isObject(value)) throw new Error(`${at}/${keyword}: must be an object`);
        for (const [name, sub] of Object.entries(value)) walk(sub, `${at}/${keyword}/${name}`);
      }
      if (keyword === 'items' || (keyword === 'additionalProperties' && isObject(value))) {
        walk(value, `${at}/${keyword}`);
      }
      if (keyword === 'anyOf') {
        if (!Array.isArray(value)) throw new Error(`${at}/anyOf: must be an array`);
        (value as unknown[]).forEach((sub, i) => {
          walk(sub, `${at}/anyOf/${i}`);
        });
      }
    }
  };
  walk(schema, '#');
}

function resolveRef(root: JsonSchema, ref: unknown, at: string): JsonSchema {
  if (typeof ref !== 'string' || !ref.startsWith('#/definitions/')) {
    throw new Error(`${at}: unsupported $ref ${String(ref)}`);
  }
  const name = decodeURIComponent(ref.slice('#/definitions/'.length));
  const definitions = root['definitions'];
  const target = isObject(definitions) ? definitions[name] : undefined;
  if (!isObject(target)) throw new Error(`${at}: $ref ${ref} does not resolve`);
  return target;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function pointer(path: string, key: string | number): string {
  return `${path}/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

function matchesType(type: string, value: unknown, coerce: boolean): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean' || (coerce && (value === 'true' || value === 'false'));
    case 'number':
      return (
        (typeof value === 'number' && Number.isFinite(value)) ||
        (coerce &&
          typeof value === 'string' &&
          value.trim() !== '' &&
          Number.isFinite(Number(value)))
      );
    case 'integer':
      return (
        (typeof value === 'number' && Number.isInteger(value)) ||
        (coerce && typeof value === 'string' && /^-?\d+$/.test(value))
      );
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    default:
      return false;
  }
}

function sameJson(a: unknown, b: unknown, coerce: boolean): boolean {
  if (coerce && typeof a === 'string' && (typeof b === 'number' || typeof b === 'boolean')) {
    return a === String(b);
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

function check(
  root: JsonSchema,
  schema: JsonSchema,
  value: unknown,
  path: string,
  coerce: boolean,
): SchemaIssue[] {
  if (schema['$ref'] !== undefined) {
    return check(root, resolveRef(root, schema['$ref'], path), value, path, coerce);
  }
  const issues: SchemaIssue[] = [];
  const anyOf = schema['anyOf'] as JsonSchema[] | undefined;
  if (anyOf !== undefined) {
    const results = anyOf.map((sub) => check(root, sub, value, path, coerce));
    if (!results.some((r) => r.length === 0)) {
      // Report the alternative that came closest: the fewest issues.
      const closest = results.reduce((a, b) => (b.length < a.length ? b : a));
      issues.push({
        path,
        message: `matches none of the ${anyOf.length} allowed shapes; closest: ${closest.map((i) => `${i.path || '/'} ${i.message}`).join('; ')}`,
      });
      return issues;
    }
  }
  if (schema['const'] !== undefined && !sameJson(value, schema['const'], coerce)) {
    issues.push({ path, message: `must be ${JSON.stringify(schema['const'])}` });
  }
  const enumValues = schema['enum'] as unknown[] | undefined;
  if (enumValues !== undefined && !enumValues.some((e) => sameJson(value, e, coerce))) {
    issues.push({
      path,
      message: `must be one of ${enumValues.map((e) => JSON.stringify(e)).join(', ')}`,
    });
  }
  const typeSpec = schema['type'];
  let current = value;
  if (typeSpec !== undefined) {
    const types = Array.isArray(typeSpec) ? (typeSpec as string[]) : [typeSpec as string];
    if (coerce && types.includes('array') && !Array.isArray(value) && value !== undefined) {
      current = [value];
    } else if (!types.some((t) => matchesType(t, value, coerce))) {
      issues.push({ path, message: `must be ${types.join(' or ')}, not ${typeOf(value)}` });
      return issues;
    }
  }
  if (isObject(current)) {
    const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
    for (const name of (schema['required'] ?? []) as string[]) {
      if (current[name] === undefined) issues.push({ path, message: `needs ${name}` });
    }
    const additional = schema['additionalProperties'];
    for (const [name, item] of Object.entries(current)) {
      const sub = properties[name];
      if (sub !== undefined) {
        issues.push(...check(root, sub, item, pointer(path, name), coerce));
      } else if (additional === false) {
        issues.push({ path: pointer(path, name), message: 'is not allowed' });
      } else if (isObject(additional)) {
        issues.push(...check(root, additional, item, pointer(path, name), coerce));
      }
    }
  }
  if (Array.isArray(current) && schema['items'] !== undefined) {
    const items = schema['items'] as JsonSchema;
    (current as unknown[]).forEach((item, i) => {
      issues.push(...check(root, items, item, pointer(path, i), coerce));
    });
  }
  return issues;
}

/**
 * Validates a value against a schema (see the module comment for the keywords supported).
 *
 * @param schema - the root schema; `$ref`s resolve against its `definitions`
 * @param value - parsed JSON
 * @param options - query-string coercion
 * @returns the issues; empty when the value is valid
 */
export function validateJson(
  schema: JsonSchema,
  value: unknown,
  options: ValidateOptions = {},
): SchemaIssue[] {
  return check(schema, schema, value, '', options.coerceStrings === true);
}
