/**
 * A git remote over smart HTTP for tests: a small HTTP server that runs `git http-backend` as a CGI
 * program for every request, with GitHub-like access rules:
 * - reads (`info/refs?service=git-upload-pack`, `git-upload-pack`, dumb-protocol files) are open;
 * - pushes (`info/refs?service=git-receive-pack`, `git-receive-pack`) need HTTP basic auth whose
 *   password is the token in the `DEPLOYTAG_GIT_TOKEN` variable (any user name); otherwise the
 *   answer is 401 with a `WWW-Authenticate` challenge, so clients retry with credentials.
 *
 * Every bare repository under the root is served: `<root>/x.git` is `http://HOST:PORT/x.git`.
 * `GET /_health` answers 200 once the server listens.
 *
 * Usage: git-http.ts --port PORT --root REPOS_DIR [--host 127.0.0.1]
 * (the token comes from the environment, never from the command line).
 */
import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    root: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
  },
  strict: true,
});
const token = process.env['DEPLOYTAG_GIT_TOKEN'] ?? '';
if (!values.port || !values.root || token === '') {
  process.stderr.write(
    'usage: DEPLOYTAG_GIT_TOKEN=... git-http.ts --port PORT --root REPOS_DIR [--host HOST]\n',
  );
  process.exit(2);
}
const port = Number(values.port);
const root = resolve(values.root);
const host = values.host;
const REALM = 'deploytag';

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

/** True when the request writes to a repository (a push, or the ref advertisement before one). */
function isPush(pathname: string, query: URLSearchParams): boolean {
  if (pathname.endsWith('/git-receive-pack')) return true;
  return pathname.endsWith('/info/refs') && query.get('service') === 'git-receive-pack';
}

/** The user name when the basic-auth password equals the token, else undefined. */
function authenticatedUser(header: string | undefined): string | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const given = Buffer.from(decoded.slice(colon + 1));
  const expected = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return decoded.slice(0, colon) || 'git';
}

function plain(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${text}\n`);
}

/**
 * Splits a CGI response head (`Status:` and header lines) from its body. Returns undefined until
 * the blank line that ends the head has arrived.
 */
function splitCgiHead(buf: Buffer): { head: string; body: Buffer } | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return undefined;
  const useCrlf = crlf >= 0 && (lf < 0 || crlf < lf);
  const end = useCrlf ? crlf : lf;
  return {
    head: buf.subarray(0, end).toString('latin1'),
    body: buf.subarray(end + (useCrlf ? 4 : 2)),
  };
}

function runBackend(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  path: string,
  user: string | undefined,
): void {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_HTTP_MAX_REQUEST_BUFFER: '100M',
    // The machine's and the user's git configuration must not change what the remote does.
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: 'http.receivepack',
    GIT_CONFIG_VALUE_0: 'true',
    GIT_CONFIG_KEY_1: 'safe.directory',
    GIT_CONFIG_VALUE_1: '*',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: path,
    QUERY_STRING: url.search.slice(1),
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
  };
  if (user !== undefined) env['REMOTE_USER'] = user;
  const h = req.headers;
  if (h['content-type']) env['CONTENT_TYPE'] = h['content-type'];
  if (h['content-length']) env['CONTENT_LENGTH'] = h['content-length'];
  // http-backend inflates gzip request bodies itself when told the encoding.
  if (h['content-encoding']) env['HTTP_CONTENT_ENCODING'] = h['content-encoding'];
  // Protocol v2 is negotiated through this header.
  const proto = h['git-protocol'];
  if (typeof proto === 'string') env['HTTP_GIT_PROTOCOL'] = proto;

  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  let headSent = false;
  let pending = Buffer.alloc(0);
  const fail = (why: string): void => {
    log(`${req.method} ${url.pathname}${url.search}: ${why}`);
    if (!headSent) {
      headSent = true;
      plain(res, 500, 'git http-backend failed');
    } else res.destroy();
  };
  child.on('error', (err) => {
    fail(`cannot run git http-backend: ${err.message}`);
  });
  // Stream the request body (compressed or chunked, as the client sent it) to the CGI's stdin.
  req.pipe(child.stdin);
  child.stdin.on('error', () => {
    // The backend may stop reading early (it answered already); its exit status tells the rest.
  });
  res.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  child.stdout.on('data', (chunk: Buffer) => {
    if (headSent) {
      if (!res.write(chunk)) {
        child.stdout.pause();
        res.once('drain', () => child.stdout.resume());
      }
      return;
    }
    pending = Buffer.concat([pending, chunk]);
    const split = splitCgiHead(pending);
    if (!split) return;
    headSent = true;
    let status = 200;
    let reason: string | undefined;
    for (const line of split.head.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') {
        const m = /^(\d{3})\s*(.*)$/.exec(value);
        if (m?.[1]) {
          status = Number(m[1]);
          reason = m[2] || undefined;
        }
      } else res.appendHeader(name, value);
    }
    res.statusCode = status;
    if (reason) res.statusMessage = reason;
    log(`${req.method} ${url.pathname}${url.search} ${status}${user ? ` user=${user}` : ''}`);
    if (split.body.length > 0) res.write(split.body);
  });
  child.on('close', (code, signal) => {
    if (!headSent) {
      fail(`git http-backend ended without a response (${signal ?? `exit ${code}`})`);
      return;
    }
    res.end();
  });
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://git.invalid');
  if (url.pathname === '/_health') {
    plain(res, 200, 'ok');
    return;
  }
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    plain(res, 400, 'bad path');
    return;
  }
  if (path.split('/').some((seg) => seg === '..') || path.includes('\0')) {
    plain(res, 403, 'forbidden path');
    return;
  }
  let user: string | undefined;
  // Decide on the decoded path: the one http-backend acts on.
  if (isPush(path, url.searchParams)) {
    user = authenticatedUser(req.headers.authorization);
    if (user === undefined) {
      log(`${req.method} ${url.pathname}${url.search} 401`);
      req.resume();
      plain(res, 401, 'authentication required: use the token as the password', {
        'WWW-Authenticate': `Basic realm="${REALM}"`,
      });
      return;
    }
  }
  runBackend(req, res, url, path, user);
});

server.listen(port, host, () => {
  log(`serving git repositories under ${root} on http://${host}:${port}`);
});

function shutdown(signal: string): void {
  log(`${signal}: stopping`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2_000).unref();
}
process.on('SIGTERM', () => {
  shutdown('SIGTERM');
});
process.on('SIGINT', () => {
  shutdown('SIGINT');
});
