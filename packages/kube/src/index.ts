/**
 * `@deploytag/kube`: Kubernetes for deploys through `@kubernetes/client-node`. Kubeconfig loading
 * and writing (EKS and GKE without their CLIs), branch namespaces that are provably ours, the
 * environment Secret and its checksum, registry pull secrets, rollout diagnosis, addresses,
 * deploy locks (Leases) and port-forwarding.
 *
 * @packageDocumentation
 */
export { createKubeClients, type KubeClients, type KubeClientsOptions } from './clients.js';
export { type KubeRetryOptions } from './http.js';
export { KubeError, KubeErrorCodes, apiStatus, isNotFound } from './errors.js';
export {
  kubeConfigToken,
  kubeConfigWithToken,
  loadKubeConfig,
  writeKubeConfig,
  type LoadKubeConfigOptions,
  type TokenClusterConfig,
} from './kubeconfig.js';
export {
  eksKubeConfig,
  eksToken,
  type AwsCredentials,
  type EksKubeConfigInput,
  type EksToken,
  type EksTokenInput,
} from './eks.js';
export {
  CLOUD_PLATFORM_SCOPE,
  GOOGLE_TOKEN_URI,
  gkeKubeConfig,
  googleAccessToken,
  parseServiceAccountKey,
  serviceAccountAssertion,
  type GkeClusterInput,
  type GoogleHttpOptions,
  type ServiceAccountKey,
} from './gke.js';
export {
  BRANCH_ANNOTATION,
  DEPLOYED_AT_ANNOTATION,
  ENVIRONMENT_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  REPO_LABEL,
  ensureNamespace,
  labelValue,
  namespaceExists,
  planNamespace,
  type NamespacePlan,
  type NamespaceWant,
} from './namespace.js';
export {
  CHECKSUM_ANNOTATION,
  applyEnvSecret,
  envChecksum,
  envSecretBody,
  envSecretName,
  type EnvSecretSpec,
} from './env-secret.js';
export {
  GCP_PULL_SECRET,
  applyRegistrySecret,
  dockerConfigJson,
  planRegistrySecret,
  type RegistryCredentials,
  type RegistrySecretInput,
  type RegistrySecretPlan,
} from './pull-secret.js';
export {
  FATAL_REASONS,
  HELM_RELEASE_ANNOTATION,
  diagnoseRollout,
  lastLogLines,
  podsOfWorkloads,
  readRolloutSnapshot,
  watchRollout,
  type RolloutDiagnosis,
  type RolloutProblem,
  type RolloutProblemReason,
  type RolloutSnapshot,
  type WatchRolloutOptions,
} from './readiness.js';
export {
  addressUrls,
  releaseAddresses,
  waitForAddresses,
  type ReleaseAddresses,
  type WaitForAddressesOptions,
} from './address.js';
export {
  acquireLease,
  holderIdentity,
  lockName,
  planLease,
  type AcquireLeaseOptions,
  type HeldLease,
  type LeasePlan,
  type LeaseState,
} from './lease.js';
export {
  parseForwardTarget,
  resolveForwardTarget,
  runWithPortForward,
  startPortForward,
  type ForwardTarget,
  type PortForwardCommandResult,
  type PortForwardOptions,
  type RunWithPortForwardOptions,
  type RunningPortForward,
} from './port-forward.js';
export { configK8s, type ConfigK8sOptions, type ConfigK8sResult } from './config-k8s.js';
