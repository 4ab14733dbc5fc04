/**
 * A Docker credential store for tests: Docker's own `docker-credential-pass` helper (built by the
 * registry component) over a private `pass` password store encrypted with a throwaway GnuPG key,
 * so a Docker config with `credsStore: pass` or `credHelpers` works exactly as on a developer's
 * machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { HarnessError, run } from './exec.js';
import { requireEnv } from './test-env.js';

/** A private `pass` store with Docker's helper on PATH. */
export interface PassCredentialStore {
  /**
   * The variables a program needs to use the store: `PATH` (with `docker-credential-pass` first),
   * `GNUPGHOME`, `PASSWORD_STORE_DIR` and `HOME`.
   */
  readonly env: Record<string, string>;
  /** A folder for a Docker config (`DOCKER_CONFIG`), empty until a test writes `config.json`. */
  readonly dockerConfigDir: string;
  /** Stores credentials for a server through the helper (`store`, JSON on stdin). */
  store(serverUrl: string, username: string, secret: string): Promise<void>;
  /** Removes the credentials of a server through the helper (`erase`). */
  erase(serverUrl: string): Promise<void>;
  /** Stops the GnuPG agent and removes the store. */
  close(): Promise<void>;
}

/**
 * Creates a private `pass` store: a GnuPG home with a new passphrase-less key, `pass init` with
 * it, and Docker's `docker-credential-pass` on PATH. Needs the registry component's
 * `DEPLOYTAG_CREDENTIAL_HELPERS`.
 */
export async function createPassCredentialStore(): Promise<PassCredentialStore> {
  const helpers = requireEnv('DEPLOYTAG_CREDENTIAL_HELPERS');
  // Short: gpg-agent's socket lives in GNUPGHOME and socket paths are limited to 107 bytes.
  const root = mkdtempSync(join(tmpdir(), 'dt-pass-'));
  const env: Record<string, string> = {
    PATH: [helpers, process.env['PATH'] ?? '/usr/bin:/bin'].join(delimiter),
    HOME: root,
    GNUPGHOME: join(root, 'gnupg'),
    PASSWORD_STORE_DIR: join(root, 'store'),
  };
  const exec = async (cmd: string, args: string[], input?: string): Promise<string> => {
    const r = await run(cmd, args, {
      env,
      allowFail: true,
      ...(input === undefined ? {} : { input }),
    });
    if (r.code !== 0) {
      throw new HarnessError(`${cmd} ${args[0] ?? ''} failed (${r.code}): ${r.stderr.trim()}`);
    }
    return r.stdout;
  };
  try {
    await exec('mkdir', ['-m', '700', env['GNUPGHOME'] ?? '']);
    await exec('gpg', [
      ...['--batch', '--pinentry-mode', 'loopback', '--passphrase', ''],
      ...['--quick-generate-key', 'DeployTag test store <store@deploytag.invalid>'],
      ...['default', 'default', 'never'],
    ]);
    const listing = await exec('gpg', ['--batch', '--list-keys', '--with-colons']);
    const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1];
    if (fingerprint === undefined) throw new HarnessError('gpg made no key');
    await exec('pass', ['init', fingerprint]);
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  return {
    env,
    dockerConfigDir: join(root, 'docker'),
    async store(serverUrl, username, secret) {
      await exec(
        'docker-credential-pass',
        ['store'],
        JSON.stringify({ ServerURL: serverUrl, Username: username, Secret: secret }),
      );
    },
    async erase(serverUrl) {
      await exec('docker-credential-pass', ['erase'], serverUrl);
    },
    async close() {
      await run('gpgconf', ['--kill', 'all'], { env, allowFail: true });
      rmSync(root, { recursive: true, force: true });
    },
  };
}
