import { isIPv4, isIPv6 } from 'node:net';
import { DnsError, DnsErrorCodes } from './errors.js';

/** Record types DeployTag writes: an address record for each host, a TXT record for ownership. */
export type AddressRecordType = 'A' | 'AAAA' | 'CNAME';

/** Every record type DeployTag reads as an address record (the ones a host name resolves through). */
export const ADDRESS_RECORD_TYPES: readonly AddressRecordType[] = ['A', 'AAAA', 'CNAME'];

/**
 * A record set as DeployTag sees it, the same for every provider: every record of one name and one
 * type.
 */
export interface DnsRecordSet {
  /** Fully qualified name, lower case, without the trailing dot. */
  name: string;
  /** Record type (`A`, `AAAA`, `CNAME`, `TXT`, or any other type found in the zone). */
  type: string;
  /**
   * The values: addresses for A and AAAA, a host name (lower case, no trailing dot) for CNAME,
   * the text itself for TXT (without the quotes of the zone-file form).
   */
  values: string[];
  /** Time to live in seconds, when the provider reports one. */
  ttl?: number;
  /** The provider's handle of each value, in the same order (Cloudflare record ids). */
  ids?: string[];
}

/** The longest name DNS allows (RFC 1035), without the trailing dot. */
export const DNS_NAME_MAX_LENGTH = 253;

/** A host-name label: letters, digits and `-`, no `-` at either end, at most 63 characters. */
const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A label of a name that is not a host name, such as `_deploytag`: `_` may lead. */
const SERVICE_LABEL = /^_[a-z0-9](?:[a-z0-9_-]{0,60}[a-z0-9])?$/;

/**
 * A DNS name in DeployTag's canonical form: lower case, no trailing dot.
 *
 * @param name - a name as a user or a provider wrote it
 */
export function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * Whether `name` (canonical form) is a host name: dot-separated labels of letters, digits and `-`,
 * at most 253 characters, the last label not all digits (so `300.1.1.1` is not one).
 *
 * @param name - the candidate
 */
export function isHostName(name: string): boolean {
  const labels = name.split('.');
  return (
    name.length > 0 &&
    name.length <= DNS_NAME_MAX_LENGTH &&
    labels.every((label) => HOST_LABEL.test(label)) &&
    !/^\d+$/.test(labels[labels.length - 1]!)
  );
}

/**
 * Whether `name` is a valid record name: like {@link isHostName}, except that labels may start
 * with `_` (as in `_deploytag.app.example.com`).
 *
 * @param name - the candidate, in canonical form
 */
export function isRecordName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= DNS_NAME_MAX_LENGTH &&
    name.split('.').every((label) => HOST_LABEL.test(label) || SERVICE_LABEL.test(label))
  );
}

/**
 * Whether `name` is the zone's apex or lies under it.
 *
 * @param name - a record name, canonical form
 * @param zone - the zone's apex, canonical form
 */
export function isInZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/**
 * The record type that makes a name resolve to `target`: `A` for an IPv4 address, `AAAA` for an
 * IPv6 address, `CNAME` for a host name (such as a cloud load balancer's DNS name).
 *
 * @param target - an address or a host name
 * @throws DnsError `E_DNS_INVALID` when `target` is neither
 */
export function recordTypeFor(target: string): AddressRecordType {
  if (isIPv4(target)) return 'A';
  if (isIPv6(target)) return 'AAAA';
  if (isHostName(normalizeName(target))) return 'CNAME';
  throw new DnsError(
    DnsErrorCodes.INVALID,
    `${JSON.stringify(target)} is neither an IP address nor a host name; give the load balancer's address (such as 203.0.113.10 or lb-1.elb.amazonaws.com)`,
  );
}

/**
 * The canonical form of a target: IPv6 addresses compressed the standard way, host names lower
 * case without the trailing dot, IPv4 addresses as given.
 *
 * @param target - an address or a host name (see {@link recordTypeFor})
 */
export function normalizeTarget(target: string): string {
  const trimmed = target.trim();
  if (isIPv4(trimmed)) return trimmed;
  if (isIPv6(trimmed)) return new URL(`http://[${trimmed}]/`).hostname.slice(1, -1);
  return normalizeName(trimmed);
}

/**
 * The canonical form of a value read from a provider, so values compare equal whatever the
 * provider's spelling: addresses and host names through {@link normalizeTarget}; other types as
 * they are.
 *
 * @param type - the record type
 * @param value - the value as the provider gave it (TXT already unquoted)
 */
export function normalizeValue(type: string, value: string): string {
  if (type === 'A' || type === 'AAAA' || type === 'CNAME') return normalizeTarget(value);
  return value;
}
