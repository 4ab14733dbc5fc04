/**
 * `@deploytag/helm`: the helm CLI driven safely through core's `runCommand`, and the deploy flow
 * of the original `deploy.sh` built on it and `@deploytag/kube`. Values go into private values
 * files (never onto helm's command line), stuck releases are recovered under a lock, a redeploy
 * of an unchanged chart and values skips helm, and a deploy of a commit older than the live one
 * can be skipped (each revision records its commit).
 *
 * @packageDocumentation
 */
export { HelmError, HelmErrorCodes } from './errors.js';
export {
  findHelm,
  isSupportedHelm,
  parseHelmVersion,
  type HelmBinary,
  type HelmVersion,
} from './binary.js';
export { createHelm, type Helm, type HelmCallOptions, type HelmTarget } from './helm.js';
export {
  generatedValues,
  helmVarsToYaml,
  maskValues,
  mergeValues,
  parseHelmVars,
  parseHelmVarsArgs,
  substituteEnv,
  type GeneratedValuesInput,
  type HelmVarsInput,
  type Values,
} from './values.js';
export {
  planRecovery,
  recoverRelease,
  releaseHistory,
  releaseManifest,
  releaseStatus,
  releaseValues,
  uninstallRelease,
  type RecoveryPlan,
  type ReleaseRevision,
  type ReleaseStatus,
  type ReleaseStatusInfo,
} from './release.js';
export { diffManifests, manifestObjects, type ObjectChange } from './diff.js';
export { readChartFacts, type ChartFacts } from './chart.js';
export {
  applyDeploy,
  deploy,
  parseRevisionDescription,
  planDeploy,
  prepareDeployInput,
  previewDeploy,
  type DeployClients,
  type DeployFacts,
  type DeployInput,
  type DeployOptions,
  type DeployPlan,
  type DeployPreview,
  type DeployResult,
  type RevisionMarks,
} from './deploy.js';
export { connectDeployClients, type ConnectOptions, type ConnectedClients } from './connect.js';
