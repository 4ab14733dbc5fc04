import { captureStream } from '../test-support.js';
import { describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { bundle } from './bundle.js';
import { dbAddExtensions } from './db-add-extensions.js';
import { dbAlterOwner } from './db-alter-owner.js';
import { dbExists } from './db-exists.js';
import { dbWait } from './db-wait.js';
import { initDb } from './init-db.js';

const commands = [dbWait, initDb, dbExists, dbAlterOwner, dbAddExtensions, bundle];

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout = captureStream();
  const stderr = captureStream();
  const code = await main(argv, { stdout, stderr, env, cwd: '/nonexistent', commands });
  return { code, out: stdout.text(), err: stderr.text() };
}

describe('database commands (argument and configuration errors, before any I/O)', () => {
  it('init-db asks how to set the database up', async () => {
    const r = await run(['init-db']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('say how to set the database up: --rails, or --schema');
  });

  it('init-db refuses two ways of doing one step', async () => {
    const r = await run(['init-db', '--rails', '--migrations', 'migrations']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('give one way to do the migrate step, not 2');
  });

  it('init-db names the variables to set when no database is configured', async () => {
    const r = await run(['init-db', '--rails']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no database is configured: set DATABASE_URL/);
  });

  it('init-db rejects a malformed --migrate-command and a bad --timeout', async () => {
    expect((await run(['init-db', '--migrate-command', 'rake "db:migrate'])).err).toMatch(
      /unterminated " quote/,
    );
    const r = await run(['init-db', '--rails', '--timeout', 'soon'], {
      DATABASE_URL: 'postgres://u@h/x',
    });
    expect(r.code).toBe(2);
    expect(r.err).toContain('--timeout must be a positive number of seconds');
  });

  it('never echoes a malformed DATABASE_URL, which may hold a password', async () => {
    const r = await run(['db-exists'], { DATABASE_URL: 'postgres://u:hunter2@' + '%zz' });
    expect(r.code).toBe(2);
    expect(r.err).not.toContain('hunter2');
  });

  it('db-alter-owner and db-add-extensions say what to set', async () => {
    const owner = await run(['db-alter-owner']);
    expect(owner.code).toBe(2);
    expect(owner.err).toContain('pass it as an argument or set DATABASE_OWNER');
    const ext = await run(['db-add-extensions']);
    expect(ext.code).toBe(2);
    expect(ext.err).toContain('set DATABASE_EXTENSIONS');
  });

  it('bundle needs a Gemfile', async () => {
    const r = await run(['bundle']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('has no Gemfile');
  });
});
