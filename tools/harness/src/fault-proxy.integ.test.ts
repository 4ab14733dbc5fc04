/**
 * The fault proxy in front of the stack's real servers: the open registry (plain HTTP) and the
 * kube-apiserver (HTTPS with the server's own certificate, bearer token passed through, WebSocket
 * upgrades passed through).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, startKubeApiFaultProxy, type FaultProxy } from './fault-proxy.js';
import { requireEnv } from './test-env.js';

const scratch = mkdtempSync(join(tmpdir(), 'deploytag-fault-proxy-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('fault proxy in front of the registry', () => {
  const registry = requireEnv('DEPLOYTAG_REGISTRY');
  const repo = `fault-proxy-${randomBytes(4).toString('hex')}/x`;
  let proxy: FaultProxy;
  let blocker: Server;

  beforeAll(async () => {
    // A port already taken: the proxy moves on to the next one it is offered.
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as { port: number }).port;
    proxy = await startFaultProxy({ target: registry, ports: [taken, 0] });
    expect(proxy.port).not.toBe(taken);
  });
  afterEach(() => proxy.clear());
  afterAll(async () => {
    await proxy.close();
    await new Promise((r) => blocker.close(r));
  });

  it('forwards untouched, Host included, so upload URLs lead back through the proxy', async () => {
    const res = await fetch(`${proxy.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toMatch(
      new RegExp(`^http://${proxy.hostPort.replaceAll('.', '\\.')}/v2/${repo}/blobs/uploads/`),
    );
    expect(proxy.requests.at(-1)).toEqual({
      method: 'POST',
      url: `/v2/${repo}/blobs/uploads/`,
      status: 202,
    });
  });

  it('answers a status the given number of times for matching requests only, then forwards', async () => {
    proxy.add({
      method: 'GET',
      path: '/v2/',
      fault: { kind: 'status', status: 503, body: 'down for a while' },
      times: 2,
    });
    const head = await fetch(`${proxy.url}/v2/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${proxy.url}/v2/`);
      answers.push(`${res.status} ${await res.text()}`);
    }
    expect(answers).toEqual(['503 down for a while', '503 down for a while', '200 {}']);
    expect(proxy.faulted().slice(-2)).toEqual([
      { method: 'GET', url: '/v2/', fault: 'status', status: 503 },
      { method: 'GET', url: '/v2/', fault: 'status', status: 503 },
    ]);
  });

  it('delays, resets, hangs and cuts', async () => {
    proxy.add({ path: '/v2/', fault: { kind: 'delay', ms: 300 }, times: 1 });
    expect((await fetch(`${proxy.url}/v2/`)).status).toBe(200);
    expect(proxy.requests.at(-1)).toMatchObject({ fault: 'delay', status: 200 });

    proxy.add({ fault: { kind: 'reset' }, times: 1 });
    await expect(fetch(`${proxy.url}/v2/`)).rejects.toThrow(/fetch failed/);

    proxy.add({ fault: { kind: 'hang' }, times: 1 });
    await expect(
      fetch(`${proxy.url}/v2/`, { signal: AbortSignal.timeout(500) }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });

    // A cut after the answer started: the client sees the stream end early (or an error).
    proxy.add({ fault: { kind: 'cut', afterMs: 0 }, times: 1 });
    const cut = await fetch(`${proxy.url}/v2/_catalog`).then(
      async (r) => `${r.status} ${await r.text()}`,
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    expect(cut).not.toMatch(/^200 \{"repositories"/);
    expect((await fetch(`${proxy.url}/v2/`)).status).toBe(200);
  });
});

describe('fault proxy in front of the kube-apiserver', () => {
  const kubeconfig = requireEnv('KUBECONFIG');
  let proxy: FaultProxy;
  let ca: string;
  let token: string;

  beforeAll(async () => {
    const started = await startKubeApiFaultProxy({ kubeconfig, dir: scratch });
    proxy = started.proxy;
    const kc = new KubeConfig();
    kc.loadFromFile(started.kubeconfig);
    expect(kc.getCurrentCluster()?.server).toBe(proxy.url);
    ca = Buffer.from(kc.getCurrentCluster()?.caData ?? '', 'base64').toString();
    token = kc.getCurrentUser()?.token ?? '';
    expect(readFileSync(started.kubeconfig, 'utf8')).toContain(proxy.url);
  });
  afterAll(async () => {
    await proxy.close();
  });

  /**
   * One raw HTTP/1.1 exchange over TLS, trusting the kubeconfig's CA. Resolves with what came
   * back and how it ended: `until` was satisfied, the server side closed, or the helper gave up.
   */
  function exchange(
    request: string,
    until: (text: string) => boolean,
  ): Promise<{ text: string; end: 'seen' | 'closed' | 'gave up' }> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: proxy.host, port: proxy.port, ca });
      let text = '';
      const finish = (end: 'seen' | 'closed' | 'gave up'): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve({ text, end });
      };
      const timer = setTimeout(() => finish('gave up'), 15_000);
      socket.on('secureConnect', () => socket.write(request));
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (until(text)) finish('seen');
      });
      socket.on('error', reject);
      socket.on('close', () => finish('closed'));
    });
  }

  async function raw(request: string, until: (text: string) => boolean): Promise<string> {
    return (await exchange(request, until)).text;
  }

  it('serves the API over HTTPS that the kubeconfig trusts, and injects statuses', async () => {
    const get = (): Promise<string> =>
      raw(
        `GET /version HTTP/1.1\r\nHost: ${proxy.hostPort}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
        (t) => t.includes('"gitVersion"') || t.includes('injected'),
      );
    expect(await get()).toMatch(/^HTTP\/1\.1 200 [\s\S]*"gitVersion": "v1\./);
    proxy.add({ path: '/version', fault: { kind: 'status', status: 503 }, times: 1 });
    expect(await get()).toMatch(/^HTTP\/1\.1 503 [\s\S]*injected fault: HTTP 503/);
  });

  it('passes a WebSocket upgrade (a watch) through, and refuses or cuts it on demand', async () => {
    const ns = `fault-proxy-${randomBytes(3).toString('hex')}`;
    const upgrade = `GET /api/v1/namespaces?watch=true&fieldSelector=metadata.name%3D${ns} HTTP/1.1\r\nHost: ${proxy.hostPort}\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nOrigin: ${proxy.url}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`;
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const { CoreV1Api } = await import('@kubernetes/client-node');
    const core = kc.makeApiClient(CoreV1Api);
    const watching = raw(upgrade, (t) => t.includes('"ADDED"'));
    // Once the watch is open, an event comes through the upgraded connection.
    for (let i = 0; i < 100 && !proxy.requests.some((r) => r.upgrade === true); i++)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    await core.createNamespace({ body: { metadata: { name: ns } } });
    try {
      const text = await watching;
      expect(text).toMatch(/^HTTP\/1\.1 101 Switching Protocols/);
      expect(text).toContain('"ADDED"');
      expect(text).toContain(`"name":"${ns}"`);
    } finally {
      await core.deleteNamespace({ name: ns }).catch(() => undefined);
    }

    proxy.add({ fault: { kind: 'status', status: 503 }, times: 1 });
    expect(await raw(upgrade, (t) => t.includes('\r\n\r\n'))).toMatch(/^HTTP\/1\.1 503 /);
    proxy.add({ fault: { kind: 'cut', afterMs: 200 }, times: 1 });
    // Cut: the proxy closes the upgraded connection (the helper would otherwise give up).
    const cut = await exchange(upgrade, () => false);
    expect(cut.text).toMatch(/^HTTP\/1\.1 101 /);
    expect(cut.end).toBe('closed');
    expect(proxy.requests.filter((r) => r.upgrade === true).map((r) => r.fault ?? 'none')).toEqual([
      'none',
      'status',
      'cut',
    ]);
  });
});
