/**
 * The tiny offline base image: a root filesystem holding the static busybox and a symlink per
 * applet, tarred once into the cache and imported into each fresh podman storage.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-fs';
import { HarnessError, run } from '../../exec.js';
import { cacheDir } from '../../paths.js';
import { ENGINE_API_VERSION, engineRequest, parseJsonStream, streamErrors } from './api.js';

/** The name the base image gets in the engine (what example Dockerfiles start `FROM`). */
export const BASE_IMAGE = 'localhost/busybox:latest';

const PATH_IN_IMAGE = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The static busybox binary installed by the Debian package `busybox-static`. */
async function staticBusybox(): Promise<string> {
  const listed = await run('dpkg-query', ['-L', 'busybox-static'], { allowFail: true });
  const path = listed.stdout
    .split('\n')
    .find((l) => /\/bin\/busybox$/.test(l.trim()))
    ?.trim();
  if (listed.code !== 0 || path === undefined || !existsSync(path)) {
    throw new HarnessError(
      'the base image needs the static busybox: install the Debian package busybox-static',
    );
  }
  return path;
}

/** Writes the root filesystem (busybox, applet symlinks, passwd/group, tmp) into `rootfs`. */
async function makeRootfs(busybox: string, rootfs: string): Promise<void> {
  for (const d of [
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'etc',
    'root',
    'tmp',
    'var/tmp',
    'proc',
    'sys',
    'dev',
  ]) {
    mkdirSync(join(rootfs, d), { recursive: true });
  }
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  chmodSync(join(rootfs, 'var/tmp'), 0o1777);
  chmodSync(join(rootfs, 'root'), 0o700);
  writeFileSync(join(rootfs, 'bin/busybox'), readFileSync(busybox), { mode: 0o755 });
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  const { stdout } = await run(busybox, ['--list-full']);
  const applets = new Set(stdout.split('\n').map((l) => l.trim().replace(/^\/+/, '')));
  applets.delete('bin/busybox');
  for (const applet of applets) {
    if (applet === '' || applet.split('/').includes('..')) continue;
    const link = join(rootfs, applet);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync('/bin/busybox', link);
  }
  writeFileSync(
    join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
}

/**
 * Returns the cached root filesystem tar of the base image, making it first if needed. The file
 * name carries a digest of the busybox binary, so a busybox upgrade makes a new one.
 */
export async function ensureBaseImageTar(): Promise<string> {
  const busybox = await staticBusybox();
  const digest = createHash('sha256').update(readFileSync(busybox)).digest('hex').slice(0, 16);
  const folder = join(cacheDir(), 'engine');
  const target = join(folder, `busybox-rootfs-${digest}.tar`);
  if (existsSync(target)) return target;
  mkdirSync(folder, { recursive: true });
  const work = mkdtempSync(join(folder, 'rootfs-'));
  try {
    const rootfs = join(work, 'rootfs');
    await makeRootfs(busybox, rootfs);
    const partial = join(work, 'rootfs.tar');
    // Owned by root and dated at the epoch, whoever makes it: the layer is the same on every machine
    // with the same busybox.
    const tar = pack(rootfs, { map: (h) => ({ ...h, uid: 0, gid: 0, mtime: new Date(0) }) });
    await pipeline(tar, createWriteStream(partial));
    renameSync(partial, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return target;
}

/**
 * Imports the root filesystem tar into the engine as {@link BASE_IMAGE} through the Engine API
 * (`POST /images/create?fromSrc=-`), with PATH set and `sh` as its command, and checks that the
 * engine then knows the image.
 */
export async function importBaseImage(socketPath: string, tarFile: string): Promise<void> {
  const colon = BASE_IMAGE.lastIndexOf(':');
  const repo = BASE_IMAGE.slice(0, colon);
  const tag = BASE_IMAGE.slice(colon + 1);
  const query = new URLSearchParams({
    fromSrc: '-',
    repo,
    tag,
    message: 'DeployTag harness base image',
  });
  query.append('changes', `ENV PATH=${PATH_IN_IMAGE}`);
  query.append('changes', 'CMD ["sh"]');
  const res = await engineRequest(
    socketPath,
    `/${ENGINE_API_VERSION}/images/create?${query.toString()}`,
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-tar' },
      body: createReadStream(tarFile),
    },
  );
  const text = res.body.toString('utf8');
  const errors = res.status === 200 ? streamErrors(parseJsonStream(text)) : [text.trim()];
  if (errors.length > 0) {
    throw new HarnessError(
      `importing ${tarFile} as ${BASE_IMAGE} failed (HTTP ${res.status}): ${errors.join('; ')}`,
    );
  }
  const check = await engineRequest(socketPath, `/${ENGINE_API_VERSION}/images/${BASE_IMAGE}/json`);
  if (check.status !== 200) {
    throw new HarnessError(
      `${BASE_IMAGE} is missing after its import (HTTP ${check.status}): ${check.body.toString('utf8')}`,
    );
  }
}
