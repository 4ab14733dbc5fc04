import { describe, expect, it } from 'vitest';
import { lockKey } from './lock.js';

describe('lockKey', () => {
  it('is stable per database and distinct between databases', () => {
    expect(lockKey('shop-a')).toEqual(lockKey('shop-a'));
    expect(lockKey('shop-a').bigint).not.toBe(lockKey('shop-b').bigint);
  });

  it('splits the 64-bit key into the halves pg_locks shows, and fits GET_LOCK names', () => {
    const key = lockKey('shop-a');
    const value = BigInt.asUintN(64, BigInt(key.bigint));
    expect(Number(value >> 32n)).toBe(key.high);
    expect(Number(value & 0xffffffffn)).toBe(key.low);
    expect(key.name.length).toBeLessThanOrEqual(64);
    expect(key.name).toMatch(/^deploytag:init:[0-9a-f]{40}$/);
  });
});
