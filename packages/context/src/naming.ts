/**
 * Naming rules: the names DeployTag gives a branch's namespace, Helm release, database and image
 * tag. Every function here is pure and deterministic.
 *
 * The rule, shared by every name (see the package README for the reasoning):
 *
 * 1. **Simple names stay exactly as the original scripts made them.** The original turned `/` into
 *    `-` (and, for Kubernetes names, lower-cased). When the input uses only characters the original
 *    kept unchanged plus `/`, and the result is already valid (charset, first and last character,
 *    length, no `--`, not reserved), that result is the name: `feature/login` →
 *    namespace `feature-login`.
 * 2. **Every other name is hashed**: a readable prefix (the input folded to the target charset,
 *    runs of separators collapsed, cut to fit), then `--`, then the first 8 hex characters of the
 *    SHA-256 of the raw input. This covers inputs the original changed lossily (any character other
 *    than `/` replaced, upper case lowered, `--` or edge dashes), names that are too long, and
 *    reserved names.
 *
 * Because a simple name never contains `--` and a hashed name always ends in `--` + 8 hex, the two
 * sets never overlap; hashed names of different inputs differ unless their hashes collide. The one
 * ambiguity kept on purpose is the original's own: `feature/login` and `feature-login` are both
 * simple and both give `feature-login`.
 *
 * @packageDocumentation
 */
import { HASH_LENGTH, shortHash, shortHashOfParts } from './hash.js';
import type { DeployableKind } from './kind.js';

/** Longest DNS label (RFC 1035), and so longest Kubernetes namespace. */
export const DNS_LABEL_MAX_LENGTH = 63;
/** Longest Kubernetes namespace name. */
export const NAMESPACE_MAX_LENGTH = 63;
/** Longest Helm release name (Helm 3 rejects longer ones). */
export const RELEASE_NAME_MAX_LENGTH = 53;
/** Longest OCI image tag. */
export const IMAGE_TAG_MAX_LENGTH = 128;

/** Database servers whose name limits DeployTag knows. */
export type DatabaseEngine = 'postgresql' | 'mysql';

/** Longest database name per engine: 63 bytes for PostgreSQL (NAMEDATALEN - 1), 64 for MySQL. */
export const DATABASE_NAME_MAX_LENGTH: Readonly<Record<DatabaseEngine, number>> = {
  postgresql: 63,
  mysql: 64,
};

/**
 * Namespaces a preview branch must never be deployed into by accident: `default` is where staging
 * lives, the `kube-*` ones belong to Kubernetes. A branch with one of these names gets a hashed
 * namespace.
 */
export const RESERVED_NAMESPACES: readonly string[] = [
  'default',
  'kube-system',
  'kube-public',
  'kube-node-lease',
];

/**
 * Names of the shared environments' databases (`<repo>-staging`, `<repo>-beta`,
 * `<repo>-production`). A preview branch called `staging` (or `Staging`, `beta`, `production`)
 * gets a hashed database name so it can never migrate a shared database.
 */
export const SHARED_ENVIRONMENT_NAMES: readonly string[] = ['staging', 'beta', 'production'];

/** Image tags a branch must not take: `latest` is pushed for the staging branch only. */
export const RESERVED_IMAGE_TAGS: readonly string[] = ['latest'];

/** Separates a hashed name's readable prefix from its hash; never part of a simple name. */
const HASH_SEPARATOR = '--';
/** Prefix used when nothing readable is left of the input (or it must start with a letter). */
const FALLBACK_PREFIX = 'x';
/** Characters taken by `--` and the hash at the end of a hashed name. */
const SUFFIX_LENGTH = HASH_SEPARATOR.length + HASH_LENGTH;
/** Smallest length limit that still leaves room for one prefix character. */
const MIN_MAX_LENGTH = SUFFIX_LENGTH + 1;

const DNS_LABEL = /^[a-z](?:[a-z0-9-]*[a-z0-9])?$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const DATABASE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;

/** Inputs the original turned into a Kubernetes name without losing anything but `/`. */
const SIMPLE_LOWER_INPUT = /^[a-z0-9/-]+$/;
/** Inputs the original turned into a database name without losing anything but `/`. */
const SIMPLE_MIXED_INPUT = /^[A-Za-z0-9/-]+$/;
/** Inputs the original's `build_docker_image` turned into a tag without losing anything but `/`. */
const SIMPLE_TAG_INPUT = /^[A-Za-z0-9_/-]+$/;

/**
 * Whether `name` is a DNS label as DeployTag uses it: `[a-z0-9-]`, starting with a letter, ending
 * with a letter or digit, at most `maxLength` characters.
 *
 * @param name - the candidate name
 * @param maxLength - the limit; {@link DNS_LABEL_MAX_LENGTH} unless given
 */
export function isDnsLabel(name: string, maxLength: number = DNS_LABEL_MAX_LENGTH): boolean {
  return name.length <= maxLength && DNS_LABEL.test(name);
}

/**
 * Whether `tag` is a valid image tag: `[A-Za-z0-9_.-]`, not starting with `.` or `-`, at most
 * {@link IMAGE_TAG_MAX_LENGTH} characters.
 */
export function isImageTag(tag: string): boolean {
  return tag.length <= IMAGE_TAG_MAX_LENGTH && IMAGE_TAG.test(tag);
}

/**
 * Whether `name` is a database name as DeployTag derives them: `[A-Za-z0-9-]`, starting and ending
 * with a letter or digit, within the engine's limit. (Names are always used as quoted identifiers;
 * this is the shape DeployTag produces, not everything a server accepts.)
 *
 * @param name - the candidate name
 * @param engine - the database server; `postgresql` unless given
 */
export function isDatabaseName(name: string, engine: DatabaseEngine = 'postgresql'): boolean {
  return name.length <= DATABASE_NAME_MAX_LENGTH[engine] && DATABASE_NAME.test(name);
}

/** Decomposes accents and drops the combining marks, so `café` reads `cafe` in a prefix. */
function foldAccents(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}+/gu, '');
}

function checkMaxLength(maxLength: number): void {
  if (!Number.isInteger(maxLength) || maxLength < MIN_MAX_LENGTH) {
    throw new RangeError(
      `maxLength must be an integer of at least ${MIN_MAX_LENGTH}, got ${maxLength}`,
    );
  }
}

/**
 * Builds a hashed name: the readable `slug` cut to leave room for `--` and the hash, trailing
 * separators removed, {@link FALLBACK_PREFIX} when nothing is left.
 */
function withHash(slug: string, hash: string, maxLength: number, trailing: RegExp): string {
  const prefix = slug.slice(0, maxLength - SUFFIX_LENGTH).replace(trailing, '');
  return `${prefix === '' ? FALLBACK_PREFIX : prefix}${HASH_SEPARATOR}${hash}`;
}

/** A readable DNS-label prefix: lower case, `[a-z0-9-]`, no repeated or edge dashes, a letter first. */
function dnsSlug(text: string): string {
  const slug = foldAccents(text)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return /^[0-9]/.test(slug) ? `${FALLBACK_PREFIX}-${slug}` : slug;
}

/** Options of {@link dnsLabel}. */
export interface DnsLabelOptions {
  /** Longest allowed label; {@link DNS_LABEL_MAX_LENGTH} unless given, at least 11. */
  maxLength?: number;
  /** Names that are valid but must not be produced as they are; they get a hash. */
  reserved?: readonly string[];
}

/**
 * Turns any string into a DNS label (`[a-z0-9-]`, a letter first, a letter or digit last, at most
 * 63 characters unless `maxLength` says otherwise), following the naming rule of this module.
 *
 * Simple case: `s` uses only `[a-z0-9/-]`, and with every `/` turned into `-` it is a valid label
 * with no `--` that is not reserved → that string exactly (`feature/login` → `feature-login`).
 * Otherwise → readable prefix + `--` + the first 8 hex characters of SHA-256 of `s` itself
 * (`Feature/Login` → `feature-login--` + hash).
 *
 * @param s - the raw input, typically a branch name
 * @param options - length limit and reserved names
 * @returns a valid DNS label, the same for the same input
 */
export function dnsLabel(s: string, options: DnsLabelOptions = {}): string {
  const maxLength = options.maxLength ?? DNS_LABEL_MAX_LENGTH;
  checkMaxLength(maxLength);
  const candidate = s.replaceAll('/', '-');
  if (
    SIMPLE_LOWER_INPUT.test(s) &&
    !candidate.includes(HASH_SEPARATOR) &&
    isDnsLabel(candidate, maxLength) &&
    !(options.reserved ?? []).includes(candidate)
  ) {
    return candidate;
  }
  return withHash(dnsSlug(s), shortHash(s), maxLength, /-+$/);
}

/**
 * The Kubernetes namespace of a preview branch: {@link dnsLabel} of the branch, at most 63
 * characters, never one of {@link RESERVED_NAMESPACES}.
 *
 * `feature/login` → `feature-login` (as the original); `Feature/Login`, `feature/a.b`, a branch
 * called `default` or one longer than 63 characters → readable prefix + `--` + 8 hex of the
 * branch's SHA-256.
 *
 * @param branch - the raw git branch name
 */
export function namespaceName(branch: string): string {
  return dnsLabel(branch, { maxLength: NAMESPACE_MAX_LENGTH, reserved: RESERVED_NAMESPACES });
}

/** Options of {@link namespaceFor}. */
export interface NamespaceForOptions {
  /**
   * Namespace of the shared environments (staging, beta, production); `default`, as the original
   * deployed staging into the default namespace.
   */
  sharedNamespace?: string;
}

/**
 * The namespace a deployment of `kind` goes to: the shared namespace (`default` unless configured)
 * for staging, beta and production; {@link namespaceName} of the branch for a preview.
 *
 * @param kind - the environment kind
 * @param branch - the raw branch; required for `preview`
 * @param options - the shared namespace
 * @throws TypeError when `kind` is `preview` and there is no branch (a programming error:
 *   `classifyBranch` never calls an empty branch a preview)
 */
export function namespaceFor(
  kind: DeployableKind,
  branch: string | undefined,
  options: NamespaceForOptions = {},
): string {
  if (kind !== 'preview') return options.sharedNamespace ?? 'default';
  if (branch === undefined || branch === '') {
    throw new TypeError('a preview namespace needs a branch name');
  }
  return namespaceName(branch);
}

/**
 * The chart part of a release name as the original made it: lower-cased, every character outside
 * `[a-z0-9]` turned into `-`.
 */
function originalChartPart(chart: string): string {
  return chart.toLowerCase().replace(/[^a-z0-9]/g, '-');
}

/**
 * The Helm release name of a preview branch: `<branch>-<chart>` as the original made it
 * (lower-cased, `/` → `-`), at most 53 characters.
 *
 * The chart is fixed per project, so it is only sanitised the original's way (lower case, every
 * character outside `[a-z0-9]` → `-`) and never by itself forces a hash. The branch decides: when
 * it uses only `[a-z0-9/-]` and `<branch with / → ->-<chart part>` is a valid DNS label of at most 53
 * characters without `--`, that is the name (`feature/login` + `web` → `feature-login-web`).
 * Otherwise → readable prefix + `--` + 8 hex of SHA-256 of the JSON array `[branch, chart]`.
 *
 * @param branch - the raw git branch name
 * @param chart - the chart's name (not its path; see `buildDeployContext`)
 */
export function releaseName(branch: string, chart: string): string {
  const candidate = `${branch.replaceAll('/', '-')}-${originalChartPart(chart)}`;
  if (
    SIMPLE_LOWER_INPUT.test(branch) &&
    !candidate.includes(HASH_SEPARATOR) &&
    isDnsLabel(candidate, RELEASE_NAME_MAX_LENGTH)
  ) {
    return candidate;
  }
  return withHash(
    dnsSlug(`${branch}-${chart}`),
    shortHashOfParts([branch, chart]),
    RELEASE_NAME_MAX_LENGTH,
    /-+$/,
  );
}

/** Options of {@link databaseName}. */
export interface DatabaseNameOptions {
  /** The database server, for its length limit; `postgresql` unless given. */
  engine?: DatabaseEngine;
  /**
   * The shared environment named when there is no branch: `staging` unless given (`beta` and
   * `production` for release deployments).
   */
  environment?: string;
}

/** The original's database sanitising: every character outside `[A-Za-z0-9]` becomes `-`. */
function originalDatabasePart(text: string): string {
  return text.replace(/[^A-Za-z0-9]/g, '-');
}

/** A readable database prefix: `[A-Za-z0-9-]`, case kept, no repeated or edge dashes. */
function databaseSlug(text: string): string {
  return foldAccents(text)
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The database of a deployment: `<repo>-staging` without a branch, `<repo>-<branch>` with one,
 * every character outside `[A-Za-z0-9]` turned into `-` — exactly the original when that result
 * is simple — within 63 characters (PostgreSQL) or 64 (MySQL). Always use it as a quoted
 * identifier.
 *
 * The repository name is fixed per project, so it is only sanitised the original's way and never
 * by itself forces a hash (a repo `my_app` keeps its `my-app-staging` database). The branch
 * decides: when it uses only `[A-Za-z0-9/-]`, is not one of {@link SHARED_ENVIRONMENT_NAMES}
 * (compared with `/` → `-`, ignoring case), and the whole name starts and ends with a letter or
 * digit, has no `--` and fits the limit, the name is the original's (`shop` + `feature/login` →
 * `shop-feature-login`). Otherwise → readable prefix + `--` + 8 hex of SHA-256 of the JSON array
 * `[repo, branch]` (`[repo, null, environment]` without a branch).
 *
 * @param repo - the repository name
 * @param branch - the raw branch; `undefined` or empty for the shared environment's database
 * @param options - the engine (length limit) and the shared environment's name
 */
export function databaseName(
  repo: string,
  branch: string | undefined,
  options: DatabaseNameOptions = {},
): string {
  const maxLength = DATABASE_NAME_MAX_LENGTH[options.engine ?? 'postgresql'];
  const shared = branch === undefined || branch === '';
  const suffix = shared ? (options.environment ?? 'staging') : branch;
  const candidate = `${originalDatabasePart(repo)}-${originalDatabasePart(suffix)}`;
  const branchIsSimple =
    shared ||
    (SIMPLE_MIXED_INPUT.test(suffix) &&
      !SHARED_ENVIRONMENT_NAMES.includes(suffix.replaceAll('/', '-').toLowerCase()));
  if (
    branchIsSimple &&
    !candidate.includes(HASH_SEPARATOR) &&
    candidate.length <= maxLength &&
    DATABASE_NAME.test(candidate)
  ) {
    return candidate;
  }
  const hash = shortHashOfParts(shared ? [repo, null, suffix] : [repo, suffix]);
  return withHash(databaseSlug(`${repo}-${suffix}`), hash, maxLength, /-+$/);
}

/** Options of {@link imageTag}. */
export interface ImageTagOptions {
  /** Tags that must not be produced as they are; {@link RESERVED_IMAGE_TAGS} unless given. */
  reserved?: readonly string[];
}

/** A readable tag prefix: `[A-Za-z0-9_.-]`, no repeated dashes, no leading `.` or `-`. */
function tagSlug(text: string): string {
  return foldAccents(text)
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[.-]+/, '');
}

/**
 * An image tag for a branch (or any string): `[A-Za-z0-9_.-]`, not starting with `.` or `-`, at
 * most 128 characters.
 *
 * The original's `build_docker_image` turned every character outside `[A-Za-z0-9_]` into `-`.
 * Simple case: `s` uses only `[A-Za-z0-9_/-]`, and with `/` → `-` it does not start with `-`, has
 * no `--`, fits and is not reserved → that string exactly (`feature/Login` → `feature-Login`; case
 * is kept, tags are case-sensitive). Otherwise → readable prefix (keeping `.`) + `--` + 8 hex of
 * SHA-256 of `s` (`release/1.2` → `release-1.2--` + hash, because the original's `release-1-2`
 * is also what `release/1-2` gives).
 *
 * @param s - the raw input: a branch name or a commit sha
 * @param options - reserved tags
 */
export function imageTag(s: string, options: ImageTagOptions = {}): string {
  const candidate = s.replaceAll('/', '-');
  if (
    SIMPLE_TAG_INPUT.test(s) &&
    !candidate.includes(HASH_SEPARATOR) &&
    isImageTag(candidate) &&
    !(options.reserved ?? RESERVED_IMAGE_TAGS).includes(candidate)
  ) {
    return candidate;
  }
  return withHash(tagSlug(s), shortHash(s), IMAGE_TAG_MAX_LENGTH, /-+$/);
}
