import { ConfigError, Secret, silentLogger, type Logger } from '@deploytag/core';
import { createCloudflareProvider } from './cloudflare.js';
import { DEFAULT_TTL } from './plan.js';
import type { DnsProvider } from './provider.js';
import { createRoute53Client, createRoute53Provider } from './route53.js';
import { DEFAULT_RECORD_TEMPLATE, parseRecordTemplates } from './template.js';

type EnvLike = Readonly<Record<string, string | undefined>>;

/** The DNS services DeployTag can write to. */
export type DnsProviderKind = 'route53' | 'cloudflare';

/** The variables {@link readDnsSettings} reads, for help texts and documentation. */
export const DNS_ENV_NAMES = [
  'DNS_PROVIDER',
  'DNS_ZONE',
  'DNS_ZONE_ID',
  'DNS_RECORDS',
  'DNS_TTL',
  'DNS_OWNER',
  'CLOUDFLARE_API_TOKEN',
  'CLOUDFLARE_API_URL',
  'CLOUDFLARE_ZONE_ID',
] as const;

/** DNS settings from the environment. */
export interface DnsSettings {
  /** `DNS_PROVIDER`; `cloudflare` when unset and `CLOUDFLARE_API_TOKEN` is set, else `route53`. */
  provider: DnsProviderKind;
  /** `DNS_ZONE`: the zone's domain; callers fall back to `DOMAIN`. */
  zone: string | undefined;
  /** `DNS_ZONE_ID` (or `CLOUDFLARE_ZONE_ID` for Cloudflare): skips the zone lookup. */
  zoneId: string | undefined;
  /** `DNS_RECORDS`: comma-separated record templates; `{.Branch}-app` unless set. */
  templates: string[];
  /** `DNS_TTL`: seconds; 300 unless set. */
  ttl: number;
  /** `DNS_OWNER`: overrides the owner id (`deploytag/<repo>/<namespace>` unless set). */
  owner: string | undefined;
  /** `CLOUDFLARE_API_TOKEN`, as a secret. */
  cloudflareToken: Secret | undefined;
  /** `CLOUDFLARE_API_URL`: another API endpoint (tests use a local server). */
  cloudflareApiUrl: string | undefined;
}

function nonBlank(env: EnvLike, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Reads the DNS settings from `env` (pure). See {@link DnsSettings} for each variable.
 *
 * @param env - the environment
 * @throws ConfigError naming the variable when `DNS_PROVIDER`, `DNS_TTL` or `DNS_RECORDS` is
 *   invalid
 */
export function readDnsSettings(env: EnvLike): DnsSettings {
  const providerText = nonBlank(env, 'DNS_PROVIDER')?.toLowerCase().replace(/[-_ ]/g, '');
  const token = nonBlank(env, 'CLOUDFLARE_API_TOKEN');
  let provider: DnsProviderKind;
  if (providerText === undefined) provider = token === undefined ? 'route53' : 'cloudflare';
  else if (providerText === 'route53' || providerText === 'aws') provider = 'route53';
  else if (providerText === 'cloudflare') provider = 'cloudflare';
  else {
    throw new ConfigError(
      `DNS_PROVIDER is ${JSON.stringify(env['DNS_PROVIDER'])}; set it to route53 or cloudflare`,
      { key: 'DNS_PROVIDER' },
    );
  }
  const ttlText = nonBlank(env, 'DNS_TTL');
  const ttl = ttlText === undefined ? DEFAULT_TTL : Number(ttlText);
  if (!Number.isInteger(ttl) || ttl < 1) {
    throw new ConfigError(`DNS_TTL is ${JSON.stringify(ttlText)}; set it to a number of seconds`, {
      key: 'DNS_TTL',
    });
  }
  const recordsText = env['DNS_RECORDS'];
  const templates =
    recordsText === undefined || recordsText.trim() === ''
      ? [DEFAULT_RECORD_TEMPLATE]
      : parseRecordTemplates(recordsText);
  if (templates.length === 0) {
    throw new ConfigError('DNS_RECORDS holds no template; set it to such as {.Branch}-app', {
      key: 'DNS_RECORDS',
    });
  }
  return {
    provider,
    zone: nonBlank(env, 'DNS_ZONE'),
    zoneId:
      nonBlank(env, 'DNS_ZONE_ID') ??
      (provider === 'cloudflare' ? nonBlank(env, 'CLOUDFLARE_ZONE_ID') : undefined),
    templates,
    ttl,
    owner: nonBlank(env, 'DNS_OWNER'),
    cloudflareToken: token === undefined ? undefined : Secret.of(token),
    cloudflareApiUrl: nonBlank(env, 'CLOUDFLARE_API_URL'),
  };
}

/**
 * Whether the environment asks for DNS records at all: `DNS_PROVIDER`, `DNS_ZONE`, `DNS_RECORDS`
 * or `CLOUDFLARE_API_TOKEN` is set. The pipeline's `dns` step and cleanup's record removal run
 * only then.
 *
 * @param env - the environment
 */
export function dnsConfigured(env: EnvLike): boolean {
  return ['DNS_PROVIDER', 'DNS_ZONE', 'DNS_RECORDS', 'CLOUDFLARE_API_TOKEN'].some(
    (name) => nonBlank(env, name) !== undefined,
  );
}

/** A connected provider and how to release it. */
export interface ConnectedDnsProvider {
  /** The provider, its zone found. */
  provider: DnsProvider;
  /** Releases the client (sockets of the AWS SDK). */
  close: () => void;
}

/** Options of {@link connectDnsProvider}. */
export interface ConnectDnsProviderOptions {
  /** The zone's domain (`DNS_ZONE`, else `DOMAIN`). */
  zone: string;
  /** The environment, for the AWS client's region, endpoint and credentials. */
  env: EnvLike;
  /** Progress. */
  logger?: Logger;
}

/**
 * Builds the provider the settings name and finds its zone: a Route 53 client from the usual AWS
 * variables, or the Cloudflare client with `CLOUDFLARE_API_TOKEN`.
 *
 * @param settings - from {@link readDnsSettings}
 * @param options - zone, environment, logger
 * @throws ConfigError `CLOUDFLARE_API_TOKEN` missing for Cloudflare
 * @throws DnsError when the zone cannot be found or the credentials are refused
 */
export async function connectDnsProvider(
  settings: DnsSettings,
  options: ConnectDnsProviderOptions,
): Promise<ConnectedDnsProvider> {
  const logger = options.logger ?? silentLogger;
  if (settings.provider === 'cloudflare') {
    if (settings.cloudflareToken === undefined) {
      throw new ConfigError(
        'CLOUDFLARE_API_TOKEN is not set; create an API token with DNS edit permission on the zone and set it',
        { key: 'CLOUDFLARE_API_TOKEN' },
      );
    }
    const provider = await createCloudflareProvider({
      token: settings.cloudflareToken,
      zone: options.zone,
      logger,
      ...(settings.zoneId === undefined ? {} : { zoneId: settings.zoneId }),
      ...(settings.cloudflareApiUrl === undefined ? {} : { baseUrl: settings.cloudflareApiUrl }),
    });
    return { provider, close: () => undefined };
  }
  const client = await createRoute53Client(options.env);
  try {
    const provider = await createRoute53Provider({
      client,
      zone: options.zone,
      logger,
      ...(settings.zoneId === undefined ? {} : { zoneId: settings.zoneId }),
    });
    return { provider, close: () => client.destroy() };
  } catch (error) {
    client.destroy();
    throw error;
  }
}
