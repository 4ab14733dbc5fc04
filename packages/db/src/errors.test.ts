import { CommandFailedError } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import { DatabaseStepError, connectionLost } from './errors.js';

const driverError = (message: string, code?: string): Error =>
  Object.assign(new Error(message), code === undefined ? {} : { code });

describe('connectionLost', () => {
  it('recognises a server that went away, as pg and mysql2 say it', () => {
    for (const e of [
      driverError('ROLLBACK - Client has encountered a connection error and is not queryable'),
      driverError('Connection terminated unexpectedly'),
      driverError('terminating connection due to administrator command', '57P01'),
      driverError('the database system is shutting down', '57P03'),
      driverError('read ECONNRESET', 'ECONNRESET'),
      driverError('Connection lost: The server closed the connection.', 'PROTOCOL_CONNECTION_LOST'),
    ])
      expect(connectionLost(e), e.message).toBe(true);
  });

  it('leaves SQL errors and failed commands alone', () => {
    expect(connectionLost(driverError('relation "x" does not exist', '42P01'))).toBe(false);
    expect(
      connectionLost(driverError('duplicate key value violates unique constraint', '23505')),
    ).toBe(false);
    expect(
      connectionLost(
        new CommandFailedError({
          command: 'rake',
          args: ['db:migrate'],
          exitCode: 1,
          signal: null,
          stderrTail: ['connection error'],
        }),
      ),
    ).toBe(false);
    expect(connectionLost('ECONNRESET')).toBe(false);
  });
});

describe('DatabaseStepError', () => {
  it('says so in its one line when the server went away mid-step', () => {
    const lost = new DatabaseStepError({
      step: 'migrate',
      database: 'shop',
      item: '002_x.cjs',
      cause: driverError(
        'ROLLBACK - Client has encountered a connection error and is not queryable',
      ),
    });
    expect(lost.message).toBe(
      'database shop: step "migrate" at 002_x.cjs failed: ROLLBACK - Client has encountered a connection error and is not queryable (the connection to the database server was lost: it stopped or restarted during the step); nothing was dropped and finished steps stay done: fix the cause and run init-db again to continue',
    );
    const sql = new DatabaseStepError({
      step: 'migrate',
      database: 'shop',
      cause: driverError('syntax error at or near "x"', '42601'),
    });
    expect(sql.message).not.toContain('connection');
  });
});
