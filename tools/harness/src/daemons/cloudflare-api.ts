/**
 * A local stand-in for Cloudflare's DNS API (v4), for integration tests only: zones and DNS
 * records kept in memory, served over node:http on a free loopback port.
 *
 * Every request is checked the way Cloudflare would refuse it, so that a bug in a client makes
 * its test fail:
 * - authentication: an `Authorization: Bearer <token>` header with the server's token (400 when
 *   missing or malformed, 403 when wrong);
 * - shape: the body and the query string are validated against JSON Schemas derived from the
 *   official `cloudflare` SDK's types, which Cloudflare generates from its published OpenAPI
 *   description (cloudflare-schemas.json, written by generate-cloudflare-schemas.ts): unknown
 *   fields, missing ones and wrong types get a 400 with Cloudflare's error envelope
 *   (`success: false`, `errors: [{ code, message }]`);
 * - DNS rules Cloudflare enforces beyond the schema: A content is IPv4, AAAA is IPv6, CNAME is a
 *   host name other than the record's own; TTL 1 (automatic) or 60–86400; the name lies in the
 *   zone (given in full); a CNAME shares its name with no other record; no identical duplicate.
 * Error codes are the server's own choice and need not match Cloudflare's. Filters, sorts and
 * record types it does not implement are refused with a 501 rather than ignored. Every object it
 * returns is checked against the SDK's response types too.
 *
 * Test hooks: `addZone`, `addRecord` (seed records as if someone else had made them), `records`,
 * `failNext` (answer the next requests with 429 or a 5xx, to exercise retries) and `requests`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  assertSupportedSchema,
  validateJson,
  type JsonSchema,
  type SchemaIssue,
} from './json-schema.js';

/** The path prefix of Cloudflare's API v4. */
const BASE_PATH = '/client/v4';

interface OperationSchemas {
  path: string[];
  query: JsonSchema;
  body: JsonSchema | null;
}

interface SchemaFile {
  sdkVersion: string;
  operations: Record<string, OperationSchemas>;
  responses: Record<string, JsonSchema>;
}

/** The schemas generated from the cloudflare SDK (see generate-cloudflare-schemas.ts). */
export function loadCloudflareSchemas(): SchemaFile {
  const file = JSON.parse(
    readFileSync(new URL('./cloudflare-schemas.json', import.meta.url), 'utf8'),
  ) as SchemaFile;
  for (const op of Object.values(file.operations)) {
    assertSupportedSchema(op.query);
    if (op.body !== null) assertSupportedSchema(op.body);
  }
  for (const schema of Object.values(file.responses)) assertSupportedSchema(schema);
  return file;
}

/** A DNS record as the server stores it. */
export interface CloudflareRecord {
  /** The record's id. */
  id: string;
  /** Full name, lower case. */
  name: string;
  /** Record type. */
  type: string;
  /** Content exactly as written. */
  content: string;
  /** TTL (1 = automatic). */
  ttl: number;
  /** Proxied through Cloudflare. */
  proxied: boolean;
  /** MX priority. */
  priority?: number;
  /** Comment. */
  comment?: string;
  /** When it was created. */
  created_on: string;
  /** When it was last changed. */
  modified_on: string;
}

/** A request as the handler sees it. */
export interface CloudflareApiRequest {
  /** HTTP method. */
  method: string;
  /** Path and query, such as `/client/v4/zones?name=example.com`. */
  url: string;
  /** The Authorization header, if any. */
  authorization?: string | undefined;
  /** The Content-Type header, if any. */
  contentType?: string | undefined;
  /** The body text, if any. */
  body?: string | undefined;
}

/** A response: status, extra headers, JSON body. */
export interface CloudflareApiResponse {
  /** HTTP status. */
  status: number;
  /** Extra headers (such as `Retry-After`). */
  headers: Record<string, string>;
  /** The JSON body. */
  body: unknown;
}

/** One request the server answered, for tests. */
export interface CloudflareRequestLog {
  /** HTTP method. */
  method: string;
  /** Path without the API prefix, such as `/zones/abc/dns_records`. */
  path: string;
  /** The query string, without `?`. */
  query: string;
  /** The status answered. */
  status: number;
}

interface ApiError {
  code: number;
  message: string;
  error_chain?: ApiError[];
}

class Failure extends Error {
  constructor(
    readonly status: number,
    readonly errors: ApiError[],
  ) {
    super(errors.map((e) => e.message).join('; '));
  }
}

const fail = (status: number, code: number, message: string, chain?: ApiError[]): Failure =>
  new Failure(status, [{ code, message, ...(chain ? { error_chain: chain } : {}) }]);

const HOST_LABEL = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)$/;

function isName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => HOST_LABEL.test(l));
}

function newId(): string {
  return randomBytes(16).toString('hex');
}

/** Builds a nested object from `a.b=c` query parameters; repeated keys give arrays. */
function parseQuery(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of params) {
    const parts = key.split('.');
    let node = out;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (typeof next === 'object' && next !== null && !Array.isArray(next)) {
        node = next as Record<string, unknown>;
      } else {
        const created: Record<string, unknown> = {};
        node[part] = created;
        node = created;
      }
    }
    const last = parts[parts.length - 1]!;
    const existing = node[last];
    node[last] =
      existing === undefined
        ? value
        : Array.isArray(existing)
          ? [...(existing as unknown[]), value]
          : [existing, value];
  }
  return out;
}

function issuesChain(issues: readonly SchemaIssue[]): ApiError[] {
  return issues.map((i) => ({ code: 9207, message: `${i.path || '/'} ${i.message}` }));
}

function stringFilter(filter: unknown, value: string, what: string): boolean {
  if (filter === undefined) return true;
  if (typeof filter !== 'object' || filter === null) return false;
  const f = filter as Record<string, unknown>;
  const v = value.toLowerCase();
  for (const [op, raw] of Object.entries(f)) {
    const want = String(raw).toLowerCase();
    switch (op) {
      case 'exact':
        if (v !== want) return false;
        break;
      case 'contains':
        if (!v.includes(want)) return false;
        break;
      case 'startswith':
        if (!v.startsWith(want)) return false;
        break;
      case 'endswith':
        if (!v.endsWith(want)) return false;
        break;
      default:
        throw fail(501, 1002, `the test server does not implement the ${what}.${op} filter`);
    }
  }
  return true;
}

/** The in-memory API: zones, records, the request handler and test hooks. */
export class CloudflareDnsApi {
  /** The API token requests must carry. */
  readonly token: string;
  /** Every request answered, in order. */
  readonly requests: CloudflareRequestLog[] = [];
  readonly #schemas = loadCloudflareSchemas();
  readonly #zones = new Map<string, { id: string; name: string; created: string }>();
  readonly #records = new Map<string, Map<string, CloudflareRecord>>();
  #failures: { status: number; retryAfter: number | undefined; method: string | undefined }[] = [];

  /** @param token - the API token to accept */
  constructor(token: string) {
    this.token = token;
  }

  /** The SDK version the schemas were generated from. */
  get sdkVersion(): string {
    return this.#schemas.sdkVersion;
  }

  /**
   * Adds a zone and returns its id.
   *
   * @param name - the zone's name, such as `example.com`
   */
  addZone(name: string): string {
    const id = newId();
    this.#zones.set(id, { id, name: name.toLowerCase(), created: new Date().toISOString() });
    this.#records.set(id, new Map());
    return id;
  }

  /**
   * Adds a record directly, as if someone had made it by hand (no checks), and returns its id.
   *
   * @param zoneId - the zone
   * @param record - name, type, content, TTL
   */
  addRecord(
    zoneId: string,
    record: { name: string; type: string; content: string; ttl?: number; priority?: number },
  ): string {
    const now = new Date().toISOString();
    const id = newId();
    this.#zoneRecords(zoneId).set(id, {
      id,
      name: record.name.toLowerCase(),
      type: record.type,
      content: record.content,
      ttl: record.ttl ?? 1,
      proxied: false,
      ...(record.priority === undefined ? {} : { priority: record.priority }),
      created_on: now,
      modified_on: now,
    });
    return id;
  }

  /**
   * A copy of the zone's records, sorted by name, type and content.
   *
   * @param zoneId - the zone
   */
  records(zoneId: string): CloudflareRecord[] {
    return [...this.#zoneRecords(zoneId).values()]
      .map((r) => ({ ...r }))
      .sort((a, b) =>
        `${a.name} ${a.type} ${a.content}`.localeCompare(`${b.name} ${b.type} ${b.content}`),
      );
  }

  /**
   * Answers the next `count` authenticated requests (of one method, if given) with `status` (429
   * or 5xx) instead of handling them.
   *
   * @param count - how many requests
   * @param status - the status to answer
   * @param options - a `Retry-After` header to send; the only method to fail
   */
  failNext(
    count: number,
    status: number,
    options: { retryAfterSeconds?: number; method?: string } = {},
  ): void {
    for (let i = 0; i < count; i++) {
      this.#failures.push({
        status,
        retryAfter: options.retryAfterSeconds,
        method: options.method?.toUpperCase(),
      });
    }
  }

  #zoneRecords(zoneId: string): Map<string, CloudflareRecord> {
    const records = this.#records.get(zoneId);
    if (records === undefined) throw new Error(`no zone ${zoneId}`);
    return records;
  }

  /**
   * Handles one request.
   *
   * @param request - method, URL, headers, body
   */
  handle(request: CloudflareApiRequest): CloudflareApiResponse {
    const url = new URL(request.url, 'http://cloudflare.invalid');
    const path = url.pathname.startsWith(BASE_PATH)
      ? url.pathname.slice(BASE_PATH.length)
      : url.pathname;
    let response: CloudflareApiResponse;
    try {
      if (!url.pathname.startsWith(`${BASE_PATH}/`)) {
        throw fail(404, 7000, `no route for ${url.pathname}; the API lives under ${BASE_PATH}`);
      }
      this.#authenticate(request.authorization);
      const at = this.#failures.findIndex(
        (f) => f.method === undefined || f.method === request.method.toUpperCase(),
      );
      const injected = at < 0 ? undefined : this.#failures.splice(at, 1)[0];
      if (injected !== undefined) {
        response = {
          status: injected.status,
          headers:
            injected.retryAfter === undefined ? {} : { 'Retry-After': String(injected.retryAfter) },
          body: this.#envelopeError([
            {
              code: injected.status === 429 ? 971 : 1000,
              message:
                injected.status === 429
                  ? 'rate limited: slow down and try again'
                  : 'internal error (injected by the test)',
            },
          ]),
        };
      } else {
        response = { status: 200, headers: {}, body: this.#route(request, path, url.searchParams) };
      }
    } catch (error) {
      if (!(error instanceof Failure)) throw error;
      response = { status: error.status, headers: {}, body: this.#envelopeError(error.errors) };
    }
    this.requests.push({
      method: request.method,
      path,
      query: url.search.slice(1),
      status: response.status,
    });
    return response;
  }

  #envelopeError(errors: ApiError[]): unknown {
    return { success: false, errors, messages: [], result: null };
  }

  #authenticate(header: string | undefined): void {
    if (header === undefined || header === '') {
      throw fail(400, 9106, 'missing Authorization header');
    }
    const match = /^Bearer ([A-Za-z0-9_-]+)$/.exec(header);
    if (!match) throw fail(400, 6111, 'invalid format for the Authorization header');
    if (match[1] !== this.token) {
      throw fail(403, 10000, 'authentication error', [
        { code: 6003, message: 'invalid request headers' },
      ]);
    }
  }

  #route(request: CloudflareApiRequest, path: string, params: URLSearchParams): unknown {
    const method = request.method.toUpperCase();
    const segments = path.split('/').filter((s) => s !== '');
    if (segments.length === 1 && segments[0] === 'zones') {
      if (method !== 'GET') throw fail(405, 7001, `${method} is not allowed on /zones`);
      const query = this.#query('zones.list', params);
      this.#noBody(request);
      return this.#listZones(query);
    }
    if (segments[0] === 'zones' && segments[2] === 'dns_records' && segments.length <= 4) {
      const zoneId = segments[1]!;
      if (!this.#zones.has(zoneId)) {
        throw fail(404, 7003, `no zone with id ${zoneId}; check the zone identifier`);
      }
      const recordId = segments[3];
      if (recordId === undefined) {
        if (method === 'GET') {
          const query = this.#query('dns_records.list', params);
          this.#noBody(request);
          return this.#listRecords(zoneId, query);
        }
        if (method === 'POST') {
          this.#query('dns_records.create', params);
          const body = this.#body('dns_records.create', request);
          return this.#single('RecordResponse', this.#write(zoneId, undefined, body));
        }
        throw fail(405, 7001, `${method} is not allowed on ${path}`);
      }
      const existing = this.#zoneRecords(zoneId).get(recordId);
      if (method === 'GET' || method === 'PUT' || method === 'DELETE') {
        const op =
          method === 'GET'
            ? 'dns_records.get'
            : method === 'PUT'
              ? 'dns_records.update'
              : 'dns_records.delete';
        this.#query(op, params);
        const body =
          method === 'PUT' ? this.#body(op, request) : (this.#noBody(request), undefined);
        if (existing === undefined) throw fail(404, 81044, `no DNS record with id ${recordId}`);
        if (method === 'GET') return this.#single('RecordResponse', this.#view(existing));
        if (method === 'DELETE') {
          this.#zoneRecords(zoneId).delete(recordId);
          return { success: true, errors: [], messages: [], result: { id: recordId } };
        }
        return this.#single('RecordResponse', this.#write(zoneId, existing, body!));
      }
      if (method === 'PATCH') {
        throw fail(501, 1002, 'the test server does not implement PATCH; use PUT');
      }
      throw fail(405, 7001, `${method} is not allowed on ${path}`);
    }
    throw fail(404, 7000, `no route for ${method} ${path}`);
  }

  #query(op: string, params: URLSearchParams): Record<string, unknown> {
    const schema = this.#schemas.operations[op]!.query;
    const query = parseQuery(params);
    const issues = validateJson(schema, query, { coerceStrings: true });
    if (issues.length > 0) {
      throw fail(400, 9207, `invalid query parameters for ${op}`, issuesChain(issues));
    }
    return query;
  }

  #noBody(request: CloudflareApiRequest): void {
    if (request.body !== undefined && request.body !== '') {
      throw fail(400, 9207, `${request.method} takes no request body`);
    }
  }

  #body(op: string, request: CloudflareApiRequest): Record<string, unknown> {
    if (!/^application\/json\b/.test(request.contentType ?? '')) {
      throw fail(415, 9207, 'the request body must be JSON (Content-Type: application/json)');
    }
    let body: unknown;
    try {
      body = JSON.parse(request.body ?? '');
    } catch {
      throw fail(400, 9207, 'the request body is not valid JSON');
    }
    const schema = this.#schemas.operations[op]!.body!;
    const issues = validateJson(schema, body);
    if (issues.length > 0) {
      throw fail(
        400,
        9207,
        `the request body does not match the ${op} schema`,
        issuesChain(issues),
      );
    }
    return body as Record<string, unknown>;
  }

  /** Checks the DNS rules and stores a created (no `existing`) or overwritten record. */
  #write(
    zoneId: string,
    existing: CloudflareRecord | undefined,
    body: Record<string, unknown>,
  ): Record<string, unknown> {
    const zone = this.#zones.get(zoneId)!;
    const type = body['type'] as string;
    const name = String(body['name']).toLowerCase().replace(/\.$/, '');
    const content = body['content'] as string | undefined;
    const ttl = body['ttl'] as number;
    const proxied = body['proxied'] === true;
    const invalid = (message: string) =>
      fail(400, 1004, 'DNS Validation Error', [{ code: 1004, message }]);
    if (!['A', 'AAAA', 'CNAME', 'TXT', 'MX'].includes(type)) {
      throw fail(501, 1002, `the test server does not implement ${type} records`);
    }
    if (!isName(name) || !(name === zone.name || name.endsWith(`.${zone.name}`))) {
      throw invalid(`${name} is not a full name in the zone ${zone.name}`);
    }
    if (content === undefined || content === '') throw invalid(`a ${type} record needs content`);
    if (type === 'A' && !isIPv4(content)) throw invalid(`${content} is not an IPv4 address`);
    if (type === 'AAAA' && !isIPv6(content)) throw invalid(`${content} is not an IPv6 address`);
    if (type === 'CNAME' || type === 'MX') {
      const target = content.toLowerCase().replace(/\.$/, '');
      if (!isName(target)) throw invalid(`${content} is not a host name`);
      if (type === 'CNAME' && target === name) throw invalid('a CNAME cannot point at itself');
    }
    if (type === 'MX' && typeof body['priority'] !== 'number') {
      throw invalid('an MX record needs a priority');
    }
    if (type === 'TXT' && content.length > 2048)
      throw invalid('TXT content is over 2048 characters');
    if (ttl !== 1 && (!Number.isInteger(ttl) || ttl < 60 || ttl > 86400)) {
      throw invalid(`TTL ${ttl} must be 1 (automatic) or 60 to 86400`);
    }
    if (proxied && !['A', 'AAAA', 'CNAME'].includes(type)) {
      throw invalid(`a ${type} record cannot be proxied`);
    }
    const others = [...this.#zoneRecords(zoneId).values()].filter(
      (r) => r.name === name && r.id !== existing?.id,
    );
    if (type === 'CNAME' && others.length > 0) {
      throw fail(400, 81053, `${name} already has records; a CNAME cannot share its name`);
    }
    if (others.some((r) => r.type === 'CNAME')) {
      throw fail(400, 81054, `${name} already has a CNAME record`);
    }
    if (others.some((r) => r.type === type && r.content === content)) {
      throw fail(400, 81058, 'an identical record already exists');
    }
    const now = new Date().toISOString();
    const record: CloudflareRecord = {
      id: existing?.id ?? newId(),
      name,
      type,
      content,
      ttl,
      proxied,
      ...(typeof body['priority'] === 'number' ? { priority: body['priority'] } : {}),
      ...(typeof body['comment'] === 'string' ? { comment: body['comment'] } : {}),
      created_on: existing?.created_on ?? now,
      modified_on: now,
    };
    this.#zoneRecords(zoneId).set(record.id, record);
    return this.#view(record);
  }

  /** A record in the API's response shape. */
  #view(record: CloudflareRecord): Record<string, unknown> {
    return {
      id: record.id,
      name: record.name,
      type: record.type,
      content: record.content,
      ttl: record.ttl,
      proxied: record.proxied,
      proxiable: ['A', 'AAAA', 'CNAME'].includes(record.type),
      ...(record.priority === undefined ? {} : { priority: record.priority }),
      ...(record.comment === undefined ? {} : { comment: record.comment }),
      settings: {},
      meta: {},
      tags: [],
      created_on: record.created_on,
      modified_on: record.modified_on,
    };
  }

  /** Checks a returned object against the SDK's response type: the server must not lie either. */
  #checked(schema: string, item: unknown): unknown {
    const issues = validateJson(this.#schemas.responses[schema]!, item);
    if (issues.length > 0) {
      throw new Error(
        `test server bug: its ${schema} does not match the SDK's type: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
      );
    }
    return item;
  }

  #single(schema: string, item: unknown): unknown {
    return { success: true, errors: [], messages: [], result: this.#checked(schema, item) };
  }

  #page(
    schema: string,
    items: readonly unknown[],
    query: Record<string, unknown>,
    limits: { default: number; min: number; max: number },
  ): unknown {
    const page = query['page'] === undefined ? 1 : Number(query['page']);
    const perPage = query['per_page'] === undefined ? limits.default : Number(query['per_page']);
    if (!Number.isInteger(page) || page < 1)
      throw fail(400, 1001, `page ${page} must be 1 or more`);
    if (!Number.isInteger(perPage) || perPage < limits.min || perPage > limits.max) {
      throw fail(400, 1001, `per_page must be ${limits.min} to ${limits.max}, not ${perPage}`);
    }
    const slice = items.slice((page - 1) * perPage, page * perPage);
    return {
      success: true,
      errors: [],
      messages: [],
      result: slice.map((item) => this.#checked(schema, item)),
      result_info: {
        page,
        per_page: perPage,
        count: slice.length,
        total_count: items.length,
        total_pages: Math.max(1, Math.ceil(items.length / perPage)),
      },
    };
  }

  #listZones(query: Record<string, unknown>): unknown {
    for (const unsupported of ['account', 'order', 'direction', 'type']) {
      if (query[unsupported] !== undefined) {
        throw fail(501, 1002, `the test server does not implement the zones ${unsupported} filter`);
      }
    }
    if (query['match'] === 'any')
      throw fail(501, 1002, 'the test server does not implement match=any');
    const name = query['name'] as string | undefined;
    if (name !== undefined && /^[a-z_]+:/.test(name)) {
      throw fail(501, 1002, 'the test server does not implement zone name operators');
    }
    const zones = [...this.#zones.values()]
      .filter((z) => name === undefined || z.name === name.toLowerCase())
      .filter(() => query['status'] === undefined || query['status'] === 'active')
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((z) => ({
        id: z.id,
        name: z.name,
        status: 'active',
        paused: false,
        type: 'full',
        account: { id: 'deploytag-test-account', name: 'DeployTag tests' },
        activated_on: z.created,
        created_on: z.created,
        modified_on: z.created,
        development_mode: 0,
        meta: {},
        name_servers: ['ns1.test.invalid', 'ns2.test.invalid'],
        original_dnshost: null,
        original_name_servers: null,
        original_registrar: null,
        owner: { type: 'user' },
        plan: { id: 'free', name: 'Free Website' },
      }));
    return this.#page('Zone', zones, query, { default: 20, min: 5, max: 50 });
  }

  #listRecords(zoneId: string, query: Record<string, unknown>): unknown {
    for (const unsupported of [
      'comment',
      'tag',
      'tag_match',
      'search',
      'shadowed_by_name',
      'shadowing_name',
    ]) {
      if (query[unsupported] !== undefined) {
        throw fail(501, 1002, `the test server does not implement the ${unsupported} filter`);
      }
    }
    if (query['match'] === 'any')
      throw fail(501, 1002, 'the test server does not implement match=any');
    const type = query['type'] as string | undefined;
    const proxied = query['proxied'] as string | boolean | undefined;
    let records = [...this.#zoneRecords(zoneId).values()].filter(
      (r) =>
        (type === undefined || r.type === type) &&
        (proxied === undefined || String(r.proxied) === String(proxied)) &&
        stringFilter(query['name'], r.name, 'name') &&
        stringFilter(query['content'], r.content, 'content'),
    );
    const order = (query['order'] as string | undefined) ?? 'type';
    const direction = query['direction'] === 'desc' ? -1 : 1;
    const keyOf = (r: CloudflareRecord): string =>
      order === 'ttl'
        ? String(r.ttl).padStart(10, '0')
        : String(r[order as keyof CloudflareRecord]);
    records = records.sort(
      (a, b) => direction * (keyOf(a).localeCompare(keyOf(b)) || a.id.localeCompare(b.id)),
    );
    return this.#page(
      'RecordResponse',
      records.map((r) => this.#view(r)),
      query,
      { default: 100, min: 5, max: 5_000_000 },
    );
  }
}

/** A running test server. */
export interface CloudflareApiServer {
  /** The API's base URL, such as `http://127.0.0.1:PORT/client/v4` (for `CLOUDFLARE_API_URL`). */
  url: string;
  /** The token requests must carry (`CLOUDFLARE_API_TOKEN`). */
  token: string;
  /** The state and the test hooks. */
  api: CloudflareDnsApi;
  /** Stops the server. */
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1_000_000) throw new Error('request body over 1 MB');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts the Cloudflare DNS API stand-in on a free loopback port, in this process.
 *
 * @param options - the token to accept (a random one unless given)
 */
export async function startCloudflareApi(
  options: { token?: string } = {},
): Promise<CloudflareApiServer> {
  const api = new CloudflareDnsApi(options.token ?? randomBytes(20).toString('hex'));
  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => {
        const response = api.handle({
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          authorization: req.headers.authorization,
          contentType: req.headers['content-type'],
          body,
        });
        res.writeHead(response.status, {
          'Content-Type': 'application/json',
          ...response.headers,
        });
        res.end(JSON.stringify(response.body));
      })
      .catch((error: unknown) => {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            success: false,
            errors: [
              { code: 1000, message: error instanceof Error ? error.message : String(error) },
            ],
            messages: [],
            result: null,
          }),
        );
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${BASE_PATH}`,
    token: api.token,
    api,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
    },
  };
}
