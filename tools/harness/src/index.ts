/**
 * The real-component harness: provisioning, the running stack, and helpers tests use to reach it.
 * @packageDocumentation
 */
export {
  COMPONENT_NAMES,
  type Component,
  type ComponentName,
  type StartedComponent,
} from './component.js';
export {
  up,
  down,
  provision,
  readState,
  stackEnv,
  healthyComponents,
  type StackState,
} from './stack.js';
export { processCommandLines, requireEnv } from './test-env.js';
export { parseComponents } from './stack.js';
export { startPostgresInstance } from './components/postgres.js';
export { startMariadbInstance } from './components/mariadb.js';
export { commitFiles, gitIn, gitTokenEnv, type GitEnv } from './git-repo.js';
export { createPassCredentialStore, type PassCredentialStore } from './credential-store.js';
export {
  SAMPLE_SERVICE_DIR,
  prepareSampleProject,
  type SampleProject,
  type SampleProjectOptions,
} from './sample-project.js';
export {
  CloudflareDnsApi,
  startCloudflareApi,
  type CloudflareApiServer,
  type CloudflareRecord,
  type CloudflareRequestLog,
} from './daemons/cloudflare-api.js';
export {
  startFaultProxy,
  startKubeApiFaultProxy,
  trustedFaultProxyPorts,
  type FaultProxy,
  type FaultProxyOptions,
  type KubeApiFaultProxy,
  type ProxiedRequest,
} from './fault-proxy.js';
export { FaultSchedule, ruleMatches, type Fault, type FaultRule } from './fault-schedule.js';
