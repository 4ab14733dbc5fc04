import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConfigError,
  DeploytagError,
  ErrorCodes,
  isDeploytagError,
  runCommand,
  silentLogger,
} from '@deploytag/core';
import type { Logger } from '@deploytag/core';
import { DbErrorCodes } from './errors.js';

/** One program run of a {@link BundlePlan}. */
export interface BundleCommand {
  /** The program (`gem`, `bundle`). */
  program: string;
  /** Its arguments. */
  args: string[];
  /** Extra environment (bundler settings). */
  env: Record<string, string>;
}

/** What `bundle` will run (the original `bundle.sh`). */
export interface BundlePlan {
  /** The bundler version pinned by `BUNDLED WITH` in `Gemfile.lock`, if any. */
  bundlerVersion?: string;
  /** The environment the install is for (`RAILS_ENV`, `RACK_ENV`, else `production`). */
  environment: string;
  /** Gem groups left out (`development`, `test` outside those environments). */
  without: string[];
  /** The programs to run, in order. */
  commands: BundleCommand[];
}

/** Input of {@link planBundle}. */
export interface BundleFacts {
  /** The text of `Gemfile.lock`, when there is one. */
  gemfileLock?: string;
  /** The environment (`RAILS_ENV`, `RACK_ENV`, `BUNDLE_WITHOUT`). */
  env: Readonly<Record<string, string | undefined>>;
}

const VERSION = /^\d+(?:\.[0-9A-Za-z]+)*$/;

/**
 * The bundler version after `BUNDLED WITH` in a `Gemfile.lock`, or undefined when there is none.
 *
 * @param lockfile - the text of `Gemfile.lock`
 * @throws ConfigError when the line after `BUNDLED WITH` is not a version
 */
export function bundledWith(lockfile: string): string | undefined {
  const lines = lockfile.split(/\r?\n/);
  const at = lines.findIndex((line) => line.trim() === 'BUNDLED WITH');
  if (at < 0) return undefined;
  const version = lines[at + 1]?.trim() ?? '';
  if (!VERSION.test(version)) {
    throw new ConfigError(
      `Gemfile.lock: the line after BUNDLED WITH is ${JSON.stringify(version)}, not a bundler version; run bundle lock to repair it`,
      { file: 'Gemfile.lock', key: 'BUNDLED WITH' },
    );
  }
  return version;
}

/**
 * Plans the original `bundle.sh`, purely: install the bundler version pinned in `Gemfile.lock`
 * (`gem install bundler -v X`), then `bundle _X_ install` with a frozen lockfile
 * (`BUNDLE_FROZEN=true`) and, outside the `development` and `test` environments, without those
 * groups (`BUNDLE_WITHOUT=development:test`, joined with any groups already in `BUNDLE_WITHOUT`).
 * Settings go through bundler's environment variables, which every bundler version reads (the
 * `--deployment`/`--without` flags are gone from bundler 2.x).
 *
 * @param facts - the lockfile text and the environment
 */
export function planBundle(facts: BundleFacts): BundlePlan {
  const version = facts.gemfileLock === undefined ? undefined : bundledWith(facts.gemfileLock);
  const environment = facts.env['RAILS_ENV'] || facts.env['RACK_ENV'] || 'production';
  const existing = (facts.env['BUNDLE_WITHOUT'] ?? '').split(/[:\s,]+/).filter((g) => g !== '');
  const without =
    environment === 'development' || environment === 'test'
      ? existing
      : [...new Set([...existing, 'development', 'test'])];
  const installEnv: Record<string, string> = {};
  if (facts.gemfileLock !== undefined) installEnv['BUNDLE_FROZEN'] = 'true';
  if (without.length > 0) installEnv['BUNDLE_WITHOUT'] = without.join(':');
  const commands: BundleCommand[] = [];
  if (version !== undefined) {
    commands.push({
      program: 'gem',
      args: ['install', 'bundler', '-v', version, '--no-document', '--conservative'],
      env: {},
    });
  }
  commands.push({
    program: 'bundle',
    args: [...(version === undefined ? [] : [`_${version}_`]), 'install'],
    env: installEnv,
  });
  return {
    ...(version === undefined ? {} : { bundlerVersion: version }),
    environment,
    without,
    commands,
  };
}

/** Options of {@link runBundle}. */
export interface RunBundleOptions {
  /** The project folder (with `Gemfile` and `Gemfile.lock`); the current folder unless given. */
  cwd?: string;
  /** The environment; `process.env` unless given. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Progress and the programs' output. */
  logger?: Logger;
  /** Only plan. */
  dryRun?: boolean;
  /** Stops the programs. */
  signal?: AbortSignal;
}

/**
 * The original `bundle.sh`: reads `Gemfile.lock`, plans with {@link planBundle} and runs the
 * commands through core's runner, their output streamed to the logger.
 *
 * @param options - project folder, environment, logger, dry run
 * @returns the plan (which ran, unless `dryRun`)
 * @throws DeploytagError `E_RUBY_MISSING` when `gem` or `bundle` is not installed, saying what to install
 */
export async function runBundle(options: RunBundleOptions = {}): Promise<BundlePlan> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const logger = options.logger ?? silentLogger;
  if (!existsSync(join(cwd, 'Gemfile'))) {
    throw new ConfigError(`${cwd} has no Gemfile: run bundle from the Ruby project's folder`, {
      file: join(cwd, 'Gemfile'),
    });
  }
  const lockPath = join(cwd, 'Gemfile.lock');
  const plan = planBundle({
    env,
    ...(existsSync(lockPath) ? { gemfileLock: readFileSync(lockPath, 'utf8') } : {}),
  });
  if (options.dryRun === true) return plan;
  for (const command of plan.commands) {
    try {
      await runCommand(command.program, command.args, {
        cwd,
        env: command.env,
        logger: logger.child(command.program),
        outputLevels: { stdout: 'info', stderr: 'info' },
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      if (isDeploytagError(error) && error.code === ErrorCodes.COMMAND_NOT_FOUND) {
        throw new DeploytagError(
          DbErrorCodes.RUBY_MISSING,
          `${command.program} is not installed or not on PATH: bundle needs Ruby with RubyGems` +
            `${command.program === 'bundle' ? ' and bundler' : ''}. Install Ruby (e.g. apt-get install ruby-full) or run in an image that has it`,
          { cause: error, details: { program: command.program } },
        );
      }
      throw error;
    }
  }
  return plan;
}
