import fc from 'fast-check';
import semver from 'semver';
import type { CommitInfo, TagInfo } from '@deploytag/git';
import { describe, expect, it } from 'vitest';
import { planRelease, selectBase } from './plan.js';
import type { PlanReleaseOptions, ReleaseFacts, ReleasePlan } from './plan.js';

const TARGET = 'f'.repeat(40);
const now = new Date('2026-11-26T12:00:00.000Z');
let n = 0;
const sha = (): string => (++n).toString(16).padStart(40, '0');
const tag = (name: string, at = sha()): TagInfo => ({ name, sha: at, annotated: true });
const commit = (subject: string, body = ''): CommitInfo => ({
  sha: sha(),
  subject,
  body,
  author: { name: 'A', email: 'a@x' },
  date: now.toISOString(),
});

/** Builds consistent facts: the base tag is whatever selectBase picks. */
function facts(
  tags: TagInfo[],
  commits: CommitInfo[],
  channel: PlanReleaseOptions['channel'],
  extra: Partial<ReleaseFacts> = {},
): ReleaseFacts {
  const base = selectBase(tags, TARGET, channel).base?.name;
  return {
    tags,
    target: { sha: TARGET },
    commits,
    now,
    ...(base === undefined ? {} : { baseTag: base }),
    ...extra,
  };
}

function plan(
  tags: string[],
  channel: PlanReleaseOptions['channel'],
  options: Partial<PlanReleaseOptions> = {},
  commits = [commit('fix: x')],
): ReleasePlan {
  return planRelease(
    facts(
      tags.map((t) => tag(t)),
      commits,
      channel,
    ),
    { channel, ...options },
  );
}

function tagOf(p: ReleasePlan): string | undefined {
  return p.action === 'none' ? undefined : p.tag;
}

describe('planRelease: production', () => {
  it.each([
    [[], 'v0.0.1'],
    [['v1.2.3'], 'v1.2.4'],
    [['v1.2.9'], 'v1.2.10'],
    [['v1.9.9', 'v1.10.0'], 'v1.10.1'],
    [['v1.2.3', 'v1.2.4-pre.3'], 'v1.2.4'],
    [['v1.2.3', 'v1.2.4-pre9'], 'v1.2.4'],
    [['1.2.3'], '1.2.4'],
    [['v2.0.0', 'v1.9.0'], 'v2.0.1'],
    [['nightly', 'latest', 'v0.3.0'], 'v0.3.1'],
    [['v1.0.0-pre.1'], 'v1.0.0'],
    [['v1.2.3', 'v1.3.0-rc.1'], 'v1.3.0'],
    [['v1.2.3+build.5'], 'v1.2.4'],
  ])('after %j releases %s', (tags, expected) => {
    const p = plan(tags, 'production');
    expect(p).toMatchObject({ action: 'create', tag: expected, prerelease: false, bump: 'patch' });
  });

  it.each([
    ['major', ['v1.2.3'], 'v2.0.0'],
    ['minor', ['v1.2.3'], 'v1.3.0'],
    ['patch', ['v1.2.3'], 'v1.2.4'],
    ['minor', ['v1.2.3', 'v1.2.4-pre.2'], 'v1.3.0'],
    ['patch', ['v1.2.3', 'v1.3.0-pre.2'], 'v1.3.0'],
    ['minor', [], 'v0.1.0'],
    ['major', [], 'v1.0.0'],
  ] as const)('--bump %s after %j releases %s', (bump, tags, expected) => {
    expect(tagOf(plan([...tags], 'production', { bump }))).toBe(expected);
  });

  it.each([
    [[commit('fix: a'), commit('docs: b')], 'patch', 'v1.2.4'],
    [[commit('fix: a'), commit('feat: b')], 'minor', 'v1.3.0'],
    [[commit('feat(api)!: drop v1')], 'major', 'v2.0.0'],
    [[commit('fix: a', 'details\n\nBREAKING CHANGE: config renamed')], 'major', 'v2.0.0'],
    [[commit('fix: a', 'BREAKING-CHANGE: x')], 'major', 'v2.0.0'],
    [[commit('update readme'), commit('wip')], 'patch', 'v1.2.4'],
    [[commit('Merge pull request #12 from acme/x', 'feat: new page')], 'minor', 'v1.3.0'],
  ] as const)('--bump auto reads Conventional Commits (%#)', (commits, bump, expected) => {
    const p = plan(['v1.2.3'], 'production', { bump: 'auto' }, [...commits]);
    expect(p).toMatchObject({ action: 'create', bump, tag: expected });
  });

  it('has nothing to release without commits since the last production tag, unless allowed', () => {
    const p = plan(['v1.2.3'], 'production', {}, []);
    expect(p).toMatchObject({ action: 'none', baseTag: 'v1.2.3' });
    expect(p.action === 'none' && p.reason).toMatch(/no commits since v1\.2\.3.*--allow-empty/);
    expect(plan(['v1.2.3'], 'production', { allowEmpty: true }, [])).toMatchObject({
      action: 'create',
      tag: 'v1.2.4',
      notes: 'Changes since v1.2.3.\n\nNo changes.\n',
      commitCount: 0,
    });
  });

  it('counts from the last production tag, so a beta at the target is promoted', () => {
    const tags = [tag('v1.2.3'), tag('v1.2.4-pre.2', TARGET)];
    const f = facts(tags, [commit('fix: a')], 'production');
    expect(f.baseTag).toBe('v1.2.3');
    expect(planRelease(f, { channel: 'production' })).toMatchObject({
      action: 'create',
      tag: 'v1.2.4',
      baseTag: 'v1.2.3',
      targetSha: TARGET,
    });
  });

  it('completes instead of re-tagging when the target already carries a production tag', () => {
    const tags = [tag('v1.2.3'), tag('v1.2.4', TARGET), tag('v1.2.4-pre.1')];
    const p = planRelease(facts(tags, [commit('fix: a')], 'production'), {
      channel: 'production',
      allowEmpty: true,
    });
    expect(p).toMatchObject({
      action: 'complete',
      tag: 'v1.2.4',
      version: '1.2.4',
      baseTag: 'v1.2.3',
    });
  });

  it('names the release after the time and links commits and PRs on GitHub', () => {
    const c = commit('fix(db): keep owner (#42)');
    const f = facts([tag('v1.0.0')], [c], 'production', {
      webUrl: 'https://github.com/acme/shop',
      target: { sha: TARGET, ref: 'main' },
    });
    const p = planRelease(f, { channel: 'production' });
    expect(p).toMatchObject({ releaseName: 'Release 2026-11-26T12:00:00.000Z', targetRef: 'main' });
    expect(p.action !== 'none' && p.notes).toBe(
      [
        'Changes since v1.0.0 ([compare](https://github.com/acme/shop/compare/v1.0.0...v1.0.1)).',
        '',
        '### Bug fixes',
        '',
        `- **db:** keep owner ([${c.sha.slice(0, 7)}](https://github.com/acme/shop/commit/${c.sha})) ([#42](https://github.com/acme/shop/pull/42))`,
        '',
      ].join('\n'),
    );
  });

  it('refuses facts counted from another base', () => {
    const f = {
      ...facts([tag('v1.0.0'), tag('v1.1.0')], [commit('x')], 'production'),
      baseTag: 'v1.0.0',
    };
    expect(() => planRelease(f, { channel: 'production' })).toThrow(
      /E_RELEASE_FACTS|counted from v1\.0\.0/,
    );
  });
});

describe('planRelease: beta', () => {
  it.each([
    [[], 'v0.0.1-pre.1'],
    [['v1.2.3'], 'v1.2.4-pre.1'],
    [['v1.2.3', 'v1.2.4-pre.1'], 'v1.2.4-pre.2'],
    [['v1.2.3', 'v1.2.4-pre9'], 'v1.2.4-pre.10'],
    [['v1.2.3', 'v1.2.4-pre9', 'v1.2.4-pre10', 'v1.2.4-pre2'], 'v1.2.4-pre.11'],
    [['v1.2.3', 'v1.2.4-pre.10', 'v1.2.4-pre9'], 'v1.2.4-pre.11'],
    [['v1.2.4'], 'v1.2.5-pre.1'],
    [['v1.2.4', 'v1.2.4-pre.7'], 'v1.2.5-pre.1'],
    [['v1.2.3', 'v1.2.4-rc.1'], 'v1.2.5-pre.1'],
    [['1.0.0', '1.0.1-pre.1'], '1.0.1-pre.2'],
    [['v1.2.3', 'v1.2.4-pre.1', 'v1.2.4-pre.1.1'], 'v1.2.4-pre.2'],
  ])('after %j releases %s', (tags, expected) => {
    expect(plan(tags, 'beta')).toMatchObject({ action: 'create', tag: expected, prerelease: true });
  });

  it('raises the upcoming version when --bump or auto asks for more', () => {
    expect(tagOf(plan(['v1.2.3', 'v1.2.4-pre.2'], 'beta', { bump: 'minor' }))).toBe('v1.3.0-pre.1');
    expect(tagOf(plan(['v1.2.3', 'v1.3.0-pre.2'], 'beta', { bump: 'minor' }))).toBe('v1.3.0-pre.3');
    expect(
      tagOf(plan(['v1.2.3', 'v1.2.4-pre.2'], 'beta', { bump: 'auto' }, [commit('feat: x')])),
    ).toBe('v1.3.0-pre.1');
    expect(
      tagOf(plan(['v1.2.3', 'v1.2.4-pre.2'], 'beta', { bump: 'auto' }, [commit('fix: x')])),
    ).toBe('v1.2.4-pre.3');
  });

  it('counts from the newest tag of any kind', () => {
    const tags = [tag('v1.2.3'), tag('v1.2.4-pre.1')];
    expect(selectBase(tags, TARGET, 'beta').base?.name).toBe('v1.2.4-pre.1');
    expect(selectBase(tags, TARGET, 'production').base?.name).toBe('v1.2.3');
    expect(selectBase([], TARGET, 'beta')).toEqual({});
  });

  it('has nothing to release when the newest tag is at the target and is a production tag', () => {
    const tags = [tag('v1.2.3'), tag('v1.2.4', TARGET)];
    expect(planRelease(facts(tags, [], 'beta'), { channel: 'beta' })).toMatchObject({
      action: 'none',
      baseTag: 'v1.2.4',
    });
  });

  it('completes the beta already at the target (a re-run after a failure)', () => {
    const tags = [tag('v1.2.3'), tag('v1.2.4-pre.1'), tag('v1.2.4-pre.2', TARGET)];
    const f = facts(tags, [commit('fix: a')], 'beta');
    expect(f.baseTag).toBe('v1.2.4-pre.1');
    expect(planRelease(f, { channel: 'beta' })).toMatchObject({
      action: 'complete',
      tag: 'v1.2.4-pre.2',
      prerelease: true,
    });
  });

  it('has nothing to release without new commits', () => {
    expect(plan(['v1.2.3', 'v1.2.4-pre.1'], 'beta', {}, [])).toMatchObject({
      action: 'none',
      baseTag: 'v1.2.4-pre.1',
    });
  });
});

describe('release notes', () => {
  it('groups by type, oldest first, with breaking changes and other changes', () => {
    const commits = [
      commit('Merge branch main into feature'),
      commit('random tweak'),
      commit('feat!: new config'),
      commit('docs: guide'),
      commit('fix: crash (#9)'),
      commit('feat(ui): button'),
    ];
    const p = plan(['v1.0.0'], 'production', {}, commits);
    const notes = p.action === 'none' ? '' : p.notes;
    const s = (c: CommitInfo) => c.sha.slice(0, 7);
    expect(notes).toBe(
      [
        'Changes since v1.0.0.',
        '',
        '### Breaking changes',
        '',
        `- new config (${s(commits[2]!)})`,
        '',
        '### Features',
        '',
        `- **ui:** button (${s(commits[5]!)})`,
        `- new config (${s(commits[2]!)})`,
        '',
        '### Bug fixes',
        '',
        `- crash (${s(commits[4]!)}) (#9)`,
        '',
        '### Documentation',
        '',
        `- guide (${s(commits[3]!)})`,
        '',
        '### Other changes',
        '',
        `- random tweak (${s(commits[1]!)})`,
        '',
      ].join('\n'),
    );
  });
});

/** SemVer order with the original's `-preN` read as `-pre.N` (an independent normalisation). */
function normalised(name: string): string {
  return name.replace(/^v/i, '').replace(/-pre(\d+)(?=$|\+)/, '-pre.$1');
}

describe('property: the next version is greater than every existing tag', () => {
  const tagName = fc
    .tuple(
      fc.constantFrom('v', ''),
      fc.nat(4),
      fc.nat(4),
      fc.nat(12),
      fc.option(
        fc.oneof(
          fc.nat(15).map((k) => `pre${k}`),
          fc.nat(15).map((k) => `pre.${k}`),
          fc.nat(3).map((k) => `rc.${k}`),
          fc.constant('alpha'),
          fc.constant('pre.1.beta'),
        ),
      ),
    )
    .map(([p, a, b, c, pre]) => `${p}${a}.${b}.${c}${pre === null ? '' : `-${pre}`}`);
  const tagsArb = fc.uniqueArray(
    fc.oneof(
      { weight: 9, arbitrary: tagName },
      { weight: 1, arbitrary: fc.constantFrom('latest', 'nightly', 'v1.2') },
    ),
    { maxLength: 25 },
  );
  const options = fc.record({
    channel: fc.constantFrom('production' as const, 'beta' as const),
    bump: fc.constantFrom(
      'major' as const,
      'minor' as const,
      'patch' as const,
      'auto' as const,
      undefined,
    ),
  });
  const subjects = fc.array(fc.constantFrom('fix: a', 'feat: b', 'feat!: c', 'chore: d', 'hello'), {
    minLength: 1,
    maxLength: 4,
  });

  it('holds for any tags, channel and bump', () => {
    fc.assert(
      fc.property(tagsArb, options, subjects, (names, opts, subs) => {
        const tags = names.map((name) => tag(name));
        const p = planRelease(
          facts(
            tags,
            subs.map((s) => commit(s)),
            opts.channel,
          ),
          {
            channel: opts.channel,
            ...(opts.bump === undefined ? {} : { bump: opts.bump }),
          },
        );
        expect(p.action).toBe('create');
        if (p.action !== 'create') return;
        const next = normalised(p.tag);
        expect(semver.valid(next)).toBe(next);
        for (const name of names) {
          const existing = normalised(name);
          if (semver.valid(existing) !== null) expect(semver.gt(next, existing)).toBe(true);
        }
        expect(names).not.toContain(p.tag);
        expect(p.prerelease).toBe(opts.channel === 'beta');
        if (opts.channel === 'beta') expect(p.version).toMatch(/-pre\.\d+$/);
        else expect(semver.prerelease(p.version)).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it("is deterministic and keeps the newest tag's prefix", () => {
    fc.assert(
      fc.property(tagsArb, options, (names, opts) => {
        const tags = names.map((name) => tag(name));
        const f = facts(tags, [commit('fix: x')], opts.channel);
        const a = planRelease(f, { channel: opts.channel });
        const b = planRelease(f, { channel: opts.channel });
        expect(a).toEqual(b);
        const versions = names.filter((x) => semver.valid(normalised(x)) !== null);
        if (versions.length === 0) expect(tagOf(a)?.startsWith('v')).toBe(true);
      }),
    );
  });
});
