import { defineCommand } from '../command.js';

/** Options of `deploytag dns`. */
export interface DnsCommandOptions {
  address?: string;
  record?: string[];
  remove?: boolean;
  dryRun?: boolean;
  provider?: string;
  zone?: string;
  ttl?: string;
  owner?: string;
  addressTimeout?: string;
  branch?: string;
  sha?: string;
  kubeconfig?: string;
  context?: string;
}

/**
 * `deploytag dns`: DNS records for the environment's hosts (the later DeployTag's `dns`
 * subcommand, with the original's `--record '{.Branch}-app'` templates).
 */
export const dnsCommand = defineCommand<DnsCommandOptions>({
  name: 'dns',
  summary: "point the environment's host names at its load balancer (Route 53 or Cloudflare)",
  define(cmd) {
    cmd
      .option(
        '--address <ip-or-host>',
        "the load balancer's address (default: read from the release's LoadBalancer Service)",
      )
      .option(
        '--record <template>',
        'a record name template, such as {.Branch}-app (repeatable; default: $DNS_RECORDS, else {.Branch}-app)',
        (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
      )
      .option('--remove', 'remove every record this environment owns in the zone')
      .option('--dry-run', 'print the changes without making them')
      .option('--provider <name>', 'route53 or cloudflare (default: $DNS_PROVIDER)')
      .option('--zone <domain>', 'the DNS zone (default: $DNS_ZONE, else $DOMAIN)')
      .option('--ttl <seconds>', 'time to live of the records (default: $DNS_TTL, else 300)')
      .option(
        '--owner <id>',
        'the owner id written into ownership records (default: $DNS_OWNER, else deploytag/<repo>/<namespace>)',
      )
      .option(
        '--address-timeout <seconds>',
        'how long to wait for the load balancer address',
        '300',
      )
      .option('--branch <name>', 'the branch (beats CI variables)')
      .option('--sha <sha>', 'the commit (beats CI variables)')
      .option('--kubeconfig <file>', 'the kubeconfig, to read the address (default: $KUBECONFIG)')
      .option('--context <name>', 'the kubeconfig context')
      .addHelpText(
        'after',
        '\nEvery record comes with a TXT ownership record at _deploytag.<name>; records without ours are never changed or removed.\n\n' +
          'Environment: DNS_PROVIDER (route53 | cloudflare), DNS_ZONE (else DOMAIN), DNS_ZONE_ID, DNS_RECORDS (comma-separated templates),\n' +
          '  DNS_TTL, DNS_OWNER, CLOUDFLARE_API_TOKEN, CLOUDFLARE_API_URL, CLOUDFLARE_ZONE_ID; AWS_* for Route 53.\n' +
          'Templates: {.Branch} {.Namespace} {.Release} {.Repo} {.Environment} {.Subdomain} {.Sha} {.ShortSha}; @ is the zone apex.\n\n' +
          "Examples:\n  deploytag dns --record '{.Branch}-app' --dry-run\n  DNS_PROVIDER=cloudflare deploytag dns --address 203.0.113.10\n  deploytag dns --remove",
      );
  },
  async run(_args, options, io) {
    const { UsageError } = await import('@deploytag/core');
    const { buildDeployContext } = await import('@deploytag/context');
    const dns = await import('@deploytag/dns');
    const env = {
      ...io.env,
      ...(options.provider === undefined ? {} : { DNS_PROVIDER: options.provider }),
      ...(options.ttl === undefined ? {} : { DNS_TTL: options.ttl }),
      ...(options.zone === undefined ? {} : { DNS_ZONE: options.zone }),
      ...(options.owner === undefined ? {} : { DNS_OWNER: options.owner }),
    };
    const settings = dns.readDnsSettings(env);
    if (settings.cloudflareToken !== undefined) io.redactor.add(settings.cloudflareToken);
    const context = buildDeployContext({
      env: io.env,
      flags: {
        ...(options.branch === undefined ? {} : { branch: options.branch }),
        ...(options.sha === undefined ? {} : { sha: options.sha }),
      },
    });
    const zone = settings.zone ?? context.domain;
    const owner = settings.owner ?? dns.dnsOwner(context.repo, context.namespace);
    const dryRun = options.dryRun === true;
    let address: string | undefined;
    let names: string[] = [];
    if (options.remove !== true) {
      names = (options.record ?? settings.templates).map((template) =>
        dns.expandRecordTemplate(template, dns.recordTemplateVars(context), zone),
      );
      address = options.address;
      if (address === undefined) {
        const seconds = Number((options.addressTimeout ?? '300').replace(/s$/, ''));
        if (!Number.isFinite(seconds) || seconds < 0) {
          throw new UsageError(`--address-timeout takes seconds, not ${options.addressTimeout}`);
        }
        const kube = await import('@deploytag/kube');
        const clients = kube.createKubeClients(
          kube.loadKubeConfig({
            env: io.env,
            ...(options.kubeconfig === undefined ? {} : { file: options.kubeconfig }),
            ...(options.context === undefined ? {} : { context: options.context }),
          }),
        );
        const found = await kube.waitForAddresses(clients, {
          namespace: context.namespace,
          release: context.release,
          timeoutMs: seconds * 1000,
          logger: io.logger,
        });
        const first = found.loadBalancers[0];
        if (first === undefined) {
          throw new UsageError(
            `the release ${context.release} in namespace ${context.namespace} has no LoadBalancer Service; pass --address with the address to point ${names.join(', ')} at`,
          );
        }
        if (found.loadBalancers.length > 1) {
          io.logger.warn(
            `the release has ${found.loadBalancers.length} load balancers; using ${first.service} (${first.address}); pass --address to choose`,
          );
        }
        address = first.address;
      }
    }

    const { provider, close } = await dns.connectDnsProvider(settings, {
      zone,
      env: io.env,
      logger: io.logger,
    });
    try {
      const result =
        address === undefined
          ? await dns.removeDns({ provider, owner, dryRun, logger: io.logger })
          : await dns.upsertDns({
              provider,
              owner,
              records: names.map((name) => ({ name, target: address })),
              ttl: settings.ttl,
              dryRun,
              logger: io.logger,
            });
      const { plan } = result;
      if (io.json) {
        io.out(
          JSON.stringify({
            provider: result.provider,
            zone: result.zone,
            owner,
            dryRun,
            applied: result.applied,
            changes: plan.changes.map((c) => ({
              action: c.action,
              type: c.record.type,
              name: c.record.name,
              values: c.record.values,
              ...(c.action === 'update' ? { previous: c.previous.values } : {}),
            })),
            unchanged: plan.unchanged,
            refused: plan.refused,
          }),
        );
      } else {
        const verb = dryRun ? 'would ' : '';
        io.out(`${result.provider} zone ${result.zone}, owner ${owner}`);
        for (const change of plan.changes) io.out(`${verb}${dns.describeChange(change)}`);
        for (const name of plan.unchanged) io.out(`unchanged ${name}`);
        // Names left alone were reported as warnings by the library (stderr); exit 1 says so.
        if (plan.changes.length === 0 && plan.refused.length === 0 && plan.unchanged.length === 0) {
          io.out('nothing to do');
        }
      }
      return plan.refused.length > 0 ? 1 : 0;
    } finally {
      close();
    }
  },
});
