import { Argument, Option } from 'commander';
import { defineCommand } from '../command.js';

interface ReleaseOptions {
  targetCommitish?: string;
  projectDir?: string;
  bump?: 'major' | 'minor' | 'patch' | 'auto';
  dryRun?: boolean;
  allowEmpty?: boolean;
  github: boolean;
}

/** `deploytag release production|beta`: the original `release` script (also the `release` bin of the release package). */
export const releaseCommand = defineCommand<ReleaseOptions>({
  name: 'release',
  original: 'release',
  summary: 'tag the next production or beta version, push it and publish the GitHub release',
  define(cmd) {
    cmd
      .addArgument(new Argument('<channel>', 'production or beta').choices(['production', 'beta']))
      .option('-c, --target-commitish <ref>', 'branch or sha to release (default: HEAD)')
      .option('-p, --project-dir <dir>', 'the repository (default: the current folder)')
      .addOption(
        new Option('--bump <level>', 'bump level (default patch)').choices([
          'major',
          'minor',
          'patch',
          'auto',
        ]),
      )
      .option('--dry-run', 'print the version and notes; touch nothing')
      .option('--allow-empty', 'release even without commits since the last tag')
      .option('--no-github', 'tag and push only (GitLab, plain git)')
      .addHelpText(
        'after',
        '\nEnvironment: DEPLOYTAG_GIT_TOKEN (push; else GITHUB_TOKEN/GH_TOKEN), GITHUB_TOKEN or GH_TOKEN (release),\nGITHUB_API_URL (Enterprise), GITHUB_REPOSITORY (owner/repo).\n\nExamples:\n  deploytag release beta --dry-run\n  deploytag release production -c main --bump auto',
      );
  },
  async run(args, options, io) {
    const channel = args[0];
    if (channel !== 'production' && channel !== 'beta') {
      const { UsageError } = await import('@deploytag/core');
      throw new UsageError(
        `unknown release channel ${channel ?? '(none)'}; use production or beta`,
      );
    }
    const { formatOutcome, runRelease } = await import('@deploytag/release');
    const outcome = await runRelease({
      channel,
      projectDir: options.projectDir ?? io.cwd,
      ...(options.targetCommitish === undefined
        ? {}
        : { targetCommitish: options.targetCommitish }),
      ...(options.bump === undefined ? {} : { bump: options.bump }),
      dryRun: options.dryRun === true,
      allowEmpty: options.allowEmpty === true,
      github: options.github,
      env: io.env,
      logger: io.logger,
    });
    if (io.json) io.out(JSON.stringify(outcome));
    else for (const line of formatOutcome(outcome)) io.out(line);
    return 0;
  },
});
