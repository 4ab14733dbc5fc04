/**
 * `@deploytag/cleanup`: finds the preview environments DeployTag created (by their labels only)
 * and removes the stale ones: branch deleted on the remote, not deployed for longer than a TTL,
 * or named. {@link planCleanup} decides purely; {@link applyCleanup} removes a few environments at
 * a time, each independently (deploy lock, Helm release, database, image tags, DNS, namespace) so that a
 * failure stays with its environment and a re-run finishes what was left; {@link runCleanup}
 * wires both to the environment for the `deploytag cleanup` command.
 *
 * @packageDocumentation
 */
export { CleanupError, CleanupErrorCodes } from './errors.js';
export { formatDuration, parseDuration } from './duration.js';
export {
  CLEANUP_ANNOTATION,
  parseCleanupRecord,
  parseImageReference,
  planCleanup,
  type CleanupAction,
  type CleanupFacts,
  type CleanupOptions,
  type CleanupPlan,
  type CleanupRecord,
  type EnvironmentPlan,
  type ImageReference,
  type NamespaceFacts,
  type PlannedTag,
  type Reason,
  type ReasonCode,
  type RegistryFacts,
  type ReleaseFacts,
  type WorkloadImage,
} from './plan.js';
export { gatherCleanupFacts, type GatherClients, type GatherInput } from './gather.js';
export {
  DEFAULT_CLEANUP_CONCURRENCY,
  applyCleanup,
  type ApplyCleanupOptions,
  type CleanupClients,
  type CleanupReport,
  type CleanupTarget,
  type EnvironmentOutcome,
  type EnvironmentStatus,
  type StepEvent,
  type StepOutcome,
} from './apply.js';
export { runCleanup, type RunCleanupOptions, type RunCleanupResult } from './run.js';
export { describeAction, formatCleanup } from './format.js';
