/**
 * The Engine API client over TCP and over mutual TLS, as `DOCKER_HOST=tcp://…` with
 * `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` configure it. podman serves its API on a unix socket
 * only here, so the test stands a forwarder in front of it: plain TCP, and a TLS endpoint that
 * demands a client certificate from its CA (as a Docker daemon with `--tlsverify` does). The engine
 * answering is the harness's real podman; certificates are made by openssl for this run.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { requireEnv } from '@deploytag/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EngineClient,
  ImageError,
  ImageErrorCodes,
  RegistryClient,
  createContextFilter,
  engineConnectionFromEnv,
  packContext,
} from './index.js';

const socket = requireEnv('DOCKER_HOST').replace(/^unix:\/\//, '');
const baseImage = requireEnv('DEPLOYTAG_BASE_IMAGE');
const registry = requireEnv('DEPLOYTAG_REGISTRY');
const scratch = mkdtempSync(join(tmpdir(), 'deploytag-engine-tls-'));
const servers: Server[] = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: scratch, stdio: 'ignore' });
}

/** A CA, and a certificate it signs for `name` (a server for 127.0.0.1, or a client). */
function makeCa(name: string): void {
  openssl(
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2'],
    ...['-keyout', `${name}-key.pem`, '-out', `${name}.pem`, '-subj', `/CN=${name}`],
  );
}

function sign(ca: string, name: string, ext: string): void {
  openssl(
    ...['req', '-new', '-newkey', 'rsa:2048', '-nodes'],
    ...['-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`],
  );
  writeFileSync(join(scratch, `${name}.ext`), ext);
  openssl(
    ...['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`],
    ...['-CAcreateserial', '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`],
  );
}

/** A DOCKER_CERT_PATH folder: the named CA and certificates (and their keys) as ca, cert, key.pem. */
function certPath(files: { ca?: string; cert?: string; key?: string }): string {
  const dir = mkdtempSync(join(scratch, 'certs-'));
  for (const [as, name] of Object.entries(files)) {
    const source = as === 'key' ? `${name}-key.pem` : `${name}.pem`;
    writeFileSync(join(dir, `${as}.pem`), readFileSync(join(scratch, source)));
  }
  return dir;
}

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** Pipes every accepted connection to podman's socket. */
function toEngine(conn: NodeJS.ReadWriteStream & { destroy(): void }): void {
  const upstream = connect(socket);
  conn.pipe(upstream).pipe(conn);
  upstream.on('error', () => conn.destroy());
  conn.on('error', () => upstream.destroy());
}

let plainPort = 0;
let tlsPort = 0;

beforeAll(async () => {
  mkdirSync(scratch, { recursive: true });
  makeCa('engine-ca');
  makeCa('other-ca');
  sign('engine-ca', 'server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  sign('engine-ca', 'client', 'extendedKeyUsage=clientAuth\n');
  sign('other-ca', 'stranger', 'extendedKeyUsage=clientAuth\n');
  plainPort = await listen(createServer(toEngine));
  tlsPort = await listen(
    createTlsServer(
      {
        key: readFileSync(join(scratch, 'server-key.pem')),
        cert: readFileSync(join(scratch, 'server.pem')),
        ca: readFileSync(join(scratch, 'engine-ca.pem')),
        requestCert: true,
        rejectUnauthorized: true,
      },
      toEngine,
    ),
  );
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(scratch, { recursive: true, force: true });
});

/** Builds a one-step image through `engine` and pushes it to the open registry. */
async function buildAndPush(engine: EngineClient, tag: string): Promise<void> {
  const dir = mkdtempSync(join(scratch, 'ctx-'));
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${baseImage}\nRUN echo ${tag} > /tag.txt\n`);
  const ref = `${registry}/it-engine-tls/app:${tag}`;
  await engine.build(packContext(dir, { filter: createContextFilter([]) }), { tags: [ref] });
  await engine.push(ref);
  expect(await new RegistryClient(registry).tagExists('it-engine-tls/app', tag)).toBe(true);
}

describe('the Engine API over TCP and mutual TLS', () => {
  it('builds and pushes over plain TCP (DOCKER_HOST=tcp://…)', async () => {
    const conn = engineConnectionFromEnv({ DOCKER_HOST: `tcp://127.0.0.1:${plainPort}` });
    expect(conn.tls).toBeUndefined();
    const engine = new EngineClient(conn);
    await engine.ping();
    await buildAndPush(engine, `tcp-${randomBytes(3).toString('hex')}`);
  });

  it('builds and pushes over TLS with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH', async () => {
    const engine = new EngineClient(
      engineConnectionFromEnv({
        DOCKER_HOST: `tcp://127.0.0.1:${tlsPort}`,
        DOCKER_TLS_VERIFY: '1',
        DOCKER_CERT_PATH: certPath({ ca: 'engine-ca', cert: 'client', key: 'client' }),
      }),
    );
    await engine.ping();
    await buildAndPush(engine, `tls-${randomBytes(3).toString('hex')}`);
  });

  it('refuses an engine whose certificate its CA did not sign, saying what to check', async () => {
    const label = `tcp://127.0.0.1:${tlsPort}`;
    const engine = new EngineClient(
      engineConnectionFromEnv({
        DOCKER_HOST: label,
        DOCKER_TLS_VERIFY: '1',
        DOCKER_CERT_PATH: certPath({ ca: 'other-ca', cert: 'client', key: 'client' }),
      }),
    );
    const err = await engine.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).code).toBe(ImageErrorCodes.ENGINE);
    expect((err as ImageError).message).toMatch(
      new RegExp(
        `^the TLS handshake with the container engine at ${label} failed \\(.+\\); check DOCKER_CERT_PATH`,
      ),
    );
  });

  it('is refused by an engine that wants a client certificate from its own CA', async () => {
    const label = `tcp://127.0.0.1:${tlsPort}`;
    const refusal = async (files: Parameters<typeof certPath>[0]): Promise<string> => {
      const engine = new EngineClient(
        engineConnectionFromEnv({
          DOCKER_HOST: label,
          DOCKER_TLS_VERIFY: '1',
          DOCKER_CERT_PATH: certPath(files),
        }),
      );
      const err = await engine.ping().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageError);
      return (err as ImageError).message;
    };
    // No client certificate: the engine's alert names what is missing.
    expect(await refusal({ ca: 'engine-ca' })).toMatch(
      new RegExp(
        `^the TLS handshake with the container engine at ${label} failed \\(.*certificate required.*\\); check DOCKER_CERT_PATH`,
      ),
    );
    // A certificate from another CA: under TLS 1.3 the engine may only close the connection.
    expect(await refusal({ ca: 'engine-ca', cert: 'stranger', key: 'stranger' })).toMatch(
      new RegExp(
        `^(the TLS handshake with the container engine at ${label} failed|the container engine at ${label} closed the TLS connection) \\(.+\\); check .*DOCKER_CERT_PATH`,
      ),
    );
  });
});
