import { describe, expect, it } from 'vitest';
import { LOG_LEVELS, createLogger, isLogLevel, silentLogger } from './logger.js';
import type { LogLevel, LogRecord, Reporter } from './logger.js';
import { Redactor } from './redact.js';
import { Secret } from './secret.js';

function memoryReporter(): Reporter & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  return { records, write: (record) => records.push(record) };
}

const now = (): number => Date.UTC(2026, 0, 1);

describe('createLogger', () => {
  it('hands records with level, message, time, tags and fields to the reporter', () => {
    const reporter = memoryReporter();
    const logger = createLogger({ reporter, redactor: new Redactor(), now });
    logger.info('deployed', { namespace: 'feature-x', replicas: 2 });
    expect(reporter.records).toEqual([
      {
        level: 'info',
        message: 'deployed',
        time: Date.UTC(2026, 0, 1),
        tags: [],
        fields: { namespace: 'feature-x', replicas: 2 },
      },
    ]);
  });

  it('filters by level (info by default)', () => {
    const reporter = memoryReporter();
    const logger = createLogger({ reporter, redactor: new Redactor() });
    expect(logger.level).toBe('info');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(reporter.records.map((r) => r.level)).toEqual(['info', 'warn', 'error']);

    for (const level of LOG_LEVELS) {
      const each = memoryReporter();
      const filtered = createLogger({ reporter: each, level, redactor: new Redactor() });
      for (const l of LOG_LEVELS) filtered[l](l);
      expect(each.records.map((r) => r.message)).toEqual(
        LOG_LEVELS.slice(LOG_LEVELS.indexOf(level)),
      );
    }
  });

  it('rejects an unknown level', () => {
    expect(() =>
      createLogger({ reporter: memoryReporter(), level: 'verbose' as LogLevel }),
    ).toThrow(/unknown log level verbose/);
  });

  it('child loggers add tags and bound fields without changing the parent', () => {
    const reporter = memoryReporter();
    const root = createLogger({ reporter, redactor: new Redactor(), level: 'debug' });
    const pipeline = root.child({ tag: 'pipeline', fields: { branch: 'main', step: 1 } });
    const helm = pipeline.child('helm').child({ fields: { step: 2 } });
    helm.debug('upgrade', { release: 'app' });
    root.info('root');
    pipeline.warn('pipe', { branch: 'other' });
    expect(helm.level).toBe('debug');
    expect(
      reporter.records.map(({ tags, fields, message }) => ({ tags, fields, message })),
    ).toEqual([
      {
        message: 'upgrade',
        tags: ['pipeline', 'helm'],
        fields: { branch: 'main', step: 2, release: 'app' },
      },
      { message: 'root', tags: [], fields: {} },
      { message: 'pipe', tags: ['pipeline'], fields: { branch: 'other', step: 1 } },
    ]);
  });

  it('redacts messages and string fields, nested too, and masks Secret values', () => {
    const reporter = memoryReporter();
    const redactor = new Redactor().add('db-password-1');
    const logger = createLogger({ reporter, redactor });
    logger.info('connecting with db-password-1', {
      url: 'postgres://app:db-password-1@host/db',
      token: Secret.of('api-token-9'),
      nested: {
        list: ['x db-password-1 y', Secret.of('other')],
        deep: { deeper: 'db-password-1' },
      },
      error: new Error('login failed for db-password-1'),
    });
    const record = reporter.records[0]!;
    expect(record.message).toBe('connecting with ***');
    expect(record.fields).toEqual({
      url: 'postgres://app:***@host/db',
      token: '***',
      nested: { list: ['x *** y', '***'], deep: { deeper: '***' } },
      error: { name: 'Error', message: 'login failed for ***' },
    });
    expect(JSON.stringify(record)).not.toMatch(/db-password-1|api-token-9/);
  });

  it('redacts bound fields with values the redactor learnt later', () => {
    const reporter = memoryReporter();
    const redactor = new Redactor();
    const logger = createLogger({ reporter, redactor }).child({ fields: { dsn: 'u:late-secret' } });
    redactor.add('late-secret');
    logger.info('x');
    expect(reporter.records[0]!.fields).toEqual({ dsn: 'u:***' });
  });

  it('makes field values JSON-safe', () => {
    const reporter = memoryReporter();
    const logger = createLogger({ reporter, redactor: new Redactor().add('map-secret') });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    logger.info('x', {
      big: 10n,
      when: new Date(Date.UTC(2026, 0, 2)),
      cyclic,
      skipped: undefined,
      fn: function handler() {
        return 1;
      },
      map: new Map([['k', 'map-secret']]),
    });
    const fields = reporter.records[0]!.fields;
    expect(fields).toEqual({
      big: '10',
      when: '2026-01-02T00:00:00.000Z',
      cyclic: { name: 'loop', self: '[Circular]' },
      fn: '[Function handler]',
      map: "Map(1) { 'k' => '***' }",
    });
    expect(() => JSON.stringify(fields)).not.toThrow();
  });
});

describe('silentLogger', () => {
  it('outputs nothing and its children are silent too', () => {
    expect(silentLogger.child('x')).toBe(silentLogger);
    expect(() => {
      silentLogger.error('nothing');
    }).not.toThrow();
  });
});

describe('isLogLevel', () => {
  it('accepts exactly the four levels', () => {
    expect(LOG_LEVELS.every(isLogLevel)).toBe(true);
    expect(isLogLevel('trace')).toBe(false);
    expect(isLogLevel('toString')).toBe(false);
    expect(isLogLevel(1)).toBe(false);
  });
});
