import { describe, expect, it } from 'vitest';
import {
  TaskList,
  detectProgressMode,
  formatDuration,
  renderGithubEvent,
  renderMarkdownSummary,
  renderPlainEvent,
  renderPlan,
  renderSummary,
} from './progress.js';
import type { RunReport, StepReport } from './steps.js';

const at = new Date('2026-01-02T03:04:05.000Z');
const base: StepReport = {
  id: 'base-image',
  title: 'Build the base image',
  needs: ['tests'],
  status: 'running',
  plan: 'build: tag base-3f2a is missing',
};

describe('progress rendering', () => {
  it('picks a mode from the environment', () => {
    expect(detectProgressMode({ GITHUB_ACTIONS: 'true', CI: 'true' }, false)).toBe('github');
    expect(detectProgressMode({}, true)).toBe('tty');
    expect(detectProgressMode({ CI: 'true' }, true)).toBe('plain');
    expect(detectProgressMode({ TERM: 'dumb' }, true)).toBe('plain');
    expect(detectProgressMode({}, false)).toBe('plain');
  });

  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [12_345, '12.3s'],
    [125_000, '2m05s'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('writes plain timestamped lines', () => {
    expect(renderPlainEvent({ step: base }, at)).toBe(
      '2026-01-02T03:04:05.000Z ▸ base-image  Build the base image',
    );
    expect(
      renderPlainEvent(
        { step: { ...base, status: 'done', durationMs: 12_300, summary: 'built base-3f2a' } },
        at,
      ),
    ).toBe('2026-01-02T03:04:05.000Z ✓ base-image 12.3s  built base-3f2a');
    expect(
      renderPlainEvent({ step: { ...base, status: 'skipped', reason: 'skipped by --skip' } }, at),
    ).toContain('- base-image');
  });

  it('adds an escaped GitHub error annotation for a failed step', () => {
    const lines = renderGithubEvent(
      {
        step: {
          ...base,
          status: 'failed',
          durationMs: 5,
          error: { code: 'E', message: 'RUN failed: 100%\nexit 1' },
        },
      },
      at,
    );
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(
      '::error title=deploytag%3A Build the base image::RUN failed: 100%25%0Aexit 1',
    );
  });

  it('renders the plan for --dry-run with what each step waits for', () => {
    expect(
      renderPlan([{ id: 'tests', title: 't', needs: [], plan: 'run npm test' }, base]),
    ).toEqual([
      'tests       run npm test',
      'base-image  build: tag base-3f2a is missing  (after tests)',
    ]);
  });

  const report: RunReport = {
    ok: false,
    durationMs: 65_000,
    steps: [
      { ...base, status: 'done', durationMs: 1200, summary: 'up to date' },
      {
        id: 'deploy',
        title: 'Deploy',
        needs: ['base-image'],
        status: 'failed',
        plan: 'p',
        durationMs: 40,
        error: { code: 'E', message: 'a|b' },
      },
    ],
  };

  it('summarises a run as a table', () => {
    expect(renderSummary(report)).toEqual([
      'step        status    time',
      'base-image  ✓ done    1.2s  up to date',
      'deploy      ✗ failed  40ms  a|b',
      'FAILED in 1m05s',
    ]);
  });

  it('summarises a run as Markdown with cells escaped', () => {
    const md = renderMarkdownSummary(report);
    expect(md).toContain('### DeployTag: failed in 1m05s');
    expect(md).toContain('| deploy | ✗ failed | 40ms | a\\|b |');
  });

  it('redraws the task list in place', () => {
    const out: string[] = [];
    let t = 1000;
    const list = new TaskList(
      { write: (s: string) => out.push(s) },
      [base, { id: 'deploy', title: 'Deploy', needs: ['base-image'], plan: 'p' }],
      () => t,
    );
    list.update({ step: base });
    t = 3500;
    list.draw();
    expect(out[0]).not.toContain('\x1b[2A');
    expect(out[1]?.startsWith('\x1b[2A')).toBe(true);
    expect(out[1]).toContain('▸ base-image   2.5s  Build the base image');
    expect(out[1]).toContain('· deploy');
  });

  it('prints log lines above the list and redraws the list under them', () => {
    const out: string[] = [];
    const list = new TaskList({ write: (s: string) => out.push(s) }, [base], () => 0);
    list.draw();
    list.log('WARN something happened');
    // Up over the one drawn line, clear to the end of the screen, the log line, then the list.
    expect(out[1]).toBe('\x1b[1A\x1b[0JWARN something happened\n');
    expect(out[2]).toContain('base-image');
    expect(out[2]).not.toContain('\x1b[1A');
  });
});
