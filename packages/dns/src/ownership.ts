/**
 * Ownership records, in the manner of external-dns: next to every address record it writes,
 * DeployTag writes a TXT record that names the owner, and it only ever changes or deletes address
 * records whose TXT record names the same owner.
 *
 * The TXT record lives at `_deploytag.<name>` rather than at `<name>` itself, because a CNAME
 * cannot share its name with any other record (RFC 1034 §3.6.2): with a prefixed name, one scheme
 * serves A, AAAA and CNAME alike, and the ownership record stays put while the address record
 * changes type. A label starting with `_` is never a host name, so it cannot collide with a host.
 *
 * @packageDocumentation
 */
import { DnsError, DnsErrorCodes } from './errors.js';

/** The first label of every ownership record's name. */
export const OWNERSHIP_LABEL = '_deploytag';

/** The `heritage` value of DeployTag's ownership records. */
export const HERITAGE = 'deploytag';

/** Longest owner id accepted. */
export const OWNER_MAX_LENGTH = 200;

/** Characters an owner id may use: nothing that could break the `key=value,…` form. */
const OWNER = /^[A-Za-z0-9][A-Za-z0-9._:/@-]*$/;

/**
 * The name of the ownership TXT record of `name`.
 *
 * @param name - an address record's name, canonical form
 * @returns `_deploytag.<name>`
 */
export function ownershipRecordName(name: string): string {
  return `${OWNERSHIP_LABEL}.${name}`;
}

/**
 * The address record name an ownership record stands for, or undefined when `txtName` is not an
 * ownership record's name.
 *
 * @param txtName - a TXT record's name, canonical form
 */
export function ownedName(txtName: string): string | undefined {
  const prefix = `${OWNERSHIP_LABEL}.`;
  return txtName.startsWith(prefix) && txtName.length > prefix.length
    ? txtName.slice(prefix.length)
    : undefined;
}

/**
 * Checks an owner id: 1 to 200 characters from `A-Z a-z 0-9 . _ : / @ -`, a letter or digit
 * first.
 *
 * @param owner - the candidate
 * @throws DnsError `E_DNS_INVALID` otherwise
 */
export function assertOwnerId(owner: string): void {
  if (owner.length > OWNER_MAX_LENGTH || !OWNER.test(owner)) {
    throw new DnsError(
      DnsErrorCodes.INVALID,
      `the DNS owner id ${JSON.stringify(owner)} is not usable: give 1 to ${OWNER_MAX_LENGTH} characters from letters, digits and . _ : / @ - (such as deploytag/shop/feature-login)`,
    );
  }
}

/**
 * The owner id of an environment's records: `deploytag/<repo>/<namespace>`, one per repository
 * and environment namespace, so that the cleanup of a branch's environment removes exactly the
 * records that environment's deploys made.
 *
 * @param repo - the repository name
 * @param namespace - the environment's Kubernetes namespace
 */
export function dnsOwner(repo: string, namespace: string): string {
  const owner = `deploytag/${repo}/${namespace}`;
  assertOwnerId(owner);
  return owner;
}

/**
 * The text of the ownership record for `owner`.
 *
 * @param owner - the owner id (see {@link assertOwnerId})
 * @returns `heritage=deploytag,deploytag/owner=<owner>`
 */
export function ownershipText(owner: string): string {
  assertOwnerId(owner);
  return `heritage=${HERITAGE},${HERITAGE}/owner=${owner}`;
}

/**
 * Reads an ownership record's text.
 *
 * @param text - a TXT value (unquoted)
 * @returns the owner when the text is a DeployTag ownership record (`heritage=deploytag` and a
 *   `deploytag/owner`), else undefined
 */
export function parseOwnership(text: string): { owner: string } | undefined {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const owner = fields.get(`${HERITAGE}/owner`);
  if (fields.get('heritage') !== HERITAGE || owner === undefined || owner === '') return undefined;
  return { owner };
}
