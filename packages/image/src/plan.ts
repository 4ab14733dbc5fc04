import { createHash } from 'node:crypto';
import { Secret } from '@deploytag/core';
import { parseDockerfile, referencedVariables, substituteVariables } from './dockerfile.js';
import { ImageError, ImageErrorCodes } from './errors.js';

/** Version of the content-tag recipe; changing it changes every content tag. */
const CONTENT_RECIPE = 'deploytag-content-v1';

/** Prefix of content tags (`content-` + 32 hex characters). */
export const CONTENT_TAG_PREFIX = 'content-';

/** What a content tag is computed from. */
export interface ContentTagInputs {
  /** The git content digest of the files the image reads (from `@deploytag/git`). */
  filesDigest: string;
  /** The Dockerfile as it is built (after substitution). */
  dockerfile: string;
  /** Build arguments (names and values; a Secret counts by its value, which is only hashed). */
  buildArgs?: Readonly<Record<string, string | Secret>>;
  /** The build target, if any. */
  target?: string;
  /** Anything else that changes the image (a base image's content tag, remote ADD sources). */
  extra?: readonly string[];
}

/**
 * A content tag: `content-` plus 32 hex characters of SHA-256 over the inputs, so the same
 * inputs always give the same tag and any change gives another.
 *
 * @param inputs - files digest, Dockerfile text, build args, target, extras
 */
export function contentTag(inputs: ContentTagInputs): string {
  const args = Object.entries(inputs.buildArgs ?? {})
    .map(([k, v]) => [k, Secret.isSecret(v) ? v.reveal() : v] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = createHash('sha256')
    .update(
      JSON.stringify([
        CONTENT_RECIPE,
        inputs.filesDigest,
        inputs.dockerfile,
        args,
        inputs.target ?? null,
        [...(inputs.extra ?? [])],
      ]),
    )
    .digest('hex');
  return `${CONTENT_TAG_PREFIX}${hash.slice(0, 32)}`;
}

/** Manifest digests of tags in the registry: a tag that is absent or undefined does not exist. */
export type ExistingTags = Readonly<Record<string, string | undefined>>;

/** What happens to an image. */
export type ImageAction =
  /** Build, then push every tag. */
  | 'build'
  /** The content tag exists: point the other tags at it in the registry, no build. */
  | 'retag'
  /** Every tag already points at the content: nothing to do. */
  | 'up-to-date'
  /** There is nothing to build (no `Dockerfile.base`). */
  | 'none';

/** A plan for one image. */
export interface ImagePlan {
  /** What to do. */
  action: ImageAction;
  /** Why, in words, one reason per entry (printed by `should-build-base` and `--dry-run`). */
  reasons: string[];
  /** The repository (`host/path/name`). */
  repository: string;
  /** The content tag. */
  contentTag: string;
  /** Every tag the image ends up with: content tag first, then sha, branch, `latest`. */
  tags: string[];
  /** Tags to push after a build, or to re-point at the content tag; empty when up to date. */
  tagsToWrite: string[];
}

/** The tags the original scripts pushed for a commit. */
export interface OriginalTags {
  /** The commit sha tag. */
  sha: string;
  /** The branch tag (already sanitised with `imageTag`), if there is a branch. */
  branch?: string | undefined;
  /** True on the staging branch (master), where `latest` is pushed too. */
  latest: boolean;
}

function tagList(content: string, original: OriginalTags): string[] {
  const tags = [content, original.sha];
  if (original.branch !== undefined && !tags.includes(original.branch)) tags.push(original.branch);
  if (original.latest && !tags.includes('latest')) tags.push('latest');
  return tags;
}

function decide(
  repository: string,
  content: string,
  tags: string[],
  existing: ExistingTags,
  forced: string[],
): ImagePlan {
  const contentDigest = existing[content];
  if (forced.length > 0) {
    return {
      action: 'build',
      reasons: forced,
      repository,
      contentTag: content,
      tags,
      tagsToWrite: tags,
    };
  }
  if (contentDigest === undefined) {
    return {
      action: 'build',
      reasons: [`${repository}:${content} does not exist in the registry (its inputs changed)`],
      repository,
      contentTag: content,
      tags,
      tagsToWrite: tags,
    };
  }
  const stale = tags.filter((t) => t !== content && existing[t] !== contentDigest);
  if (stale.length === 0) {
    return {
      action: 'up-to-date',
      reasons: [`${repository}:${content} exists and every tag points at it`],
      repository,
      contentTag: content,
      tags,
      tagsToWrite: [],
    };
  }
  return {
    action: 'retag',
    reasons: [
      `${repository}:${content} exists (same inputs): tagging it ${stale.join(', ')} without a build`,
    ],
    repository,
    contentTag: content,
    tags,
    tagsToWrite: stale,
  };
}

/** Facts {@link planBaseImage} decides from. */
export interface BaseImageFacts {
  /** Whether `Dockerfile.base` exists. */
  hasDockerfile: boolean;
  /** The base repository (`CONTAINER_REGISTRY/PROJECT_ID/${IMAGE}_base`). */
  repository: string;
  /** The base's content tag (see {@link contentTag}); ignored without a Dockerfile. */
  contentTag: string;
  /** The original's tags. */
  original: OriginalTags;
  /** Digests of the base tags in the registry. */
  existing: ExistingTags;
  /** `FORCE_BASE_BUILD` is set. */
  force: boolean;
  /** The project hook `./scripts/should_build_base.sh` exited 0 (true), non-zero (false), or is absent. */
  hookSaysBuild: boolean | undefined;
}

/**
 * Decides whether the base image is built: when `Dockerfile.base` exists and its content tag is
 * missing from the registry, or `FORCE_BASE_BUILD` is set, or the project hook
 * `./scripts/should_build_base.sh` exits 0. When the content exists, the original's tags (sha,
 * branch, `latest` on master) are pointed at it in the registry instead. No I/O.
 *
 * @param facts - what the registry, the environment and the hook said
 */
export function planBaseImage(facts: BaseImageFacts): ImagePlan {
  if (!facts.hasDockerfile) {
    return {
      action: 'none',
      reasons: ['there is no Dockerfile.base'],
      repository: facts.repository,
      contentTag: facts.contentTag,
      tags: [],
      tagsToWrite: [],
    };
  }
  const tags = tagList(facts.contentTag, facts.original);
  const forced: string[] = [];
  if (facts.force) forced.push('FORCE_BASE_BUILD is set');
  if (facts.hookSaysBuild === true) forced.push('./scripts/should_build_base.sh exited 0');
  return decide(facts.repository, facts.contentTag, tags, facts.existing, forced);
}

/** Facts {@link planAppImage} decides from. */
export interface AppImageFacts {
  /** The app repository (`CONTAINER_REGISTRY/PROJECT_ID/IMAGE`). */
  repository: string;
  /** The app's content tag (see {@link contentTag}). */
  contentTag: string;
  /** The original's tags. */
  original: OriginalTags;
  /** Digests of the app tags in the registry. */
  existing: ExistingTags;
  /** Build even when the content exists. */
  force?: boolean;
}

/**
 * Decides how the app image is made: built when its content tag is missing, otherwise the sha,
 * branch and `latest` tags are pointed at the existing image (a re-run of a commit builds
 * nothing). No I/O.
 *
 * @param facts - the content tag and what the registry holds
 */
export function planAppImage(facts: AppImageFacts): ImagePlan {
  const tags = tagList(facts.contentTag, facts.original);
  return decide(
    facts.repository,
    facts.contentTag,
    tags,
    facts.existing,
    facts.force === true ? ['a build was forced'] : [],
  );
}

/** What {@link chooseBaseTag} looks at. */
export interface BaseTagFacts {
  /** The base plan (its tags exist once it is applied). */
  base: ImagePlan;
  /** The branch tag, if any. */
  branchTag: string | undefined;
  /** Base tags in the registry before this run. */
  existing: ExistingTags;
}

/**
 * The tag of the base image the app is built `FROM` (`DOCKER_TAG`), in this order:
 * 1. the branch's own base tag, when it exists (or this run writes it);
 * 2. else `latest`, when it exists (or this run writes it);
 * 3. else the content tag (it exists after the base step).
 *
 * With a `Dockerfile.base`, this run always writes the branch tag, so the app is built on the
 * base made from this very commit's inputs; without one, the branch's or `latest` base is used
 * as the original did.
 *
 * @param facts - the base plan and registry state
 */
export function chooseBaseTag(facts: BaseTagFacts): string {
  const has = (t: string): boolean =>
    facts.existing[t] !== undefined || facts.base.tags.includes(t);
  if (facts.branchTag !== undefined && has(facts.branchTag)) return facts.branchTag;
  if (has('latest')) return 'latest';
  return facts.base.action === 'none' ? 'latest' : facts.base.contentTag;
}

/** A variable name that looks like it holds a secret. */
export const SECRET_NAME =
  /PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_KEY|_KEY$|^KEY$|AUTH/i;

/**
 * Whether a variable is treated as a secret: named in `secretNames` (such as the keys loaded
 * from `AWS_SECRETS`) or matching {@link SECRET_NAME}.
 *
 * @param name - the variable's name
 * @param secretNames - names known to hold secrets
 */
export function isSecretName(name: string, secretNames: readonly string[] = []): boolean {
  return secretNames.includes(name) || SECRET_NAME.test(name);
}

/** Input of {@link renderDockerfile}. */
export interface RenderDockerfileInput {
  /** The Dockerfile as written. */
  text: string;
  /** Variables DeployTag computes: `DOCKER_TAG`, `BASE_IMAGE_REF`, `BASE_IMAGE`, … (always substituted). */
  computed: Readonly<Record<string, string>>;
  /** The environment (only variables the Dockerfile references are looked at). */
  env: Readonly<Record<string, string | undefined>>;
  /** Names known to hold secrets. */
  secretNames?: readonly string[];
  /** Substitute secret variables too (the original's behaviour; prints a warning). */
  allowSecrets?: boolean;
}

/** The result of {@link renderDockerfile}. */
export interface RenderedDockerfile {
  /** The Dockerfile to build. */
  text: string;
  /** Names substituted from the environment or computed. */
  substituted: string[];
  /** Secret variables that were left alone (not substituted). */
  withheldSecrets: string[];
  /** Secret variables that were substituted because `allowSecrets` was given. */
  bakedSecrets: string[];
  /** Warnings to print. */
  warnings: string[];
}

/**
 * Substitutes variables into a Dockerfile as the original's `envsubst` did (`${VAR}` and `$VAR`),
 * with three differences: a variable the Dockerfile declares itself (`ARG`, `ENV`) is left for
 * the build, an unset variable is left as written (not blanked), and a secret variable is never
 * substituted unless `allowSecrets`, which warns naming the variables. `computed` variables
 * (`DOCKER_TAG`, `BASE_IMAGE_REF`) are always substituted.
 *
 * @param input - the Dockerfile, computed variables, environment and secret policy
 */
export function renderDockerfile(input: RenderDockerfileInput): RenderedDockerfile {
  const declared = new Set<string>();
  for (const ins of parseDockerfile(input.text)) {
    if (ins.keyword !== 'ARG' && ins.keyword !== 'ENV') continue;
    for (const m of ins.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)(?==|\s|$)/g)) {
      if (m[1] !== undefined) declared.add(m[1]);
    }
  }
  const vars: Record<string, string> = {};
  const withheld: string[] = [];
  const baked: string[] = [];
  for (const name of referencedVariables(input.text)) {
    if (Object.hasOwn(input.computed, name)) {
      vars[name] = input.computed[name] ?? '';
      continue;
    }
    if (declared.has(name)) continue;
    const value = input.env[name];
    if (value === undefined) continue;
    if (isSecretName(name, input.secretNames)) {
      if (input.allowSecrets !== true) {
        withheld.push(name);
        continue;
      }
      baked.push(name);
    }
    vars[name] = value;
  }
  const warnings: string[] = [];
  if (baked.length > 0) {
    warnings.push(
      `substituting secret variable(s) ${baked.join(', ')} into the Dockerfile: their values end up in the image, readable by anyone who can pull it`,
    );
  }
  if (withheld.length > 0) {
    warnings.push(
      `not substituting secret variable(s) ${withheld.join(', ')} into the Dockerfile (pass --allow-secrets to bake them in, which leaks them to anyone who can pull the image)`,
    );
  }
  return {
    text: substituteVariables(input.text, vars),
    substituted: Object.keys(vars).sort(),
    withheldSecrets: withheld,
    bakedSecrets: baked,
    warnings,
  };
}

/** The result of {@link checkBuildArgs}. */
export interface CheckedBuildArgs {
  /** The build args to pass (secret values as `Secret`). */
  buildArgs: Record<string, string | Secret>;
  /** Warnings to print. */
  warnings: string[];
}

/**
 * Refuses build arguments that carry secrets unless `allowSecrets` is given (then warns naming
 * them): a build argument's value is recorded in the image's history.
 *
 * @param buildArgs - name → value
 * @param options - secret names and the opt-in flag
 * @throws ImageError `E_IMAGE_SECRET` naming the variables when a secret would be passed
 */
export function checkBuildArgs(
  buildArgs: Readonly<Record<string, string | Secret>>,
  options: { secretNames?: readonly string[]; allowSecrets?: boolean } = {},
): CheckedBuildArgs {
  const secret = Object.entries(buildArgs)
    .filter(([k, v]) => Secret.isSecret(v) || isSecretName(k, options.secretNames))
    .map(([k]) => k);
  if (secret.length > 0 && options.allowSecrets !== true) {
    throw new ImageError(
      ImageErrorCodes.SECRET_IN_IMAGE,
      `build argument(s) ${secret.join(', ')} look like secrets: build arguments are stored in the image history, readable by anyone who can pull it; remove them (use a BuildKit secret mount or runtime environment), or pass --allow-secrets to accept the leak`,
      { details: { variables: secret } },
    );
  }
  const out: Record<string, string | Secret> = {};
  for (const [k, v] of Object.entries(buildArgs)) {
    out[k] = secret.includes(k) && !Secret.isSecret(v) ? Secret.of(v) : v;
  }
  return {
    buildArgs: out,
    warnings:
      secret.length > 0
        ? [
            `passing secret build argument(s) ${secret.join(', ')}: their values are stored in the image history, readable by anyone who can pull it`,
          ]
        : [],
  };
}

/**
 * Parses `DOCKER_BUILD_ARGS` as the original passed it to `docker build`: `--build-arg K=V`
 * pairs, or plain `K=V` words separated by white space or commas; a bare `K` takes its value from
 * the environment (as `docker build --build-arg K` does).
 *
 * @param text - the variable's value
 * @param env - the environment, for bare names
 * @throws ImageError `E_IMAGE_INPUT` for a malformed entry
 */
export function parseBuildArgs(
  text: string | undefined,
  env: Readonly<Record<string, string | undefined>> = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === undefined || text.trim() === '') return out;
  const words = [...text.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s,]+)/g)].map(
    (m) => m[1] ?? m[2] ?? m[3] ?? '',
  );
  for (let i = 0; i < words.length; i++) {
    let w = words[i] ?? '';
    if (w === '--build-arg') continue;
    if (w.startsWith('--build-arg=')) w = w.slice('--build-arg='.length);
    const eq = w.indexOf('=');
    const name = eq === -1 ? w : w.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new ImageError(
        ImageErrorCodes.INPUT,
        `DOCKER_BUILD_ARGS entry "${name}" is not NAME=value; write --build-arg NAME=value or NAME=value`,
      );
    }
    if (eq === -1) {
      const v = env[name];
      if (v !== undefined) out[name] = v;
    } else {
      out[name] = w.slice(eq + 1);
    }
  }
  return out;
}
