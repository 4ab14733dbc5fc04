/**
 * The branch corpus against the naming rules of `@deploytag/context`: every name derived from a
 * hostile branch is valid for its target (DESIGN.md's limits), the same on every call, distinct
 * from every other branch's, and the same through `buildDeployContext` (CI variables or flags) as
 * through the naming functions. A property test then edits corpus names by one character (case,
 * punctuation, invisible characters) and checks the names still differ.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildDeployContext,
  databaseName,
  dnsLabel,
  imageTag,
  isDatabaseName,
  isDnsLabel,
  isImageTag,
  namespaceFor,
  namespaceName,
  releaseName,
} from '@deploytag/context';
import { branchCorpus } from './corpus.js';

const REPO = 'sample-service';
const CHART = 'sample-service';
const { branches, sameNames } = branchCorpus();

/** Every name a branch gets, by kind. */
function namesOf(branch: string): Record<string, string> {
  return {
    namespace: namespaceName(branch),
    release: releaseName(branch, CHART),
    'database (postgresql)': databaseName(REPO, branch),
    'database (mysql)': databaseName(REPO, branch, { engine: 'mysql' }),
    'image tag': imageTag(branch),
    'dns label': dnsLabel(branch),
  };
}

/** Whether two branches may share names: listed together in `sameNames`. */
function mayShare(a: string, b: string): boolean {
  return sameNames.some((group) => group.branches.includes(a) && group.branches.includes(b));
}

const ascii = (name: string) => /^[\x21-\x7e]+$/.test(name);

describe('the branch corpus', () => {
  it('is big enough to mean something and has no duplicates', () => {
    expect(branches.length).toBeGreaterThanOrEqual(60);
    expect(new Set(branches.map((b) => b.branch)).size).toBe(branches.length);
    for (const group of sameNames)
      for (const b of group.branches) expect(branches.map((e) => e.branch)).toContain(b);
  });

  it('holds the promised kinds of names', () => {
    const all = branches.map((b) => b.branch);
    expect(all.some((b) => b.length === 255)).toBe(true);
    expect(all.some((b) => b.includes('$(') && b.includes('@PWNED@'))).toBe(true);
    expect(all.some((b) => /\P{ASCII}/u.test(b))).toBe(true);
    expect(all.filter((b) => b.toLowerCase() === 'feature/login').length).toBeGreaterThan(2);
    expect(branches.filter((b) => b.git === false).length).toBeGreaterThan(10);
    expect(branches.filter((b) => b.deploy === true).length).toBeGreaterThanOrEqual(5);
  });
});

describe.each(branches.map((e) => [JSON.stringify(e.branch).slice(0, 70), e] as const))(
  '%s',
  (_label, entry) => {
    const names = namesOf(entry.branch);

    it('gets a valid name of every kind, within the limits of DESIGN.md', () => {
      expect(isDnsLabel(names['namespace']!, 63)).toBe(true);
      expect(isDnsLabel(names['release']!, 53)).toBe(true);
      expect(isDnsLabel(names['dns label']!, 63)).toBe(true);
      expect(isDatabaseName(names['database (postgresql)']!, 'postgresql')).toBe(true);
      expect(isDatabaseName(names['database (mysql)']!, 'mysql')).toBe(true);
      expect(Buffer.byteLength(names['database (postgresql)']!)).toBeLessThanOrEqual(63);
      expect(Buffer.byteLength(names['database (mysql)']!)).toBeLessThanOrEqual(64);
      expect(isImageTag(names['image tag']!)).toBe(true);
      for (const name of Object.values(names)) expect(ascii(name)).toBe(true);
    });

    it('gets the same names on every push', () => {
      expect(namesOf(entry.branch)).toEqual(names);
      expect(namespaceFor('preview', entry.branch)).toBe(names['namespace']);
    });

    it('never gets a shared environment name', () => {
      expect(['default', 'kube-system', 'kube-public', 'kube-node-lease']).not.toContain(
        names['namespace'],
      );
      for (const shared of ['staging', 'beta', 'production'])
        expect(names['database (postgresql)']!.toLowerCase()).not.toBe(`${REPO}-${shared}`);
      expect(names['image tag']).not.toBe('latest');
    });

    const ways = [
      ['--branch', { flags: { branch: entry.branch }, env: {} }],
      ...(entry.env === false
        ? []
        : ([['CIRCLE_BRANCH', { env: { CIRCLE_BRANCH: entry.branch } }]] as const)),
    ] as const;
    it.each(ways)('gets the same names through buildDeployContext (%s)', (_way, given) => {
      const trimmed = entry.branch.trim();
      const context = buildDeployContext({
        env: {
          CIRCLE_SHA1: 'a'.repeat(40),
          CIRCLE_PROJECT_REPONAME: REPO,
          CHART_NAME: `./charts/${CHART}`,
          DOMAIN: 'sample.test',
          CONTAINER_REGISTRY: 'registry.test:5000',
          ...given.env,
        },
        ...('flags' in given ? { flags: given.flags } : {}),
      });
      expect(context.kind).toBe('preview');
      expect(context.branch).toBe(trimmed);
      const expected = namesOf(trimmed);
      expect(context.namespace).toBe(expected['namespace']);
      expect(context.release).toBe(expected['release']);
      expect(context.database).toBe(expected['database (postgresql)']);
      expect(context.image.branchTag).toBe(expected['image tag']);
      expect(context.host).toBe(`${expected['release']!}.sample.test`);
      expect(context.image.ref).toMatch(/^registry\.test:5000\/sample-service:[a-f0-9]{40}$/);
    });
  },
);

describe('distinct names across the corpus', () => {
  const kinds = Object.keys(namesOf('x'));
  it.each(kinds)('no two branches share a %s (but those that share on purpose)', (kind) => {
    const owners = new Map<string, string[]>();
    for (const { branch } of branches) {
      const name = namesOf(branch)[kind]!;
      owners.set(name, [...(owners.get(name) ?? []), branch]);
    }
    const clashes = [...owners.entries()].filter(
      ([, list]) => list.length > 1 && !list.every((b) => mayShare(b, list[0]!)),
    );
    expect(clashes).toEqual([]);
  });

  it('gives the branches that share on purpose exactly the same names', () => {
    for (const group of sameNames) {
      const [first, ...rest] = group.branches.map(namesOf);
      for (const other of rest) expect(other).toEqual(first);
    }
  });

  it('keeps long branches apart even when they differ only in their last character', () => {
    const long = branches.filter((b) => b.branch.length === 255).map((b) => b.branch);
    expect(long.length).toBeGreaterThanOrEqual(3);
    const namespaces = long.map(namespaceName);
    expect(new Set(namespaces).size).toBe(long.length);
    // Cut to fit, each keeps a readable start and ends with its own hash.
    for (const ns of namespaces) expect(ns).toMatch(/^feature-[a-z]+--[0-9a-f]{8}$/);
  });

  it('records every name, so that a change of the rule (which would orphan environments) shows', async () => {
    const table = Object.fromEntries(branches.map((e) => [e.branch, namesOf(e.branch)]));
    await expect(`${JSON.stringify(table, null, 2)}\n`).toMatchFileSnapshot(
      '../../corpus/branches.names.json',
    );
  });
});

describe('a one-character edit of a corpus name changes its names', () => {
  /** Characters that make near-identical names: punctuation, case, invisible and look-alikes. */
  const edit = fc.constantFrom('-', '.', '_', '/', ' ', '@', 'A', 'a', '\u200d', '\u0430', 'é');
  /**
   * The original's own ambiguity, kept on purpose: two names the original made cleanly (only the
   * characters it kept, plus `/`) that are equal once `/` is `-` share that kind of name.
   */
  const clean: Record<string, RegExp> = {
    namespace: /^[a-z0-9/-]+$/,
    release: /^[a-z0-9/-]+$/,
    'database (postgresql)': /^[A-Za-z0-9/-]+$/,
    'image tag': /^[A-Za-z0-9_/-]+$/,
  };

  it('inserting, replacing or deleting one character', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...branches.map((b) => b.branch)),
        fc.nat(),
        edit,
        fc.constantFrom('insert', 'replace', 'delete'),
        (branch, at, char, how) => {
          const i = at % (branch.length + 1);
          const edited =
            how === 'insert'
              ? branch.slice(0, i) + char + branch.slice(i)
              : how === 'replace'
                ? branch.slice(0, i) + char + branch.slice(i + 1)
                : branch.slice(0, i) + branch.slice(i + 1);
          if (edited === branch || edited === '') return;
          const [a, b] = [namesOf(branch), namesOf(edited)];
          for (const [kind, charset] of Object.entries(clean)) {
            const shared =
              charset.test(branch) &&
              charset.test(edited) &&
              branch.replaceAll('/', '-') === edited.replaceAll('/', '-');
            if (!shared) expect(b[kind], kind).not.toBe(a[kind]);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
