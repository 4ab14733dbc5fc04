import { Secret } from '@deploytag/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyPrecedence, mergeSecrets } from './merge.js';
import type { FetchedSecret } from './merge.js';

const secret = (id: string, pairs: Record<string, string>): FetchedSecret => ({
  id,
  entries: Object.entries(pairs).map(([name, value]) => ({ name, value: Secret.of(value) })),
});
const reveal = (values: Map<string, { value: Secret; origin: string }>) =>
  Object.fromEntries([...values].map(([k, v]) => [k, [v.value.reveal(), v.origin]]));

describe('mergeSecrets', () => {
  it('merges in order, later wins, collisions by name and ids only', () => {
    const { values, collisions } = mergeSecrets([
      secret('a', { X: '1', Y: '1' }),
      secret('b', { Y: '2', Z: '2' }),
      secret('c', { Y: '3' }),
    ]);
    expect(reveal(values)).toEqual({
      X: ['1', 'secret:a'],
      Y: ['3', 'secret:c'],
      Z: ['2', 'secret:b'],
    });
    expect(collisions).toEqual([{ name: 'Y', ids: ['a', 'b', 'c'] }]);
    expect(JSON.stringify(collisions)).not.toMatch(/"[123]"/);
  });

  it('the last setter always wins (property)', () => {
    const ids = fc.constantFrom('a', 'b', 'c', 'd');
    const names = fc.constantFrom('A', 'B', 'C');
    fc.assert(
      fc.property(fc.array(fc.tuple(ids, fc.dictionary(names, fc.string()))), (list) => {
        const fetched = list.map(([id, pairs]) => secret(id, pairs));
        const { values, collisions } = mergeSecrets(fetched);
        for (const name of ['A', 'B', 'C']) {
          const setters = list.filter(([, pairs]) => name in pairs);
          const last = setters[setters.length - 1];
          expect(values.get(name)?.value.reveal()).toBe(last?.[1][name]);
          expect(collisions.some((c) => c.name === name)).toBe(setters.length > 1);
        }
      }),
    );
  });
});

describe('applyPrecedence', () => {
  const merged = mergeSecrets([
    secret('s', { A: 'secret', B: 'secret', C: 'secret', D: 'secret' }),
  ]).values;

  it('keeps a non-empty environment value, as ${KEY:-VALUE}', () => {
    const { values, kept } = applyPrecedence(
      merged,
      { A: 'env', B: '', D: 'env' },
      { unset: ['D'] },
    );
    expect(reveal(values)).toEqual({
      A: ['env', 'env:A'],
      B: ['secret', 'secret:s'],
      C: ['secret', 'secret:s'],
      D: ['secret', 'secret:s'],
    });
    expect(kept).toEqual(['A']);
  });

  it('lets the secret win with override', () => {
    const { values, kept } = applyPrecedence(merged, { A: 'env' }, { override: true });
    expect(values.get('A')?.value.reveal()).toBe('secret');
    expect(kept).toEqual([]);
  });
});
