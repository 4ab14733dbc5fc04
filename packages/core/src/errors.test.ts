import { describe, expect, it } from 'vitest';
import {
  CommandFailedError,
  ConfigError,
  DeploytagError,
  ErrorCodes,
  TimeoutError,
  UsageError,
  isDeploytagError,
  reportError,
} from './errors.js';
import { Redactor } from './redact.js';
import { Secret } from './secret.js';

function capture(): { lines: string[]; write: (line: string) => void } {
  const lines: string[] = [];
  return { lines, write: (line) => lines.push(line) };
}

describe('DeploytagError', () => {
  it('has a stable code, a default exit code of 1 and the subclass name', () => {
    const error = new DeploytagError('E_SOMETHING', 'it broke; fix it');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('DeploytagError');
    expect(error.code).toBe('E_SOMETHING');
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe('it broke; fix it');
    expect(error.details).toBeUndefined();
    expect('cause' in error).toBe(false);
  });

  it('serialises to the documented JSON shape', () => {
    const error = new DeploytagError('E_X', 'msg', { exitCode: 4, details: { a: 1 } });
    expect(error.toJSON()).toEqual({
      name: 'DeploytagError',
      code: 'E_X',
      message: 'msg',
      exitCode: 4,
      details: { a: 1 },
    });
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'DeploytagError',
      code: 'E_X',
      message: 'msg',
      exitCode: 4,
      details: { a: 1 },
    });
  });

  it('serialises a chain of causes with their codes', () => {
    const root = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const middle = new ConfigError('bad host', { cause: root });
    const error = new DeploytagError('E_TOP', 'top', { cause: middle });
    expect(error.toJSON().cause).toEqual({
      name: 'ConfigError',
      message: 'bad host',
      code: 'E_CONFIG',
      cause: { name: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' },
    });
  });

  it('cuts cyclic and very deep cause chains instead of recursing forever', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    const cyclic = new DeploytagError('E_CYCLE', 'cycle', { cause: a });
    expect(cyclic.toJSON().cause).toEqual({
      name: 'Error',
      message: 'a',
      cause: { name: 'Error', message: 'b', cause: '[Circular]' },
    });
    expect(() => JSON.stringify(cyclic)).not.toThrow();

    const selfCaused = new DeploytagError('E_SELF', 'self');
    Object.defineProperty(selfCaused, 'cause', { value: selfCaused });
    expect(selfCaused.toJSON().cause).toBe('[Circular]');

    let deep: Error = new Error('bottom');
    for (let i = 0; i < 50; i++) deep = new Error(`level ${i}`, { cause: deep });
    const text = JSON.stringify(new DeploytagError('E_DEEP', 'deep', { cause: deep }));
    expect(text).toContain('[cause chain too deep]');
    expect(text).not.toContain('bottom');
  });

  it('serialises non-error causes safely, secrets included', () => {
    const cyclic: Record<string, unknown> = { token: Secret.of('hunter2-value') };
    cyclic.self = cyclic;
    const error = new DeploytagError('E_X', 'x', { cause: cyclic });
    const cause = error.toJSON().cause;
    expect(cause).toBe('{"token":"***","self":"[Circular]"}');
    expect(new DeploytagError('E_X', 'x', { cause: 42n }).toJSON().cause).toBe('42');
    expect(new DeploytagError('E_X', 'x', { cause: 'text' }).toJSON().cause).toBe('text');
  });
});

describe('subclasses', () => {
  it('ConfigError: exit code 2, E_CONFIG by default, file and key exposed', () => {
    const error = new ConfigError('namespace is missing; set DEPLOYTAG_NAMESPACE', {
      file: 'deploytag.config.json',
      key: 'namespace',
    });
    expect(error.exitCode).toBe(2);
    expect(error.code).toBe('E_CONFIG');
    expect(error.file).toBe('deploytag.config.json');
    expect(error.key).toBe('namespace');
    expect(error.name).toBe('ConfigError');
    expect(error.toJSON().details).toEqual({ file: 'deploytag.config.json', key: 'namespace' });
    expect(new ConfigError('x', { code: 'E_CONFIG_SCHEMA' }).code).toBe('E_CONFIG_SCHEMA');
    expect(isDeploytagError(error)).toBe(true);
  });

  it('UsageError: exit code 2 and E_USAGE', () => {
    const error = new UsageError('unknown option --frob; see --help');
    expect(error.exitCode).toBe(2);
    expect(error.code).toBe(ErrorCodes.USAGE);
    expect(error).toBeInstanceOf(DeploytagError);
  });

  it('TimeoutError: E_TIMEOUT with timeoutMs', () => {
    const cause = new Error('slow');
    const error = new TimeoutError('database not ready after 30000 ms', 30_000, { cause });
    expect(error.code).toBe('E_TIMEOUT');
    expect(error.timeoutMs).toBe(30_000);
    expect(error.exitCode).toBe(1);
    expect(error.cause).toBe(cause);
    expect(error.toJSON().details).toEqual({ timeoutMs: 30_000 });
  });

  it('CommandFailedError: message names the program, the exit code and the stderr tail', () => {
    const error = new CommandFailedError({
      command: 'helm',
      args: ['upgrade', '--install', 'my release'],
      exitCode: 3,
      signal: null,
      stderrTail: ['Error: UPGRADE FAILED', 'another operation is in progress'],
    });
    expect(error.code).toBe('E_COMMAND_FAILED');
    expect(error.command).toBe('helm');
    expect(error.childExitCode).toBe(3);
    expect(error.exitCode).toBe(3);
    expect(error.signal).toBeNull();
    expect(error.message).toBe(
      [
        "helm exited with code 3: helm upgrade --install 'my release'",
        'last 2 line(s) of its stderr:',
        '  Error: UPGRADE FAILED',
        '  another operation is in progress',
      ].join('\n'),
    );
    expect(error.toJSON().details).toMatchObject({
      command: 'helm',
      childExitCode: 3,
      signal: null,
      stderrTail: ['Error: UPGRADE FAILED', 'another operation is in progress'],
    });
  });

  it('CommandFailedError: a signal maps to 128 + its number, like a shell reports it', () => {
    const error = new CommandFailedError({
      command: 'bundle',
      args: [],
      exitCode: null,
      signal: 'SIGTERM',
      stderrTail: [],
    });
    expect(error.message).toContain('bundle was killed by signal SIGTERM');
    expect(error.message).toContain('wrote nothing to stderr');
    expect(error.exitCode).toBe(143);
    expect(error.childExitCode).toBeNull();
  });

  it('CommandFailedError: arguments and stderr lines are stored redacted', () => {
    const redactor = new Redactor().add('s3cr3t-password');
    const error = new CommandFailedError({
      command: 'psql',
      args: ['--password=s3cr3t-password'],
      exitCode: 2,
      signal: null,
      stderrTail: ['auth failed for s3cr3t-password'],
      redactor,
    });
    const everything =
      JSON.stringify(error) + error.message + error.args.join() + error.stderrTail.join();
    expect(everything).not.toContain('s3cr3t-password');
    expect(error.args).toEqual(['--password=***']);
    expect(error.stderrTail).toEqual(['auth failed for ***']);
  });
});

describe('isDeploytagError', () => {
  it('accepts DeployTag errors and rejects others', () => {
    expect(isDeploytagError(new DeploytagError('E', 'm'))).toBe(true);
    expect(isDeploytagError(new TimeoutError('m', 1))).toBe(true);
    expect(isDeploytagError(new Error('m'))).toBe(false);
    expect(isDeploytagError(Object.assign(new Error('m'), { code: 'E_X', exitCode: 2 }))).toBe(
      false,
    );
    expect(isDeploytagError({ code: 'E_X', message: 'm' })).toBe(false);
    expect(isDeploytagError(undefined)).toBe(false);
  });

  it('accepts an error from another copy of the package (shared brand)', () => {
    const foreign = new Error('from another copy');
    Object.defineProperty(foreign, Symbol.for('deploytag.core.error'), { value: true });
    expect(isDeploytagError(foreign)).toBe(true);
  });
});

describe('reportError', () => {
  it('prints one line without a stack for an expected error and returns its exit code', () => {
    const out = capture();
    const code = reportError(new ConfigError('set DEPLOYTAG_NAMESPACE'), {
      write: out.write,
      redactor: new Redactor(),
    });
    expect(code).toBe(2);
    expect(out.lines).toEqual(['error: set DEPLOYTAG_NAMESPACE']);
  });

  it('does not print causes unless verbose', () => {
    const error = new DeploytagError('E_X', 'top', {
      cause: new DeploytagError('E_Y', 'middle', { cause: new Error('bottom') }),
    });
    const quiet = capture();
    reportError(error, { write: quiet.write, redactor: new Redactor() });
    expect(quiet.lines).toEqual(['error: top']);
    const verbose = capture();
    reportError(error, { write: verbose.write, redactor: new Redactor(), verbose: true });
    expect(verbose.lines).toEqual([
      'error: top',
      '  caused by: DeploytagError: middle',
      '  caused by: Error: bottom',
    ]);
  });

  it('prints the stack of an unexpected error and returns 1', () => {
    const out = capture();
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    const code = reportError(bug, { write: out.write, redactor: new Redactor() });
    expect(code).toBe(1);
    expect(out.lines[0]).toMatch(/^internal error/);
    const text = out.lines.join('\n');
    expect(text).toContain("TypeError: Cannot read properties of undefined (reading 'x')");
    expect(text).toMatch(/\n\s+at /);
    expect(out.lines.length).toBeGreaterThan(2);
  });

  it('handles thrown values that are not errors', () => {
    const out = capture();
    expect(reportError('plain string', { write: out.write, redactor: new Redactor() })).toBe(1);
    expect(out.lines.join('\n')).toContain('plain string');
  });

  it('never returns 0', () => {
    const out = capture();
    const error = new DeploytagError('E_X', 'm', { exitCode: 0 });
    expect(reportError(error, { write: out.write, redactor: new Redactor() })).toBe(1);
  });

  it('prints one JSON line with json, for expected and unexpected errors', () => {
    const out = capture();
    const error = new CommandFailedError({
      command: 'helm',
      args: ['status'],
      exitCode: 1,
      signal: null,
      stderrTail: ['line one', 'line two'],
    });
    expect(reportError(error, { write: out.write, redactor: new Redactor(), json: true })).toBe(1);
    expect(out.lines).toHaveLength(1);
    const parsed = JSON.parse(out.lines[0]!) as Record<string, unknown>;
    expect(parsed).toMatchObject({ name: 'CommandFailedError', code: 'E_COMMAND_FAILED' });
    expect(parsed.message).toBe(error.message);

    const bugOut = capture();
    reportError(new RangeError('oops'), {
      write: bugOut.write,
      redactor: new Redactor(),
      json: true,
    });
    expect(bugOut.lines).toHaveLength(1);
    expect(JSON.parse(bugOut.lines[0]!)).toMatchObject({
      name: 'RangeError',
      code: 'E_INTERNAL',
      message: 'oops',
      exitCode: 1,
    });
  });

  it('redacts every line it prints, in text and in JSON', () => {
    const redactor = new Redactor().add(Secret.of('tok-1234567890'));
    const expected = new DeploytagError('E_AUTH', 'token tok-1234567890 was rejected', {
      details: { token: 'tok-1234567890' },
      cause: new Error('server said tok-1234567890 is bad'),
    });
    const bug = new Error('leaked tok-1234567890');
    const outputs: string[] = [];
    for (const error of [expected, bug]) {
      for (const json of [false, true]) {
        const out = capture();
        reportError(error, { write: out.write, redactor, json, verbose: true });
        outputs.push(...out.lines);
      }
    }
    const all = outputs.join('\n');
    expect(all).not.toContain('tok-1234567890');
    expect(all).toContain('token *** was rejected');
  });
});
