import type { Logger } from '@deploytag/core';
import { silentLogger } from '@deploytag/core';
import { listRemoteBranches } from '@deploytag/git';
import type { RemoteAuth } from '@deploytag/git';
import type { Helm } from '@deploytag/helm';
import { registryHostOf } from '@deploytag/image';
import type { RegistryClient } from '@deploytag/image';
import { MANAGED_BY, MANAGED_BY_LABEL, REPO_LABEL, labelValue } from '@deploytag/kube';
import type { KubeClients } from '@deploytag/kube';
import { kubeError } from './kube-errors.js';
import type {
  CleanupFacts,
  NamespaceFacts,
  RegistryFacts,
  ReleaseFacts,
  WorkloadImage,
} from './plan.js';

/** What {@link gatherCleanupFacts} reads from. */
export interface GatherClients {
  /** Kubernetes API clients. */
  kube: KubeClients;
  /** The helm runner, pointed at the same cluster. */
  helm: Helm;
  /** A client of the image repository's registry; needed with `imageRepository`. */
  registry?: RegistryClient;
  /** Progress at debug level. */
  logger?: Logger;
}

/** What to read. */
export interface GatherInput {
  /** The repository whose environments are read (its `deploytag.dev/repo` label). */
  repo: string;
  /** The remote whose branches are listed over smart HTTP; not read when undefined. */
  remote?: { url: string; auth?: RemoteAuth };
  /**
   * `host/path` of the application image; when given, the workloads' images and the repository's
   * tags and digests are read (for pruning images).
   */
  imageRepository?: string;
  /** The time of the decision; now by default. */
  now?: Date;
}

/** At most this many registry requests run at once. */
const REGISTRY_CONCURRENCY = 8;

/**
 * The repository path of an image repository inside its registry (`host/a/b` → `a/b`).
 *
 * @param repository - `host/path`
 */
export function registryPath(repository: string): { host: string; path: string } {
  const host = registryHostOf(repository);
  const path = repository.startsWith(`${host}/`) ? repository.slice(host.length + 1) : repository;
  return { host, path };
}

function namespaceFacts(item: {
  metadata?: {
    name?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: Date;
  };
}): NamespaceFacts | undefined {
  const name = item.metadata?.name;
  if (name === undefined) return undefined;
  return {
    name,
    labels: { ...item.metadata?.labels },
    annotations: { ...item.metadata?.annotations },
    terminating: item.metadata?.deletionTimestamp !== undefined,
  };
}

/**
 * Lists the namespaces DeployTag created for a repository (by its labels only).
 *
 * @param kube - the API clients
 * @param repo - the repository
 */
export async function listEnvironmentNamespaces(
  kube: KubeClients,
  repo: string,
): Promise<NamespaceFacts[]> {
  const labelSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY},${REPO_LABEL}=${labelValue(repo)}`;
  try {
    const list = await kube.core.listNamespace({ labelSelector });
    return list.items.flatMap((item) => namespaceFacts(item) ?? []);
  } catch (error) {
    throw kubeError(`listing the namespaces labelled ${labelSelector}`, error);
  }
}

/**
 * The Helm releases of a namespace, in every state (`helm list --all`).
 *
 * @param helm - the helm runner
 * @param namespace - the namespace
 */
export async function listReleases(helm: Helm, namespace: string): Promise<ReleaseFacts[]> {
  const result = await helm.run(['list', '--all', '--max', '1000', '--output', 'json'], {
    namespace,
    quiet: true,
    timeoutMs: 60_000,
  });
  const parsed = JSON.parse(result.stdout || '[]') as { name: string; status: string }[] | null;
  return (parsed ?? []).map((r) => ({ name: r.name, namespace, status: r.status }));
}

/**
 * The Helm releases of several namespaces: one `helm list --all-namespaces` (one process, however
 * many previews there are), falling back to one `helm list` per namespace when the credentials
 * may not list releases cluster-wide.
 *
 * @param helm - the helm runner
 * @param namespaces - the namespaces whose releases are wanted
 * @param logger - notes the fallback
 */
export async function listReleasesOf(
  helm: Helm,
  namespaces: readonly string[],
  logger: Logger = silentLogger,
): Promise<ReleaseFacts[]> {
  if (namespaces.length === 0) return [];
  if (namespaces.length > 1) {
    const wanted = new Set(namespaces);
    const result = await helm.run(
      ['list', '--all', '--all-namespaces', '--max', '100000', '--output', 'json'],
      { namespace: namespaces[0]!, quiet: true, timeoutMs: 120_000, allowFailure: true },
    );
    if (result.code === 0) {
      const parsed = JSON.parse(result.stdout || '[]') as
        { name: string; namespace: string; status: string }[] | null;
      return (parsed ?? [])
        .filter((r) => wanted.has(r.namespace))
        .map((r) => ({ name: r.name, namespace: r.namespace, status: r.status }));
    }
    logger.debug('helm list --all-namespaces was refused; listing namespace by namespace');
  }
  const releases: ReleaseFacts[] = [];
  for (const namespace of namespaces) releases.push(...(await listReleases(helm, namespace)));
  return releases;
}

interface PodSpecLike {
  containers?: { image?: string }[];
  initContainers?: { image?: string }[];
  ephemeralContainers?: { image?: string }[];
}

function imagesOf(spec: PodSpecLike | undefined): string[] {
  if (spec === undefined) return [];
  return [
    ...(spec.containers ?? []),
    ...(spec.initContainers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ].flatMap((c) => (c.image === undefined ? [] : [c.image]));
}

/**
 * Every image of `repository` named by a workload or pod in any namespace: Deployments,
 * ReplicaSets (what a Deployment can roll back to), StatefulSets, DaemonSets, Jobs, CronJobs and
 * Pods.
 *
 * @param kube - the API clients
 * @param repository - `host/path` of the application image
 */
export async function listWorkloadImages(
  kube: KubeClients,
  repository: string,
): Promise<WorkloadImage[]> {
  type Item = { metadata?: { namespace?: string }; spec?: unknown };
  const templated = (items: Item[], pick: (item: Item) => PodSpecLike | undefined) =>
    items.flatMap((item) =>
      imagesOf(pick(item)).map((image) => ({ namespace: item.metadata?.namespace ?? '', image })),
    );
  const template = (item: Item): PodSpecLike | undefined =>
    (item.spec as { template?: { spec?: PodSpecLike } } | undefined)?.template?.spec;
  const sources: [string, () => Promise<WorkloadImage[]>][] = [
    [
      'Deployments',
      async () => templated((await kube.apps.listDeploymentForAllNamespaces()).items, template),
    ],
    [
      'ReplicaSets',
      async () => templated((await kube.apps.listReplicaSetForAllNamespaces()).items, template),
    ],
    [
      'StatefulSets',
      async () => templated((await kube.apps.listStatefulSetForAllNamespaces()).items, template),
    ],
    [
      'DaemonSets',
      async () => templated((await kube.apps.listDaemonSetForAllNamespaces()).items, template),
    ],
    ['Jobs', async () => templated((await kube.batch.listJobForAllNamespaces()).items, template)],
    [
      'CronJobs',
      async () =>
        templated(
          (await kube.batch.listCronJobForAllNamespaces()).items,
          (item) =>
            (item.spec as { jobTemplate?: { spec?: { template?: { spec?: PodSpecLike } } } })
              .jobTemplate?.spec?.template?.spec,
        ),
    ],
    [
      'Pods',
      async () =>
        templated(
          (await kube.core.listPodForAllNamespaces()).items,
          (item) => item.spec as PodSpecLike | undefined,
        ),
    ],
  ];
  const prefixTag = `${repository}:`;
  const prefixDigest = `${repository}@`;
  const found: WorkloadImage[] = [];
  for (const [what, list] of sources) {
    let images: WorkloadImage[];
    try {
      images = await list();
    } catch (error) {
      throw kubeError(`listing the ${what} of every namespace`, error);
    }
    for (const use of images) {
      if (use.image.startsWith(prefixTag) || use.image.startsWith(prefixDigest)) found.push(use);
    }
  }
  return found;
}

/**
 * Every tag of an image repository and the digest it points to.
 *
 * @param registry - a client of the repository's registry
 * @param repository - `host/path` of the repository
 */
export async function readRegistryTags(
  registry: RegistryClient,
  repository: string,
): Promise<RegistryFacts> {
  const { path } = registryPath(repository);
  const tags = await registry.listTags(path);
  const tagDigests: Record<string, string> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tags.length) {
      const tag = tags[next++];
      if (tag === undefined) continue;
      const digest = await registry.manifestDigest(path, tag);
      if (digest !== undefined && digest !== '') tagDigests[tag] = digest;
    }
  };
  await Promise.all(Array.from({ length: Math.min(REGISTRY_CONCURRENCY, tags.length) }, worker));
  return { repository, tagDigests };
}

/**
 * Reads everything {@link planCleanup} decides from: the repository's environments (namespaces
 * by label) and their Helm releases, the remote's branches, and, with `imageRepository`, the
 * workloads' images and the registry's tags.
 *
 * @param clients - Kubernetes, helm, the registry and a logger
 * @param input - repository, remote, image repository and time
 * @throws GitError when the remote cannot be listed (nothing is decided without it)
 */
export async function gatherCleanupFacts(
  clients: GatherClients,
  input: GatherInput,
): Promise<CleanupFacts> {
  const logger = clients.logger ?? silentLogger;
  const now = input.now ?? new Date();
  const namespaces = await listEnvironmentNamespaces(clients.kube, input.repo);
  logger.debug(`found ${namespaces.length} environment(s) of ${input.repo}`);
  const live = namespaces.filter((ns) => !ns.terminating).map((ns) => ns.name);
  const releases = await listReleasesOf(clients.helm, live, logger);
  let remoteBranches: string[] | undefined;
  if (input.remote !== undefined) {
    remoteBranches = (
      await listRemoteBranches(input.remote.url, {
        ...(input.remote.auth === undefined ? {} : { auth: input.remote.auth }),
      })
    ).map((b) => b.name);
    logger.debug(`the remote has ${remoteBranches.length} branch(es)`);
  }
  let workloadImages: WorkloadImage[] | undefined;
  let registry: RegistryFacts | undefined;
  if (input.imageRepository !== undefined) {
    if (clients.registry === undefined) {
      throw new TypeError('gatherCleanupFacts needs a registry client to read image tags');
    }
    workloadImages = await listWorkloadImages(clients.kube, input.imageRepository);
    registry = await readRegistryTags(clients.registry, input.imageRepository);
    logger.debug(
      `${input.imageRepository} has ${Object.keys(registry.tagDigests).length} tag(s); workloads use ${workloadImages.length} reference(s) to it`,
    );
  }
  return { namespaces, releases, remoteBranches, workloadImages, registry, now };
}
