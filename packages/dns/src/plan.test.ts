import { describe, expect, it } from 'vitest';
import { DnsError } from './errors.js';
import { ownershipText } from './ownership.js';
import { planDnsChanges, planDnsRemoval, type DnsChange } from './plan.js';
import type { DnsRecordSet } from './records.js';

const OWNER = 'deploytag/shop/feature-login';
const OTHER = 'deploytag/shop/feature-other';
const NAME = 'feature-login-app.example.com';
const TXT = `_deploytag.${NAME}`;

const set = (
  name: string,
  type: string,
  values: string[],
  extra: Partial<DnsRecordSet> = {},
): DnsRecordSet => ({ name, type, values, ttl: 300, ...extra });
const ours = (name = NAME, owner = OWNER): DnsRecordSet =>
  set(`_deploytag.${name}`, 'TXT', [ownershipText(owner)], { ids: ['t1'] });
const summary = (changes: DnsChange[]) =>
  changes.map((c) => `${c.action} ${c.record.type} ${c.record.name} ${c.record.values.join(',')}`);
const want = (target: string, extra: { ttl?: number; name?: string } = {}) => ({
  owner: OWNER,
  records: [{ name: extra.name ?? NAME, target }],
  ...(extra.ttl === undefined ? {} : { ttl: extra.ttl }),
});

describe('planDnsChanges', () => {
  it('creates the ownership record, then the address record, in an empty zone', () => {
    const plan = planDnsChanges(want('203.0.113.10'), []);
    expect(summary(plan.changes)).toEqual([
      `create TXT ${TXT} ${ownershipText(OWNER)}`,
      `create A ${NAME} 203.0.113.10`,
    ]);
    expect(plan.changes.every((c) => c.record.ttl === 300)).toBe(true);
    expect(plan).toMatchObject({ owner: OWNER, unchanged: [], refused: [] });
  });

  it('picks AAAA for IPv6 and CNAME for a host name, in canonical form', () => {
    expect(summary(planDnsChanges(want('2001:DB8::0001'), []).changes)[1]).toBe(
      `create AAAA ${NAME} 2001:db8::1`,
    );
    expect(summary(planDnsChanges(want('LB-1.ELB.amazonaws.com.'), []).changes)[1]).toBe(
      `create CNAME ${NAME} lb-1.elb.amazonaws.com`,
    );
  });

  it('leaves our record alone when it is already right', () => {
    const plan = planDnsChanges(want('203.0.113.10'), [ours(), set(NAME, 'A', ['203.0.113.10'])]);
    expect(plan.changes).toEqual([]);
    expect(plan.unchanged).toEqual([NAME]);
  });

  it('updates our record when the address changes, keeping the provider ids', () => {
    const previous = set(NAME, 'A', ['203.0.113.10'], { ids: ['a1'] });
    const plan = planDnsChanges(want('203.0.113.11'), [ours(), previous]);
    expect(plan.changes).toEqual([
      {
        action: 'update',
        record: set(NAME, 'A', ['203.0.113.11']),
        previous,
        reason: `${NAME} moves from 203.0.113.10 to 203.0.113.11`,
      },
    ]);
  });

  it('updates our record when only the TTL changes', () => {
    const plan = planDnsChanges(want('203.0.113.10', { ttl: 60 }), [
      ours(),
      set(NAME, 'A', ['203.0.113.10']),
    ]);
    expect(summary(plan.changes)).toEqual([`update A ${NAME} 203.0.113.10`]);
    expect(plan.changes[0]!.reason).toContain('TTL');
  });

  it('changes type by deleting first (A → CNAME and CNAME → A)', () => {
    expect(
      summary(
        planDnsChanges(want('lb.example.net'), [ours(), set(NAME, 'A', ['1.2.3.4'])]).changes,
      ),
    ).toEqual([`delete A ${NAME} 1.2.3.4`, `create CNAME ${NAME} lb.example.net`]);
    expect(
      summary(
        planDnsChanges(want('1.2.3.4'), [ours(), set(NAME, 'CNAME', ['lb.example.net'])]).changes,
      ),
    ).toEqual([`delete CNAME ${NAME} lb.example.net`, `create A ${NAME} 1.2.3.4`]);
  });

  it('drops our stale records of other address types', () => {
    const plan = planDnsChanges(want('1.2.3.4'), [
      ours(),
      set(NAME, 'A', ['1.2.3.4']),
      set(NAME, 'AAAA', ['2001:db8::1']),
    ]);
    expect(summary(plan.changes)).toEqual([`delete AAAA ${NAME} 2001:db8::1`]);
    expect(plan.unchanged).toEqual([]);
  });

  it('recreates our address record when only the ownership record is left', () => {
    expect(summary(planDnsChanges(want('1.2.3.4'), [ours()]).changes)).toEqual([
      `create A ${NAME} 1.2.3.4`,
    ]);
  });

  it('refuses a name another environment owns, naming the owner', () => {
    const plan = planDnsChanges(want('1.2.3.4'), [ours(NAME, OTHER), set(NAME, 'A', ['9.9.9.9'])]);
    expect(plan.changes).toEqual([]);
    expect(plan.refused).toEqual([
      {
        name: NAME,
        owner: OTHER,
        reason: expect.stringContaining(`belongs to ${OTHER}`) as string,
      },
    ]);
  });

  it('refuses a record that has no ownership record', () => {
    const plan = planDnsChanges(want('1.2.3.4'), [set(NAME, 'CNAME', ['elsewhere.example.net'])]);
    expect(plan.changes).toEqual([]);
    expect(plan.refused[0]!.reason).toContain('DeployTag did not create');
    expect(plan.refused[0]!.reason).toContain('CNAME elsewhere.example.net');
  });

  it('refuses when the ownership name holds a TXT record that is not ours', () => {
    const plan = planDnsChanges(want('1.2.3.4'), [set(TXT, 'TXT', ['hello'])]);
    expect(plan.changes).toEqual([]);
    expect(plan.refused[0]!.reason).toContain('did not write');
  });

  it('refuses a CNAME where other records share the name, but adds an A beside them', () => {
    const mx = set(NAME, 'MX', ['10 mail.example.com']);
    const cname = planDnsChanges(want('lb.example.net'), [mx]);
    expect(cname.changes).toEqual([]);
    expect(cname.refused[0]!.reason).toContain('CNAME cannot share');
    expect(
      summary(planDnsChanges(want('1.2.3.4'), [mx, set(NAME, 'TXT', ['v=spf1 -all'])]).changes),
    ).toEqual([`create TXT ${TXT} ${ownershipText(OWNER)}`, `create A ${NAME} 1.2.3.4`]);
  });

  it('finds our ownership among several TXT values', () => {
    const plan = planDnsChanges(want('1.2.3.4'), [
      set(TXT, 'TXT', ['something else', ownershipText(OWNER)]),
      set(NAME, 'A', ['1.2.3.4']),
    ]);
    expect(plan.unchanged).toEqual([NAME]);
  });

  it('reads names and types in any case and with trailing dots', () => {
    const plan = planDnsChanges(want('1.2.3.4'), [
      { ...ours(), name: `${TXT.toUpperCase()}.`, type: 'txt' },
      set(`${NAME.toUpperCase()}.`, 'a', ['1.2.3.4']),
    ]);
    expect(plan.unchanged).toEqual([NAME]);
  });

  it('merges one-record-per-value listings (Cloudflare) into record sets', () => {
    const plan = planDnsChanges(want('1.2.3.4'), [
      ours(),
      set(NAME, 'A', ['1.2.3.4'], { ids: ['a1'] }),
      set(NAME, 'A', ['5.6.7.8'], { ids: ['a2'] }),
    ]);
    expect(plan.changes).toHaveLength(1);
    const change = plan.changes[0]!;
    expect(change.action).toBe('update');
    if (change.action === 'update') {
      expect(change.previous.values).toEqual(['1.2.3.4', '5.6.7.8']);
      expect(change.previous.ids).toEqual(['a1', 'a2']);
    }
  });

  it('orders deletions, then ownership records, then address records, across names', () => {
    const a = 'a.example.com';
    const b = 'b.example.com';
    const plan = planDnsChanges(
      {
        owner: OWNER,
        records: [
          { name: a, target: '1.1.1.1' },
          { name: b, target: 'lb.example.net' },
        ],
      },
      [ours(b), set(b, 'A', ['2.2.2.2'])],
    );
    expect(summary(plan.changes)).toEqual([
      `delete A ${b} 2.2.2.2`,
      `create TXT _deploytag.${a} ${ownershipText(OWNER)}`,
      `create A ${a} 1.1.1.1`,
      `create CNAME ${b} lb.example.net`,
    ]);
  });

  it('takes a name wanted twice with one target once, and refuses two targets', () => {
    const twice = planDnsChanges(
      {
        owner: OWNER,
        records: [
          { name: NAME, target: '1.2.3.4' },
          { name: NAME.toUpperCase(), target: '1.2.3.4' },
        ],
      },
      [],
    );
    expect(twice.changes).toHaveLength(2);
    expect(() =>
      planDnsChanges(
        {
          owner: OWNER,
          records: [
            { name: NAME, target: '1.2.3.4' },
            { name: NAME, target: '1.2.3.5' },
          ],
        },
        [],
      ),
    ).toThrow('wanted twice');
  });

  it('refuses bad input with E_DNS_INVALID', () => {
    const bad = [
      () => planDnsChanges({ ...want('1.2.3.4'), owner: 'a,b' }, []),
      () => planDnsChanges(want('1.2.3.4', { ttl: 0 }), []),
      () => planDnsChanges(want('1.2.3.4', { ttl: 1.5 }), []),
      () => planDnsChanges(want('not a target'), []),
      () => planDnsChanges(want('1.2.3.4', { name: '_x.example.com' }), []),
      () => planDnsChanges(want(NAME), []),
      () => planDnsChanges(want('1.2.3.4', { name: `${'a'.repeat(60)}.`.repeat(4) + 'com' }), []),
    ];
    for (const f of bad) {
      expect(f).toThrow(DnsError);
      try {
        f();
      } catch (error) {
        expect((error as DnsError).code).toBe('E_DNS_INVALID');
      }
    }
  });
});

describe('planDnsRemoval', () => {
  it('deletes our address records, then our ownership record', () => {
    const plan = planDnsRemoval(OWNER, [
      ours(),
      set(NAME, 'A', ['1.2.3.4']),
      set(NAME, 'AAAA', ['2001:db8::1']),
      set(NAME, 'MX', ['10 mail.example.com']),
    ]);
    expect(summary(plan.changes)).toEqual([
      `delete A ${NAME} 1.2.3.4`,
      `delete AAAA ${NAME} 2001:db8::1`,
      `delete TXT ${TXT} ${ownershipText(OWNER)}`,
    ]);
  });

  it("never touches another owner's records or records without an ownership record", () => {
    const other = 'other.example.com';
    const plain = 'plain.example.com';
    const plan = planDnsRemoval(OWNER, [
      ours(other, OTHER),
      set(other, 'A', ['1.1.1.1']),
      set(plain, 'A', ['2.2.2.2']),
      set(`_deploytag.${plain}`, 'TXT', ['not ours']),
    ]);
    expect(plan.changes).toEqual([]);
  });

  it('removes only our value from a shared TXT record', () => {
    const txt = set(TXT, 'TXT', ['keep me', ownershipText(OWNER)], { ids: ['t1', 't2'] });
    const plan = planDnsRemoval(OWNER, [txt]);
    expect(plan.changes).toEqual([
      {
        action: 'update',
        record: { name: TXT, type: 'TXT', values: ['keep me'], ttl: 300 },
        previous: txt,
        reason: expect.stringContaining('other values') as string,
      },
    ]);
  });

  it('removes every name of the owner in a whole zone', () => {
    const plan = planDnsRemoval(OWNER, [
      ours('a.example.com'),
      set('a.example.com', 'A', ['1.1.1.1']),
      ours('b.example.com'),
      set('b.example.com', 'CNAME', ['lb.example.net']),
    ]);
    expect(plan.changes.map((c) => c.action)).toEqual(['delete', 'delete', 'delete', 'delete']);
    expect(plan.changes.slice(0, 2).map((c) => c.record.type)).toEqual(['A', 'CNAME']);
  });

  it('reports asked-for names that are not ours, or hold nothing', () => {
    const plan = planDnsRemoval(
      OWNER,
      [ours('x.example.com', OTHER), set('y.example.com', 'A', ['1.1.1.1'])],
      ['x.example.com', 'y.example.com', 'z.example.com'],
    );
    expect(plan.changes).toEqual([]);
    expect(plan.refused.map((r) => [r.name, r.owner])).toEqual([
      ['x.example.com', OTHER],
      ['y.example.com', undefined],
    ]);
    expect(plan.unchanged).toEqual(['z.example.com']);
  });
});
