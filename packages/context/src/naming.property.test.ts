import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DATABASE_NAME_MAX_LENGTH,
  RESERVED_NAMESPACES,
  SHARED_ENVIRONMENT_NAMES,
  databaseName,
  dnsLabel,
  imageTag,
  isDatabaseName,
  isDnsLabel,
  isImageTag,
  namespaceName,
  releaseName,
} from './naming.js';
import type { DatabaseEngine } from './naming.js';

const RUNS = { numRuns: 2000 } as const;

/** Pieces that make near-identical branch names: punctuation, case, unicode, dots, slashes. */
const piece = fc.constantFrom(
  'feature/',
  'bug/',
  'epic/',
  'a',
  'b',
  'A',
  'B',
  'login',
  'Login',
  '0',
  '9',
  '-',
  '--',
  '/',
  '//',
  '.',
  '..',
  '_',
  ' ',
  '@',
  '~',
  'é',
  'e\u0301',
  'ß',
  'İ',
  '🚀',
  '👩‍💻',
  '\u0000',
  '\uD800',
  '\uDC00',
  'x'.repeat(40),
);

/** Random and hostile branch names. */
const hostile = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({
    unit: fc.oneof(fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))),
    maxLength: 4,
  }),
  fc.string({ minLength: 250, maxLength: 300 }),
  fc.array(piece, { maxLength: 12 }).map((parts) => parts.join('')),
  fc.constantFrom('', '-', '/', '..', '.', '---', '_', '@{u}', '123', '1-fix', 'x'.repeat(300)),
);

/** Branch names the original handled cleanly: lower case, a letter first, `/` or `-` between words. */
const simpleLower = fc
  .tuple(
    fc.stringMatching(/^[a-z][a-z0-9]{0,9}$/),
    fc.array(fc.tuple(fc.constantFrom('/', '-'), fc.stringMatching(/^[a-z0-9]{1,8}$/)), {
      maxLength: 5,
    }),
  )
  .map(([head, rest]) => head + rest.map(([sep, word]) => sep + word).join(''));

/** Same, with upper case (databases and image tags keep case). */
const simpleMixed = fc
  .tuple(
    fc.stringMatching(/^[A-Za-z0-9]{1,10}$/),
    fc.array(fc.tuple(fc.constantFrom('/', '-'), fc.stringMatching(/^[A-Za-z0-9]{1,8}$/)), {
      maxLength: 5,
    }),
  )
  .map(([head, rest]) => head + rest.map(([sep, word]) => sep + word).join(''));

const engine = fc.constantFrom<DatabaseEngine>('postgresql', 'mysql');
const repo = fc.oneof(
  fc.constantFrom('shop', 'my_app', 'Shop.API', 'a'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/),
);

/** The original scripts' names, as SCRIPTS.md describes them. */
const original = {
  namespace: (branch: string) => branch.toLowerCase().replace(/[^a-z0-9]/g, '-'),
  release: (branch: string, chart: string) =>
    `${branch}-${chart}`.toLowerCase().replace(/[^a-z0-9]/g, '-'),
  database: (repoName: string, branch: string) =>
    `${repoName}-${branch}`.replace(/[^A-Za-z0-9]/g, '-'),
  imageTag: (branch: string) => branch.replace(/[^A-Za-z0-9_]/g, '-'),
};

/** Two branches the original rule itself cannot tell apart: they differ only by `/` versus `-`. */
const sameUpToSlash = (a: string, b: string) => a.replaceAll('/', '-') === b.replaceAll('/', '-');

/**
 * Asserts that `name` maps distinct inputs to distinct outputs, except for inputs that differ only
 * by `/` versus `-` (both are simple names the original produced, kept on purpose).
 */
function assertDistinct(inputs: readonly string[], name: (input: string) => string): void {
  const seen = new Map<string, string>();
  for (const input of inputs) {
    const output = name(input);
    const previous = seen.get(output);
    if (previous !== undefined && previous !== input) {
      expect(
        sameUpToSlash(previous, input),
        `${JSON.stringify(previous)} and ${JSON.stringify(input)} both give ${output}`,
      ).toBe(true);
    }
    seen.set(output, input);
  }
}

describe('every derived name is valid for its limit and charset', () => {
  it('namespaceName and dnsLabel', () => {
    fc.assert(
      fc.property(hostile, fc.integer({ min: 11, max: 63 }), (branch, max) => {
        const namespace = namespaceName(branch);
        expect(isDnsLabel(namespace, 63), namespace).toBe(true);
        expect(RESERVED_NAMESPACES).not.toContain(namespace);
        expect(isDnsLabel(dnsLabel(branch, { maxLength: max }), max)).toBe(true);
      }),
      RUNS,
    );
  });

  it('releaseName, for hostile charts too', () => {
    fc.assert(
      fc.property(hostile, fc.oneof(fc.constant('web'), hostile), (branch, chart) => {
        const release = releaseName(branch, chart);
        expect(isDnsLabel(release, 53), release).toBe(true);
      }),
      RUNS,
    );
  });

  it('databaseName, for hostile repositories too', () => {
    fc.assert(
      fc.property(fc.oneof(repo, hostile), fc.option(hostile), engine, (name, branch, eng) => {
        const database = databaseName(name, branch ?? undefined, { engine: eng });
        expect(isDatabaseName(database, eng), database).toBe(true);
        expect(database.length).toBeLessThanOrEqual(DATABASE_NAME_MAX_LENGTH[eng]);
      }),
      RUNS,
    );
  });

  it('imageTag', () => {
    fc.assert(
      fc.property(hostile, (branch) => {
        const tag = imageTag(branch);
        expect(isImageTag(tag), tag).toBe(true);
        expect(tag).not.toBe('latest');
      }),
      RUNS,
    );
  });
});

describe('names are deterministic', () => {
  it('the same input gives the same names every time', () => {
    fc.assert(
      fc.property(hostile, repo, (branch, name) => {
        // A freshly built copy, and every call repeated: no hidden state, no randomness.
        const again = ` ${branch}`.slice(1);
        expect(namespaceName(again)).toBe(namespaceName(branch));
        expect(releaseName(again, 'web')).toBe(releaseName(branch, 'web'));
        expect(databaseName(name, again)).toBe(databaseName(name, branch));
        expect(imageTag(again)).toBe(imageTag(branch));
      }),
      RUNS,
    );
  });
});

describe('distinct branches get distinct names (except `/` versus `-`)', () => {
  const branchSet = fc.uniqueArray(hostile, { minLength: 2, maxLength: 60 });

  it('namespaces', () => {
    fc.assert(
      fc.property(branchSet, (branches) => {
        assertDistinct(branches, namespaceName);
      }),
      { numRuns: 300 },
    );
  });

  it('releases of one chart', () => {
    fc.assert(
      fc.property(branchSet, (branches) => {
        assertDistinct(branches, (branch) => releaseName(branch, 'web'));
      }),
      { numRuns: 300 },
    );
  });

  it('databases of one repository, and never the shared ones', () => {
    fc.assert(
      fc.property(branchSet, repo, engine, (branches, name, eng) => {
        const withoutEmpty = branches.filter((branch) => branch !== '');
        assertDistinct(withoutEmpty, (branch) => databaseName(name, branch, { engine: eng }));
        const shared = SHARED_ENVIRONMENT_NAMES.map((environment) =>
          databaseName(name, undefined, { engine: eng, environment }),
        );
        for (const branch of withoutEmpty) {
          expect(shared).not.toContain(databaseName(name, branch, { engine: eng }));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('image tags', () => {
    fc.assert(
      fc.property(branchSet, (branches) => {
        assertDistinct(branches, imageTag);
      }),
      { numRuns: 300 },
    );
  });

  it('near-identical names differing only in punctuation or case', () => {
    const variants = [
      'feature/a.b',
      'feature/a-b',
      'feature/a_b',
      'feature/a b',
      'feature/a--b',
      'feature/a/b',
      'feature/A-b',
      'Feature/a-b',
      'feature/a-b-',
      '-feature/a-b',
      'feature/a.b.',
      'feature/a..b',
      'feature/ab',
      'feature/a\u00e9b',
      'feature/ae\u0301b',
    ];
    for (const name of [
      namespaceName,
      imageTag,
      (branch: string) => releaseName(branch, 'web'),
      (branch: string) => databaseName('shop', branch),
    ]) {
      assertDistinct(variants, name);
    }
    // The only pair the rule keeps together, because the original gave both this name:
    expect(namespaceName('feature/a/b')).toBe(namespaceName('feature-a/b'));
  });
});

describe('valid simple names stay exactly what the original produced', () => {
  const notReserved = (branch: string) =>
    !RESERVED_NAMESPACES.includes(branch) &&
    !SHARED_ENVIRONMENT_NAMES.includes(branch.replaceAll('/', '-').toLowerCase()) &&
    branch !== 'latest';

  it('namespaces and releases', () => {
    fc.assert(
      fc.property(simpleLower, fc.stringMatching(/^[a-z][a-z0-9]{0,11}$/), (branch, chart) => {
        fc.pre(notReserved(branch));
        expect(namespaceName(branch)).toBe(original.namespace(branch));
        const release = original.release(branch, chart);
        fc.pre(release.length <= 53);
        expect(releaseName(branch, chart)).toBe(release);
      }),
      RUNS,
    );
  });

  it('databases (case kept) and image tags (case kept)', () => {
    fc.assert(
      fc.property(simpleMixed, repo, engine, (branch, name, eng) => {
        fc.pre(notReserved(branch));
        expect(imageTag(branch)).toBe(original.imageTag(branch));
        const database = original.database(name, branch);
        fc.pre(database.length <= DATABASE_NAME_MAX_LENGTH[eng] && !database.includes('--'));
        expect(databaseName(name, branch, { engine: eng })).toBe(database);
      }),
      RUNS,
    );
  });

  it('the shared databases, even for repositories with punctuation', () => {
    fc.assert(
      fc.property(repo, (name) => {
        const database = original.database(name, 'staging');
        // A repository whose sanitised name holds `--` (`a--b`, `a_-b`) is hashed by design.
        fc.pre(!database.includes('--'));
        expect(databaseName(name, undefined)).toBe(database);
      }),
      RUNS,
    );
  });
});

describe('hashed names', () => {
  it('keep a readable prefix and end in -- and 8 hex characters', () => {
    fc.assert(
      fc.property(hostile, (branch) => {
        for (const name of [namespaceName(branch), releaseName(branch, 'web'), imageTag(branch)]) {
          if (name.includes('--')) expect(name).toMatch(/^[^]+--[0-9a-f]{8}$/);
        }
      }),
      RUNS,
    );
  });

  it('are used exactly when the simple name would be lossy, too long or reserved', () => {
    fc.assert(
      fc.property(hostile, (branch) => {
        const namespace = namespaceName(branch);
        const simple = original.namespace(branch);
        const lossless =
          /^[a-z0-9/-]+$/.test(branch) &&
          /^[a-z](?:[a-z0-9-]*[a-z0-9])?$/.test(simple) &&
          !simple.includes('--') &&
          simple.length <= 63 &&
          !RESERVED_NAMESPACES.includes(simple);
        expect(namespace === simple).toBe(lossless);
        expect(namespace.includes('--')).toBe(!lossless);
      }),
      RUNS,
    );
  });
});
