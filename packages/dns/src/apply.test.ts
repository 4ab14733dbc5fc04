import { createLogger, type LogRecord } from '@deploytag/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDnsChanges, describeChange, removeDns, upsertDns } from './apply.js';
import { ownershipRecordName, ownershipText } from './ownership.js';
import type { DnsChange } from './plan.js';
import type { DnsProvider } from './provider.js';
import { normalizeName, type DnsRecordSet } from './records.js';

const OWNER = 'deploytag/shop/feature-login';
const OTHER = 'deploytag/shop/other';
const ZONE = 'example.com';

/** A zone in memory that behaves like Route 53: one set per name and type, strict changes. */
class MemoryProvider implements DnsProvider {
  readonly kind = 'memory';
  readonly zone = ZONE;
  readonly zoneId = 'Z1';
  sets: DnsRecordSet[];
  batches = 0;

  constructor(sets: DnsRecordSet[] = []) {
    this.sets = sets.map((s) => ({ ...s, values: [...s.values] }));
  }

  listRecords(names?: readonly string[]): Promise<DnsRecordSet[]> {
    const wanted = names?.map(normalizeName);
    return Promise.resolve(
      this.sets
        .filter((s) => wanted === undefined || wanted.includes(s.name))
        .map((s) => ({ ...s, values: [...s.values] })),
    );
  }

  applyChanges(changes: readonly DnsChange[]): Promise<void> {
    this.batches++;
    const next = this.sets.map((s) => ({ ...s }));
    const find = (r: DnsRecordSet) => next.findIndex((s) => s.name === r.name && s.type === r.type);
    for (const change of changes) {
      const at = find(change.record);
      if (change.action === 'create') {
        if (at >= 0) throw new Error(`exists: ${change.record.name} ${change.record.type}`);
        if (
          next.some(
            (s) =>
              s.name === change.record.name &&
              (s.type === 'CNAME' || change.record.type === 'CNAME'),
          )
        ) {
          throw new Error(`CNAME conflict at ${change.record.name}`);
        }
        next.push({ ...change.record, values: [...change.record.values] });
      } else if (change.action === 'update') {
        if (at < 0) throw new Error(`missing: ${change.record.name}`);
        next[at] = { ...change.record, values: [...change.record.values] };
      } else {
        if (at < 0) throw new Error(`missing: ${change.record.name}`);
        expect([...next[at]!.values].sort()).toEqual([...change.record.values].sort());
        next.splice(at, 1);
      }
    }
    this.sets = next;
    return Promise.resolve();
  }

  at(name: string): DnsRecordSet[] {
    return this.sets.filter((s) => s.name === name);
  }
}

const txt = (name: string, owner: string): DnsRecordSet => ({
  name: ownershipRecordName(name),
  type: 'TXT',
  values: [ownershipText(owner)],
  ttl: 300,
});

describe('upsertDns / removeDns', () => {
  it('creates, leaves alone when right, updates, and removes', async () => {
    const zone = new MemoryProvider();
    const name = 'feature-login-app.example.com';
    const first = await upsertDns({
      provider: zone,
      owner: OWNER,
      records: [{ name, target: '1.2.3.4' }],
    });
    expect(first.applied).toBe(true);
    expect(zone.at(name)).toEqual([{ name, type: 'A', values: ['1.2.3.4'], ttl: 300 }]);
    const again = await upsertDns({
      provider: zone,
      owner: OWNER,
      records: [{ name, target: '1.2.3.4' }],
    });
    expect(again.applied).toBe(false);
    expect(again.plan.unchanged).toEqual([name]);
    expect(zone.batches).toBe(1);
    await upsertDns({
      provider: zone,
      owner: OWNER,
      records: [{ name, target: 'lb.example.net' }],
    });
    expect(zone.at(name)).toEqual([{ name, type: 'CNAME', values: ['lb.example.net'], ttl: 300 }]);
    const removed = await removeDns({ provider: zone, owner: OWNER });
    expect(removed.plan.changes).toHaveLength(2);
    expect(zone.sets).toEqual([]);
  });

  it('changes nothing in a dry run', async () => {
    const zone = new MemoryProvider();
    const result = await upsertDns({
      provider: zone,
      owner: OWNER,
      records: [{ name: 'a.example.com', target: '1.2.3.4' }],
      dryRun: true,
    });
    expect(result).toMatchObject({ applied: false, provider: 'memory', zone: ZONE });
    expect(result.plan.changes).toHaveLength(2);
    expect(zone.batches).toBe(0);
    const removal = await removeDns({
      provider: new MemoryProvider([txt('a.example.com', OWNER)]),
      owner: OWNER,
      dryRun: true,
    });
    expect(removal.plan.changes).toHaveLength(1);
    expect(removal.applied).toBe(false);
  });

  it('refuses names outside the zone', async () => {
    await expect(
      upsertDns({
        provider: new MemoryProvider(),
        owner: OWNER,
        records: [{ name: 'a.example.org', target: '1.2.3.4' }],
      }),
    ).rejects.toThrow('not in the zone example.com');
    await expect(
      removeDns({ provider: new MemoryProvider(), owner: OWNER, names: ['a.example.org'] }),
    ).rejects.toThrow('not in the zone');
  });

  it('logs each change and warns about names left alone', async () => {
    const records: LogRecord[] = [];
    const logger = createLogger({ level: 'debug', reporter: { write: (r) => records.push(r) } });
    const zone = new MemoryProvider([
      txt('b.example.com', OTHER),
      { name: 'b.example.com', type: 'A', values: ['9.9.9.9'], ttl: 300 },
    ]);
    const result = await upsertDns({
      provider: zone,
      owner: OWNER,
      logger,
      records: [
        { name: 'a.example.com', target: '1.2.3.4' },
        { name: 'b.example.com', target: '1.2.3.4' },
      ],
    });
    expect(result.plan.refused.map((r) => r.name)).toEqual(['b.example.com']);
    const lines = records.map((r) => `${r.level} ${r.message}`);
    expect(lines).toContain('info create A a.example.com → 1.2.3.4');
    expect(lines.some((l) => l.startsWith('warn left alone: b.example.com belongs to'))).toBe(true);
    expect(zone.at('b.example.com')[0]!.values).toEqual(['9.9.9.9']);
  });

  it('describes changes for people', () => {
    const record = { name: 'a.example.com', type: 'A', values: ['1.1.1.1'] };
    expect(describeChange({ action: 'create', record, reason: '' })).toBe(
      'create A a.example.com → 1.1.1.1',
    );
    expect(
      describeChange({
        action: 'update',
        record,
        previous: { ...record, values: ['2.2.2.2'] },
        reason: '',
      }),
    ).toBe('update A a.example.com: 2.2.2.2 → 1.1.1.1');
    expect(describeChange({ action: 'delete', record, reason: '' })).toBe(
      'delete A a.example.com (1.1.1.1)',
    );
  });

  it('applies nothing for an empty plan', async () => {
    const zone = new MemoryProvider();
    expect(
      await applyDnsChanges({ owner: OWNER, changes: [], unchanged: [], refused: [] }, zone),
    ).toBe(false);
    expect(zone.batches).toBe(0);
  });
});

/** What a name holds before the run, in the property test. */
const STATES = ['empty', 'oursA', 'oursCname', 'oursAAAA', 'other', 'unowned', 'mx'] as const;

function seed(name: string, state: (typeof STATES)[number]): DnsRecordSet[] {
  const rec = (type: string, value: string): DnsRecordSet => ({
    name,
    type,
    values: [value],
    ttl: 300,
  });
  switch (state) {
    case 'empty':
      return [];
    case 'oursA':
      return [txt(name, OWNER), rec('A', '10.0.0.1')];
    case 'oursCname':
      return [txt(name, OWNER), rec('CNAME', 'old.example.net')];
    case 'oursAAAA':
      return [txt(name, OWNER), rec('AAAA', '2001:db8::9')];
    case 'other':
      return [txt(name, OTHER), rec('A', '10.9.9.9')];
    case 'unowned':
      return [rec('CNAME', 'someone.example.net')];
    case 'mx':
      return [rec('MX', '10 mail.example.com')];
  }
}

describe('planning and applying, for any zone (property)', () => {
  const names = ['a.example.com', 'b.example.com', 'c.example.com'];
  const target = fc.constantFrom('10.0.0.1', '10.0.0.2', '2001:db8::1', 'lb.example.net');

  it('converges in one run, touches no foreign record, and removes exactly ours', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(...names.map(() => fc.constantFrom(...STATES))),
        fc.tuple(...names.map(() => fc.option(target, { nil: undefined }))),
        async (states, targets) => {
          const before = names.flatMap((n, i) => seed(n, states[i]!));
          const zone = new MemoryProvider(before);
          const records = names.flatMap((name, i) =>
            targets[i] === undefined ? [] : [{ name, target: targets[i] }],
          );
          const foreign = (sets: DnsRecordSet[]) =>
            sets.filter((s) => {
              const i = names.findIndex((n) => s.name === n || s.name === ownershipRecordName(n));
              const st = states[i]!;
              return st === 'other' || st === 'unowned' || (st === 'mx' && s.type === 'MX');
            });
          const first = await upsertDns({ provider: zone, owner: OWNER, records });
          expect(foreign(zone.sets)).toEqual(foreign(before));
          for (const { name, target: t } of records) {
            if (first.plan.refused.some((r) => r.name === name)) continue;
            const address = zone.at(name).filter((s) => ['A', 'AAAA', 'CNAME'].includes(s.type));
            expect(address).toHaveLength(1);
            expect(address[0]!.values).toEqual([t]);
            expect(zone.at(ownershipRecordName(name))[0]!.values).toEqual([ownershipText(OWNER)]);
          }
          const second = await upsertDns({ provider: zone, owner: OWNER, records });
          expect(second.plan.changes).toEqual([]);
          await removeDns({ provider: zone, owner: OWNER });
          expect(zone.sets).toEqual(foreign(before));
        },
      ),
    );
  });
});
