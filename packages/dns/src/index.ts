/**
 * `@deploytag/dns`: DNS records for each environment's hosts, pointing at its load balancer, in
 * Route 53 or Cloudflare. Every record DeployTag writes comes with a TXT ownership record
 * (`_deploytag.<name>`, external-dns style), so it only ever changes or removes its own records.
 *
 * Pure planning (`planDnsChanges`, `planDnsRemoval`, `expandRecordTemplate`), providers behind
 * one small interface (`DnsProvider`), and `upsertDns` / `removeDns` for the CLI, the pipeline and
 * cleanup.
 *
 * @packageDocumentation
 */
export { DnsError, DnsErrorCodes, type DnsErrorCode } from './errors.js';
export {
  ADDRESS_RECORD_TYPES,
  DNS_NAME_MAX_LENGTH,
  isHostName,
  isInZone,
  isRecordName,
  normalizeName,
  normalizeTarget,
  normalizeValue,
  recordTypeFor,
  type AddressRecordType,
  type DnsRecordSet,
} from './records.js';
export { TXT_STRING_MAX_BYTES, quoteTxt, unquoteTxt } from './txt.js';
export {
  HERITAGE,
  OWNERSHIP_LABEL,
  OWNER_MAX_LENGTH,
  assertOwnerId,
  dnsOwner,
  ownedName,
  ownershipRecordName,
  ownershipText,
  parseOwnership,
} from './ownership.js';
export {
  DEFAULT_RECORD_TEMPLATE,
  RECORD_TEMPLATE_VARIABLES,
  expandRecordTemplate,
  parseRecordTemplates,
  recordTemplateVars,
  type RecordTemplateVariable,
  type RecordTemplateVars,
} from './template.js';
export {
  DEFAULT_TTL,
  planDnsChanges,
  planDnsRemoval,
  type DnsChange,
  type DnsPlan,
  type DnsRefusal,
  type DnsWant,
  type DnsWantedRecord,
} from './plan.js';
export type { DnsProvider } from './provider.js';
export {
  applyDnsChanges,
  describeChange,
  removeDns,
  upsertDns,
  type DnsResult,
  type RemoveDnsOptions,
  type UpsertDnsOptions,
} from './apply.js';
export {
  createRoute53Client,
  createRoute53Provider,
  type Route53ProviderOptions,
} from './route53.js';
export {
  CLOUDFLARE_API_URL,
  createCloudflareProvider,
  type CloudflareProviderOptions,
  type CloudflareRetryOptions,
} from './cloudflare.js';
export {
  DNS_ENV_NAMES,
  connectDnsProvider,
  dnsConfigured,
  readDnsSettings,
  type ConnectDnsProviderOptions,
  type ConnectedDnsProvider,
  type DnsProviderKind,
  type DnsSettings,
} from './settings.js';
