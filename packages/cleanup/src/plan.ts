/**
 * The pure half of cleanup: which preview environments are stale, and what removing each takes.
 *
 * @packageDocumentation
 */
import {
  DEFAULT_STAGING_BRANCHES,
  RESERVED_IMAGE_TAGS,
  SHARED_ENVIRONMENT_NAMES,
  databaseName,
  imageTag,
  namespaceName,
} from '@deploytag/context';
import type { DatabaseEngine } from '@deploytag/context';
import {
  BRANCH_ANNOTATION,
  DEPLOYED_AT_ANNOTATION,
  ENVIRONMENT_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  REPO_LABEL,
  labelValue,
} from '@deploytag/kube';
import { formatDuration } from './duration.js';

/**
 * Annotation cleanup writes on a namespace before it removes anything (a JSON
 * {@link CleanupRecord}), so that a run stopped half-way is finished by the next one even after
 * the release that named the image tags is gone.
 */
export const CLEANUP_ANNOTATION = 'deploytag.dev/cleanup';

/** What cleanup records on a namespace before it starts removing the environment. */
export interface CleanupRecord {
  /** When the first (possibly interrupted) cleanup of this environment started (ISO time). */
  startedAt: string;
  /** The deploy time the namespace carried then; the record only counts while it is unchanged. */
  deployedAt: string | undefined;
  /** The Helm releases of the environment (their deploy locks are taken by later runs too). */
  releases: string[];
  /** The environment's own image tags (before the ones in use elsewhere were set aside). */
  imageTags: string[];
}

/** A namespace as read from the cluster. */
export interface NamespaceFacts {
  /** Its name. */
  name: string;
  /** Its labels. */
  labels: Readonly<Record<string, string>>;
  /** Its annotations. */
  annotations: Readonly<Record<string, string>>;
  /** Whether it is being deleted (`deletionTimestamp` set). */
  terminating: boolean;
}

/** A Helm release (`helm list --all`). */
export interface ReleaseFacts {
  /** The release name. */
  name: string;
  /** Its namespace. */
  namespace: string;
  /** Its status (`deployed`, `failed`, `pending-upgrade`, …). */
  status: string;
}

/** One container image named by a workload or pod (Deployment, ReplicaSet, Job, Pod, …). */
export interface WorkloadImage {
  /** The namespace of the workload. */
  namespace: string;
  /** The image reference, as written in the pod template (`host/path:tag`, `host/path@sha256:…`). */
  image: string;
}

/** The application image repository and the manifest every tag points to. */
export interface RegistryFacts {
  /** `host/path` of the repository (`CONTAINER_REGISTRY/PROJECT_ID/IMAGE`). */
  repository: string;
  /** The digest of every tag of the repository. */
  tagDigests: Readonly<Record<string, string>>;
}

/** Everything {@link planCleanup} decides from, read by `gatherCleanupFacts`. */
export interface CleanupFacts {
  /**
   * The namespaces carrying DeployTag's labels for the repository. Anything else given here is
   * ignored: a namespace without `app.kubernetes.io/managed-by=deploytag` is never considered.
   */
  namespaces: readonly NamespaceFacts[];
  /** The Helm releases of those namespaces. */
  releases: readonly ReleaseFacts[];
  /** The branches on the remote; `undefined` when the remote was not read. */
  remoteBranches: readonly string[] | undefined;
  /**
   * The images of the repository that workloads of every namespace use (what live releases run,
   * and what they can roll back to); `undefined` when images are not pruned.
   */
  workloadImages: readonly WorkloadImage[] | undefined;
  /** The application image repository's tags; `undefined` when images are not pruned. */
  registry: RegistryFacts | undefined;
  /** The time the decision is made at. */
  now: Date;
}

/** Choices of a cleanup. */
export interface CleanupOptions {
  /** The repository whose previews are cleaned (the `deploytag.dev/repo` label, database names). */
  repo: string;
  /** Stale when last deployed longer ago than this (milliseconds); not checked when undefined. */
  olderThanMs?: number;
  /** Branches whose previews are removed whatever else is true. */
  branches?: readonly string[];
  /** Drop each removed preview's database (`<repo>-<branch>`, never a shared one). */
  dropDatabases?: boolean;
  /** Delete each removed preview's image tags (never one another environment still uses). */
  pruneImages?: boolean;
  /** Whether a DNS removal step is planned (the caller has a hook for it). */
  removeDns?: boolean;
  /** The database server's kind, for the database name's length limit; `postgresql` by default. */
  databaseEngine?: DatabaseEngine;
  /** Database names never dropped, besides the shared environments' (such as `DATABASE`). */
  protectedDatabases?: readonly string[];
  /** Branches that deploy staging; {@link DEFAULT_STAGING_BRANCHES} by default. */
  stagingBranches?: readonly string[];
}

/** Why an environment is stale (first four) or kept (the others). */
export type ReasonCode =
  | 'named'
  | 'branch-gone'
  | 'expired'
  | 'resume'
  | 'shared-environment'
  | 'staging-branch'
  | 'no-branch'
  | 'name-mismatch'
  | 'terminating'
  | 'active';

/** One reason, with a sentence for people. */
export interface Reason {
  /** Stable code. */
  code: ReasonCode;
  /** What it means for this environment. */
  text: string;
}

/** An image tag to delete, with the manifest it pointed to when planned. */
export interface PlannedTag {
  /** The tag. */
  tag: string;
  /** Its digest at planning time; a tag that moved since is left alone. */
  digest: string;
  /**
   * Other stale environments using the same image: it is deleted only once their namespaces are
   * gone (they are removed earlier in the same run), so it is never pulled from under a preview
   * whose removal failed.
   */
  after?: string[];
}

/** One step of removing an environment, in the order they run. */
export type CleanupAction =
  | {
      /** Take the deploy lock (Lease) of each release, so no deploy runs meanwhile. */
      type: 'lock';
      /** The releases whose locks are taken. */
      releases: string[];
    }
  | {
      /**
       * Check the namespace is unchanged since planning (still ours, same deploy time) and write
       * the {@link CleanupRecord} on it.
       */
      type: 'record';
      /** The deploy time seen when planning. */
      deployedAt: string | undefined;
      /** What is recorded. */
      record: CleanupRecord;
    }
  | {
      /** `helm uninstall --wait` (a release already gone is fine). */
      type: 'uninstall';
      /** The release. */
      release: string;
    }
  | {
      /** Drop the preview's database, if it exists. */
      type: 'drop-database';
      /** `databaseName(repo, branch)`. */
      database: string;
      /** The repository, checked again by `dropDatabase`. */
      repo: string;
      /** The branch, checked again by `dropDatabase`. */
      branch: string;
    }
  | {
      /** Delete image tags (their manifests) from the registry. */
      type: 'delete-image-tags';
      /** `host/path` of the repository. */
      repository: string;
      /** The tags and the digests they must still point to. */
      tags: PlannedTag[];
    }
  | {
      /** Call the DNS removal hook. */
      type: 'remove-dns';
    }
  | {
      /** Delete the namespace and wait until it is gone. */
      type: 'delete-namespace';
    };

/** The decision about one environment. */
export interface EnvironmentPlan {
  /** Its namespace. */
  namespace: string;
  /** The raw branch recorded on the namespace. */
  branch: string | undefined;
  /** The environment kind label (`preview`, `staging`, …). */
  kind: string | undefined;
  /** The last deploy time recorded on the namespace (ISO). */
  deployedAt: string | undefined;
  /** Its Helm releases and their status. */
  releases: { name: string; status: string }[];
  /** Whether it is removed. */
  stale: boolean;
  /** Why it is stale, or why it is kept. */
  reasons: Reason[];
  /** The steps that remove it (empty when kept). */
  actions: CleanupAction[];
  /** What removing it deliberately leaves alone (a database or image tags used elsewhere). */
  notes: string[];
}

/** What {@link planCleanup} decided. */
export interface CleanupPlan {
  /** The repository. */
  repo: string;
  /** The time of the decision (ISO). */
  now: string;
  /** Every environment of the repository found by its labels, by namespace name. */
  environments: EnvironmentPlan[];
  /** Branches given by name that match no preview of the repository. */
  unmatchedBranches: string[];
  /** Problems with the facts that limited the decision. */
  warnings: string[];
}

/** An image reference taken apart. */
export interface ImageReference {
  /** `host/path`. */
  repository: string;
  /** The tag (`latest` when neither a tag nor a digest is written). */
  tag: string | undefined;
  /** The digest after `@`, if any. */
  digest: string | undefined;
}

/**
 * Splits an image reference (`host:port/path:tag`, `host/path@sha256:…`, `path:tag@sha256:…`)
 * into repository, tag and digest. A reference without either means tag `latest`.
 *
 * @param reference - the image reference
 */
export function parseImageReference(reference: string): ImageReference {
  let rest = reference.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { repository: rest, tag, digest };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/**
 * Reads the {@link CLEANUP_ANNOTATION} of a namespace; `undefined` when it is missing or not a
 * record (it is then ignored).
 *
 * @param text - the annotation's value
 */
export function parseCleanupRecord(text: string | undefined): CleanupRecord | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v['startedAt'] !== 'string') return undefined;
  if (v['deployedAt'] !== undefined && typeof v['deployedAt'] !== 'string') return undefined;
  const releases = v['releases'] ?? [];
  const imageTags = v['imageTags'] ?? [];
  if (!isStringArray(releases) || !isStringArray(imageTags)) return undefined;
  return {
    startedAt: v['startedAt'],
    deployedAt: v['deployedAt'],
    releases,
    imageTags,
  };
}

function parseTime(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : time;
}

/** The order environments are listed (and removed) in: by namespace name. */
function byName(a: string, b: string): number {
  return a.localeCompare(b);
}

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** The tags to delete and the notes on the tags kept, for one environment. */
interface ImageDecision {
  deletions: PlannedTag[];
  notes: string[];
}

/** What image planning knows about the whole plan. */
interface ImageContext {
  registry: RegistryFacts;
  /** Tag or digest → the namespaces whose workloads name it. */
  users: Map<string, Set<string>>;
  /** Digest → every tag pointing to it. */
  tagsByDigest: Map<string, string[]>;
  /** Stale namespace → its own tags (branch tag, workload tags, recorded tags). */
  own: Map<string, Set<string>>;
}

/** Tags the workloads of each namespace name, and who uses each tag or digest. */
function workloadUse(facts: CleanupFacts, repository: string) {
  const byNamespace = new Map<string, Set<string>>();
  const users = new Map<string, Set<string>>();
  for (const use of facts.workloadImages ?? []) {
    const ref = parseImageReference(use.image);
    if (ref.repository !== repository) continue;
    if (ref.tag !== undefined) {
      byNamespace.set(use.namespace, (byNamespace.get(use.namespace) ?? new Set()).add(ref.tag));
    }
    for (const key of [ref.tag, ref.digest]) {
      if (key !== undefined) users.set(key, (users.get(key) ?? new Set()).add(use.namespace));
    }
  }
  return { byNamespace, users };
}

function planImages(namespace: string, ctx: ImageContext): ImageDecision {
  const own = ctx.own.get(namespace) ?? new Set<string>();
  const deletions: PlannedTag[] = [];
  const notes: string[] = [];
  for (const tag of sortedUnique(own)) {
    const digest = ctx.registry.tagDigests[tag];
    if (digest === undefined) continue;
    if (RESERVED_IMAGE_TAGS.includes(tag)) {
      notes.push(`kept image tag ${tag}: it is reserved for staging`);
      continue;
    }
    const sameImage = ctx.tagsByDigest.get(digest) ?? [tag];
    // Every other namespace that would lose something if this manifest went, and how.
    const blockers = new Map<string, string>();
    for (const key of [tag, digest, ...sameImage]) {
      for (const user of ctx.users.get(key) ?? []) {
        if (user === namespace || blockers.has(user)) continue;
        blockers.set(
          user,
          key === tag || key === digest ? 'still uses it' : `uses the same image as ${key}`,
        );
      }
    }
    const foreign: string[] = [];
    for (const other of sameImage) {
      if (own.has(other)) continue;
      const owners = [...ctx.own].filter(([n, tags]) => n !== namespace && tags.has(other));
      if (owners.length === 0) foreign.push(other);
      for (const [owner] of owners) {
        if (!blockers.has(owner)) blockers.set(owner, `owns the same image as ${other}`);
      }
    }
    if (foreign.length > 0) {
      notes.push(
        `kept image tag ${tag}: the same image is also tagged ${foreign.sort().join(', ')}, which deleting it would remove`,
      );
      continue;
    }
    const live = [...blockers.keys()].filter((n) => !ctx.own.has(n)).sort();
    const [firstLive] = live;
    if (firstLive !== undefined) {
      notes.push(`kept image tag ${tag}: namespace ${firstLive} ${blockers.get(firstLive) ?? ''}`);
      continue;
    }
    if (blockers.size === 0) {
      deletions.push({ tag, digest });
      continue;
    }
    // Only other stale previews share it: the last of them to be removed deletes it. "Last" is
    // in the order the plan lists environments (byName), which applyCleanup relies on.
    const group = [...blockers.keys()].sort(byName);
    const last = [namespace, ...group].sort(byName).at(-1);
    if (last === namespace) {
      deletions.push({ tag, digest, after: group });
    } else {
      notes.push(
        `image tag ${tag} is shared with ${group.join(', ')}, also removed; it is deleted with namespace ${last ?? '?'}`,
      );
    }
  }
  return { deletions, notes };
}

function sharedDatabases(options: CleanupOptions, engine: DatabaseEngine): Set<string> {
  return new Set([
    ...SHARED_ENVIRONMENT_NAMES.map((environment) =>
      databaseName(options.repo, undefined, { engine, environment }),
    ),
    ...(options.protectedDatabases ?? []),
  ]);
}

function ago(now: number, time: number): string {
  return formatDuration(now - time);
}

/**
 * Decides, without I/O, which preview environments of a repository are stale and how to remove
 * each.
 *
 * @remarks
 * Only namespaces labelled `app.kubernetes.io/managed-by=deploytag` with the repository's
 * `deploytag.dev/repo` label are considered; any other namespace in the facts is ignored (not
 * even listed). Of those, only `preview` environments whose recorded branch is not a staging
 * branch, and whose namespace is exactly the one DeployTag derives for that branch, can be stale.
 *
 * A preview is stale when (reasons in this order):
 * - `resume`: an earlier cleanup recorded its start on the namespace and the environment has not
 *   been deployed since;
 * - `named`: its branch is in `options.branches`;
 * - `branch-gone`: the remote was read, lists at least one branch, and not this one;
 * - `expired`: it was last deployed more than `options.olderThanMs` before `facts.now`.
 *
 * Removing it: lock (the releases' deploy Leases), record (check it is unchanged, write the
 * {@link CLEANUP_ANNOTATION}), uninstall each release, drop the database (with `dropDatabases`:
 * `databaseName(repo, branch)`, never a shared environment's or a protected one), delete image
 * tags (with `pruneImages`: the branch tag and the tags its workloads use, except reserved tags,
 * tags or images any other namespace's workloads use, and images that carry tags of something
 * else), remove DNS (with `removeDns`), delete the namespace. A namespace already being deleted
 * only gets the steps that do not write into it.
 *
 * @param facts - what was read from the cluster, the remote and the registry
 * @param options - the repository, the criteria and what to remove besides the release
 */
export function planCleanup(facts: CleanupFacts, options: CleanupOptions): CleanupPlan {
  const now = facts.now.getTime();
  const repoLabel = labelValue(options.repo);
  const staging = options.stagingBranches ?? DEFAULT_STAGING_BRANCHES;
  const named = new Set(options.branches ?? []);
  const engine = options.databaseEngine ?? 'postgresql';
  const shared = sharedDatabases(options, engine);
  const warnings: string[] = [];
  let remote: Set<string> | undefined;
  if (facts.remoteBranches !== undefined) {
    if (facts.remoteBranches.length === 0) {
      warnings.push(
        'the remote lists no branches at all; no preview is treated as deleted (check the remote URL)',
      );
    } else {
      remote = new Set(facts.remoteBranches);
    }
  }

  const environments: EnvironmentPlan[] = [];
  const stale: {
    env: EnvironmentPlan;
    ns: NamespaceFacts;
    branch: string;
    record: CleanupRecord | undefined;
  }[] = [];
  const seenBranches = new Set<string>();
  const namespaces = [...facts.namespaces].sort((a, b) => byName(a.name, b.name));
  for (const ns of namespaces) {
    if (ns.labels[MANAGED_BY_LABEL] !== MANAGED_BY || ns.labels[REPO_LABEL] !== repoLabel) continue;
    const kind = ns.labels[ENVIRONMENT_LABEL];
    const rawBranch = ns.annotations[BRANCH_ANNOTATION];
    const branch = rawBranch === '' ? undefined : rawBranch;
    const deployedAt = ns.annotations[DEPLOYED_AT_ANNOTATION];
    const deployedTime = parseTime(deployedAt);
    const releases = facts.releases
      .filter((r) => r.namespace === ns.name)
      .map((r) => ({ name: r.name, status: r.status }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const env: EnvironmentPlan = {
      namespace: ns.name,
      branch,
      kind,
      deployedAt,
      releases,
      stale: false,
      reasons: [],
      actions: [],
      notes: [],
    };
    environments.push(env);
    const keep = (code: ReasonCode, text: string): void => {
      env.reasons.push({ code, text });
    };

    if (kind !== 'preview') {
      keep(
        'shared-environment',
        `a ${kind ?? 'unlabelled'} environment; cleanup removes preview environments only`,
      );
      continue;
    }
    if (branch === undefined) {
      keep(
        'no-branch',
        'the namespace records no branch, so nothing tells whether it is stale; delete it by hand if it is unused',
      );
      continue;
    }
    seenBranches.add(branch);
    if (staging.includes(branch)) {
      keep('staging-branch', `branch ${branch} deploys staging, which cleanup never removes`);
      continue;
    }
    const expectedNamespace = namespaceName(branch);
    if (expectedNamespace !== ns.name) {
      keep(
        'name-mismatch',
        `branch ${branch} deploys to namespace ${expectedNamespace}, not this one; it is left alone`,
      );
      continue;
    }

    const found = parseCleanupRecord(ns.annotations[CLEANUP_ANNOTATION]);
    const record = found !== undefined && found.deployedAt === deployedAt ? found : undefined;
    if (found !== undefined && record === undefined) {
      env.notes.push(
        `an earlier cleanup (started ${found.startedAt}) is ignored: the branch was deployed again since`,
      );
    }
    const reasons: Reason[] = [];
    if (record !== undefined) {
      reasons.push({
        code: 'resume',
        text: `a cleanup started at ${record.startedAt} did not finish`,
      });
    }
    if (named.has(branch)) reasons.push({ code: 'named', text: `branch ${branch} was named` });
    if (remote !== undefined && !remote.has(branch)) {
      reasons.push({
        code: 'branch-gone',
        text: `branch ${branch} no longer exists on the remote`,
      });
    }
    const expired =
      options.olderThanMs !== undefined &&
      deployedTime !== undefined &&
      now - deployedTime > options.olderThanMs;
    if (expired) {
      reasons.push({
        code: 'expired',
        text: `last deployed ${deployedAt ?? '?'}, ${ago(now, deployedTime)} ago (more than ${formatDuration(options.olderThanMs ?? 0)})`,
      });
    }
    if (reasons.length === 0) {
      if (ns.terminating) {
        keep('terminating', 'the namespace is already being deleted by someone else');
        continue;
      }
      const why: string[] = [];
      why.push(remote === undefined ? 'the remote was not checked' : 'the branch is on the remote');
      if (options.olderThanMs !== undefined) {
        why.push(
          deployedTime === undefined
            ? 'no deploy time is recorded'
            : `last deployed ${ago(now, deployedTime)} ago (within ${formatDuration(options.olderThanMs)})`,
        );
      }
      keep('active', why.join('; '));
      continue;
    }

    env.stale = true;
    env.reasons = reasons;
    stale.push({ env, ns, branch, record });
  }

  let images: ImageContext | undefined;
  if (options.pruneImages === true && facts.registry !== undefined) {
    const registry = facts.registry;
    const use = workloadUse(facts, registry.repository);
    const tagsByDigest = new Map<string, string[]>();
    for (const [tag, digest] of Object.entries(registry.tagDigests)) {
      tagsByDigest.set(digest, [...(tagsByDigest.get(digest) ?? []), tag]);
    }
    const own = new Map<string, Set<string>>();
    for (const { ns, branch, record } of stale) {
      own.set(
        ns.name,
        new Set([
          imageTag(branch),
          ...(record?.imageTags ?? []),
          ...(use.byNamespace.get(ns.name) ?? []),
        ]),
      );
    }
    images = { registry, users: use.users, tagsByDigest, own };
  }

  for (const { env, ns, branch, record } of stale) {
    const liveReleases = env.releases.map((r) => r.name);
    const lockReleases = sortedUnique([...liveReleases, ...(record?.releases ?? [])]);
    const ownTags = images?.own.get(ns.name);
    if (!ns.terminating) {
      if (lockReleases.length > 0) env.actions.push({ type: 'lock', releases: lockReleases });
      env.actions.push({
        type: 'record',
        deployedAt: env.deployedAt,
        record: {
          startedAt: record?.startedAt ?? facts.now.toISOString(),
          deployedAt: env.deployedAt,
          releases: lockReleases,
          imageTags: ownTags === undefined ? (record?.imageTags ?? []) : sortedUnique(ownTags),
        },
      });
      for (const release of liveReleases) env.actions.push({ type: 'uninstall', release });
    }
    if (options.dropDatabases === true) {
      const database = databaseName(options.repo, branch, { engine });
      if (shared.has(database)) {
        env.notes.push(`kept database ${database}: it is a shared or protected database`);
      } else {
        env.actions.push({ type: 'drop-database', database, repo: options.repo, branch });
      }
    }
    if (options.pruneImages === true) {
      if (images === undefined) {
        env.notes.push('image tags: the registry was not read');
      } else {
        const decision = planImages(ns.name, images);
        env.notes.push(...decision.notes);
        if (decision.deletions.length > 0) {
          env.actions.push({
            type: 'delete-image-tags',
            repository: images.registry.repository,
            tags: decision.deletions,
          });
        }
      }
    }
    if (options.removeDns === true) env.actions.push({ type: 'remove-dns' });
    env.actions.push({ type: 'delete-namespace' });
  }

  const unmatchedBranches = [...named].filter((b) => !seenBranches.has(b)).sort();
  for (const branch of unmatchedBranches) {
    warnings.push(`branch ${branch} was named, but no preview of ${options.repo} records it`);
  }
  return {
    repo: options.repo,
    now: facts.now.toISOString(),
    environments,
    unmatchedBranches,
    warnings,
  };
}
