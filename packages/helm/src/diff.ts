import { parseAllDocuments, stringify } from 'yaml';

/** One object's change between two manifests. */
export interface ObjectChange {
  /** `Kind/name`. */
  object: string;
  /** Added, removed or changed. */
  change: 'added' | 'removed' | 'changed';
  /** Diff lines (`+ `, `- `, `  `) of the object's YAML; Secret data shown as `***`. */
  lines: string[];
}

/** Splits a multi-document manifest into objects keyed `Kind/name` (pure). */
export function manifestObjects(manifest: string): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const doc of parseAllDocuments(manifest)) {
    const obj = doc.toJS() as unknown;
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) continue;
    const record = obj as Record<string, unknown>;
    const kind = typeof record.kind === 'string' ? record.kind : '?';
    const meta = (record.metadata ?? {}) as Record<string, unknown>;
    const name = typeof meta.name === 'string' ? meta.name : '?';
    out.set(`${kind}/${name}`, record);
  }
  return out;
}

/** A Secret with its values replaced by `***`, or `*** (changed)` where `other` differs. */
function maskSecret(
  obj: Record<string, unknown> | undefined,
  other: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (obj === undefined || obj.kind !== 'Secret') return obj;
  const copy: Record<string, unknown> = { ...obj };
  for (const field of ['data', 'stringData']) {
    const data = obj[field] as Record<string, unknown> | null | undefined;
    if (data === null || typeof data !== 'object') continue;
    const theirs = (other?.[field] ?? {}) as Record<string, unknown>;
    copy[field] = Object.fromEntries(
      Object.keys(data).map((k) => [
        k,
        other === undefined || theirs[k] === data[k] ? '***' : '*** (changed)',
      ]),
    );
  }
  return copy;
}

function lineDiff(a: string[], b: string[]): string[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] =
        a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push(`  ${a[i]!}`);
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      out.push(`- ${a[i]!}`);
      i++;
    } else {
      out.push(`+ ${b[j]!}`);
      j++;
    }
  }
  return out;
}

/**
 * What would change between the live manifest (`helm get manifest`) and the one a deploy would
 * apply (`helm template`) (pure). Unchanged objects are left out; Secret values are masked.
 *
 * @param live - the live manifest, or undefined when not installed
 * @param next - the rendered manifest
 */
export function diffManifests(live: string | undefined, next: string): ObjectChange[] {
  const before = manifestObjects(live ?? '');
  const after = manifestObjects(next);
  const changes: ObjectChange[] = [];
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  for (const key of keys) {
    const rawBefore = before.get(key);
    const rawAfter = after.get(key);
    const show = (obj: Record<string, unknown> | undefined): string[] =>
      obj === undefined ? [] : stringify(obj, { sortMapEntries: true }).trimEnd().split('\n');
    const a = show(maskSecret(rawBefore, undefined));
    const b = show(maskSecret(rawAfter, rawBefore));
    if (!before.has(key))
      changes.push({ object: key, change: 'added', lines: b.map((l) => `+ ${l}`) });
    else if (!after.has(key))
      changes.push({ object: key, change: 'removed', lines: a.map((l) => `- ${l}`) });
    else if (a.join('\n') !== b.join('\n')) {
      const lines = lineDiff(a, b);
      // Keep changed lines with two lines of context.
      const keep = new Set<number>();
      lines.forEach((l, idx) => {
        if (!l.startsWith('  ')) for (let k = idx - 2; k <= idx + 2; k++) keep.add(k);
      });
      changes.push({
        object: key,
        change: 'changed',
        lines: lines.filter((_, idx) => keep.has(idx)),
      });
    }
  }
  return changes;
}
