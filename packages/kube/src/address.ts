import type { V1Ingress, V1Service } from '@kubernetes/client-node';
import type { Logger } from '@deploytag/core';
import { silentLogger } from '@deploytag/core';
import type { KubeClients } from './clients.js';
import { KubeError, KubeErrorCodes, apiError } from './errors.js';
import { isTransientApiError } from './http.js';
import { HELM_RELEASE_ANNOTATION } from './readiness.js';

/** Where a release can be reached. */
export interface ReleaseAddresses {
  /** LoadBalancer Services with their addresses (ip or hostname) and ports. */
  loadBalancers: { service: string; address: string; ports: number[] }[];
  /** LoadBalancer Services still waiting for an address. */
  pending: string[];
  /** Hosts of the release's Ingresses, with whether TLS covers them. */
  ingressHosts: { host: string; tls: boolean }[];
}

/**
 * The addresses of a release's Services and Ingresses (pure).
 *
 * @param services - the release's Services
 * @param ingresses - the release's Ingresses
 */
export function releaseAddresses(services: V1Service[], ingresses: V1Ingress[]): ReleaseAddresses {
  const result: ReleaseAddresses = { loadBalancers: [], pending: [], ingressHosts: [] };
  for (const svc of services) {
    if (svc.spec?.type !== 'LoadBalancer') continue;
    const name = svc.metadata?.name ?? '?';
    const entry = svc.status?.loadBalancer?.ingress?.find((i) => i.ip || i.hostname);
    const address = entry?.hostname || entry?.ip;
    if (address) {
      result.loadBalancers.push({
        service: name,
        address,
        ports: (svc.spec.ports ?? []).map((p) => p.port),
      });
    } else {
      result.pending.push(name);
    }
  }
  for (const ing of ingresses) {
    const tlsHosts = new Set((ing.spec?.tls ?? []).flatMap((t) => t.hosts ?? []));
    for (const rule of ing.spec?.rules ?? []) {
      if (rule.host && !result.ingressHosts.some((h) => h.host === rule.host)) {
        result.ingressHosts.push({ host: rule.host, tls: tlsHosts.has(rule.host) });
      }
    }
  }
  return result;
}

/**
 * URLs for people, from the addresses: Ingress hosts first (`https://` when TLS covers them),
 * then each LoadBalancer (`http://address[:port]`).
 *
 * @param addresses - from {@link releaseAddresses}
 */
export function addressUrls(addresses: ReleaseAddresses): string[] {
  const urls = addresses.ingressHosts.map((h) => `${h.tls ? 'https' : 'http'}://${h.host}`);
  for (const lb of addresses.loadBalancers) {
    const port = lb.ports[0];
    const host = lb.address.includes(':') ? `[${lb.address}]` : lb.address;
    urls.push(
      port === undefined || port === 80
        ? `http://${host}`
        : port === 443
          ? `https://${host}`
          : `http://${host}:${port}`,
    );
  }
  return urls;
}

/** Options of {@link waitForAddresses}. */
export interface WaitForAddressesOptions {
  /** The release's namespace. */
  namespace: string;
  /** The release. */
  release: string;
  /** How long to wait for LoadBalancer addresses; 5 minutes by default. */
  timeoutMs?: number;
  /** Poll interval; 1 s by default. */
  intervalMs?: number;
  /** Progress. */
  logger?: Logger;
}

/**
 * Finds a release's LoadBalancer Services and Ingress hosts and waits until every LoadBalancer has
 * an address.
 *
 * @param clients - the API clients
 * @param options - namespace, release, deadline
 * @throws KubeError `E_KUBE_ADDRESS_PENDING` when a LoadBalancer is still pending at the deadline
 */
export async function waitForAddresses(
  clients: KubeClients,
  options: WaitForAddressesOptions,
): Promise<ReleaseAddresses> {
  const logger = options.logger ?? silentLogger;
  const timeoutMs = options.timeoutMs ?? 300_000;
  const deadline = Date.now() + timeoutMs;
  let said = false;
  const ours = <T extends { metadata?: { annotations?: Record<string, string> } }>(
    items: T[],
  ): T[] =>
    items.filter((i) => i.metadata?.annotations?.[HELM_RELEASE_ANNOTATION] === options.release);
  for (;;) {
    let addresses: ReleaseAddresses;
    try {
      const [services, ingresses] = await Promise.all([
        clients.core.listNamespacedService({ namespace: options.namespace }),
        clients.networking.listNamespacedIngress({ namespace: options.namespace }),
      ]);
      addresses = releaseAddresses(ours(services.items), ours(ingresses.items));
    } catch (error) {
      // An API server that is restarting or overloaded for longer than the clients' own retries
      // does not end the wait: it goes on until the deadline.
      if (!isTransientApiError(error) || Date.now() >= deadline)
        throw apiError(`listing the Services of ${options.namespace}`, error);
      logger.debug(
        `listing the Services of ${options.namespace} failed (${error instanceof Error ? error.message : String(error)}); trying again`,
      );
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
      continue;
    }
    if (addresses.pending.length === 0) return addresses;
    if (Date.now() >= deadline) {
      throw new KubeError(
        KubeErrorCodes.ADDRESS_PENDING,
        `the LoadBalancer Service${addresses.pending.length > 1 ? 's' : ''} ${addresses.pending.join(', ')} in ${options.namespace} got no address within ${Math.round(timeoutMs / 1000)} s; the cloud may be out of load balancer or IP address quota, or the cluster has no load balancer controller (check the Service's events)`,
        { details: { pending: addresses.pending } },
      );
    }
    if (!said) {
      logger.info(`waiting for a load balancer address for ${addresses.pending.join(', ')}`);
      said = true;
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
  }
}
