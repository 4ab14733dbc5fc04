import { DeploytagError } from '@deploytag/core';
import type { DeploytagErrorOptions } from '@deploytag/core';

/** Stable codes of the errors raised by `@deploytag/dns`. */
export const DnsErrorCodes = {
  /** A record name, target, template or owner id is not usable (exit code 2). */
  INVALID: 'E_DNS_INVALID',
  /** No zone of that name is visible to the credentials. */
  ZONE_NOT_FOUND: 'E_DNS_ZONE_NOT_FOUND',
  /** Several zones carry that name; the zone id must be given. */
  ZONE_AMBIGUOUS: 'E_DNS_ZONE_AMBIGUOUS',
  /** The provider refused the credentials. */
  AUTH: 'E_DNS_AUTH',
  /** The provider refused or failed a request. */
  PROVIDER: 'E_DNS_PROVIDER',
  /** Some wanted records were left alone because they belong to someone else. */
  NOT_OURS: 'E_DNS_NOT_OURS',
} as const;

/** One of the {@link DnsErrorCodes} values. */
export type DnsErrorCode = (typeof DnsErrorCodes)[keyof typeof DnsErrorCodes];

/** An error of `@deploytag/dns`; `code` is one of {@link DnsErrorCodes}. */
export class DnsError extends DeploytagError {
  /**
   * @param code - one of {@link DnsErrorCodes}
   * @param message - what went wrong and what to do
   * @param options - cause, details, exit code (2 by default for `E_DNS_INVALID`)
   */
  constructor(code: DnsErrorCode, message: string, options: DeploytagErrorOptions = {}) {
    super(code, message, {
      ...options,
      exitCode: options.exitCode ?? (code === DnsErrorCodes.INVALID ? 2 : 1),
    });
  }
}
