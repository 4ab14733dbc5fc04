import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Extra environment for {@link gitIn}: who commits and when, and push credentials. */
export interface GitEnv {
  /** A fixed commit time (ISO or git's `@<seconds> +0000`): the same tree gives the same sha. */
  date?: string;
  /** Extra variables (such as `GIT_CONFIG_*` for an `http.extraHeader`). */
  env?: Record<string, string>;
}

/**
 * Runs the real git CLI in `dir`, isolated from the machine's and the user's configuration, as a
 * fixed author (and at a fixed time when `date` is given), and returns its trimmed stdout.
 *
 * @param dir - the work tree
 * @param args - git's arguments
 * @param options - fixed date, extra environment
 */
export function gitIn(dir: string, args: readonly string[], options: GitEnv = {}): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_AUTHOR_NAME: 'DeployTag Test',
      GIT_AUTHOR_EMAIL: 'test@deploytag.invalid',
      GIT_COMMITTER_NAME: 'DeployTag Test',
      GIT_COMMITTER_EMAIL: 'test@deploytag.invalid',
      ...(options.date === undefined
        ? {}
        : { GIT_AUTHOR_DATE: options.date, GIT_COMMITTER_DATE: options.date }),
      ...options.env,
    },
    maxBuffer: 64 * 1024 * 1024,
  }).trim();
}

/**
 * Writes files (relative paths; parents created) into a work tree, commits everything as the
 * fixed author, and returns the new commit's sha.
 *
 * @param dir - the work tree
 * @param files - path → content
 * @param message - the commit message
 * @param options - fixed date, extra environment
 */
export function commitFiles(
  dir: string,
  files: Readonly<Record<string, string>>,
  message: string,
  options: GitEnv = {},
): string {
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  gitIn(dir, ['add', '-A'], options);
  gitIn(dir, ['commit', '--quiet', '--allow-empty', '-m', message], options);
  return gitIn(dir, ['rev-parse', 'HEAD'], options);
}

/**
 * Git configuration, as environment variables, that sends the harness git server's token with
 * every request: the token never appears in a URL or a command line.
 *
 * @param token - `DEPLOYTAG_GIT_TOKEN`
 */
export function gitTokenEnv(token: string): Record<string, string> {
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}
