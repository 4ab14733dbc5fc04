import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Component } from '../component.js';
import { nodeScript, startDaemon } from '../daemon.js';
import { HarnessError, which } from '../exec.js';
import { freePort } from '../ports.js';
import { ensureApt } from '../provision.js';

/** True once the git HTTP daemon answers its health path. */
async function serves(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/_health`, {
    signal: AbortSignal.timeout(2_000),
  });
  await res.body?.cancel();
  return res.ok;
}

/**
 * A git remote over smart HTTP (`git http-backend` behind the harness's own small HTTP server,
 * `daemons/git-http.ts`). Every bare repository created under `DEPLOYTAG_GIT_ROOT` is served at
 * `$DEPLOYTAG_GIT_URL/<name>.git`. As on GitHub, fetches are anonymous and pushes need HTTP basic
 * auth with `DEPLOYTAG_GIT_TOKEN` as the password (any user name).
 */
export const git: Component = {
  name: 'git',
  description: 'git smart-HTTP remote (git http-backend; push needs the token)',
  async provision() {
    await ensureApt(['git']);
  },
  async start(ctx) {
    if (!which('git'))
      throw new HarnessError('git is not installed: run npm run stack -- provision git');
    const root = join(ctx.dir, 'repos');
    mkdirSync(root, { recursive: true });
    const token = randomBytes(24).toString('hex');
    const port = await freePort();
    const script = nodeScript(new URL('../daemons/git-http.ts', import.meta.url), [
      '--port',
      String(port),
      '--root',
      root,
    ]);
    const daemon = await startDaemon({
      name: 'git-http',
      cmd: script.cmd,
      args: script.args,
      logFile: join(ctx.dir, 'git-http.log'),
      cwd: ctx.dir,
      // The token reaches the daemon through its environment only, never its command line.
      env: { ...process.env, DEPLOYTAG_GIT_TOKEN: token },
      ready: () => serves(port),
      readyTimeoutMs: 30_000,
    });
    return {
      daemons: [daemon],
      env: {
        DEPLOYTAG_GIT_URL: `http://127.0.0.1:${port}`,
        DEPLOYTAG_GIT_ROOT: root,
        DEPLOYTAG_GIT_TOKEN: token,
      },
    };
  },
};
