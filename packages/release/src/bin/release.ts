#!/usr/bin/env node
/**
 * The `release` bin (`npx @deploytag/release production | beta | help`): parses arguments,
 * calls `runRelease`, prints, and exits. All behaviour lives in the library.
 *
 * @packageDocumentation
 */
import { Command, CommanderError, Option } from 'commander';
import {
  UsageError,
  chooseReporter,
  createLogger,
  globalRedactor,
  reportError,
} from '@deploytag/core';
import type { BumpOption, ReleaseChannel, RunReleaseOutcome } from '../index.js';

const USAGE = `Usage: release <production|beta|help> [options]

Tags the next release of the repository and publishes it on GitHub.

  release production   next version after the latest release (a pending beta's
                       version, else the last release bumped); v0.0.1 when none
  release beta         next pre-release of the upcoming version: v1.2.4-pre.N
  release help         this text

Options:
  -c, --target-commitish <ref>  branch or sha to release (default: HEAD)
  -p, --project-dir <dir>       the repository (default: the current folder)
      --bump <level>            major | minor | patch | auto (Conventional Commits);
                                default patch
      --dry-run                 print the version and notes; touch nothing
      --allow-empty             release even without commits since the last tag
      --no-github               tag and push only (GitLab, plain git)
      --json                    print the result as one JSON object

Environment:
  DEPLOYTAG_GIT_TOKEN  token to push the tag over https (else GITHUB_TOKEN / GH_TOKEN)
  GITHUB_TOKEN         token for the GitHub release (or GH_TOKEN)
  GITHUB_API_URL       GitHub Enterprise API, e.g. https://ghe.example.com/api/v3
  GITHUB_REPOSITORY    owner/repo when the remote does not name it

Examples:
  release beta --dry-run
  release production -c main --bump auto
  npx @deploytag/release beta -p ./service --no-github

Computing a version needs no token: it reads the tags. A re-run after a failure
completes what is missing (the tag is never created twice).
`;

interface Flags {
  targetCommitish?: string;
  projectDir?: string;
  bump?: BumpOption;
  dryRun?: boolean;
  allowEmpty?: boolean;
  github: boolean;
  json?: boolean;
}

function addOptions(cmd: Command): Command {
  return cmd
    .option('-c, --target-commitish <ref>', 'branch or sha to release (default: HEAD)')
    .option('-p, --project-dir <dir>', 'the repository (default: the current folder)')
    .addOption(
      new Option('--bump <level>', 'bump level').choices(['major', 'minor', 'patch', 'auto']),
    )
    .option('--dry-run', 'print the version and notes; touch nothing')
    .option('--allow-empty', 'release even without new commits')
    .option('--no-github', 'tag and push only')
    .option('--json', 'print the result as JSON');
}

async function run(
  channel: ReleaseChannel,
  flags: Flags,
  write: (line: string) => void,
): Promise<number> {
  const { formatOutcome, runRelease } = await import('../index.js');
  const logger = createLogger({
    level: 'info',
    redactor: globalRedactor,
    reporter: chooseReporter({ json: flags.json === true, stream: process.stderr }),
  });
  const outcome: RunReleaseOutcome = await runRelease({
    channel,
    ...(flags.projectDir === undefined ? {} : { projectDir: flags.projectDir }),
    ...(flags.targetCommitish === undefined ? {} : { targetCommitish: flags.targetCommitish }),
    ...(flags.bump === undefined ? {} : { bump: flags.bump }),
    dryRun: flags.dryRun === true,
    allowEmpty: flags.allowEmpty === true,
    github: flags.github,
    logger,
  });
  if (flags.json === true) write(JSON.stringify(outcome));
  else for (const line of formatOutcome(outcome)) write(line);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const write = (line: string): void =>
    void process.stdout.write(`${globalRedactor.redact(line)}\n`);
  let json = argv.includes('--json');
  const program = new Command('release')
    .helpCommand(false)
    .helpOption(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: () => undefined })
    .showSuggestionAfterError(false);
  let exit = 0;
  for (const channel of ['production', 'beta'] as const) {
    addOptions(program.command(channel).helpOption(false)).action(async (flags: Flags) => {
      json = flags.json === true;
      exit = await run(channel, flags, write);
    });
  }
  program.command('help').action(() => {
    write(USAGE.trimEnd());
  });
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
      write(USAGE.trimEnd());
      return argv.length === 0 ? 2 : 0;
    }
    await program.parseAsync(argv, { from: 'user' });
    return exit;
  } catch (error) {
    if (error instanceof CommanderError) {
      return reportError(
        new UsageError(`${error.message.replace(/^error: /, '')}; run \`release help\``),
        { json },
      );
    }
    return reportError(error, { json });
  }
}

process.exitCode = await main(process.argv.slice(2));
