/** Route 53 specifics against moto: finding the hosted zone, alias records, TXT quoting. */
import { randomUUID } from 'node:crypto';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { requireEnv } from '@deploytag/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRoute53Client,
  createRoute53Provider,
  ownershipText,
  upsertDns,
  type DnsError,
} from './index.js';

describe('Route 53 provider against moto', () => {
  let client: Route53Client;
  beforeAll(async () => {
    requireEnv('AWS_ENDPOINT_URL');
    client = await createRoute53Client(process.env);
  });
  afterAll(() => {
    client.destroy();
  });
  const newZone = async (zone = `r53-${randomUUID().slice(0, 8)}.deploytag.test`) => {
    const created = await client.send(
      new CreateHostedZoneCommand({ Name: zone, CallerReference: randomUUID() }),
    );
    return { zone, zoneId: created.HostedZone!.Id!.replace('/hostedzone/', '') };
  };

  it('finds the hosted zone by name', async () => {
    const { zone, zoneId } = await newZone();
    const provider = await createRoute53Provider({ client, zone: `${zone.toUpperCase()}.` });
    expect(provider.zoneId).toBe(zoneId);
    expect(provider.zone).toBe(zone);
  });

  it('says when the zone is missing, or ambiguous, and takes an id instead', async () => {
    const missing = (await createRoute53Provider({
      client,
      zone: `missing-${randomUUID().slice(0, 8)}.test`,
    }).catch((e: unknown) => e)) as DnsError;
    expect(missing.code).toBe('E_DNS_ZONE_NOT_FOUND');
    const { zone, zoneId } = await newZone();
    await newZone(zone);
    const ambiguous = (await createRoute53Provider({ client, zone }).catch(
      (e: unknown) => e,
    )) as DnsError;
    expect(ambiguous.code).toBe('E_DNS_ZONE_AMBIGUOUS');
    expect(ambiguous.message).toContain(zoneId);
    const chosen = await createRoute53Provider({ client, zone, zoneId });
    expect(chosen.zoneId).toBe(zoneId);
  });

  it('writes the ownership TXT quoted, as Route 53 requires, and reads it back', async () => {
    const { zone, zoneId } = await newZone();
    const provider = await createRoute53Provider({ client, zone });
    const name = `app.${zone}`;
    await upsertDns({
      provider,
      owner: 'deploytag/shop/x',
      records: [{ name, target: '192.0.2.4' }],
    });
    const raw = await client.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        StartRecordName: `_deploytag.${name}`,
        StartRecordType: 'TXT',
        MaxItems: 1,
      }),
    );
    expect(raw.ResourceRecordSets?.[0]?.ResourceRecords).toEqual([
      { Value: `"${ownershipText('deploytag/shop/x')}"` },
    ]);
    const listed = await provider.listRecords([`_deploytag.${name}`]);
    expect(listed).toEqual([
      {
        name: `_deploytag.${name}`,
        type: 'TXT',
        values: [ownershipText('deploytag/shop/x')],
        ttl: 300,
      },
    ]);
  });

  it('leaves an alias record it did not make alone', async () => {
    const { zone, zoneId } = await newZone();
    const name = `www.${zone}`;
    await client.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'CREATE',
              ResourceRecordSet: {
                Name: name,
                Type: 'A',
                AliasTarget: {
                  HostedZoneId: 'Z35SXDOTRQ7X7K',
                  DNSName: 'lb-9.us-east-1.elb.amazonaws.com.',
                  EvaluateTargetHealth: false,
                },
              },
            },
          ],
        },
      }),
    );
    const provider = await createRoute53Provider({ client, zone });
    const result = await upsertDns({
      provider,
      owner: 'deploytag/shop/x',
      records: [{ name, target: '192.0.2.5' }],
    });
    expect(result.plan.changes).toEqual([]);
    expect(result.plan.refused[0]!.reason).toContain('(A alias lb-9.us-east-1.elb.amazonaws.com)');
  });
});
