import { ConfigError } from '@deploytag/core';
import { resolveFacts } from './ci.js';
import type { CiProvider, Env, FactFlags, GitFacts, Origin, ResolvedFacts } from './ci.js';
import { NotDeployableError, assertDeployable, classifyBranch } from './kind.js';
import type { ClassifyOptions, DeployableKind } from './kind.js';
import {
  DATABASE_NAME_MAX_LENGTH,
  RELEASE_NAME_MAX_LENGTH,
  databaseName,
  dnsLabel,
  imageTag,
  isDnsLabel,
  namespaceFor,
  releaseName,
} from './naming.js';
import type { DatabaseEngine } from './naming.js';

/** Where the images are pushed and the cluster runs: AWS (ECR, EKS) or Google Cloud (GCR, GKE). */
export type CloudProvider = 'aws' | 'gcp';

/** Input of {@link buildDeployContext}. */
export interface DeployContextInput {
  /** The environment contract of SCRIPTS.md (e.g. `process.env`), including the CI's variables. */
  env: Env;
  /** Facts read from the git checkout, used when flags and the environment say nothing. */
  git?: GitFacts;
  /** Values given on the command line; they beat the environment and git. */
  flags?: FactFlags;
  /** Staging branches, preview prefixes and `previewAll` (the tag comes from the facts). */
  classify?: Omit<ClassifyOptions, 'tag'>;
  /** The database server, for the database name's length limit; `postgresql` unless given. */
  databaseEngine?: DatabaseEngine;
  /** Namespace of staging, beta and production; `default` unless given (as the original). */
  sharedNamespace?: string;
  /**
   * How error messages name a variable, when the environment is not the whole story: a value that
   * came from a config file is named by its file and key (`deploytag.config.yaml: $preview.domain`)
   * instead of its variable. Keys are variable names (`DOMAIN`).
   */
  settingLabels?: Readonly<Record<string, string>>;
}

/** The application image's names. */
export interface ImageRefs {
  /** `IMAGE`, the image's name. */
  name: string;
  /** `CONTAINER_REGISTRY/PROJECT_ID/IMAGE` (without `PROJECT_ID` when it is not set). */
  repository: string;
  /** The tag for the commit: the sha (see `imageTag`). */
  shaTag: string;
  /** The tag for the branch (see `imageTag`), when there is a branch. */
  branchTag: string | undefined;
  /** Every tag to push, sha first, then the branch, then `latest` on staging (as the original). */
  tags: readonly string[];
  /** `repository:shaTag`, the reference a deployment runs. */
  ref: string;
}

/** The base image's names (`${IMAGE}_base`, as the original's `BASE_IMAGE`). */
export interface BaseImageRef {
  /** `${IMAGE}_base`. */
  name: string;
  /** `CONTAINER_REGISTRY/PROJECT_ID/${IMAGE}_base`. */
  repository: string;
}

/** Fields of a {@link DeployContext} whose origin is recorded. */
export type DeployContextField =
  | 'repo'
  | 'branch'
  | 'sha'
  | 'tag'
  | 'pullRequest'
  | 'kind'
  | 'namespace'
  | 'chart'
  | 'release'
  | 'database'
  | 'domain'
  | 'subdomain'
  | 'host'
  | 'cloudProvider'
  | 'registry'
  | 'projectId'
  | 'image'
  | 'secretIds'
  | 'helmVars';

/** Everything a deployment step needs to know, derived purely from env, flags and git facts. */
export interface DeployContext {
  /** The CI service the build runs on. */
  provider: CiProvider;
  /** The repository's name. */
  repo: string;
  /** The branch, when the build has one (tag builds and local staging runs may not). */
  branch: string | undefined;
  /** The commit being deployed. */
  sha: string;
  /** The tag being built, if any. */
  tag: string | undefined;
  /** The pull-request number, if the build is for one. */
  pullRequest: number | undefined;
  /** The environment deployed to. */
  kind: DeployableKind;
  /** The Kubernetes namespace of the release. */
  namespace: string;
  /** `CHART_NAME`: the chart's path or reference, as given, for `helm upgrade --install`. */
  chart: string;
  /** The Helm release name. */
  release: string;
  /** The database name (use it as a quoted identifier). */
  database: string;
  /** The database server the name was sized for. */
  databaseEngine: DatabaseEngine;
  /** `DOMAIN`, lower-cased. */
  domain: string;
  /** `SUBDOMAIN`, or the release name. */
  subdomain: string;
  /** `HOST`: `SUBDOMAIN.DOMAIN`. */
  host: string;
  /** `URL_HOST`: `https://HOST`. */
  url: string;
  /** `CLOUD_PROVIDER`. */
  cloudProvider: CloudProvider;
  /** `CONTAINER_REGISTRY`: the registry host. */
  registry: string;
  /** `PROJECT_ID`: the path between registry and image, if any. */
  projectId: string | undefined;
  /** The application image. */
  image: ImageRefs;
  /** The base image (`BASE_IMAGE`). */
  baseImage: BaseImageRef;
  /** `AWS_SECRETS`: secret ids in order, later ones winning when merged. */
  secretIds: readonly string[];
  /** `HELM_VARS`: extra Helm values, not yet substituted, if any. */
  helmVars: string | undefined;
  /** Where each present field came from, for `--explain`. `default` includes derived values. */
  origins: Readonly<Partial<Record<DeployContextField, Origin>>>;
}

/** One docker repository path component (the registry's rule for names). */
const IMAGE_PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** A registry host with an optional port and path. */
const REGISTRY = /^[A-Za-z0-9.-]+(?::\d+)?(?:\/[a-z0-9._-]+)*$/;
/** Longest host name. */
const HOST_MAX_LENGTH = 253;

/** A problem found in the settings, collected so that all of them are reported at once. */
interface Problem {
  key: string;
  text: string;
}

function nonBlank(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** Whether every dot-separated label of `name` is a DNS label (a digit may lead). */
function isHostName(name: string): boolean {
  return (
    name.length <= HOST_MAX_LENGTH &&
    name
      .split('.')
      .every((label) => label.length <= 63 && /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(label))
  );
}

function isImagePath(path: string): boolean {
  return path.split('/').every((component) => IMAGE_PATH_COMPONENT.test(component));
}

/**
 * The chart's name within `CHART_NAME`: the last path segment (`./charts/web/` → `web`,
 * `oci://registry/team/web` → `web`), without `.tgz` and its version for a packaged chart
 * (`web-1.2.3.tgz` → `web`).
 */
export function chartNameOf(chart: string): string {
  const segment =
    chart
      .replace(/[/\\]+$/, '')
      .split(/[/\\]/)
      .pop() ?? '';
  if (!/\.tgz$/i.test(segment)) return segment;
  return segment.replace(/\.tgz$/i, '').replace(/-v?\d+\.\d+\.\d+(?:[-+].*)?$/, '');
}

/** The image name used when `IMAGE` is not set: the repository name, made a valid image name. */
function defaultImageName(repo: string): string {
  const loose = repo.toLowerCase().replace(/[^a-z0-9._-]+/g, '-');
  if (IMAGE_PATH_COMPONENT.test(loose)) return loose;
  const strict = repo
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return strict === '' ? 'app' : strict;
}

/** Splits `AWS_SECRETS` on commas and white space, keeping the order. */
export function parseSecretIds(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter((id) => id !== '');
}

function deployableKind(facts: ResolvedFacts, options: DeployContextInput): DeployableKind {
  if (facts.detached) {
    throw new NotDeployableError(
      'HEAD is detached and neither a flag nor the CI environment names the branch; pass ' +
        '--branch (or set DEPLOYTAG_BRANCH), or check out the branch',
    );
  }
  const classification = classifyBranch(facts.branch, {
    ...options.classify,
    ...(facts.tag === undefined ? {} : { tag: facts.tag }),
  });
  assertDeployable(classification, {
    ...(facts.branch === undefined ? {} : { branch: facts.branch }),
    ...(facts.tag === undefined ? {} : { tag: facts.tag }),
  });
  return classification.kind;
}

/**
 * Throws one ConfigError describing every problem (the first one's variable is its `key`), each
 * named by its label when it has one.
 */
function fail(
  problems: readonly Problem[],
  code: string,
  labels: Readonly<Record<string, string>> = {},
): never {
  const [head] = problems;
  if (head === undefined) throw new Error('fail() needs at least one problem');
  const text = problems
    .map((problem) => `${labels[problem.key] ?? problem.key}: ${problem.text}`)
    .join('; ');
  throw new ConfigError(
    problems.length === 1 ? text : `${problems.length} settings need attention: ${text}`,
    { code, key: head.key },
  );
}

/**
 * Builds the deployment context from the environment contract of SCRIPTS.md, explicit flags and
 * the git checkout's facts. Pure: no I/O.
 *
 * - Facts (repo, branch, sha, tag, PR) come from {@link resolveFacts}: flags beat env beat git.
 * - The kind comes from `classifyBranch`; a ref that is not deployable (or a detached HEAD that
 *   nothing names) throws {@link NotDeployableError} (exit code 3).
 * - Namespace: `default` (or `sharedNamespace`) for staging, beta and production; the branch's
 *   `namespaceName` for a preview.
 * - Release: on a preview `releaseName(branch, chart name)` as the original (`HELM_NAME` is
 *   replaced there, as the original's set_env did); elsewhere `HELM_NAME`, else the chart's name.
 * - Database: `DATABASE` as given; else `databaseName(repo, branch)` on a preview,
 *   `<repo>-staging` on staging, `<repo>-beta` / `<repo>-production` for releases.
 * - `HOST` = `SUBDOMAIN.DOMAIN` (`SUBDOMAIN` defaulting to the release), `URL_HOST` =
 *   `https://HOST`.
 * - Images: `CONTAINER_REGISTRY/PROJECT_ID/IMAGE` tagged with the sha, the branch and `latest` on
 *   staging; the base image is `${IMAGE}_base` (an inherited `BASE_IMAGE` is ignored, as the
 *   original always recomputed it). `IMAGE` defaults to the repository name; `CLOUD_PROVIDER` to
 *   `aws`; `CONTAINER_REGISTRY` to `gcr.io` on gcp, or to the ECR registry of `AWS_ACCOUNT_ID` in
 *   `AWS_REGION`/`AWS_DEFAULT_REGION` on aws; `PROJECT_ID` to `GOOGLE_PROJECT_ID` on gcp (on aws it
 *   may be left out).
 * - `AWS_SECRETS`: ids separated by commas or white space, in order. `HELM_VARS`: passed through.
 *
 * @param input - environment, git facts, flags and classification options
 * @throws NotDeployableError when the ref is not deployed anywhere
 * @throws ConfigError naming every missing or invalid setting and what to set (code
 *   `E_CONFIG_MISSING` or `E_CONFIG_INVALID`)
 */
export function buildDeployContext(input: DeployContextInput): DeployContext {
  const { env } = input;
  const facts = resolveFacts({
    env,
    ...(input.flags === undefined ? {} : { flags: input.flags }),
    ...(input.git === undefined ? {} : { git: input.git }),
  });
  const kind = deployableKind(facts, input);
  const origins: Partial<Record<DeployContextField, Origin>> = {
    ...facts.origins,
    kind: 'default',
  };
  const engine = input.databaseEngine ?? 'postgresql';

  // Values that are invalid whatever else is set are reported first.
  const invalid: Problem[] = [];
  const cloudText = nonBlank(env, 'CLOUD_PROVIDER')?.toLowerCase();
  if (cloudText !== undefined && cloudText !== 'aws' && cloudText !== 'gcp') {
    invalid.push({ key: 'CLOUD_PROVIDER', text: `"${cloudText}" is not aws or gcp` });
  }
  const cloudProvider: CloudProvider = cloudText === 'gcp' ? 'gcp' : 'aws';
  origins.cloudProvider = cloudText === undefined ? 'default' : 'env:CLOUD_PROVIDER';

  const imageSetting = nonBlank(env, 'IMAGE');
  if (imageSetting !== undefined && !isImagePath(imageSetting)) {
    invalid.push({
      key: 'IMAGE',
      text: `"${imageSetting}" is not an image name (lower-case letters, digits, and . _ - between them)`,
    });
  }
  const projectSetting =
    nonBlank(env, 'PROJECT_ID') ??
    (cloudProvider === 'gcp' ? nonBlank(env, 'GOOGLE_PROJECT_ID') : undefined);
  if (projectSetting !== undefined && !isImagePath(projectSetting)) {
    invalid.push({
      key: 'PROJECT_ID',
      text: `"${projectSetting}" is not a registry path (lower-case letters, digits, . _ - and /)`,
    });
  }
  const domainSetting = nonBlank(env, 'DOMAIN')?.toLowerCase().replace(/\.$/, '');
  if (domainSetting !== undefined && !isHostName(domainSetting)) {
    invalid.push({ key: 'DOMAIN', text: `"${domainSetting}" is not a domain name` });
  }
  const subdomainSetting = nonBlank(env, 'SUBDOMAIN')?.toLowerCase();
  if (subdomainSetting !== undefined && !isHostName(subdomainSetting)) {
    invalid.push({ key: 'SUBDOMAIN', text: `"${subdomainSetting}" is not a host name part` });
  }
  const helmName = nonBlank(env, 'HELM_NAME');
  if (
    helmName !== undefined &&
    kind !== 'preview' &&
    !isDnsLabel(helmName, RELEASE_NAME_MAX_LENGTH)
  ) {
    invalid.push({
      key: 'HELM_NAME',
      text: `"${helmName}" is not a Helm release name (a-z, 0-9 and -, a letter first, at most ${RELEASE_NAME_MAX_LENGTH} characters)`,
    });
  }
  const databaseSetting = nonBlank(env, 'DATABASE');
  const databaseLimit = DATABASE_NAME_MAX_LENGTH[engine];
  if (databaseSetting !== undefined && Buffer.byteLength(databaseSetting) > databaseLimit) {
    invalid.push({
      key: 'DATABASE',
      text: `"${databaseSetting}" is longer than ${databaseLimit} bytes, the ${engine} limit`,
    });
  }
  let registrySetting = nonBlank(env, 'CONTAINER_REGISTRY')?.replace(/\/+$/, '');
  if (registrySetting !== undefined && !REGISTRY.test(registrySetting)) {
    invalid.push({
      key: 'CONTAINER_REGISTRY',
      text: `"${registrySetting}" is not a registry host (give host[:port], without https://)`,
    });
  }
  if (invalid.length > 0) fail(invalid, 'E_CONFIG_INVALID', input.settingLabels);

  // Then everything that is missing.
  const missing: Problem[] = [];
  const { repo, sha } = facts;
  if (repo === undefined) {
    missing.push({
      key: 'CIRCLE_PROJECT_REPONAME',
      text: 'the repository name is unknown; set CIRCLE_PROJECT_REPONAME or DEPLOYTAG_REPO, pass --repo, or run in a git checkout with a remote',
    });
  }
  if (sha === undefined) {
    missing.push({
      key: 'CIRCLE_SHA1',
      text: 'the commit is unknown; set CIRCLE_SHA1 or DEPLOYTAG_SHA, pass --sha, or run in a git checkout',
    });
  }
  const chart = nonBlank(env, 'CHART_NAME');
  if (chart === undefined) {
    missing.push({
      key: 'CHART_NAME',
      text: 'set it to the Helm chart to deploy (a path such as ./chart, or a chart reference)',
    });
  }
  if (domainSetting === undefined) {
    missing.push({
      key: 'DOMAIN',
      text: 'set it to the domain the service is served under, e.g. example.com (HOST = SUBDOMAIN.DOMAIN)',
    });
  }
  if (registrySetting !== undefined) {
    origins.registry = 'env:CONTAINER_REGISTRY';
  } else if (cloudProvider === 'gcp') {
    registrySetting = 'gcr.io';
    origins.registry = 'default';
  } else {
    const account = nonBlank(env, 'AWS_ACCOUNT_ID');
    const region = nonBlank(env, 'AWS_REGION') ?? nonBlank(env, 'AWS_DEFAULT_REGION');
    if (account !== undefined && region !== undefined) {
      registrySetting = `${account}.dkr.ecr.${region}.amazonaws.com`;
      origins.registry = 'default';
    } else {
      missing.push({
        key: 'CONTAINER_REGISTRY',
        text: 'set it to the registry host (e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com), or set AWS_ACCOUNT_ID and AWS_DEFAULT_REGION',
      });
    }
  }
  if (cloudProvider === 'gcp' && projectSetting === undefined) {
    missing.push({
      key: 'PROJECT_ID',
      text: 'set it (or GOOGLE_PROJECT_ID) to the Google Cloud project the images are pushed to',
    });
  }
  if (
    repo === undefined ||
    sha === undefined ||
    chart === undefined ||
    domainSetting === undefined ||
    registrySetting === undefined ||
    missing.length > 0
  ) {
    fail(missing, 'E_CONFIG_MISSING', input.settingLabels);
  }

  const branch = facts.branch;
  const namespace = namespaceFor(kind, branch, {
    ...(input.sharedNamespace === undefined ? {} : { sharedNamespace: input.sharedNamespace }),
  });
  origins.namespace = 'default';
  origins.chart = 'env:CHART_NAME';

  let release: string;
  if (kind === 'preview' && branch !== undefined) {
    release = releaseName(branch, chartNameOf(chart));
    origins.release = 'default';
  } else if (helmName !== undefined) {
    release = helmName;
    origins.release = 'env:HELM_NAME';
  } else {
    release = dnsLabel(chartNameOf(chart), { maxLength: RELEASE_NAME_MAX_LENGTH });
    origins.release = 'default';
  }

  let database: string;
  if (databaseSetting !== undefined) {
    database = databaseSetting;
    origins.database = 'env:DATABASE';
  } else {
    database =
      kind === 'preview'
        ? databaseName(repo, branch, { engine })
        : databaseName(repo, undefined, { engine, environment: kind });
    origins.database = 'default';
  }

  const subdomain = subdomainSetting ?? release;
  origins.subdomain = subdomainSetting === undefined ? 'default' : 'env:SUBDOMAIN';
  origins.domain = 'env:DOMAIN';
  const host = `${subdomain}.${domainSetting}`;
  if (host.length > HOST_MAX_LENGTH) {
    fail(
      [{ key: 'DOMAIN', text: `the host ${host} is longer than ${HOST_MAX_LENGTH} characters` }],
      'E_CONFIG_INVALID',
      input.settingLabels,
    );
  }
  origins.host = 'default';

  const imageName = imageSetting ?? defaultImageName(repo);
  origins.image = imageSetting === undefined ? 'default' : 'env:IMAGE';
  if (projectSetting !== undefined) {
    origins.projectId =
      nonBlank(env, 'PROJECT_ID') === undefined ? 'env:GOOGLE_PROJECT_ID' : 'env:PROJECT_ID';
  }
  const prefix =
    projectSetting === undefined ? registrySetting : `${registrySetting}/${projectSetting}`;
  const repository = `${prefix}/${imageName}`;
  const shaTag = imageTag(sha);
  const branchTag = branch === undefined ? undefined : imageTag(branch);
  const tags = [shaTag];
  if (branchTag !== undefined) tags.push(branchTag);
  if (kind === 'staging') tags.push('latest');
  const baseName = `${imageName}_base`;

  const secretsText = env.AWS_SECRETS;
  const secretIds = parseSecretIds(secretsText);
  if (secretIds.length > 0) origins.secretIds = 'env:AWS_SECRETS';
  const helmVars = env.HELM_VARS?.trim() === '' ? undefined : env.HELM_VARS;
  if (helmVars !== undefined) origins.helmVars = 'env:HELM_VARS';

  return {
    provider: facts.provider,
    repo,
    branch,
    sha,
    tag: facts.tag,
    pullRequest: facts.pullRequest,
    kind,
    namespace,
    chart,
    release,
    database,
    databaseEngine: engine,
    domain: domainSetting,
    subdomain,
    host,
    url: `https://${host}`,
    cloudProvider,
    registry: registrySetting,
    projectId: projectSetting,
    image: {
      name: imageName,
      repository,
      shaTag,
      branchTag,
      tags: [...new Set(tags)],
      ref: `${repository}:${shaTag}`,
    },
    baseImage: { name: baseName, repository: `${prefix}/${baseName}` },
    secretIds,
    helmVars,
    origins,
  };
}
