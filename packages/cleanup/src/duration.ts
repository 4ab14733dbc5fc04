import { UsageError } from '@deploytag/core';

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PART = /(\d+)([smhdw])/gy;

/**
 * Reads a duration such as `7d`, `12h`, `30m`, `90s`, `2w` or a sum of parts (`1d12h`), as
 * milliseconds. Units: `s`, `m`, `h`, `d` (24 hours), `w` (7 days).
 *
 * @param text - the duration, as given to `--older-than`
 * @returns the duration in milliseconds (always more than zero)
 * @throws UsageError (exit code 2) for anything else, or for a zero duration
 */
export function parseDuration(text: string): number {
  const input = text.trim();
  let total = 0;
  let end = 0;
  PART.lastIndex = 0;
  for (let match = PART.exec(input); match !== null; match = PART.exec(input)) {
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 0);
    end = PART.lastIndex;
  }
  if (input === '' || end !== input.length || !Number.isSafeInteger(total)) {
    throw new UsageError(
      `${JSON.stringify(text)} is not a duration; write a number and a unit: 7d, 12h, 30m, 90s, 2w or 1d12h`,
      { details: { duration: text } },
    );
  }
  if (total === 0) {
    throw new UsageError(
      `a duration of ${JSON.stringify(text)} would make every preview stale; give more than zero`,
      { details: { duration: text } },
    );
  }
  return total;
}

/**
 * Writes milliseconds as the largest whole units (`7d`, `1d12h`, `90s` → `1m30s`), for messages.
 *
 * @param ms - a duration in milliseconds
 */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms / 1000)) * 1000;
  if (rest === 0) return '0s';
  const parts: string[] = [];
  for (const unit of ['d', 'h', 'm', 's']) {
    const size = UNIT_MS[unit] ?? 1;
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * size;
  }
  return parts.join('');
}
