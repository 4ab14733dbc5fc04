import { silentLogger, type Logger } from '@deploytag/core';
import { DnsError, DnsErrorCodes } from './errors.js';
import { ownershipRecordName } from './ownership.js';
import {
  planDnsChanges,
  planDnsRemoval,
  type DnsChange,
  type DnsPlan,
  type DnsWantedRecord,
} from './plan.js';
import type { DnsProvider } from './provider.js';
import { isInZone, normalizeName } from './records.js';

/** What {@link upsertDns} and {@link removeDns} did. */
export interface DnsResult {
  /** The provider (`route53`, `cloudflare`). */
  provider: string;
  /** The zone. */
  zone: string;
  /** The plan: changes, unchanged names, names left alone. */
  plan: DnsPlan;
  /** Whether the changes were made (false for a dry run or when there was nothing to do). */
  applied: boolean;
}

/**
 * One line for people describing a change, such as `create A app.example.com → 203.0.113.10`.
 *
 * @param change - a planned change
 */
export function describeChange(change: DnsChange): string {
  const r = change.record;
  const values = r.values.join(', ');
  switch (change.action) {
    case 'create':
      return `create ${r.type} ${r.name} → ${values}`;
    case 'update':
      return `update ${r.type} ${r.name}: ${change.previous.values.join(', ')} → ${values}`;
    case 'delete':
      return `delete ${r.type} ${r.name} (${values})`;
  }
}

/**
 * Applies a plan's changes through a provider, logging each one, and reports the names left alone
 * as warnings.
 *
 * @param plan - from `planDnsChanges` or `planDnsRemoval`
 * @param provider - where the zone lives
 * @param logger - progress
 * @returns whether anything was changed
 */
export async function applyDnsChanges(
  plan: DnsPlan,
  provider: DnsProvider,
  logger: Logger = silentLogger,
): Promise<boolean> {
  for (const refusal of plan.refused) logger.warn(`left alone: ${refusal.reason}`);
  if (plan.changes.length === 0) {
    logger.info(`DNS in ${provider.zone} (${provider.kind}) needs no change`);
    return false;
  }
  for (const change of plan.changes) logger.info(describeChange(change));
  await provider.applyChanges(plan.changes);
  logger.info(`${plan.changes.length} DNS change(s) applied in ${provider.zone}`);
  return true;
}

function checkInZone(names: readonly string[], provider: DnsProvider): string[] {
  return names.map((raw) => {
    const name = normalizeName(raw);
    if (!isInZone(name, provider.zone)) {
      throw new DnsError(
        DnsErrorCodes.INVALID,
        `${name} is not in the zone ${provider.zone}; set DNS_ZONE to the zone that holds it`,
      );
    }
    return name;
  });
}

/** Options of {@link upsertDns}. */
export interface UpsertDnsOptions {
  /** Where the zone lives. */
  provider: DnsProvider;
  /** Who the records belong to (see `dnsOwner`). */
  owner: string;
  /** The host names and their targets. */
  records: readonly DnsWantedRecord[];
  /** Time to live in seconds; 300 unless given. */
  ttl?: number;
  /** Plan only. */
  dryRun?: boolean;
  /** Progress. */
  logger?: Logger;
}

/**
 * Makes each host name resolve to its target (creating, updating or changing the type of records
 * this owner made, leaving everyone else's alone): lists the names and their ownership records,
 * plans with `planDnsChanges`, applies unless `dryRun`.
 *
 * @param options - provider, owner, records, TTL, dry run, logger
 * @returns the plan and whether it was applied; names left alone are in `plan.refused`
 */
export async function upsertDns(options: UpsertDnsOptions): Promise<DnsResult> {
  const logger = options.logger ?? silentLogger;
  const { provider } = options;
  const names = checkInZone(
    options.records.map((r) => r.name),
    provider,
  );
  const existing = await provider.listRecords([
    ...new Set(names.flatMap((n) => [n, ownershipRecordName(n)])),
  ]);
  const plan = planDnsChanges(
    {
      owner: options.owner,
      records: options.records,
      ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
    },
    existing,
  );
  if (options.dryRun === true) {
    for (const refusal of plan.refused) logger.warn(`left alone: ${refusal.reason}`);
    return { provider: provider.kind, zone: provider.zone, plan, applied: false };
  }
  const applied = await applyDnsChanges(plan, provider, logger);
  return { provider: provider.kind, zone: provider.zone, plan, applied };
}

/** Options of {@link removeDns}. */
export interface RemoveDnsOptions {
  /** Where the zone lives. */
  provider: DnsProvider;
  /** Whose records to remove. */
  owner: string;
  /**
   * Look at these host names only; without them the whole zone is read and every record of this
   * owner is removed (what a cleanup of a deleted branch wants).
   */
  names?: readonly string[];
  /** Plan only. */
  dryRun?: boolean;
  /** Progress. */
  logger?: Logger;
}

/**
 * Removes the records this owner made (address records and their ownership records), never
 * touching a record without this owner's ownership record.
 *
 * @param options - provider, owner, names, dry run, logger
 * @returns the plan and whether it was applied
 */
export async function removeDns(options: RemoveDnsOptions): Promise<DnsResult> {
  const logger = options.logger ?? silentLogger;
  const { provider } = options;
  const names = options.names === undefined ? undefined : checkInZone(options.names, provider);
  const existing = await provider.listRecords(
    names === undefined
      ? undefined
      : [...new Set(names.flatMap((n) => [n, ownershipRecordName(n)]))],
  );
  const plan = planDnsRemoval(options.owner, existing, names);
  if (options.dryRun === true) {
    return { provider: provider.kind, zone: provider.zone, plan, applied: false };
  }
  const applied = await applyDnsChanges(plan, provider, logger);
  return { provider: provider.kind, zone: provider.zone, plan, applied };
}
