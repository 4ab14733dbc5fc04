/**
 * `@deploytag/pipeline`: the push-to-deploy flow as a plan of steps with their dependencies,
 * run concurrently where independent, with progress events and a report.
 * @packageDocumentation
 */
export {
  orderSteps,
  runSteps,
  type RunReport,
  type RunStepsOptions,
  type Step,
  type StepContext,
  type StepEvent,
  type StepReport,
  type StepResult,
  type StepStatus,
} from './steps.js';
export {
  TaskList,
  detectProgressMode,
  formatDuration,
  renderGithubEvent,
  renderMarkdownSummary,
  renderPlainEvent,
  renderPlan,
  renderSummary,
  type ProgressMode,
  type TaskListStream,
} from './progress.js';
export {
  PUSH_STEP_IDS,
  planPush,
  type DatabaseSettings,
  type PlannedStep,
  type PushFacts,
  type PushStepId,
} from './plan.js';
export {
  connectPushClients,
  preparePush,
  runPush,
  type Env,
  type PreparedPush,
  type PushClients,
  type PushInput,
  type PushOptions,
  type PushResult,
} from './push.js';
