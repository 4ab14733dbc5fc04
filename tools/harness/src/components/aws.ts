import { join } from 'node:path';
import type { Component } from '../component.js';
import { startDaemon } from '../daemon.js';
import { freePort } from '../ports.js';
import { ensureApt, ensureVenv } from '../provision.js';

/** The moto release the harness installs from PyPI (`moto[server]`), pinned for repeatable runs. */
export const MOTO_VERSION = '5.2.5';

/** Region every client of the fake AWS uses. */
const REGION = 'us-east-1';

async function motoVenv(): Promise<string> {
  return await ensureVenv(`moto-${MOTO_VERSION}`, [`moto[server]==${MOTO_VERSION}`]);
}

/** True once moto answers its own configuration endpoint over HTTP. */
async function motoAnswers(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/moto-api/config`, {
    signal: AbortSignal.timeout(2_000),
  });
  await res.body?.cancel();
  return res.ok;
}

/**
 * AWS as moto in server mode: one endpoint for Secrets Manager, STS, ECR, EKS, Route 53 and the
 * rest, reached by every SDK and CLI through `AWS_ENDPOINT_URL`. Credentials are test values that
 * moto accepts without checking.
 */
export const aws: Component = {
  name: 'aws',
  description: `moto ${MOTO_VERSION} server (Secrets Manager, STS, ECR, EKS, Route 53)`,
  async provision() {
    await ensureApt(['python3', 'python3-venv']);
    await motoVenv();
  },
  async start(ctx) {
    const venv = await motoVenv();
    const port = await freePort();
    const env = {
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: 'deploytag-test-key',
      AWS_SECRET_ACCESS_KEY: 'deploytag-test-secret',
      AWS_DEFAULT_REGION: REGION,
      AWS_REGION: REGION,
    };
    const daemon = await startDaemon({
      name: 'moto_server',
      cmd: join(venv, 'bin', 'moto_server'),
      args: ['-H', '127.0.0.1', '-p', String(port)],
      logFile: join(ctx.dir, 'moto.log'),
      cwd: ctx.dir,
      // moto reads a few AWS_* and MOTO_* variables: give it ours, not whatever the caller had.
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: ctx.dir, ...env },
      ready: () => motoAnswers(port),
      readyTimeoutMs: 60_000,
    });
    return { daemons: [daemon], env };
  },
};
