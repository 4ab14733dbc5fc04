import { describe, expect, it } from 'vitest';
import { diffManifests } from './diff.js';

const deployment = (tag: string): string => `---
# Source: web/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: web
          image: "web:${tag}"
`;
const secret = (value: string): string => `---
apiVersion: v1
kind: Secret
metadata:
  name: creds
data:
  password: ${value}
`;

describe('diffManifests', () => {
  it('reports nothing for identical manifests', () => {
    expect(diffManifests(deployment('a'), deployment('a'))).toEqual([]);
  });

  it('shows changed lines with context, added and removed objects', () => {
    const changes = diffManifests(deployment('a'), `${deployment('b')}${secret('eHl6')}`);
    expect(changes.map((c) => [c.change, c.object])).toEqual([
      ['changed', 'Deployment/web'],
      ['added', 'Secret/creds'],
    ]);
    expect(changes[0]!.lines.filter((l) => !l.startsWith('  '))).toEqual([
      '-         - image: web:a',
      '+         - image: web:b',
    ]);
    expect(diffManifests(deployment('a'), '')).toEqual([
      expect.objectContaining({ change: 'removed', object: 'Deployment/web' }),
    ]);
  });

  it('never shows Secret values, only that they changed', () => {
    const changes = diffManifests(secret('b2xk'), secret('bmV3'));
    expect(JSON.stringify(changes)).not.toMatch(/b2xk|bmV3/);
    expect(changes).toHaveLength(1);
    expect(changes[0]!.lines.filter((l) => !l.startsWith('  '))).toEqual([
      '-   password: "***"',
      '+   password: "*** (changed)"',
    ]);
    expect(diffManifests(secret('b2xk'), secret('b2xk'))).toEqual([]);
    const added = diffManifests(undefined, secret('c2VjcmV0'));
    expect(added[0]!.lines).toContain('+   password: "***"');
    expect(JSON.stringify(added)).not.toContain('c2VjcmV0');
  });
});
