/**
 * The private configuration of the harness's podman service: every path podman would otherwise
 * take from the machine (/etc/containers, /var/lib/containers, /run/libpod, /dev/shm locks,
 * /var/tmp, ~/.docker, and through a private mount namespace /var/lib/containers/cache and
 * /run/runc) points into the component's own folder instead.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where one podman service keeps its state, all under the component's folder. */
export interface EngineLayout {
  dir: string;
  socket: string;
  /** Image and container storage (`--root`). */
  root: string;
  /** Per-run storage state (`--runroot`). */
  runroot: string;
  /** libpod's per-boot state: alive marker, file locks, exit files, events log. */
  libpodTmp: string;
  /** TMPDIR and `image_copy_tmp_dir`: build contexts, RUN bundles, push/pull scratch. */
  tmp: string;
  /** An empty home, so no user-level container or Docker config is ever read. */
  home: string;
  /**
   * Bind-mounted over /var/lib/containers/cache inside the service's mount namespace: rootful
   * podman 4 writes its blob-info cache there whatever its configuration says.
   */
  blobInfoCache: string;
  /** Bind-mounted over /run/runc inside the service's mount namespace: runc's container state. */
  runcRoot: string;
  containersConf: string;
  storageConf: string;
  registriesConf: string;
  authFile: string;
  log: string;
}

/** The layout of a podman service whose state lives in `dir`. */
export function engineLayout(dir: string): EngineLayout {
  return {
    dir,
    socket: join(dir, 'podman.sock'),
    root: join(dir, 'storage'),
    runroot: join(dir, 'run'),
    libpodTmp: join(dir, 'libpod'),
    tmp: join(dir, 'tmp'),
    home: join(dir, 'home'),
    blobInfoCache: join(dir, 'blob-info-cache'),
    runcRoot: join(dir, 'runc'),
    containersConf: join(dir, 'containers.conf'),
    storageConf: join(dir, 'storage.conf'),
    registriesConf: join(dir, 'registries.conf'),
    authFile: join(dir, 'auth.json'),
    log: join(dir, 'podman.log'),
  };
}

/** A TOML basic string (JSON's escapes are a subset TOML accepts for ordinary text). */
function tomlString(value: string): string {
  return JSON.stringify(value);
}

/** containers.conf: no cgroups, host network, runc, file events and file locks, private dirs. */
export function containersConf(layout: EngineLayout): string {
  return [
    '# Written by the DeployTag harness for its private podman service.',
    '[containers]',
    'cgroups = "disabled"',
    'netns = "host"',
    '',
    '[network]',
    // With netns = host no network is ever set up; pin the backend and keep its config private.
    'network_backend = "cni"',
    `network_config_dir = ${tomlString(join(layout.dir, 'networks'))}`,
    '',
    '[engine]',
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `events_logfile_path = ${tomlString(join(layout.libpodTmp, 'events.log'))}`,
    // The default shm lock segment (/dev/shm/libpod_lock) is shared by every rootful podman on the
    // machine, and a fresh tmp_dir makes libpod free all of its locks at start-up: file locks
    // under tmp_dir keep this service from disturbing any other podman.
    'lock_type = "file"',
    `tmp_dir = ${tomlString(layout.libpodTmp)}`,
    `static_dir = ${tomlString(join(layout.root, 'libpod'))}`,
    `volume_path = ${tomlString(join(layout.root, 'volumes'))}`,
    `image_copy_tmp_dir = ${tomlString(layout.tmp)}`,
    '',
  ].join('\n');
}

/** storage.conf: vfs (no kernel mounts) on the private root and runroot. */
export function storageConf(layout: EngineLayout): string {
  return [
    '[storage]',
    'driver = "vfs"',
    `graphroot = ${tomlString(layout.root)}`,
    `runroot = ${tomlString(layout.runroot)}`,
    '',
  ].join('\n');
}

/**
 * registries.conf: no search registries (short names never reach out to the internet) and the
 * given `host:port` registries marked insecure (plain HTTP).
 */
export function registriesConf(insecure: readonly string[]): string {
  const lines = ['unqualified-search-registries = []', ''];
  for (const location of insecure) {
    lines.push('[[registry]]', `location = ${tomlString(location)}`, 'insecure = true', '');
  }
  return lines.join('\n');
}

/** Creates the folders and writes the three configuration files of the layout. */
export function writeEngineConfig(
  layout: EngineLayout,
  insecureRegistries: readonly string[],
): void {
  for (const d of [
    layout.root,
    layout.runroot,
    layout.libpodTmp,
    layout.tmp,
    layout.home,
    layout.blobInfoCache,
    layout.runcRoot,
  ]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
  }
  mkdirSync(join(layout.dir, 'networks'), { recursive: true });
  writeFileSync(layout.containersConf, containersConf(layout));
  writeFileSync(layout.storageConf, storageConf(layout));
  writeFileSync(layout.registriesConf, registriesConf(insecureRegistries));
}

/**
 * The whole environment of the podman service: only PATH from the caller (so no proxy, remote
 * connection, storage or auth variable of the machine leaks in), plus the private config files.
 */
export function engineEnv(layout: EngineLayout): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: layout.home,
    XDG_CONFIG_HOME: join(layout.home, '.config'),
    TMPDIR: layout.tmp,
    LANG: 'C.UTF-8',
    CONTAINERS_CONF: layout.containersConf,
    CONTAINERS_STORAGE_CONF: layout.storageConf,
    CONTAINERS_REGISTRIES_CONF: layout.registriesConf,
    REGISTRY_AUTH_FILE: layout.authFile,
    DOCKER_CONFIG: join(layout.home, '.docker'),
  };
}

/** Host paths that rootful podman and runc use whatever their configuration says. */
export const HOST_PATHS_REDIRECTED = ['/var/lib/containers/cache', '/run/runc'] as const;

/**
 * A constant script run by `sh` inside a new private mount namespace: bind-mounts its first two
 * arguments over {@link HOST_PATHS_REDIRECTED}, then execs the rest (so the recorded pid ends up
 * being podman's). Paths arrive as positional arguments, never spliced into the script.
 */
const NAMESPACE_SCRIPT =
  'mount --bind "$1" /var/lib/containers/cache && mount --bind "$2" /run/runc && shift 2 && exec "$@"';

/**
 * The command that runs `podman system service` for the layout: in its own mount namespace
 * (`unshare --mount --propagation private`), so its blob-info cache and runc state land in the
 * component's folder and none of its mounts is ever visible on the host.
 */
export function serviceCommand(layout: EngineLayout): { cmd: string; args: string[] } {
  const podman = [
    'podman',
    '--root',
    layout.root,
    '--runroot',
    layout.runroot,
    '--storage-driver',
    'vfs',
    '--log-level',
    'info',
    'system',
    'service',
    '--time=0',
    `unix://${layout.socket}`,
  ];
  return {
    cmd: 'unshare',
    args: [
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      NAMESPACE_SCRIPT,
      'deploytag-engine-ns',
      layout.blobInfoCache,
      layout.runcRoot,
      ...podman,
    ],
  };
}

/** Creates the host mount points of {@link HOST_PATHS_REDIRECTED} (empty folders) when missing. */
export function ensureMountPoints(): void {
  for (const p of HOST_PATHS_REDIRECTED) mkdirSync(p, { recursive: true, mode: 0o700 });
}
