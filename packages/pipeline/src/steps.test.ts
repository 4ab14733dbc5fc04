import { setTimeout as sleep } from 'node:timers/promises';
import { DeploytagError } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import { orderSteps, runSteps, type Step, type StepEvent } from './steps.js';

/** A step that records when it starts and ends on a shared timeline. */
function step(
  id: string,
  needs: string[],
  opts: {
    ms?: number;
    fail?: boolean;
    outputs?: Record<string, string>;
    respectAbort?: boolean;
  } = {},
  log: string[] = [],
): Step {
  return {
    id,
    title: `step ${id}`,
    needs,
    plan: `would run ${id}`,
    async run({ signal, outputsOf }) {
      log.push(`start ${id}`);
      for (const n of needs)
        if (outputsOf(n)) log.push(`${id} sees ${n}=${JSON.stringify(outputsOf(n))}`);
      try {
        await sleep(opts.ms ?? 5, undefined, opts.respectAbort === false ? {} : { signal });
      } catch (err) {
        log.push(`abort ${id}`);
        throw err;
      }
      if (opts.fail) throw new DeploytagError('E_STEP', `${id} broke`);
      log.push(`end ${id}`);
      return { outputs: opts.outputs ?? {}, summary: `${id} ok` };
    },
  };
}

describe('orderSteps', () => {
  it('orders by dependencies', () => {
    const ids = orderSteps([
      step('deploy', ['image', 'db']),
      step('image', ['base']),
      step('base', []),
      step('db', []),
    ]).map((s) => s.id);
    expect(ids.indexOf('base')).toBeLessThan(ids.indexOf('image'));
    expect(ids.indexOf('image')).toBeLessThan(ids.indexOf('deploy'));
    expect(ids.indexOf('db')).toBeLessThan(ids.indexOf('deploy'));
  });

  it.each([
    [[step('a', []), step('a', [])], /two steps are named "a"/],
    [[step('a', ['nope'])], /needs "nope"/],
    [[step('a', ['b']), step('b', ['a'])], /cycle: a → b → a|cycle: b → a → b/],
  ])('rejects an invalid plan', (steps, message) => {
    expect(() => orderSteps(steps)).toThrow(message);
  });

  it('rejects --only/--skip naming no step', () => {
    expect(() => orderSteps([step('a', [])], { skip: ['b'] })).toThrow(
      /--skip b: no such step; the steps are a/,
    );
    expect(() => orderSteps([step('a', [])], { only: ['b'] })).toThrow(/--only b/);
  });
});

describe('runSteps', () => {
  it('runs independent steps concurrently and dependents after their needs', async () => {
    const log: string[] = [];
    const report = await runSteps([
      step('secrets', [], { ms: 30 }, log),
      step('image', [], { ms: 30, outputs: { ref: 'r/app:1' } }, log),
      step('deploy', ['secrets', 'image'], {}, log),
    ]);
    expect(report.ok).toBe(true);
    // both independent steps started before either ended
    expect(log.slice(0, 2).sort()).toEqual(['start image', 'start secrets']);
    expect(log.indexOf('start deploy')).toBeGreaterThan(log.indexOf('end image'));
    expect(log.indexOf('start deploy')).toBeGreaterThan(log.indexOf('end secrets'));
    expect(log).toContain('deploy sees image={"ref":"r/app:1"}');
    expect(report.steps.map((s) => [s.id, s.status, s.summary])).toEqual([
      ['secrets', 'done', 'secrets ok'],
      ['image', 'done', 'image ok'],
      ['deploy', 'done', 'deploy ok'],
    ]);
    expect(report.steps.every((s) => typeof s.durationMs === 'number' && s.startedAt)).toBe(true);
  });

  it('fails fast: a failure cancels running and pending steps, and the report says why', async () => {
    const log: string[] = [];
    const report = await runSteps([
      step('tests', [], { ms: 5, fail: true }, log),
      step('slow', [], { ms: 5_000 }, log),
      step('deploy', ['tests', 'slow'], {}, log),
    ]);
    expect(report.ok).toBe(false);
    const by = Object.fromEntries(report.steps.map((s) => [s.id, s]));
    expect(by['tests']).toMatchObject({
      status: 'failed',
      error: { code: 'E_STEP', message: 'tests broke' },
    });
    expect(by['slow']).toMatchObject({ status: 'cancelled', reason: 'another step failed' });
    expect(by['deploy']?.status).toBe('cancelled');
    expect(log).toContain('abort slow');
    expect(log).not.toContain('start deploy');
  });

  it('without fail-fast, only the dependents of a failed step are cancelled', async () => {
    const report = await runSteps(
      [
        step('a', [], { fail: true }),
        step('b', [], { ms: 20 }),
        step('c', ['a']),
        step('d', ['b']),
      ],
      { failFast: false },
    );
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([
      ['a', 'failed'],
      ['b', 'done'],
      ['c', 'cancelled'],
      ['d', 'done'],
    ]);
    expect(report.steps.find((s) => s.id === 'c')?.reason).toBe('a did not complete');
  });

  it('--skip and --only skip steps without blocking their dependents', async () => {
    const log: string[] = [];
    const skipped = await runSteps(
      [step('tests', [], {}, log), step('deploy', ['tests'], {}, log)],
      { skip: ['tests'] },
    );
    expect(skipped.ok).toBe(true);
    expect(skipped.steps.map((s) => [s.id, s.status, s.reason])).toEqual([
      ['tests', 'skipped', 'skipped by --skip'],
      ['deploy', 'done', undefined],
    ]);
    const reasoned = await runSteps([step('tests', [], {}, log)], {
      skip: ['tests'],
      skipReasons: { tests: 'no test command' },
    });
    expect(reasoned.steps[0]?.reason).toBe('no test command');
    const only = await runSteps([step('tests', []), step('deploy', ['tests'])], {
      only: ['tests'],
    });
    expect(only.steps.map((s) => s.status)).toEqual(['done', 'skipped']);
  });

  it('a cancelled run aborts running steps and cancels pending ones', async () => {
    const controller = new AbortController();
    const events: StepEvent[] = [];
    const run = runSteps([step('long', [], { ms: 5_000 }), step('after', ['long'])], {
      signal: controller.signal,
      onEvent: (e) => events.push(e),
    });
    await sleep(20);
    controller.abort();
    const report = await run;
    expect(report.ok).toBe(false);
    expect(report.steps.map((s) => [s.id, s.status, s.reason])).toEqual([
      ['long', 'cancelled', 'the run was cancelled'],
      ['after', 'cancelled', 'the run was cancelled'],
    ]);
    expect(events.map((e) => `${e.step.id}:${e.step.status}`)).toEqual([
      'long:running',
      'long:cancelled',
      'after:cancelled',
    ]);
  });

  it('a step that finishes despite a cancellation is reported done', async () => {
    const controller = new AbortController();
    const run = runSteps([step('stubborn', [], { ms: 40, respectAbort: false })], {
      signal: controller.signal,
    });
    await sleep(5);
    controller.abort();
    expect((await run).steps[0]?.status).toBe('done');
  });

  it('reports a non-DeploytagError failure as internal', async () => {
    const report = await runSteps([
      { id: 'x', title: 'x', plan: 'x', run: () => Promise.reject(new TypeError('bad')) },
    ]);
    expect(report.steps[0]?.error).toEqual({ code: 'E_INTERNAL', message: 'bad' });
  });

  it('concurrency 1 runs independent steps one after another, in dependency order', async () => {
    let active = 0;
    let most = 0;
    const order: string[] = [];
    const tracked = (id: string, needs: string[] = []): Step => ({
      id,
      title: id,
      needs,
      plan: id,
      async run() {
        active++;
        most = Math.max(most, active);
        order.push(id);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        return {};
      },
    });
    const steps = [tracked('a'), tracked('b'), tracked('c', ['a', 'b'])];
    const report = await runSteps(steps, { concurrency: 1 });
    expect(report.ok).toBe(true);
    expect(most).toBe(1);
    expect(order).toEqual(['a', 'b', 'c']);
    most = 0;
    await runSteps(steps);
    expect(most).toBe(2);
  });
});
