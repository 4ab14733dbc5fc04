import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import type { LogRecord } from './logger.js';
import { Redactor } from './redact.js';
import {
  chooseReporter,
  createConsoleReporter,
  createNdjsonReporter,
  createPlainReporter,
} from './reporters.js';
import type { ReporterStream } from './reporters.js';
import { Secret } from './secret.js';

const TIME = Date.UTC(2026, 0, 1);

function record(overrides: Partial<LogRecord> = {}): LogRecord {
  return {
    level: 'info',
    message: 'release deployed',
    time: TIME,
    tags: [],
    fields: {},
    ...overrides,
  };
}

function fakeStream(isTTY: boolean, hasColors?: boolean): ReporterStream & { text: () => string } {
  let text = '';
  const stream: ReporterStream & { text: () => string } = {
    isTTY,
    write: (chunk: string) => {
      text += chunk;
      return true;
    },
    text: () => text,
  };
  if (hasColors !== undefined) stream.hasColors = () => hasColors;
  return stream;
}

const ESC = '\u001b[';
/** Matches one SGR escape sequence (built from a string: control characters in a literal lint). */
const SGR = new RegExp(`${ESC.replace('[', '\\[')}\\d+m`, 'g');
/** Matches the run of SGR sequences at the start of a text. */
const LEADING_SGR = new RegExp(`^(?:${SGR.source})+`);

describe('createPlainReporter', () => {
  it('writes timestamp, level, tags, message and key=value fields', () => {
    const lines: string[] = [];
    const reporter = createPlainReporter((line) => lines.push(line));
    reporter.write(record({ tags: ['helm'], fields: { namespace: 'feature-x', replicas: 2 } }));
    reporter.write(record({ level: 'warn', message: 'no tags' }));
    reporter.write(record({ level: 'debug', tags: ['pipeline', 'db'], message: 'nested' }));
    expect(lines).toEqual([
      '2026-01-01T00:00:00.000Z INFO [helm] release deployed namespace=feature-x replicas=2',
      '2026-01-01T00:00:00.000Z WARN no tags',
      '2026-01-01T00:00:00.000Z DEBUG [pipeline/db] nested',
    ]);
  });

  it('quotes field values that would be ambiguous and serialises objects', () => {
    const lines: string[] = [];
    createPlainReporter((line) => lines.push(line)).write(
      record({
        message: 'm',
        fields: {
          spaced: 'a b',
          quoted: 'say "hi"',
          eq: 'a=b',
          empty: '',
          multiline: 'x\ny',
          ok: true,
          nothing: null,
          obj: { a: [1, 2] },
          path: '/tmp/x.txt',
        },
      }),
    );
    expect(lines).toEqual([
      '2026-01-01T00:00:00.000Z INFO m spaced="a b" quoted="say \\"hi\\"" eq="a=b" empty="" multiline="x\\ny" ok=true nothing=null obj={"a":[1,2]} path=/tmp/x.txt',
    ]);
  });

  it('prefixes every line of a multi-line message and puts fields on the last', () => {
    const lines: string[] = [];
    createPlainReporter((line) => lines.push(line)).write(
      record({ level: 'error', tags: ['helm'], message: 'first\nsecond', fields: { a: 1 } }),
    );
    expect(lines).toEqual([
      '2026-01-01T00:00:00.000Z ERROR [helm] first',
      '2026-01-01T00:00:00.000Z ERROR [helm] second a=1',
    ]);
  });
});

describe('createNdjsonReporter', () => {
  it('writes one parseable JSON object per record', () => {
    const lines: string[] = [];
    const reporter = createNdjsonReporter((line) => lines.push(line));
    reporter.write(record({ tags: ['a'], fields: { n: 1, text: 'two\nlines' } }));
    reporter.write(record({ level: 'error', message: 'multi\nline' }));
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => !line.includes('\n'))).toBe(true);
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      {
        time: '2026-01-01T00:00:00.000Z',
        level: 'info',
        tags: ['a'],
        message: 'release deployed',
        fields: { n: 1, text: 'two\nlines' },
      },
      {
        time: '2026-01-01T00:00:00.000Z',
        level: 'error',
        tags: [],
        message: 'multi\nline',
        fields: {},
      },
    ]);
  });

  it('does not throw on values JSON cannot represent', () => {
    const lines: string[] = [];
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    createNdjsonReporter((line) => lines.push(line)).write(record({ fields: { big: 1n, cyclic } }));
    expect(JSON.parse(lines[0]!)).toMatchObject({
      fields: { big: '1', cyclic: { self: '[Circular]' } },
    });
  });
});

describe('createConsoleReporter', () => {
  it('colours the level marker, has no timestamp, and dims tags and fields', () => {
    const stream = fakeStream(true, true);
    const reporter = createConsoleReporter(stream, { env: {} });
    reporter.write(record({ level: 'warn', tags: ['helm'], fields: { a: 1 } }));
    const text = stream.text();
    expect(text).toContain(`${ESC}33m`);
    expect(text).not.toContain('2026');
    const plain = text.replace(SGR, '');
    expect(plain).toBe('warn  [helm] release deployed a=1\n');
  });

  it('uses a different colour per level', () => {
    const colours = (['debug', 'info', 'warn', 'error'] as const).map((level) => {
      const stream = fakeStream(true, true);
      createConsoleReporter(stream, { env: {} }).write(record({ level }));
      // The escape sequences that open the marker (colour, and weight for warn and error).
      return LEADING_SGR.exec(stream.text())?.[0];
    });
    expect(colours.every((prefix) => prefix !== undefined)).toBe(true);
    expect(new Set(colours).size).toBe(4);
  });

  it('respects NO_COLOR, FORCE_COLOR, TERM=dumb, terminals without colours, and the option', () => {
    const render = (isTTY: boolean, env: Record<string, string>, color?: boolean): string => {
      const stream = fakeStream(isTTY, true);
      const reporter = createConsoleReporter(
        stream,
        color === undefined ? { env } : { env, color },
      );
      reporter.write(record({ level: 'error' }));
      return stream.text();
    };
    expect(render(true, {})).toContain(ESC);
    expect(render(true, { NO_COLOR: '1' })).not.toContain(ESC);
    expect(render(true, { NO_COLOR: '' })).toContain(ESC);
    expect(render(true, { NO_COLOR: '1', FORCE_COLOR: '1' })).not.toContain(ESC);
    expect(render(false, { FORCE_COLOR: '1' })).toContain(ESC);
    expect(render(true, { FORCE_COLOR: '0' })).not.toContain(ESC);
    expect(render(true, { TERM: 'dumb' })).not.toContain(ESC);
    expect(render(false, {})).not.toContain(ESC);
    expect(render(true, {}, false)).not.toContain(ESC);
    expect(render(false, { NO_COLOR: '1' }, true)).toContain(ESC);
    const noColours = fakeStream(true, false);
    createConsoleReporter(noColours, { env: {} }).write(record());
    expect(noColours.text()).toBe('info  release deployed\n');
  });

  it('indents the continuation lines of a multi-line message', () => {
    const stream = fakeStream(true);
    createConsoleReporter(stream, { color: false }).write(
      record({ message: 'one\ntwo', fields: { k: 'v' } }),
    );
    expect(stream.text()).toBe('info  one\n      two k=v\n');
  });
});

describe('chooseReporter', () => {
  const sample = record({ tags: ['t'], fields: { k: 'v' } });

  it('picks NDJSON when json is set, even on a terminal', () => {
    const stream = fakeStream(true, true);
    chooseReporter({ json: true, stream }).write(sample);
    expect(JSON.parse(stream.text())).toMatchObject({ level: 'info', tags: ['t'] });
    expect(stream.text().endsWith('\n')).toBe(true);
  });

  it('picks the console reporter for a terminal', () => {
    const stream = fakeStream(true, true);
    chooseReporter({ stream, env: {} }).write(sample);
    expect(stream.text()).toContain(ESC);
    expect(stream.text()).not.toContain('2026-01-01T');
  });

  it('picks plain lines otherwise', () => {
    const stream = fakeStream(false);
    chooseReporter({ stream }).write(sample);
    expect(stream.text()).toBe('2026-01-01T00:00:00.000Z INFO [t] release deployed k=v\n');
  });
});

describe('logger and reporters together', () => {
  it('never let a secret reach the output', () => {
    const redactor = new Redactor().add('hunter2-hunter2');
    for (const json of [false, true]) {
      for (const isTTY of [false, true]) {
        const stream = fakeStream(isTTY, true);
        const logger = createLogger({ reporter: chooseReporter({ json, stream }), redactor });
        logger
          .child({ tag: 'db', fields: { password: Secret.of('bound-secret-value') } })
          .error('login hunter2-hunter2 failed', { dsn: 'pg://u:hunter2-hunter2@h' });
        expect(stream.text()).not.toMatch(/hunter2-hunter2|bound-secret-value/);
        expect(stream.text()).toContain('***');
      }
    }
  });
});
