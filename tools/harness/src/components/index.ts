import type { Component, ComponentName } from '../component.js';

/**
 * Loads one component's module on demand, so a run that needs only some components never loads
 * (or provisions) the others.
 */
export async function loadComponent(name: ComponentName): Promise<Component> {
  switch (name) {
    case 'kube':
      return (await import('./kube.js')).kube;
    case 'helm':
      return (await import('./helm.js')).helm;
    case 'engine':
      return (await import('./engine.js')).engine;
    case 'registry':
      return (await import('./registry.js')).registry;
    case 'aws':
      return (await import('./aws.js')).aws;
    case 'postgres':
      return (await import('./postgres.js')).postgres;
    case 'mariadb':
      return (await import('./mariadb.js')).mariadb;
    case 'git':
      return (await import('./git.js')).git;
  }
}
