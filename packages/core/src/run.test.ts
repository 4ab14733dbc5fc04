import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CommandFailedError, DeploytagError, TimeoutError, reportError } from './errors.js';
import { createLogger } from './logger.js';
import type { LogRecord, Logger } from './logger.js';
import { Redactor } from './redact.js';
import { runCommand, splitCommandLine } from './run.js';
import { Secret } from './secret.js';

const NODE = process.execPath;
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const scratch = mkdtempSync(join(tmpdir(), 'deploytag-core-run-'));

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** A logger that keeps its records (with a fresh redactor that knows no secrets). */
function recordingLogger(onRecord?: (record: LogRecord) => void): {
  logger: Logger;
  records: LogRecord[];
} {
  const records: LogRecord[] = [];
  const logger = createLogger({
    level: 'debug',
    redactor: new Redactor(),
    reporter: {
      write: (record) => {
        records.push(record);
        onRecord?.(record);
      },
    },
  });
  return { logger, records };
}

/** Whether a process exists and is not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) [ZX]/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** Runs `node -e script -- ...args` (the arguments are process.argv[1] onwards in the script). */
function runNode(
  script: string,
  args: string[] = [],
  options: Parameters<typeof runCommand>[2] = {},
) {
  return runCommand(NODE, ['-e', script, '--', ...args], options);
}

describe('runCommand: output', () => {
  it('captures stdout and stderr and reports code, signal and duration', async () => {
    const result = await runNode(
      "process.stdout.write('out 1\\nout 2\\n'); process.stderr.write('err é\\n');",
    );
    expect(result).toMatchObject({
      code: 0,
      signal: null,
      stdout: 'out 1\nout 2\n',
      stderr: 'err é\n',
      stdoutTruncated: false,
      stderrTruncated: false,
    });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('passes arguments as they are, never through a shell', async () => {
    const tricky = ['$(echo injected); echo x', "it's", '*', '', 'a\nb'];
    const result = await runNode(
      'process.stdout.write(JSON.stringify(process.argv.slice(1)))',
      tricky,
    );
    expect(JSON.parse(result.stdout)).toEqual(tricky);
  });

  it('writes input to stdin', async () => {
    const script =
      "let s=''; process.stdin.setEncoding('utf8').on('data', d => s += d).on('end', () => process.stdout.write(s.toUpperCase()));";
    expect((await runNode(script, [], { input: 'hello\nworld' })).stdout).toBe('HELLO\nWORLD');
    // Without input, stdin is empty rather than inherited.
    expect((await runNode(script)).stdout).toBe('');
  });

  it('streams lines to the logger while the program runs: stdout at debug, stderr at info', async () => {
    const release = join(scratch, 'release-streaming');
    const script = `
      const fs = require('fs');
      process.stdout.write('first\\n');
      process.stderr.write('warning: careful\\r\\n');
      const timer = setInterval(() => {
        if (!fs.existsSync(process.argv[1])) return;
        clearInterval(timer);
        process.stdout.write('par');
        setTimeout(() => process.stdout.write('tial\\nlast without newline'), 20);
      }, 10);`;
    // The program only finishes after the logger has seen its first line.
    const { logger, records } = recordingLogger((record) => {
      if (record.message === 'first') writeFileSync(release, '');
    });
    const result = await runNode(script, [release], { logger });
    const lines = records
      .filter((record) => record.fields.stream !== undefined)
      .map(({ level, message, fields }) => ({ level, message, stream: fields.stream }));
    expect(lines).toEqual(
      expect.arrayContaining([
        { level: 'debug', message: 'first', stream: 'stdout' },
        { level: 'info', message: 'warning: careful', stream: 'stderr' },
        { level: 'debug', message: 'partial', stream: 'stdout' },
        { level: 'debug', message: 'last without newline', stream: 'stdout' },
      ]),
    );
    expect(lines).toHaveLength(4);
    expect(result.stdout).toBe('first\npartial\nlast without newline');
    expect(records[0]!.message).toMatch(/^running .*node -e/);
  });

  it('uses the configured levels and skips lines below the logger level', async () => {
    const records: LogRecord[] = [];
    const logger = createLogger({
      level: 'warn',
      redactor: new Redactor(),
      reporter: { write: (record) => records.push(record) },
    });
    await runNode("console.log('to stdout'); console.error('to stderr')", [], {
      logger,
      outputLevels: { stderr: 'warn' },
    });
    expect(records.map((r) => [r.level, r.message])).toEqual([['warn', 'to stderr']]);
  });

  it('keeps only the tail of the output beyond captureLimitBytes', async () => {
    const result = await runNode(
      "process.stdout.write('x'.repeat(100000) + 'END'); process.stderr.write('é'.repeat(1000))",
      [],
      { captureLimitBytes: 1001 },
    );
    expect(result.stdout).toHaveLength(1001);
    expect(result.stdout.endsWith('xEND')).toBe(true);
    expect(result.stdoutTruncated).toBe(true);
    // 1001 bytes of two-byte characters: the cut half character is dropped, not garbled.
    expect(result.stderr).toBe('é'.repeat(500));
    expect(result.stderrTruncated).toBe(true);
  });
});

describe('runCommand: environment', () => {
  const inherited = 'DEPLOYTAG_CORE_TEST_INHERITED';
  afterEach(() => {
    Reflect.deleteProperty(process.env, inherited);
  });

  it('merges env over process.env, and undefined removes a variable', async () => {
    process.env[inherited] = 'from parent';
    process.env.DEPLOYTAG_CORE_TEST_KEEP = 'kept';
    try {
      const result = await runNode(
        'const e = process.env; console.log(JSON.stringify({ a: e.DT_ADDED, i: e.DEPLOYTAG_CORE_TEST_INHERITED, k: e.DEPLOYTAG_CORE_TEST_KEEP, o: e.DT_OVERRIDE }))',
        [],
        { env: { DT_ADDED: 'added', [inherited]: undefined, DT_OVERRIDE: 'new' } },
      );
      expect(JSON.parse(result.stdout)).toEqual({ a: 'added', k: 'kept', o: 'new' });
    } finally {
      Reflect.deleteProperty(process.env, 'DEPLOYTAG_CORE_TEST_KEEP');
    }
  });

  it('starts from an empty environment with inheritEnv: false', async () => {
    process.env[inherited] = 'from parent';
    const result = await runNode('console.log(JSON.stringify(process.env))', [], {
      inheritEnv: false,
      env: { ONLY: 'this' },
    });
    expect(JSON.parse(result.stdout)).toEqual({ ONLY: 'this' });
  });

  it('reveals Secret values into the child environment and stdin', async () => {
    const value = 'env-secret-Zq9!x';
    const result = await runNode(
      "let s=''; process.stdin.on('data', d => s += d).on('end', () => console.log(JSON.stringify([require('crypto').createHash('sha256').update(process.env.DT_TOKEN).digest('hex'), require('crypto').createHash('sha256').update(s).digest('hex')])))",
      [],
      {
        env: { DT_TOKEN: Secret.of(value) },
        input: Secret.of('stdin-secret-value'),
        redactor: new Redactor(),
      },
    );
    expect(JSON.parse(result.stdout)).toEqual([sha256(value), sha256('stdin-secret-value')]);
  });
});

describe('runCommand: failures', () => {
  it('rejects a non-zero exit with CommandFailedError and the last 20 lines of stderr', async () => {
    const error = await rejection(
      runNode('for (let i = 1; i <= 30; i++) console.error(`line ${i}`); process.exit(3)', [
        '--flag',
      ]),
    );
    expect(error).toBeInstanceOf(CommandFailedError);
    const failed = error as CommandFailedError;
    expect(failed.code).toBe('E_COMMAND_FAILED');
    expect(failed.childExitCode).toBe(3);
    expect(failed.exitCode).toBe(3);
    expect(failed.command).toBe(NODE);
    expect(failed.args.at(-1)).toBe('--flag');
    expect(failed.stderrTail).toHaveLength(20);
    expect(failed.stderrTail[0]).toBe('line 11');
    expect(failed.stderrTail[19]).toBe('line 30');
    expect(failed.message).toContain(`${NODE} exited with code 3`);
    expect(failed.message).toContain('  line 30');
    expect(failed.message).not.toContain('line 10\n');
  });

  it('reports a program killed by a signal', async () => {
    const error = await rejection(runNode("process.kill(process.pid, 'SIGKILL')"));
    expect(error).toBeInstanceOf(CommandFailedError);
    expect((error as CommandFailedError).signal).toBe('SIGKILL');
    expect((error as CommandFailedError).exitCode).toBe(137);
  });

  it('resolves with the failure when allowFailure is set', async () => {
    const result = await runNode("console.error('nope'); process.exit(4)", [], {
      allowFailure: true,
    });
    expect(result.code).toBe(4);
    expect(result.stderr).toBe('nope\n');
  });

  it('rejects a missing program with E_COMMAND_NOT_FOUND saying how to fix it', async () => {
    const error = await rejection(runCommand('deploytag-no-such-program-42', ['--version']));
    expect(error).toBeInstanceOf(DeploytagError);
    expect((error as DeploytagError).code).toBe('E_COMMAND_NOT_FOUND');
    expect((error as DeploytagError).message).toMatch(
      /^deploytag-no-such-program-42 was not found on PATH; install it, or set the full path/,
    );
    const byPath = await rejection(runCommand(join(scratch, 'missing', 'helm'), []));
    expect((byPath as DeploytagError).code).toBe('E_COMMAND_NOT_FOUND');
    expect((byPath as DeploytagError).message).toMatch(/set the correct path/);
  });

  it('rejects a missing working directory with E_COMMAND_SPAWN', async () => {
    const error = await rejection(runNode('', [], { cwd: join(scratch, 'no-such-dir') }));
    expect((error as DeploytagError).code).toBe('E_COMMAND_SPAWN');
    expect((error as DeploytagError).message).toContain('does not exist');
  });

  it('rejects invalid limits before starting anything', async () => {
    await expect(runNode('', [], { timeoutMs: 0 })).rejects.toThrow(RangeError);
    await expect(runNode('', [], { captureLimitBytes: -1 })).rejects.toThrow(RangeError);
  });
});

describe('runCommand: secrets', () => {
  it('a secret passed in env never shows in an error message', async () => {
    const value = 'sUp3r-s3cret/t0ken+value';
    const records: LogRecord[] = [];
    const { logger } = recordingLogger((record) => records.push(record));
    const script = `
      const v = process.env.DEPLOY_TOKEN;
      console.log('stdout has ' + v);
      console.error('auth failed with token ' + v);
      console.error('base64: ' + Buffer.from('user:' + v).toString('base64'));
      console.error('url: https://user:' + encodeURIComponent(v) + '@registry');
      console.error('json: ' + JSON.stringify({ token: v }));
      process.exit(1);`;
    const error = await rejection(
      // The value is also (wrongly) passed as an argument; it must still not be shown.
      runNode(script, [`--token=${value}`], { env: { DEPLOY_TOKEN: Secret.of(value) }, logger }),
    );
    expect(error).toBeInstanceOf(CommandFailedError);
    const failed = error as CommandFailedError;
    const reported: string[] = [];
    reportError(failed, { write: (line) => reported.push(line), redactor: new Redactor() });
    reportError(failed, {
      write: (line) => reported.push(line),
      redactor: new Redactor(),
      json: true,
    });
    const everything = [
      failed.message,
      JSON.stringify(failed),
      failed.stderrTail.join('\n'),
      failed.args.join(' '),
      reported.join('\n'),
      JSON.stringify(records),
    ].join('\n');
    const base64 = Buffer.from(`user:${value}`).toString('base64');
    expect(everything).not.toContain(value);
    expect(everything).not.toContain(encodeURIComponent(value));
    expect(everything).not.toContain(base64.slice(8, -4));
    expect(failed.stderrTail[0]).toBe('auth failed with token ***');
    expect(failed.args.at(-1)).toBe('--token=***');
    expect(records.some((record) => record.message === 'stdout has ***')).toBe(true);
  });

  it('a secret given as input never shows in an error message', async () => {
    const value = 'input-secret-0987654321';
    const error = await rejection(
      runNode(
        "let s=''; process.stdin.on('data', d => s += d).on('end', () => { console.error('got ' + s); process.exit(2); })",
        [],
        { input: Secret.of(value), redactor: new Redactor() },
      ),
    );
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(JSON.stringify(error) + (error as Error).message).not.toContain(value);
    expect((error as CommandFailedError).stderrTail).toEqual(['got ***']);
  });
});

describe('runCommand: stopping', () => {
  it('stops a program that exceeds timeoutMs, with its descendants, and rejects with TimeoutError', async () => {
    const pids: number[] = [];
    const { logger } = recordingLogger((record) => {
      if (record.fields.stream === 'stdout') pids.push(Number(record.message));
    });
    const error = await rejection(
      runCommand('sh', ['-c', 'echo $$; sleep 60 & echo $!; wait'], { timeoutMs: 2000, logger }),
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeoutMs).toBe(2000);
    expect((error as TimeoutError).message).toMatch(/^sh did not finish within 2000 ms/);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  }, 20_000);

  it('sends SIGKILL when the program ignores SIGTERM for longer than killGraceMs', async () => {
    const controller = new AbortController();
    let pid = 0;
    const { logger } = recordingLogger((record) => {
      if (record.fields.stream === 'stdout') {
        pid = Number(record.message);
        controller.abort();
      }
    });
    const error = await rejection(
      runNode(
        "process.on('SIGTERM', () => console.error('ignoring SIGTERM')); console.log(process.pid); setInterval(() => {}, 1000)",
        [],
        { signal: controller.signal, killGraceMs: 1000, logger },
      ),
    );
    expect((error as DeploytagError).code).toBe('E_ABORTED');
    expect((error as DeploytagError).details).toMatchObject({
      signal: 'SIGKILL',
      stderrTail: ['ignoring SIGTERM'],
    });
    expect(pid).toBeGreaterThan(0);
    expect(isAlive(pid)).toBe(false);
  }, 20_000);

  it('stops the program when the AbortSignal fires and rejects with E_ABORTED', async () => {
    const controller = new AbortController();
    let pid = 0;
    const { logger } = recordingLogger((record) => {
      if (record.fields.stream === 'stdout') {
        pid = Number(record.message);
        controller.abort(new Error('deployment superseded'));
      }
    });
    const error = await rejection(
      runNode('console.log(process.pid); setInterval(() => {}, 1000)', [], {
        signal: controller.signal,
        logger,
      }),
    );
    expect((error as DeploytagError).code).toBe('E_ABORTED');
    expect((error as DeploytagError).message).toContain('was cancelled: deployment superseded');
    expect(isAlive(pid)).toBe(false);
  }, 20_000);

  it('does not wait for a background descendant that keeps the output open', async () => {
    // sh exits at once, but the sleep it started inherits (and holds) the stdout pipe.
    const result = await runCommand('sh', ['-c', 'sleep 30 & echo $!']);
    const sleeper = Number(result.stdout.trim());
    try {
      expect(result.code).toBe(0);
      expect(isAlive(sleeper)).toBe(true);
    } finally {
      process.kill(sleeper, 'SIGKILL');
    }
  }, 20_000);

  it('does not start anything when the AbortSignal has already fired', async () => {
    const error = await rejection(
      runCommand('deploytag-no-such-program-42', [], { signal: AbortSignal.abort() }),
    );
    expect((error as DeploytagError).code).toBe('E_ABORTED');
  });

  it('installs signal handlers only while the program runs', async () => {
    const before = process.listenerCount('SIGTERM');
    let during = -1;
    const { logger } = recordingLogger((record) => {
      if (record.fields.stream === 'stdout') during = process.listenerCount('SIGTERM');
    });
    const sigintBefore = process.listenerCount('SIGINT');
    await runNode("console.log('running')", [], { logger });
    expect(during).toBe(before + 1);
    expect(process.listenerCount('SIGTERM')).toBe(before);
    expect(process.listenerCount('SIGINT')).toBe(sigintBefore);

    let duringWithout = -1;
    const quiet = recordingLogger((record) => {
      if (record.fields.stream === 'stdout') duringWithout = process.listenerCount('SIGTERM');
    });
    await runNode("console.log('running')", [], { logger: quiet.logger, forwardSignals: false });
    expect(duringWithout).toBe(before);
  });

  it('forwards SIGTERM received by this process to the program so it can stop cleanly', async () => {
    const marker = join(scratch, 'sigterm-marker');
    const middle = join(scratch, 'middle.mjs');
    const child = `
      process.on('SIGTERM', () => {
        require('fs').writeFileSync(process.argv[1], 'stopped cleanly');
        process.exit(0);
      });
      console.log('ready');
      setInterval(() => {}, 1000);`;
    writeFileSync(
      middle,
      `
      const core = await import(${JSON.stringify(pathToFileURL(join(here, 'index.ts')).href)});
      const logger = core.createLogger({
        level: 'debug',
        reporter: { write: (r) => { if (r.message === 'ready') process.stdout.write('child-ready\\n'); } },
      });
      try {
        await core.runCommand(process.execPath, ['-e', ${JSON.stringify(child)}, ${JSON.stringify(marker)}], { logger });
        console.log(JSON.stringify({ resolved: true }));
      } catch (error) {
        console.log(JSON.stringify({ code: error.code, exitCode: error.exitCode, listeners: process.listenerCount('SIGTERM') }));
        process.exitCode = error.exitCode;
      }`,
    );
    const proc = spawn(NODE, ['--import', 'tsx', middle], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolveExit) => proc.on('close', resolveExit));
    await new Promise<void>((ready, fail) => {
      proc.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('child-ready\n')) ready();
      });
      proc.on('close', () => {
        fail(new Error(`middle process ended early: ${stdout}${stderr}`));
      });
    });
    expect(existsSync(marker)).toBe(false);
    proc.kill('SIGTERM');
    const code = await exited;
    expect(readFileSync(marker, 'utf8')).toBe('stopped cleanly');
    const report = JSON.parse(stdout.split('\n').filter(Boolean).at(-1)!) as unknown;
    expect(report).toEqual({ code: 'E_INTERRUPTED', exitCode: 143, listeners: 0 });
    expect(code).toBe(143);
  }, 30_000);
});

describe('splitCommandLine', () => {
  it.each([
    ['npm test', ['npm', 'test']],
    ['  bundle   exec rake db:migrate ', ['bundle', 'exec', 'rake', 'db:migrate']],
    [`sh -c 'echo "a b"'`, ['sh', '-c', 'echo "a b"']],
    [`run "" x`, ['run', '', 'x']],
    ['echo $HOME;rm -rf / `id`', ['echo', '$HOME;rm', '-rf', '/', '`id`']],
  ])('%s', (text, words) => {
    expect(splitCommandLine(text)).toEqual(words);
  });

  it('refuses an empty command and an unterminated quote', () => {
    expect(() => splitCommandLine('   ')).toThrow(/empty/);
    expect(() => splitCommandLine(`echo 'a`)).toThrow(/unterminated ' quote/);
  });
});
