/**
 * The token service of the harness's token-auth registry: the part of a registry's bearer flow
 * that Docker Hub, GHCR, GCR and Harbor run in front of the registry, and that the distribution
 * registry leaves to a separate server. The registry itself (distribution, `auth: token`) verifies
 * every token this server signs against the certificate it was given, and enforces the access the
 * token grants; this server only authenticates users and decides what each may do.
 *
 * - `GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=…]` with HTTP basic auth (or none,
 *   for an anonymous token that grants nothing): a JWT (RS256, `x5c` header with the signing
 *   certificate) whose `access` claim holds the requested actions the user may take.
 * - `POST /token` with a form (`grant_type=password` with `username` and `password`, or
 *   `grant_type=refresh_token` with `refresh_token`): the OAuth2 form of the same exchange, which
 *   clients use with an identity token.
 * - Wrong credentials: 401 with a JSON error. `GET /_health`: 200 once it listens.
 *
 * Users come from the `DEPLOYTAG_TOKEN_USERS` variable, never from the command line: a JSON
 * object from user name to password, allowed actions (`pull`, `push`) and an optional refresh
 * token (that user's identity token).
 *
 * Usage: registry-token.ts --port PORT --key KEY.pem --cert CERT.pem --issuer ISSUER --service SERVICE
 */
import { createSign, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    key: { type: 'string' },
    cert: { type: 'string' },
    issuer: { type: 'string' },
    service: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    ttl: { type: 'string', default: '300' },
  },
  strict: true,
});

interface User {
  password: string;
  actions: string[];
  refreshToken?: string;
}

const users = JSON.parse(process.env['DEPLOYTAG_TOKEN_USERS'] ?? '{}') as Record<string, User>;
if (!values.port || !values.key || !values.cert || !values.issuer || !values.service) {
  process.stderr.write(
    'usage: DEPLOYTAG_TOKEN_USERS=… registry-token.ts --port P --key K --cert C --issuer I --service S\n',
  );
  process.exit(2);
}
const privateKey = readFileSync(values.key, 'utf8');
/** The certificate as base64 DER, the form the JOSE `x5c` header takes. */
const certDer = readFileSync(values.cert, 'utf8')
  .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
  .replace(/\s+/g, '');
const issuer = values.issuer;
const service = values.service;
const ttlSeconds = Number(values.ttl);

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The user whose password matches, undefined for wrong credentials. */
function checkPassword(name: string, password: string): string | undefined {
  const user = users[name];
  return user !== undefined && same(user.password, password) ? name : undefined;
}

/** The user name and password of a basic `Authorization` header, or undefined. */
function basicCredentials(header: string | undefined): [string, string] | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

/**
 * The access a user gets for the requested scopes: for each `repository:NAME:ACTIONS` scope, the
 * requested actions the user may take (`*` and `delete` count as push). Anonymous users get none.
 */
function grant(user: string | undefined, scopes: string[]): Access[] {
  const allowed = user === undefined ? [] : (users[user]?.actions ?? []);
  const out: Access[] = [];
  for (const scope of scopes) {
    const parts = scope.split(':');
    if (parts.length < 3) continue;
    const type = parts[0] ?? '';
    const actions = (parts.at(-1) ?? '').split(',');
    const name = parts.slice(1, -1).join(':');
    const granted = actions.filter((a) =>
      allowed.includes(a === '*' || a === 'delete' ? 'push' : a),
    );
    out.push({ type, name, actions: granted });
  }
  return out;
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function sign(subject: string, access: Access[]): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
  const claims = {
    iss: issuer,
    sub: subject,
    aud: service,
    exp: now + ttlSeconds,
    nbf: now - 5,
    iat: now,
    jti: randomBytes(12).toString('hex'),
    access,
  };
  const input = `${b64url(header)}.${b64url(claims)}`;
  const signature = createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url');
  return `${input}.${signature}`;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function deny(res: ServerResponse, why: string): void {
  log(`denied: ${why}`);
  res.setHeader('www-authenticate', `Basic realm="${service}"`);
  json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
}

function issue(res: ServerResponse, user: string | undefined, scopes: string[], refresh: boolean) {
  const access = grant(user, scopes);
  const token = sign(user ?? '', access);
  log(
    `issued to ${user ?? '(anonymous)'}: ${access.map((a) => `${a.name}:${a.actions.join(',') || '-'}`).join(' ') || '(no scope)'}`,
  );
  const body: Record<string, unknown> = {
    token,
    access_token: token,
    expires_in: ttlSeconds,
    issued_at: new Date().toISOString(),
  };
  const refreshToken = user === undefined ? undefined : users[user]?.refreshToken;
  if (refresh && refreshToken !== undefined) body['refresh_token'] = refreshToken;
  json(res, 200, body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://token');
  if (url.pathname === '/_health') {
    res.writeHead(200).end('ok');
    return;
  }
  if (url.pathname !== '/token') {
    res.writeHead(404).end();
    return;
  }
  if (req.method === 'GET') {
    if (url.searchParams.get('service') !== service) {
      json(res, 400, { errors: [{ code: 'UNSUPPORTED', message: 'unknown service' }] });
      return;
    }
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' '));
    const creds = basicCredentials(req.headers.authorization);
    if (creds === undefined) {
      issue(res, undefined, scopes, false);
      return;
    }
    const user = checkPassword(creds[0], creds[1]);
    if (user === undefined) deny(res, `wrong password for ${creds[0]}`);
    else issue(res, user, scopes, url.searchParams.get('offline_token') === 'true');
    return;
  }
  if (req.method === 'POST') {
    const form = new URLSearchParams(await readBody(req));
    if (form.get('service') !== service) {
      json(res, 400, { error: 'invalid_request', error_description: 'unknown service' });
      return;
    }
    const scopes = form.getAll('scope').flatMap((s) => s.split(' '));
    const grantType = form.get('grant_type');
    let user: string | undefined;
    if (grantType === 'password') {
      user = checkPassword(form.get('username') ?? '', form.get('password') ?? '');
    } else if (grantType === 'refresh_token') {
      const given = form.get('refresh_token') ?? '';
      user = Object.entries(users).find(
        ([, u]) => u.refreshToken !== undefined && same(u.refreshToken, given),
      )?.[0];
    } else {
      json(res, 400, { error: 'unsupported_grant_type' });
      return;
    }
    if (user === undefined) deny(res, `refused ${grantType}`);
    else issue(res, user, scopes, form.get('access_type') === 'offline');
    return;
  }
  res.writeHead(405).end();
}

createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    log(`error: ${err instanceof Error ? err.message : String(err)}`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
}).listen(Number(values.port), values.host, () => {
  log(`token service for ${service} on ${values.host}:${values.port}`);
});
