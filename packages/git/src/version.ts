/** A tag name read as a SemVer version. */
export interface TagVersion {
  /** `v` (or `V`) when the tag starts with one, else `''`. */
  prefix: string;
  major: number;
  minor: number;
  patch: number;
  /**
   * Pre-release identifiers, numbers as numbers. The original DeployTag's `-preN` (one
   * identifier, `pre9`) is read as `['pre', 9]`, so `-pre10` sorts after `-pre9`.
   */
  prerelease: (string | number)[];
  /** Build metadata after `+`, ignored for ordering. */
  build: string;
}

const VERSION =
  /^([vV]?)(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

const NUMERIC = /^(0|[1-9]\d*)$/;
const LEGACY_PRE = /^pre(0|[1-9]\d*)$/;

/**
 * Reads a tag name such as `v1.2.3`, `1.2.3-pre.4`, or the original's `v1.2.4-pre9` as a
 * version.
 *
 * @param name - a tag name (without `refs/tags/`)
 * @returns the version, or `undefined` when the name is not a SemVer version (with optional `v`)
 */
export function parseTagVersion(name: string): TagVersion | undefined {
  const m = VERSION.exec(name);
  if (m === null) return undefined;
  const nums = [m[2]!, m[3]!, m[4]!].map(Number);
  if (nums.some((n) => !Number.isSafeInteger(n))) return undefined;
  const prerelease: (string | number)[] = [];
  for (const id of m[5]?.split('.') ?? []) {
    const legacy = LEGACY_PRE.exec(id);
    if (legacy !== null) prerelease.push('pre', Number(legacy[1]));
    else if (NUMERIC.test(id)) prerelease.push(Number(id));
    else if (/^\d+$/.test(id))
      return undefined; // leading zero: not SemVer
    else prerelease.push(id);
  }
  if (prerelease.some((id) => typeof id === 'number' && !Number.isSafeInteger(id)))
    return undefined;
  return {
    prefix: m[1]!,
    major: nums[0]!,
    minor: nums[1]!,
    patch: nums[2]!,
    prerelease,
    build: m[6] ?? '',
  };
}

function compareIds(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * SemVer precedence of two parsed versions (prefix and build metadata ignored).
 *
 * @returns a negative number, zero or a positive number
 */
export function compareVersions(a: TagVersion, b: TagVersion): number {
  const core = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (core !== 0) return Math.sign(core);
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return b.prerelease.length - a.prerelease.length === 0 ? 0 : a.prerelease.length === 0 ? 1 : -1;
  }
  const n = Math.min(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < n; i++) {
    const c = compareIds(a.prerelease[i]!, b.prerelease[i]!);
    if (c !== 0) return Math.sign(c);
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

/**
 * Orders two tag names: versions by SemVer precedence (legacy `-preN` read as `-pre.N`), all
 * non-version names before every version, in code-point order. Equal versions are ordered by
 * name so the order is total.
 *
 * @returns a negative number, zero or a positive number, for `Array.prototype.sort`
 */
export function compareTagNames(a: string, b: string): number {
  const va = parseTagVersion(a);
  const vb = parseTagVersion(b);
  if (va !== undefined && vb !== undefined) {
    const c = compareVersions(va, vb);
    if (c !== 0) return c;
  } else if (va !== undefined) return 1;
  else if (vb !== undefined) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Returns the items sorted by {@link compareTagNames} of their `name`, oldest version first.
 * The input is not modified.
 *
 * @param tags - tags (or anything with a `name`)
 */
export function sortTagsByVersion<T extends { name: string }>(tags: readonly T[]): T[] {
  return [...tags].sort((x, y) => compareTagNames(x.name, y.name));
}
