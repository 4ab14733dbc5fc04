/**
 * The `release` script's replacement: plan the next production or beta version purely from the
 * tags and commits (`planRelease`), then tag, push and publish it (`applyRelease`), or do it
 * all as the command does (`runRelease`). Importing this module starts no command-line parser.
 *
 * @packageDocumentation
 */

export { ReleaseErrorCodes, planRelease, selectBase } from './plan.js';
export type {
  BaseSelection,
  BumpOption,
  PlanReleaseOptions,
  ReleaseChannel,
  ReleaseFacts,
  ReleasePlan,
} from './plan.js';
export { bumpFromCommits, parseConventionalCommit, renderNotes } from './notes.js';
export type { BumpLevel, ConventionalCommit, NotesContext } from './notes.js';
export { gatherReleaseFacts } from './gather.js';
export type { GatherReleaseFactsOptions } from './gather.js';
export { createGitHubReleases } from './github.js';
export type {
  CreateReleaseInput,
  GitHubClientOptions,
  GitHubRelease,
  GitHubReleases,
} from './github.js';
export { applyRelease } from './apply.js';
export type { ActionablePlan, ApplyResult, ReleaseClients } from './apply.js';
export { formatOutcome, runRelease } from './run.js';
export type { RunReleaseOptions, RunReleaseOutcome } from './run.js';
