import type { DnsChange } from './plan.js';
import type { DnsRecordSet } from './records.js';

/**
 * A DNS service holding one zone: what `upsertDns` and `removeDns` need from Route 53, Cloudflare
 * or any other provider.
 */
export interface DnsProvider {
  /** The provider's name, for messages (`route53`, `cloudflare`). */
  readonly kind: string;
  /** The zone's apex, canonical form (such as `example.com`). */
  readonly zone: string;
  /** The provider's id of the zone. */
  readonly zoneId: string;
  /**
   * The record sets at the given names (exact names, no subdomains), or in the whole zone when no
   * names are given. Every page is read.
   *
   * @param names - names in canonical form
   */
  listRecords(names?: readonly string[]): Promise<DnsRecordSet[]>;
  /**
   * Applies changes in order. Deletions and updates name record sets as `listRecords` returned
   * them (with their `ids`, where the provider has them).
   *
   * @param changes - from `planDnsChanges` or `planDnsRemoval`
   */
  applyChanges(changes: readonly DnsChange[]): Promise<void>;
}
