/**
 * The pure half of `@deploytag/dns`: what to change, from what is wanted and what exists. No I/O.
 *
 * @packageDocumentation
 */
import { DnsError, DnsErrorCodes } from './errors.js';
import {
  assertOwnerId,
  ownedName,
  ownershipRecordName,
  ownershipText,
  parseOwnership,
} from './ownership.js';
import {
  ADDRESS_RECORD_TYPES,
  DNS_NAME_MAX_LENGTH,
  isHostName,
  normalizeName,
  normalizeTarget,
  normalizeValue,
  recordTypeFor,
  type DnsRecordSet,
} from './records.js';

/** The time to live of the records DeployTag writes unless told otherwise, in seconds. */
export const DEFAULT_TTL = 300;

/** One host name that should resolve to a target. */
export interface DnsWantedRecord {
  /** The fully qualified host name. */
  name: string;
  /** An IPv4 address (A record), an IPv6 address (AAAA) or a host name (CNAME). */
  target: string;
}

/** What an environment wants in DNS. */
export interface DnsWant {
  /** Who the records belong to (see `dnsOwner`); written into every ownership record. */
  owner: string;
  /** The host names and their targets. */
  records: readonly DnsWantedRecord[];
  /** Time to live of the address and ownership records; {@link DEFAULT_TTL} unless given. */
  ttl?: number;
}

/** One change to a zone. Changes are applied in the order of {@link DnsPlan.changes}. */
export type DnsChange =
  | {
      /** Add a record set that does not exist. */
      action: 'create';
      /** The record set to add. */
      record: DnsRecordSet;
      /** Why, for people. */
      reason: string;
    }
  | {
      /** Replace the values or TTL of a record set (same name and type). */
      action: 'update';
      /** The record set as it should be. */
      record: DnsRecordSet;
      /** The record set as it is (with the provider's ids). */
      previous: DnsRecordSet;
      /** Why, for people. */
      reason: string;
    }
  | {
      /** Remove a record set. */
      action: 'delete';
      /** The record set as it is (with the provider's ids). */
      record: DnsRecordSet;
      /** Why, for people. */
      reason: string;
    };

/** A wanted name left alone, and why. */
export interface DnsRefusal {
  /** The host name. */
  name: string;
  /** Why it is left alone and what to do about it. */
  reason: string;
  /** The owner named by its ownership record, when another DeployTag environment has it. */
  owner?: string;
}

/** The outcome of planning: the changes, and the names needing none or left alone. */
export interface DnsPlan {
  /** The owner the plan acts for. */
  owner: string;
  /** Changes in the order to apply them. */
  changes: DnsChange[];
  /** Names that are already as wanted (or, for a removal, have nothing of ours). */
  unchanged: string[];
  /** Names left alone because they belong to someone else. */
  refused: DnsRefusal[];
}

function key(name: string, type: string): string {
  return `${name} ${type}`;
}

/** Record sets by name, with names and types in canonical form. */
function indexByName(existing: readonly DnsRecordSet[]): Map<string, DnsRecordSet[]> {
  const byName = new Map<string, DnsRecordSet[]>();
  for (const set of existing) {
    const name = normalizeName(set.name);
    const type = set.type.toUpperCase();
    const normalized: DnsRecordSet = {
      ...set,
      name,
      type,
      values: set.values.map((v) => normalizeValue(type, v)),
    };
    const list = byName.get(name) ?? [];
    const same = list.find((s) => s.type === type);
    if (same) {
      // A provider that lists one record per value (Cloudflare): merge into one set.
      same.values.push(...normalized.values);
      if (normalized.ids) same.ids = [...(same.ids ?? []), ...normalized.ids];
    } else {
      list.push({
        ...normalized,
        values: [...normalized.values],
        ...(normalized.ids ? { ids: [...normalized.ids] } : {}),
      });
    }
    byName.set(name, list);
  }
  return byName;
}

type Ownership =
  | { kind: 'none' }
  | { kind: 'ours'; txt: DnsRecordSet }
  | { kind: 'other'; owner: string }
  | { kind: 'foreign-txt' };

function ownershipOf(txt: DnsRecordSet | undefined, owner: string): Ownership {
  if (txt === undefined || txt.values.length === 0) return { kind: 'none' };
  const owners = txt.values.flatMap((v) => {
    const parsed = parseOwnership(v);
    return parsed ? [parsed.owner] : [];
  });
  if (owners.includes(owner)) return { kind: 'ours', txt };
  const other = owners[0];
  return other === undefined ? { kind: 'foreign-txt' } : { kind: 'other', owner: other };
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sorted = (x: readonly string[]) => [...x].sort();
  const sa = sorted(a);
  const sb = sorted(b);
  return sa.every((v, i) => v === sb[i]);
}

function describe(set: DnsRecordSet): string {
  return `${set.type} ${set.values.join(', ')}`;
}

function checkTtl(ttl: number): void {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 2_147_483_647) {
    throw new DnsError(
      DnsErrorCodes.INVALID,
      `the DNS TTL ${ttl} is not a whole number of seconds between 1 and 2147483647; set DNS_TTL to such as 300`,
    );
  }
}

/** Wanted records in canonical form, checked, one per name. */
function normalizeWanted(
  records: readonly DnsWantedRecord[],
): { name: string; target: string; type: string }[] {
  const out: { name: string; target: string; type: string }[] = [];
  for (const record of records) {
    const name = normalizeName(record.name);
    if (!isHostName(name)) {
      throw new DnsError(
        DnsErrorCodes.INVALID,
        `${JSON.stringify(record.name)} is not a host name; record names are dot-separated labels of letters, digits and -`,
      );
    }
    if (ownershipRecordName(name).length > DNS_NAME_MAX_LENGTH) {
      throw new DnsError(
        DnsErrorCodes.INVALID,
        `${name} is too long to carry an ownership record (${ownershipRecordName(name)} would exceed ${DNS_NAME_MAX_LENGTH} characters); use a shorter record template`,
      );
    }
    const type = recordTypeFor(record.target.trim());
    const target = normalizeTarget(record.target);
    if (type === 'CNAME' && target === name) {
      throw new DnsError(DnsErrorCodes.INVALID, `${name} cannot be a CNAME to itself`);
    }
    const earlier = out.find((o) => o.name === name);
    if (earlier) {
      if (earlier.target !== target) {
        throw new DnsError(
          DnsErrorCodes.INVALID,
          `${name} is wanted twice, pointing at ${earlier.target} and at ${target}; record templates must give distinct names`,
        );
      }
      continue;
    }
    out.push({ name, target, type });
  }
  return out;
}

/**
 * Plans the changes that make each wanted name resolve to its target, touching only records this
 * owner made.
 *
 * For each name, with `_deploytag.<name>` its ownership TXT record:
 * - nothing there: create the ownership record, then the address record;
 * - ours (the ownership record names `want.owner`): update the address record when its value or
 *   TTL differs; when the type changes (A ↔ CNAME ↔ AAAA), delete the old record first, then
 *   create the new one; leave it when it is already right;
 * - someone else's (another owner's ownership record, a TXT at the ownership name that is not
 *   DeployTag's, or an address record without any ownership record): refuse, no change;
 * - a CNAME is also refused when other records (MX, TXT, …) share the name, as DNS forbids it.
 *
 * Changes are ordered so that each step is safe if the next fails: deletions of replaced types
 * first (a CNAME must be gone before an A can be added), then ownership records, then address
 * records — an address record never exists without its ownership record.
 *
 * @param want - owner, names and targets, TTL
 * @param existing - the record sets at the wanted names and at their ownership names (other
 *   record sets are ignored)
 * @throws DnsError `E_DNS_INVALID` for a bad owner, name, target or TTL, or one name wanted with
 *   two targets
 */
export function planDnsChanges(want: DnsWant, existing: readonly DnsRecordSet[]): DnsPlan {
  assertOwnerId(want.owner);
  const ttl = want.ttl ?? DEFAULT_TTL;
  checkTtl(ttl);
  const wanted = normalizeWanted(want.records);
  const byName = indexByName(existing);
  const deletes: DnsChange[] = [];
  const ownershipChanges: DnsChange[] = [];
  const addressChanges: DnsChange[] = [];
  const plan: DnsPlan = { owner: want.owner, changes: [], unchanged: [], refused: [] };
  const txtName = (name: string) => ownershipRecordName(name);

  for (const { name, target, type } of wanted) {
    const atName = byName.get(name) ?? [];
    const address = atName.filter((s) =>
      (ADDRESS_RECORD_TYPES as readonly string[]).includes(s.type),
    );
    const others = atName.filter(
      (s) => !(ADDRESS_RECORD_TYPES as readonly string[]).includes(s.type),
    );
    const txt = byName.get(txtName(name))?.find((s) => s.type === 'TXT');
    const ownership = ownershipOf(txt, want.owner);

    if (ownership.kind === 'other') {
      plan.refused.push({
        name,
        owner: ownership.owner,
        reason: `${name} belongs to ${ownership.owner} (its ownership record ${txtName(name)} says so), not to ${want.owner}; use another record template, or remove it from that environment first`,
      });
      continue;
    }
    if (ownership.kind === 'foreign-txt') {
      plan.refused.push({
        name,
        reason: `${txtName(name)} holds a TXT record that DeployTag did not write, so ${name} cannot be marked as ours; remove that TXT record or use another record template`,
      });
      continue;
    }
    if (ownership.kind === 'none' && address.length > 0) {
      plan.refused.push({
        name,
        reason: `${name} already has a record DeployTag did not create (${address.map(describe).join('; ')}) and no ownership record at ${txtName(name)}; delete it by hand or use another record template`,
      });
      continue;
    }
    if (type === 'CNAME' && others.length > 0) {
      plan.refused.push({
        name,
        reason: `${name} has other records (${others.map((s) => s.type).join(', ')}), and a CNAME cannot share its name with any record; remove them or use another record template`,
      });
      continue;
    }

    const record: DnsRecordSet = { name, type, values: [target], ttl };
    if (ownership.kind === 'none') {
      ownershipChanges.push({
        action: 'create',
        record: { name: txtName(name), type: 'TXT', values: [ownershipText(want.owner)], ttl },
        reason: `marks ${name} as owned by ${want.owner}`,
      });
      addressChanges.push({ action: 'create', record, reason: `${name} is new` });
      continue;
    }
    const current = address.find((s) => s.type === type);
    for (const stale of address.filter((s) => s.type !== type)) {
      deletes.push({
        action: 'delete',
        record: stale,
        reason: `${name} changes from ${stale.type} to ${type}`,
      });
    }
    if (current === undefined) {
      addressChanges.push({
        action: 'create',
        record,
        reason: address.length > 0 ? `${name} changes to ${type}` : `${name} is missing`,
      });
    } else if (!sameValues(current.values, record.values) || current.ttl !== ttl) {
      addressChanges.push({
        action: 'update',
        record,
        previous: current,
        reason: sameValues(current.values, record.values)
          ? `the TTL of ${name} changes from ${current.ttl ?? 'none'} to ${ttl}`
          : `${name} moves from ${current.values.join(', ')} to ${target}`,
      });
    } else if (address.length === 1) {
      plan.unchanged.push(name);
    }
  }
  plan.changes = [...deletes, ...ownershipChanges, ...addressChanges];
  return plan;
}

/**
 * Plans the removal of every record this owner made among `existing`: for each ownership record
 * naming `owner`, the address records (A, AAAA, CNAME) at its name, then the ownership record
 * itself (or only this owner's value, if the TXT record holds others too). Records of other owners
 * and records without an ownership record are never touched.
 *
 * @param owner - whose records to remove
 * @param existing - record sets to consider (a whole zone, or some names and their ownership names)
 * @param names - the host names the caller asked about, if any: those that are someone else's are
 *   reported in {@link DnsPlan.refused}, those without anything of ours in {@link DnsPlan.unchanged}
 * @throws DnsError `E_DNS_INVALID` for a bad owner
 */
export function planDnsRemoval(
  owner: string,
  existing: readonly DnsRecordSet[],
  names?: readonly string[],
): DnsPlan {
  assertOwnerId(owner);
  const byName = indexByName(existing);
  const addressDeletes: DnsChange[] = [];
  const ownershipChanges: DnsChange[] = [];
  const plan: DnsPlan = { owner, changes: [], unchanged: [], refused: [] };
  const removed = new Set<string>();
  const seen = new Set<string>();

  for (const [txtName, sets] of byName) {
    const name = ownedName(txtName);
    const txt = sets.find((s) => s.type === 'TXT');
    if (name === undefined || txt === undefined) continue;
    if (ownershipOf(txt, owner).kind !== 'ours') continue;
    for (const set of byName.get(name) ?? []) {
      if (!(ADDRESS_RECORD_TYPES as readonly string[]).includes(set.type)) continue;
      if (seen.has(key(name, set.type))) continue;
      seen.add(key(name, set.type));
      addressDeletes.push({ action: 'delete', record: set, reason: `${name} belongs to ${owner}` });
    }
    const rest = txt.values.filter((v) => parseOwnership(v)?.owner !== owner);
    if (rest.length === 0) {
      ownershipChanges.push({
        action: 'delete',
        record: txt,
        reason: `${name} no longer belongs to ${owner}`,
      });
    } else {
      ownershipChanges.push({
        action: 'update',
        record: {
          name: txt.name,
          type: 'TXT',
          values: rest,
          ...(txt.ttl === undefined ? {} : { ttl: txt.ttl }),
        },
        previous: txt,
        reason: `${name} no longer belongs to ${owner}; the other values of ${txtName} stay`,
      });
    }
    removed.add(name);
  }

  for (const asked of (names ?? []).map(normalizeName)) {
    if (removed.has(asked)) continue;
    const address = (byName.get(asked) ?? []).filter((s) =>
      (ADDRESS_RECORD_TYPES as readonly string[]).includes(s.type),
    );
    const ownership = ownershipOf(
      byName.get(ownershipRecordName(asked))?.find((s) => s.type === 'TXT'),
      owner,
    );
    if (ownership.kind === 'other') {
      plan.refused.push({
        name: asked,
        owner: ownership.owner,
        reason: `${asked} belongs to ${ownership.owner}, not to ${owner}; left alone`,
      });
    } else if (address.length > 0) {
      plan.refused.push({
        name: asked,
        reason: `${asked} has a record DeployTag did not create (no ownership record of ${owner}); left alone`,
      });
    } else {
      plan.unchanged.push(asked);
    }
  }
  plan.changes = [...addressDeletes, ...ownershipChanges];
  return plan;
}
