import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as yamlParse, stringify } from 'yaml';
import type { DeployContext } from '@deploytag/context';
import type { Logger, Secret } from '@deploytag/core';
import { CommandFailedError, ConfigError, DeploytagError, silentLogger } from '@deploytag/core';
import {
  acquireLease,
  addressUrls,
  applyEnvSecret,
  applyRegistrySecret,
  diagnoseRollout,
  envChecksum,
  envSecretName,
  ensureNamespace,
  holderIdentity,
  lockName,
  namespaceExists,
  planRegistrySecret,
  readRolloutSnapshot,
  waitForAddresses,
  watchRollout,
} from '@deploytag/kube';
import type {
  KubeClients,
  RegistryCredentials,
  RegistrySecretPlan,
  ReleaseAddresses,
  RolloutProblem,
} from '@deploytag/kube';
import { readYamlMapping } from './chart.js';
import { withChartLock } from './chart-lock.js';
import type { ChartFacts } from './chart.js';
import { diffManifests } from './diff.js';
import type { ObjectChange } from './diff.js';
import { HelmError, HelmErrorCodes } from './errors.js';
import type { Helm } from './helm.js';
import { planRecovery, recoverRelease, releaseHistory, releaseManifest } from './release.js';
import type { RecoveryPlan, ReleaseRevision } from './release.js';
import {
  generatedValues,
  maskValues,
  mergeValues,
  parseHelmVarsArgs,
  substituteEnv,
} from './values.js';
import type { Values } from './values.js';

/** The context fields a deploy uses (a `DeployContext` has them all). */
export type DeployFacts = Pick<
  DeployContext,
  | 'kind'
  | 'namespace'
  | 'release'
  | 'host'
  | 'url'
  | 'sha'
  | 'repo'
  | 'branch'
  | 'cloudProvider'
  | 'helmVars'
> & { image: Pick<DeployContext['image'], 'shaTag'> };

/** Choices of a deploy. */
export interface DeployOptions {
  /** How long helm waits for the rollout; 5 minutes by default. */
  timeoutMs?: number;
  /** Roll back (uninstall a first install) when the rollout fails: `--atomic` (Helm 4: `--rollback-on-failure`). */
  atomic?: boolean;
  /** Longest wait for another deploy's lock; 15 minutes by default. */
  lockTimeoutMs?: number;
  /** Seconds the lock lasts without renewal; 60 by default. */
  lockDurationSeconds?: number;
  /** Who is deploying (such as the CI job URL), shown to a deploy that waits. */
  lockHolder?: string;
  /** How long to wait for LoadBalancer addresses; 5 minutes by default; 0 skips the wait. */
  addressTimeoutMs?: number;
  /** Stop helm early when a rollout problem (image pull, crash loop, …) lasts this long; 20 s by default; 0 waits for helm's own timeout. */
  stuckAfterMs?: number;
  /** Credentials for a generic pull secret (instead of the provider's behaviour). */
  registryCredentials?: RegistryCredentials;
  /** Skip `helm upgrade` when the last deployed revision was made from the same chart and values; true by default. */
  skipUnchanged?: boolean;
  /** Revisions helm keeps (`--history-max`); 10 by default. */
  historyMax?: number;
}

/** Input of {@link planDeploy}. */
export interface DeployInput {
  /** Who deploys what, where (see `buildDeployContext`). */
  context: DeployFacts;
  /** The chart (see `readChartFacts`). */
  chart: ChartFacts;
  /** The application's variables, written to the environment Secret; none → no Secret. */
  appEnv?: Readonly<Record<string, Secret>>;
  /**
   * Values of the caller's, merged over the generated ones (such as `image.repository` of the
   * image a pipeline just pushed); `HELM_VARS` still wins over them.
   */
  values?: Values;
  /** Variables `HELM_VARS` is substituted from (`process.env` in a bin). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Contents of `-f` files named in `HELM_VARS`, by path, for the digest (read by the caller). */
  helmVarsFileContents?: Readonly<Record<string, string>>;
  /** Choices. */
  options?: DeployOptions;
}

/** Everything a deploy will do, computed without I/O (print it for `--dry-run`). */
export interface DeployPlan {
  /** Namespace of the release. */
  namespace: string;
  /** Whether the namespace is the branch's own (created if missing, labelled, pull secret applied). */
  branchNamespace: boolean;
  /** The release. */
  release: string;
  /** Environment kind. */
  kind: string;
  /** The repository (namespace label). */
  repo: string;
  /** The raw branch (namespace annotation). */
  branch: string | undefined;
  /** The chart reference given to helm. */
  chart: string;
  /** Whether `helm dependency build` runs first. */
  dependencyBuild: boolean;
  /** The pull secret step. */
  pullSecret: RegistrySecretPlan;
  /** The environment Secret: name, variable names, checksum (values stay in `appEnv`). */
  envSecret: { name: string; keys: string[]; checksum: string } | undefined;
  /** Values files passed before the generated one (the chart's `values-<kind>.yaml`) and after it (HELM_VARS `-f`). */
  valuesFiles: { before: string[]; after: string[] };
  /** The generated values (written to a private temp file). */
  values: Values;
  /** Values from HELM_VARS `--set`s (written to a private temp file passed last, as helm's --set beats files). */
  setValues: Values;
  /** Variables HELM_VARS names that are not set (substituted as empty). */
  missingVariables: string[];
  /** Digest of chart, values and settings; recorded in the revision description. */
  digest: string | undefined;
  /** The commit deployed; recorded in the revision description too. */
  sha: string;
  /** The host the release serves (`HOST`). */
  host: string;
  /** `URL_HOST`. */
  url: string;
  /** Effective options. */
  options: Required<Omit<DeployOptions, 'registryCredentials' | 'lockHolder'>> & {
    lockHolder: string | undefined;
  };
}

/** Marker of the digest in a revision's description. */
const DIGEST_PREFIX = 'deploytag digest ';
/** Marker of the commit in a revision's description, after the digest. */
const SHA_MARK = ' sha ';

/**
 * The description DeployTag gives a revision (`helm upgrade --description`): the digest that lets
 * an unchanged redeploy skip helm, then the commit deployed, `deploytag digest <digest> sha <sha>`
 * (`deploytag sha <sha>` for a chart without a digest).
 *
 * @param digest - the plan's digest
 * @param sha - the commit
 */
export function revisionDescription(digest: string | undefined, sha: string): string {
  return `${digest === undefined ? 'deploytag' : `${DIGEST_PREFIX}${digest}`}${SHA_MARK}${sha}`;
}

/** What a revision's description says about it. */
export interface RevisionMarks {
  /** The digest of chart, values and settings it was made from. */
  digest: string | undefined;
  /** The commit it deployed (absent for revisions made before DeployTag recorded it). */
  sha: string | undefined;
}

/**
 * Reads the digest and commit DeployTag wrote into a revision's description (pure). Descriptions
 * that are not DeployTag's (helm's own "Upgrade complete", "Rollback to 3", a failure message) and
 * older ones with only a digest read as far as they go.
 *
 * @param description - a revision's description from `helm history`
 */
export function parseRevisionDescription(description: string | undefined): RevisionMarks {
  const match = /^deploytag(?: digest (\S+?))?(?: sha (\S+))?$/.exec(description?.trim() ?? '');
  return { digest: match?.[1], sha: match?.[2] };
}

/** The revision that is live: the newest `deployed` one, with the marks of its description. */
export function deployedRevision(
  history: readonly ReleaseRevision[],
): (RevisionMarks & { revision: number }) | undefined {
  const live = history.filter((r) => r.status === 'deployed').at(-1);
  return live === undefined
    ? undefined
    : { revision: live.revision, ...parseRevisionDescription(live.description) };
}

/**
 * Plans a deploy (pure): namespace and pull secret for a preview, the environment Secret, values
 * (the original's `--set`s as generated values, the chart's `values-<kind>.yaml`, `HELM_VARS`),
 * and the digest that lets an unchanged redeploy skip helm.
 *
 * @param input - context, chart facts, variables and options
 * @throws HelmError `E_HELM_VALUES` for an unreadable `HELM_VARS`
 */
export function planDeploy(input: DeployInput): DeployPlan {
  const { context, chart } = input;
  const o = input.options ?? {};
  const options: DeployPlan['options'] = {
    timeoutMs: o.timeoutMs ?? 300_000,
    atomic: o.atomic ?? false,
    lockTimeoutMs: o.lockTimeoutMs ?? 900_000,
    lockDurationSeconds: o.lockDurationSeconds ?? 60,
    lockHolder: o.lockHolder,
    addressTimeoutMs: o.addressTimeoutMs ?? 300_000,
    stuckAfterMs: o.stuckAfterMs ?? 20_000,
    skipUnchanged: o.skipUnchanged ?? true,
    historyMax: o.historyMax ?? 10,
  };
  const branchNamespace = context.kind === 'preview';
  const appEnv = input.appEnv;
  const envSecret =
    appEnv === undefined
      ? undefined
      : {
          name: envSecretName(context.release),
          keys: Object.keys(appEnv).sort(),
          checksum: envChecksum(appEnv),
        };
  const substituted = substituteEnv(context.helmVars ?? '', input.env ?? {});
  const helmVars = parseHelmVarsArgs(substituted.text);
  const values = mergeValues(
    generatedValues({
      host: context.host,
      release: context.release,
      imageTag: context.image.shaTag,
      ...(envSecret === undefined
        ? {}
        : { envSecret: { name: envSecret.name, checksum: envSecret.checksum } }),
    }),
    input.values ?? {},
  );
  const kindFile = chart.kindValues[context.kind];
  const before = kindFile === undefined ? [] : [kindFile];
  const pullSecret = branchNamespace
    ? planRegistrySecret({
        cloudProvider: context.cloudProvider,
        namespace: context.namespace,
        ...(o.registryCredentials === undefined ? {} : { credentials: o.registryCredentials }),
      })
    : ({ kind: 'none', reason: 'only preview namespaces get a pull secret' } as const);
  let digest: string | undefined;
  if (chart.digest !== undefined) {
    const hash = createHash('sha256');
    hash.update(
      JSON.stringify({
        chart: chart.digest,
        values,
        setValues: helmVars.values,
        files: helmVars.files.map((f) => [f, input.helmVarsFileContents?.[f] ?? null]),
        atomic: options.atomic,
        namespace: context.namespace,
      }),
    );
    digest = hash.digest('hex').slice(0, 32);
  }
  return {
    namespace: context.namespace,
    branchNamespace,
    release: context.release,
    kind: context.kind,
    repo: context.repo,
    branch: context.branch,
    chart: chart.ref,
    dependencyBuild: chart.hasDependencies,
    pullSecret,
    envSecret,
    valuesFiles: { before, after: helmVars.files },
    values,
    setValues: helmVars.values,
    missingVariables: substituted.missing,
    digest,
    sha: context.sha,
    host: context.host,
    url: context.url,
    options,
  };
}

/** What a deploy needs to talk to. */
export interface DeployClients {
  /** Kubernetes API clients. */
  kube: KubeClients;
  /** The helm runner (its kubeconfig must reach the same cluster). */
  helm: Helm;
  /** Progress. */
  logger?: Logger;
  /** Cancels the deploy (helm is stopped, the lock released). */
  signal?: AbortSignal;
  /**
   * Whether the commit the live revision runs (`liveSha`, read from its description) is newer
   * than the plan's, so that this deploy must not replace it. Asked under the release's lock, only
   * when the live commit differs from the plan's; `true` skips helm and reports `superseded`.
   * Without it every deploy goes ahead. A pipeline answers it from its git clone (is the plan's
   * commit an ancestor of the live one?); this package never reads git.
   */
  isSuperseded?: (liveSha: string) => Promise<boolean>;
}

/** What a deploy did. */
export interface DeployResult {
  /** Namespace. */
  namespace: string;
  /** Release. */
  release: string;
  /** The release's revision after the deploy. */
  revision: number | undefined;
  /**
   * `installed`, `upgraded`, `unchanged` (helm skipped: same chart and values as the deployed
   * revision), or `superseded` (helm skipped: the live revision runs a newer commit, see
   * {@link DeployClients.isSuperseded}).
   */
  action: 'installed' | 'upgraded' | 'unchanged' | 'superseded';
  /** With `superseded`: the newer commit the release runs. */
  supersededBy?: string;
  /** Whether the namespace was created. */
  namespaceCreated: boolean;
  /** What happened to the environment Secret. */
  envSecret: 'created' | 'updated' | 'unchanged' | 'none';
  /** A stuck release that was recovered first. */
  recovered: RecoveryPlan | undefined;
  /** `URL_HOST`. */
  url: string;
  /** Addresses found (LoadBalancers, Ingress hosts). */
  addresses: ReleaseAddresses | undefined;
  /** URLs for people, from the addresses. */
  urls: string[];
}

/** Writes values to a private folder (0700, files 0600) and removes it afterwards. */
function withValuesFiles<T>(plan: DeployPlan, run: (files: string[]) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'deploytag-values-'));
  try {
    const generated = join(dir, 'generated.yaml');
    const sets = join(dir, 'set.yaml');
    writeFileSync(generated, stringify(plan.values), { mode: 0o600 });
    writeFileSync(sets, stringify(plan.setValues), { mode: 0o600 });
    const files = [...plan.valuesFiles.before, generated, ...plan.valuesFiles.after, sets];
    return run(files).finally(() => rmSync(dir, { recursive: true, force: true }));
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function valuesArgs(files: string[]): string[] {
  return files.flatMap((f) => ['--values', f]);
}

function seconds(ms: number): string {
  return `${Math.max(1, Math.ceil(ms / 1000))}s`;
}

/**
 * Runs a planned deploy (the original `deploy.sh`, fixed): a preview's namespace (exact name,
 * labelled, never adopted) and pull secret; then under the release's Lease: recovery of a stuck
 * release; nothing more when the live revision runs a newer commit (see
 * {@link DeployClients.isSuperseded}); else the environment Secret and
 * `helm upgrade --install --wait` (skipped when nothing changed) while the rollout is watched and
 * explained; and the release's addresses.
 *
 * @param plan - from {@link planDeploy}
 * @param appEnv - the environment Secret's values (the same as given to planDeploy)
 * @param clients - Kubernetes, helm, logger, cancellation
 * @throws HelmError `E_HELM_ROLLOUT` with the rollout's problems when it fails
 */
export async function applyDeploy(
  plan: DeployPlan,
  appEnv: Readonly<Record<string, Secret>> | undefined,
  clients: DeployClients,
): Promise<DeployResult> {
  const logger = clients.logger ?? silentLogger;
  const { kube, helm } = clients;
  const { namespace, release, options } = plan;
  for (const name of plan.missingVariables)
    logger.warn(`HELM_VARS names ${name}, which is not set; it was left empty`);

  let namespaceCreated = false;
  if (plan.branchNamespace || !(await namespaceExists(kube, namespace))) {
    namespaceCreated = (
      await ensureNamespace(
        kube,
        { name: namespace, repo: plan.repo, kind: plan.kind, branch: plan.branch, now: new Date() },
        logger,
      )
    ).created;
  }
  await applyRegistrySecret(kube, plan.pullSecret, logger);

  const lease = await acquireLease(kube, {
    namespace,
    name: lockName(release),
    holder: holderIdentity(options.lockHolder),
    durationSeconds: options.lockDurationSeconds,
    waitTimeoutMs: options.lockTimeoutMs,
    ...(clients.signal === undefined ? {} : { signal: clients.signal }),
    logger,
  });
  try {
    let history = await releaseHistory(helm, release, namespace);
    const recovery = planRecovery(history);
    if (recovery.action !== 'none') {
      await recoverRelease(helm, release, namespace, recovery, {
        timeoutMs: options.timeoutMs,
        logger,
      });
      history = await releaseHistory(helm, release, namespace);
    }
    const last = history[history.length - 1];
    const live = deployedRevision(history);

    let action: DeployResult['action'];
    let revision = last?.revision;
    let envSecret: DeployResult['envSecret'] = 'none';
    let supersededBy: string | undefined;
    if (
      live?.sha !== undefined &&
      live.sha !== plan.sha &&
      clients.isSuperseded !== undefined &&
      (await clients.isSuperseded(live.sha))
    ) {
      // A newer commit of this branch was deployed first: leave it, and its environment Secret.
      action = 'superseded';
      supersededBy = live.sha;
      revision = live.revision;
      logger.info(
        `${plan.branch ?? release}: a newer commit ${live.sha.slice(0, 7)} is already deployed; nothing to do`,
      );
    } else {
      if (plan.envSecret !== undefined && appEnv !== undefined) {
        envSecret = (
          await applyEnvSecret(
            kube,
            { namespace, name: plan.envSecret.name, release, data: appEnv },
            logger,
          )
        ).action;
      }
      if (
        options.skipUnchanged &&
        plan.digest !== undefined &&
        last?.status === 'deployed' &&
        parseRevisionDescription(last.description).digest === plan.digest
      ) {
        action = 'unchanged';
        logger.info(
          `release ${release} revision ${last.revision} already runs this chart and these values; helm upgrade skipped`,
        );
        const state = diagnoseRollout(await readRolloutSnapshot(kube, namespace, release));
        if (!state.ready) {
          logger.info(`waiting for the rollout: ${state.progress.join(', ')}`);
          await waitReady(kube, plan, clients);
        }
      } else {
        await withDeployableChart(plan, clients, (chart) =>
          upgrade(plan, clients, revisionDescription(plan.digest, plan.sha), chart),
        );
        history = await releaseHistory(helm, release, namespace, 1);
        revision = history[history.length - 1]?.revision;
        action = last === undefined ? 'installed' : 'upgraded';
        logger.info(`release ${release} ${action}: revision ${revision ?? '?'}`);
      }
    }

    let addresses: ReleaseAddresses | undefined;
    if (options.addressTimeoutMs > 0) {
      addresses = await waitForAddresses(kube, {
        namespace,
        release,
        timeoutMs: options.addressTimeoutMs,
        logger,
      });
    }
    const urls = addresses === undefined ? [] : addressUrls(addresses);
    return {
      namespace,
      release,
      revision,
      action,
      namespaceCreated,
      envSecret,
      recovered: recovery.action === 'none' ? undefined : recovery,
      ...(supersededBy === undefined ? {} : { supersededBy }),
      url: plan.url,
      addresses,
      urls,
    };
  } finally {
    await lease.release();
  }
}

async function waitReady(
  kube: KubeClients,
  plan: DeployPlan,
  clients: DeployClients,
): Promise<void> {
  const deadline = Date.now() + plan.options.timeoutMs;
  for (;;) {
    const state = diagnoseRollout(await readRolloutSnapshot(kube, plan.namespace, plan.release));
    if (state.ready) return;
    if (Date.now() > deadline || clients.signal?.aborted) {
      throw rolloutError(plan, state.problems, undefined);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * Helm's own error line when helm failed before or instead of waiting (a template that does not
 * render, an object the API server rejects), or undefined when it timed out waiting for the
 * rollout or failed for another reason.
 */
function helmRefusal(error: unknown): string | undefined {
  if (!(error instanceof CommandFailedError) || error.childExitCode === null) return undefined;
  const line = [...error.stderrTail].reverse().find((l) => /^\s*Error:/.test(l));
  if (line === undefined) return undefined;
  if (/context deadline exceeded|timed out waiting|not ready|client rate limiter/i.test(line))
    return undefined;
  return line.trim().replace(/^Error:\s*/, '');
}

function rolloutError(plan: DeployPlan, problems: RolloutProblem[], cause: unknown): HelmError {
  const why =
    problems.length > 0
      ? problems.map((p) => p.message).join('; ')
      : `it did not become ready within ${seconds(plan.options.timeoutMs)}`;
  return new HelmError(
    HelmErrorCodes.ROLLOUT,
    `the rollout of release ${plan.release} in ${plan.namespace} failed: ${why}`,
    { cause, details: { problems: problems.map((p) => ({ reason: p.reason, object: p.object })) } },
  );
}

/**
 * Calls `fn` with the chart to give helm: the folder itself, or for a chart with dependencies a
 * package made right after `helm dependency build`, both under the chart's lock, so that another
 * deploy from the same checkout rebuilding `charts/` cannot change what this one installs. The
 * package lives in a private temporary folder, removed afterwards.
 */
async function withDeployableChart<T>(
  plan: DeployPlan,
  clients: DeployClients,
  fn: (chart: string) => Promise<T>,
): Promise<T> {
  if (!plan.dependencyBuild) return await fn(plan.chart);
  const { helm } = clients;
  const logger = clients.logger ?? silentLogger;
  const dir = mkdtempSync(join(tmpdir(), 'deploytag-chart-'));
  try {
    const packaged = await withChartLock(
      plan.chart,
      async () => {
        logger.info(`building the chart's dependencies`);
        const call = { namespace: plan.namespace, timeoutMs: 300_000 };
        await helm.run(['dependency', 'build', plan.chart], call);
        await helm.run(['package', plan.chart, '--destination', dir], call);
        const [archive] = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
        if (archive === undefined) {
          throw new HelmError(
            HelmErrorCodes.UPGRADE,
            `helm package wrote no archive for the chart ${plan.chart}`,
          );
        }
        return join(dir, archive);
      },
      {
        timeoutMs: 300_000,
        ...(clients.signal === undefined ? {} : { signal: clients.signal }),
      },
    );
    return await fn(packaged);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function upgrade(
  plan: DeployPlan,
  clients: DeployClients,
  description: string,
  chart: string,
): Promise<void> {
  const { helm, kube } = clients;
  const logger = clients.logger ?? silentLogger;
  const { options } = plan;
  const stop = new AbortController();
  const helmAbort = new AbortController();
  let stuck: RolloutProblem[] = [];
  const onOuterAbort = (): void => helmAbort.abort(clients.signal?.reason);
  clients.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const watching = watchRollout(kube, {
    namespace: plan.namespace,
    release: plan.release,
    signal: stop.signal,
    stuckAfterMs: options.stuckAfterMs > 0 ? options.stuckAfterMs : Number.MAX_SAFE_INTEGER,
    onStuck: (problems) => {
      stuck = problems;
      if (options.stuckAfterMs > 0) {
        logger.error(
          `stopping helm: ${problems.map((p) => p.reason).join(', ')} for more than ${seconds(options.stuckAfterMs)}`,
        );
        helmAbort.abort(new Error(problems[0]?.message ?? 'rollout stuck'));
      }
    },
    logger,
  });
  const atomicFlag = helm.binary.version.major >= 4 ? '--rollback-on-failure' : '--atomic';
  try {
    await withValuesFiles(plan, (files) =>
      helm.run(
        [
          'upgrade',
          '--install',
          plan.release,
          chart,
          ...valuesArgs(files),
          '--wait',
          '--timeout',
          seconds(options.timeoutMs),
          '--history-max',
          String(options.historyMax),
          ...(options.atomic ? [atomicFlag] : []),
          '--description',
          description,
        ],
        {
          namespace: plan.namespace,
          timeoutMs: options.timeoutMs + 60_000,
          signal: helmAbort.signal,
          // Helm is stopped through `signal`; SIGINT/SIGTERM reach it via core's forwarding.
        },
      ),
    );
  } catch (error) {
    stop.abort();
    const last = await watching;
    const problems = stuck.length > 0 ? stuck : last.problems;
    if (
      error instanceof DeploytagError &&
      (error.code === 'E_INTERRUPTED' || clients.signal?.aborted)
    )
      throw error;
    const refused = problems.length === 0 ? helmRefusal(error) : undefined;
    if (refused !== undefined) {
      throw new HelmError(
        HelmErrorCodes.UPGRADE,
        `helm could not install or upgrade release ${plan.release} in ${plan.namespace}: ${refused}; fix the chart or its values and deploy again`,
        { cause: error },
      );
    }
    if (problems.length === 0 && error instanceof CommandFailedError && error.signal !== null) {
      // Killed from outside (a cancelled CI job, the OOM killer): no rollout problem to show.
      throw new HelmError(
        HelmErrorCodes.UPGRADE,
        `helm upgrade of release ${plan.release} in ${plan.namespace} was killed by signal ${error.signal} before it finished; deploy again: the next deploy first rolls back (or uninstalls) what it left pending`,
        { cause: error, details: { signal: error.signal } },
      );
    }
    throw rolloutError(plan, problems, error);
  } finally {
    stop.abort();
    clients.signal?.removeEventListener('abort', onOuterAbort);
  }
  await watching;
}

/** What `deploy --dry-run` shows. */
export interface DeployPreview {
  /** The plan, with secret-looking values masked and the Secret's values never included. */
  plan: DeployPlan;
  /** Values as they would be given to helm (merged, masked). */
  maskedValues: unknown;
  /** Changes against the live release (`helm template` vs `helm get manifest`). */
  changes: ObjectChange[];
}

/**
 * `deploy --dry-run`: renders the chart with the planned values (`helm template`) and diffs it
 * against the live release (`helm get manifest`); changes nothing.
 *
 * @param plan - from {@link planDeploy}
 * @param clients - helm and logger (Kubernetes is not written to)
 */
export async function previewDeploy(
  plan: DeployPlan,
  clients: Pick<DeployClients, 'helm' | 'logger'>,
): Promise<DeployPreview> {
  const { helm } = clients;
  const rendered = await withValuesFiles(plan, (files) =>
    helm.run(['template', plan.release, plan.chart, ...valuesArgs(files), '--no-hooks'], {
      namespace: plan.namespace,
      timeoutMs: 120_000,
    }),
  );
  const live = await releaseManifest(helm, plan.release, plan.namespace);
  const fileValues = plan.valuesFiles.before.map(readYamlSafe);
  return {
    plan: {
      ...plan,
      values: maskValues(plan.values) as Values,
      setValues: maskValues(plan.setValues) as Values,
    },
    maskedValues: maskValues(mergeValues(...fileValues, plan.values, plan.setValues)),
    changes: diffManifests(live, rendered.stdout),
  };
}

function readYamlSafe(path: string): Values {
  try {
    const parsed: unknown = yamlParse(readFileSync(path, 'utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Values)
      : {};
  } catch {
    return {};
  }
}

/**
 * Reads and checks what a deploy gives helm besides the chart, before anything starts: `HELM_VARS`
 * must parse (an unknown flag, a bad assignment or an unclosed quote is refused), and every values
 * file it names with `-f` must exist and hold a YAML mapping. Returns the input with those files'
 * contents, so that the digest changes when a file does (`helmVarsFileContents`).
 *
 * @param input - as for {@link planDeploy}
 * @throws HelmError `E_HELM_VALUES` or ConfigError, both exit code 2, naming HELM_VARS or the file
 */
export function prepareDeployInput(input: DeployInput): DeployInput {
  let plan: DeployPlan;
  try {
    plan = planDeploy(input);
  } catch (error) {
    // Every unreadable value here comes from HELM_VARS: say so to whoever names settings.
    if (error instanceof HelmError && error.code === HelmErrorCodes.VALUES) {
      throw new HelmError(HelmErrorCodes.VALUES, error.message, {
        details: { key: 'HELM_VARS' },
        cause: error,
      });
    }
    throw error;
  }
  if (plan.valuesFiles.after.length === 0 || input.helmVarsFileContents !== undefined) return input;
  const contents: Record<string, string> = {};
  for (const file of plan.valuesFiles.after) {
    try {
      readYamlMapping(file);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError(`HELM_VARS -f ${error.message}`, {
        code: 'E_CONFIG_INVALID',
        key: 'HELM_VARS',
        file,
        cause: error,
      });
    }
    contents[file] = readFileSync(file, 'utf8');
  }
  return { ...input, helmVarsFileContents: contents };
}

/**
 * The whole deploy for a bin or the pipeline: checks its inputs ({@link prepareDeployInput}),
 * plans it from the context and chart, then applies it, or previews it when `dryRun` (namespace,
 * release, masked values, manifest diff).
 *
 * @param input - context, chart, variables, options
 * @param clients - Kubernetes, helm, logger, cancellation
 * @param dryRun - preview instead of deploying
 */
export async function deploy(
  input: DeployInput,
  clients: DeployClients,
  dryRun = false,
): Promise<{ plan: DeployPlan; result?: DeployResult; preview?: DeployPreview }> {
  input = prepareDeployInput(input);
  const plan = planDeploy(input);
  if (dryRun) return { plan, preview: await previewDeploy(plan, clients) };
  return { plan, result: await applyDeploy(plan, input.appEnv, clients) };
}
