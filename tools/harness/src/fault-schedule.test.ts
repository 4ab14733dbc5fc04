import { describe, expect, it } from 'vitest';
import { FaultSchedule, ruleMatches, type FaultRule } from './fault-schedule.js';

const status = (code: number): FaultRule['fault'] => ({ kind: 'status', status: code });

describe('ruleMatches', () => {
  it('matches method in any case, a path prefix or expression, and ignores the query', () => {
    const req = { method: 'put', url: '/v2/app/manifests/v1?x=/v2/other' };
    expect(ruleMatches({ fault: status(500) }, req)).toBe(true);
    expect(ruleMatches({ method: 'PUT', fault: status(500) }, req)).toBe(true);
    expect(ruleMatches({ method: 'GET', fault: status(500) }, req)).toBe(false);
    expect(ruleMatches({ path: '/v2/app/', fault: status(500) }, req)).toBe(true);
    expect(ruleMatches({ path: '/v2/other', fault: status(500) }, req)).toBe(false);
    expect(ruleMatches({ path: /\/manifests\/v1$/, fault: status(500) }, req)).toBe(true);
    expect(ruleMatches({ path: /x=/, fault: status(500) }, req)).toBe(false);
  });
});

describe('FaultSchedule', () => {
  it('gives the first matching rule with requests left, then forwards', () => {
    const s = new FaultSchedule(() => 0);
    s.add({ method: 'PUT', fault: status(500), times: 2 }, { fault: { kind: 'reset' }, times: 1 });
    const put = { method: 'PUT', url: '/a' };
    const get = { method: 'GET', url: '/a' };
    expect(s.take(get)).toEqual({ kind: 'reset' });
    expect(s.take(put)).toEqual(status(500));
    expect(s.take(put)).toEqual(status(500));
    expect(s.take(put)).toBeUndefined();
    expect(s.take(get)).toBeUndefined();
    expect(s.pending).toBe(0);
  });

  it('ends a rule after its time, counted from when it was added', () => {
    let now = 1_000;
    const s = new FaultSchedule(() => now);
    s.add({ fault: status(503), forMs: 500 });
    const req = { method: 'GET', url: '/' };
    expect(s.take(req)).toEqual(status(503));
    now = 1_499;
    expect(s.take(req)).toEqual(status(503));
    now = 1_500;
    expect(s.take(req)).toBeUndefined();
    s.add({ fault: status(503), forMs: 500 });
    expect(s.take(req)).toEqual(status(503));
  });

  it('is emptied by clear, ignores spent rules, and refuses a bad count', () => {
    const s = new FaultSchedule(() => 0);
    s.add({ fault: status(500), times: 0 }, { fault: status(502) });
    expect(s.take({ method: 'GET', url: '/' })).toEqual(status(502));
    s.clear();
    expect(s.take({ method: 'GET', url: '/' })).toBeUndefined();
    expect(() => s.add({ fault: status(500), times: 1.5 })).toThrow(RangeError);
    expect(() => s.add({ fault: status(500), times: -1 })).toThrow(RangeError);
  });
});
