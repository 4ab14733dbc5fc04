import { chmodSync, chownSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { HarnessError, run } from './exec.js';

/** A system account that a database server runs as (servers refuse to run as root). */
export interface ServiceAccount {
  name: string;
  uid: number;
  gid: number;
}

/** Looks up a system account (for example `postgres` or `mysql`, created by their packages). */
export async function serviceAccount(name: string): Promise<ServiceAccount> {
  const uid = await run('id', ['-u', name], { allowFail: true });
  const gid = await run('id', ['-g', name], { allowFail: true });
  if (uid.code !== 0 || gid.code !== 0) {
    throw new HarnessError(
      `system user "${name}" is missing: install its Debian package (it creates the user)`,
    );
  }
  return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Lets `account` reach `dir` by path. Every ancestor it cannot search and that this process owns
 * (typically a `mkdtemp` folder, created 0700) gets search permission for others: `o+x` only, so
 * nothing becomes listable. Ancestors owned by someone else are left alone, and the server will say
 * what it could not open.
 */
export function makeReachable(dir: string, account: ServiceAccount): void {
  const myUid = process.getuid?.() ?? -1;
  let p = resolve(dir);
  const chain: string[] = [];
  for (;;) {
    chain.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const folder of chain) {
    const st = statSync(folder);
    const searchable =
      (st.uid === account.uid && (st.mode & 0o100) !== 0) ||
      (st.gid === account.gid && (st.mode & 0o010) !== 0) ||
      (st.mode & 0o001) !== 0;
    if (!searchable && st.uid === myUid) chmodSync(folder, (st.mode & 0o7777) | 0o001);
  }
}

/**
 * Prepares an instance's folder: created if needed, mode 0711 (others may pass through to the
 * server's own 0700 folders but list nothing), and reachable by `account`. Returns its absolute path.
 */
export function privateHome(dir: string, account: ServiceAccount): string {
  const home = resolve(dir);
  mkdirSync(home, { recursive: true });
  if (statSync(home).uid === process.getuid?.()) chmodSync(home, 0o711);
  makeReachable(home, account);
  return home;
}

/** Creates (or re-owns) a folder private to `account`: mode 0700, owned by it. */
export function ownedFolder(path: string, account: ServiceAccount): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chownSync(path, account.uid, account.gid);
  chmodSync(path, 0o700);
  return path;
}

/**
 * Arguments for `setpriv` (util-linux) that run `cmd` as `account` with its groups. setpriv execs
 * the program in its place (no lingering parent), so a daemon's recorded pid is the server itself.
 */
export function asAccount(account: ServiceAccount, cmd: string, args: readonly string[]): string[] {
  return [`--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups', '--', cmd, ...args];
}
