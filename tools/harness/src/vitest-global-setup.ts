/**
 * Vitest global setup for the integration and e2e tiers: reuses a running stack when it has every
 * component the run needs (and leaves it running), otherwise starts one and stops it afterwards.
 * `DEPLOYTAG_STACK_COMPONENTS=kube,helm` limits a run to some components.
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { down, healthyComponents, parseComponents, readState, stackEnv, up } from './stack.js';

declare module 'vitest' {
  export interface ProvidedContext {
    stackEnv: Record<string, string>;
  }
}

export default async function setup(
  project: TestProject,
): Promise<(() => Promise<void>) | undefined> {
  const wanted = parseComponents(process.env['DEPLOYTAG_STACK_COMPONENTS']);
  const healthy = new Set(healthyComponents(readState()));
  const reuse = wanted.every((n) => healthy.has(n));
  const state = reuse ? readState() : await up(wanted);
  const env = stackEnv(state);
  Object.assign(process.env, env);
  project.provide('stackEnv', env);
  if (reuse) return undefined;
  return async () => {
    await down();
  };
}
