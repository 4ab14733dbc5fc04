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
