/**
 * Writes cloudflare-schemas.json beside this file: JSON Schemas of the Cloudflare API requests the
 * test server (cloudflare-api.ts) accepts and of the objects it returns, derived with
 * ts-json-schema-generator from the types of the official `cloudflare` SDK, which Cloudflare
 * generates from its published OpenAPI description.
 *
 * The SDK's parameter types mix path, query and body parameters in one object and say which is
 * which at the start of each property's doc comment ("Path param:", "Query param:", "Body
 * param:"). This script splits them, so the server validates a request body against the body
 * parameters only and the query string against the query parameters only.
 *
 * The result is committed rather than generated when tests start: generating needs a TypeScript
 * program over the SDK's declarations (about 4 s of CPU), and a committed file shows in review
 * exactly how the API's schema changed when the SDK is upgraded. A unit test fails when the
 * installed SDK's version differs from the one recorded in the file.
 *
 * Usage: tsx tools/harness/src/daemons/generate-cloudflare-schemas.ts [--check]
 * (`--check` compares instead of writing and exits 1 when the file is stale).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGenerator } from 'ts-json-schema-generator';

type Schema = Record<string, unknown>;

const here = dirname(fileURLToPath(import.meta.url));
const output = join(here, 'cloudflare-schemas.json');
const require = createRequire(import.meta.url);
/** The SDK's folder: up from its main module to the package.json named `cloudflare`. */
function findSdkRoot(): string {
  let dir = dirname(require.resolve('cloudflare'));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'cloudflare') return dir;
    } catch {
      // no package.json here
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the cloudflare package');
    dir = up;
  }
}
const sdkRoot = findSdkRoot();
const sdkVersion = (
  JSON.parse(readFileSync(join(sdkRoot, 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

/** An API operation: its parameter type in the SDK, its path parameters, whether it has a body. */
interface Operation {
  file: string;
  type: string;
  path: readonly string[];
  body: boolean;
}

const operations: Record<string, Operation> = {
  'zones.list': {
    file: 'resources/zones/zones.d.ts',
    type: 'ZoneListParams',
    path: [],
    body: false,
  },
  'dns_records.list': {
    file: 'resources/dns/records.d.ts',
    type: 'RecordListParams',
    path: ['zone_id'],
    body: false,
  },
  'dns_records.get': {
    file: 'resources/dns/records.d.ts',
    type: 'RecordGetParams',
    path: ['zone_id'],
    body: false,
  },
  'dns_records.create': {
    file: 'resources/dns/records.d.ts',
    type: 'RecordCreateParams',
    path: ['zone_id'],
    body: true,
  },
  'dns_records.update': {
    file: 'resources/dns/records.d.ts',
    type: 'RecordUpdateParams',
    path: ['zone_id'],
    body: true,
  },
  'dns_records.delete': {
    file: 'resources/dns/records.d.ts',
    type: 'RecordDeleteParams',
    path: ['zone_id'],
    body: false,
  },
};

const responses: Record<string, { file: string; type: string }> = {
  Zone: { file: 'resources/zones/zones.d.ts', type: 'Zone' },
  RecordResponse: { file: 'resources/dns/records.d.ts', type: 'RecordResponse' },
};

const generators = new Map<string, ReturnType<typeof createGenerator>>();
function schemaOf(file: string, type: string): Schema {
  let generator = generators.get(file);
  if (generator === undefined) {
    generator = createGenerator({
      path: join(sdkRoot, file),
      type: '*',
      skipTypeCheck: true,
      jsDoc: 'extended',
      expose: 'all',
      topRef: false,
      additionalProperties: false,
      sortProps: true,
    });
    generators.set(file, generator);
  }
  return JSON.parse(JSON.stringify(generator.createSchema(type))) as Schema;
}

function definitionOf(root: Schema, ref: unknown): [string, Schema] {
  if (typeof ref !== 'string' || !ref.startsWith('#/definitions/')) {
    throw new Error(`unexpected reference ${String(ref)}`);
  }
  const name = decodeURIComponent(ref.slice('#/definitions/'.length));
  const target = (root['definitions'] as Record<string, Schema> | undefined)?.[name];
  if (target === undefined) throw new Error(`reference ${ref} does not resolve`);
  return [name, target];
}

/** Annotations that do not constrain anything (the doc comments only matter to this script). */
const ANNOTATIONS = new Set([
  'description',
  'deprecated',
  'title',
  'examples',
  'markdownDescription',
]);

/** Removes every annotation keyword. */
function stripDescriptions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripDescriptions);
  if (typeof node !== 'object' || node === null) return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    if (ANNOTATIONS.has(k)) continue;
    out[k] =
      k === 'properties' || k === 'definitions'
        ? mapValues(v, stripDescriptions)
        : stripDescriptions(v);
  }
  return out;
}

function mapValues(node: unknown, f: (v: unknown) => unknown): Schema {
  return Object.fromEntries(Object.entries(node as Schema).map(([k, v]) => [k, f(v)]));
}

/** Keeps only the definitions reachable from the root. */
function prune(root: Schema): Schema {
  const definitions = (root['definitions'] ?? {}) as Record<string, Schema>;
  const keep = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') {
        const name = decodeURIComponent(v.slice('#/definitions/'.length));
        if (!keep.has(name)) {
          keep.add(name);
          walk(definitions[name]);
        }
      } else if (k !== 'definitions') walk(v);
    }
  };
  walk(root);
  const rest = { ...root };
  delete rest['definitions'];
  if (keep.size === 0) return rest;
  return {
    ...rest,
    definitions: Object.fromEntries([...keep].sort().map((n) => [n, definitions[n]])),
  };
}

type Place = 'path' | 'query' | 'body';

function placeOf(op: Operation, name: string, property: Schema): Place {
  if (op.path.includes(name)) return 'path';
  const doc = typeof property['description'] === 'string' ? property['description'] : '';
  if (doc.startsWith('Path param')) return 'path';
  if (doc.startsWith('Query param')) return 'query';
  if (doc.startsWith('Body param')) return 'body';
  if (!op.body) return 'query';
  throw new Error(`${op.type}.${name}: cannot tell whether it is a path, query or body parameter`);
}

/** Splits an operation's parameter type into its body schema and its query schema. */
function splitOperation(op: Operation): { path: string[]; query: Schema; body: Schema | null } {
  const root = schemaOf(op.file, op.type);
  const branchRefs = Array.isArray(root['anyOf']) ? (root['anyOf'] as Schema[]) : undefined;
  const definitions = { ...((root['definitions'] ?? {}) as Record<string, Schema>) };
  const branches: { name: string | undefined; schema: Schema }[] = branchRefs
    ? branchRefs.map((b) => {
        const [name, schema] = definitionOf(root, b['$ref']);
        return { name, schema };
      })
    : [{ name: undefined, schema: root }];
  const query: Record<string, Schema> = {};
  const path = new Set<string>();
  const bodyBranches: Schema[] = [];
  for (const { name, schema } of branches) {
    if (schema['type'] !== 'object') throw new Error(`${op.type}: a branch is not an object`);
    const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
    const required = (schema['required'] ?? []) as string[];
    const bodyProperties: Record<string, Schema> = {};
    for (const [prop, sub] of Object.entries(properties)) {
      const place = placeOf(op, prop, sub);
      if (place === 'path') path.add(prop);
      else if (place === 'query') query[prop] ??= sub;
      else bodyProperties[prop] = sub;
    }
    const bodySchema: Schema = {
      type: 'object',
      properties: bodyProperties,
      required: required.filter((r) => r in bodyProperties),
      additionalProperties: false,
    };
    if (name === undefined) bodyBranches.push(bodySchema);
    else {
      definitions[name] = bodySchema;
      bodyBranches.push({ $ref: `#/definitions/${encodeURIComponent(name)}` });
    }
  }
  const querySchema = prune({
    type: 'object',
    properties: query,
    additionalProperties: false,
    definitions,
  });
  const body = op.body
    ? prune(
        bodyBranches.length === 1 && branchRefs === undefined
          ? { ...bodyBranches[0], definitions }
          : { anyOf: bodyBranches, definitions },
      )
    : null;
  return {
    path: [...path].sort(),
    query: stripDescriptions(querySchema) as Schema,
    body: body === null ? null : (stripDescriptions(body) as Schema),
  };
}

const result = {
  $comment: `Generated by tools/harness/src/daemons/generate-cloudflare-schemas.ts from the types of cloudflare@${sdkVersion}; do not edit.`,
  sdkVersion,
  operations: Object.fromEntries(
    Object.entries(operations).map(([name, op]) => [name, splitOperation(op)]),
  ),
  responses: Object.fromEntries(
    Object.entries(responses).map(([name, r]) => {
      const schema = schemaOf(r.file, r.type);
      delete schema['$schema'];
      return [name, stripDescriptions(prune(schema))];
    }),
  ),
};
const prettier = await import('prettier');
const text = await prettier.format(JSON.stringify(result), {
  ...(await prettier.resolveConfig(output)),
  filepath: output,
});

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(output, 'utf8');
  } catch {
    // missing: stale
  }
  if (current !== text) {
    process.stderr.write(`${output} is stale: run this script without --check\n`);
    process.exit(1);
  }
  process.stdout.write(`${output} is up to date (cloudflare@${sdkVersion})\n`);
} else {
  writeFileSync(output, text);
  process.stdout.write(`wrote ${output} (cloudflare@${sdkVersion})\n`);
}
