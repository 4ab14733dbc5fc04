import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('parseDuration', () => {
  it.each([
    ['7d', 7 * D],
    ['12h', 12 * H],
    ['30m', 30 * M],
    ['90s', 90 * S],
    ['2w', 14 * D],
    ['1d12h', D + 12 * H],
    ['1h30m15s', H + 30 * M + 15 * S],
    [' 7d ', 7 * D],
    ['0d1h', H],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '7', 'd', '7 d', '7D', '-7d', '1.5d', '7days', '7d x', 'x7d', '1y', '1d-2h'])(
    'refuses %j with a usage error that shows the accepted form',
    (text) => {
      expect(() => parseDuration(text)).toThrow(
        expect.objectContaining({ code: 'E_USAGE', exitCode: 2 }) as Error,
      );
      expect(() => parseDuration(text)).toThrow(/7d, 12h, 30m/);
    },
  );

  it('refuses a zero duration, which would make every preview stale', () => {
    for (const text of ['0d', '0s', '0h0m']) {
      expect(() => parseDuration(text)).toThrow(/more than zero/);
    }
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [400, '0s'],
    [90 * S, '1m30s'],
    [7 * D, '7d'],
    [D + 12 * H, '1d12h'],
    [3 * D + 4 * H + 5 * M + 6 * S, '3d4h5m6s'],
    [-5 * S, '0s'],
  ])('%d ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('reads back as the same duration (whole seconds)', () => {
    for (const ms of [S, 59 * S, H + S, 8 * D + 1 * M, 15 * D]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});
