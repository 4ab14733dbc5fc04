import { UsageError } from '@deploytag/core';
import { defineCommand } from '../command.js';
import type { GitFacts } from '@deploytag/context';
import type { CliIO } from '../io.js';

/** Options of `deploytag set-env`. */
export interface SetEnvCommandOptions {
  format?: string;
  explain?: boolean;
  override?: boolean;
  force?: boolean;
  secrets?: boolean;
  config?: string;
  branch?: string;
  sha?: string;
  repo?: string;
  tag?: string;
  git?: boolean;
  json?: boolean;
}

const FORMATS = ['shell', 'json', 'dotenv'] as const;

/**
 * Writes the whole result in one piece. The result holds secret values by design (it is meant
 * for `eval`), so the check makes sure the redactor would not corrupt it: it refuses rather than
 * print a half-redacted value.
 */
export function printWhole(io: CliIO, text: string): void {
  if (text === '') return;
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (io.redactor.redact(body) !== body) {
    throw new UsageError(
      'a value to print contains a secret this process already hides in its output; print it with --format json to a file instead',
    );
  }
  io.out(body);
}

/**
 * The checkout's branch, commit and remote (`@deploytag/git`), read only when flags and the CI
 * variables leave one of them unknown; `undefined` outside a git repository.
 */
async function readGitFacts(
  io: CliIO,
  flags: { branch?: string; sha?: string; repo?: string; tag?: string },
): Promise<GitFacts | undefined> {
  const { readCiEnv } = await import('@deploytag/context');
  const ci = readCiEnv(io.env);
  const ref = flags.branch ?? flags.tag ?? ci.branch ?? ci.tag;
  if (
    ref !== undefined &&
    (flags.sha ?? ci.sha) !== undefined &&
    (flags.repo ?? ci.repo) !== undefined
  ) {
    return undefined;
  }
  const { readRepoFacts } = await import('@deploytag/git');
  try {
    const facts = await readRepoFacts(io.cwd, { env: io.env });
    return {
      sha: facts.sha,
      ...(facts.branch === undefined ? {} : { branch: facts.branch }),
      ...(facts.remoteUrl === undefined ? {} : { remoteUrl: facts.remoteUrl }),
      detached: facts.branch === undefined,
    };
  } catch (err) {
    if ((err as { code?: unknown }).code === 'E_GIT_NOT_A_REPOSITORY') return undefined;
    throw err;
  }
}

/** `deploytag set-env`: the `set_env.sh` replacement (context and secrets as export lines). */
export const setEnvCommand = defineCommand<SetEnvCommandOptions>({
  name: 'set-env',
  original: 'set_env.sh',
  summary: 'print the deployment context and secrets as export lines: eval "$(deploytag set-env)"',
  define(cmd) {
    cmd
      .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'shell')
      .option('--explain', 'print where each value came from (secrets masked) instead')
      .option('--override', 'secrets win over variables already set in the environment')
      .option('--force', 'recompute although K8S_DEPLOY_ENV_SET is set')
      .option('--no-secrets', 'do not load AWS_SECRETS')
      .option(
        '--config <file>',
        'the config file (default: deploytag.config.{json,yaml} in the folder)',
      )
      .option('--branch <name>', 'the branch (beats CI variables)')
      .option('--sha <sha>', 'the commit (beats CI variables)')
      .option('--repo <name>', 'the repository name (beats CI variables)')
      .option('--tag <tag>', 'the tag being released')
      .option('--no-git', 'do not read the git checkout (CI variables and flags only)')
      .addHelpText(
        'after',
        '\nExamples:\n  eval "$(deploytag set-env)"\n  deploytag set-env --explain\n  deploytag set-env --format dotenv > .env\n\nReads CircleCI, GitHub Actions, GitLab CI, Buildkite or DEPLOYTAG_* variables, then deploytag.config.{json,yaml}.\nSecrets in AWS_SECRETS (ids separated by commas) are read from AWS Secrets Manager after ./scripts/reset_env_vars.sh; a variable already set wins unless --override.',
      );
  },
  async run(_args, options, io) {
    const format = options.json === true ? 'json' : (options.format ?? 'shell');
    if (!(FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, not "${format}"`);
    }
    const secrets = await import('@deploytag/secrets');
    const flags = {
      ...(options.branch === undefined ? {} : { branch: options.branch }),
      ...(options.sha === undefined ? {} : { sha: options.sha }),
      ...(options.repo === undefined ? {} : { repo: options.repo }),
      ...(options.tag === undefined ? {} : { tag: options.tag }),
    };
    const git = options.git === false ? undefined : await readGitFacts(io, flags);
    let client: { destroy(): void } | undefined;
    try {
      const result = await secrets.computeSetEnv({
        env: io.env,
        cwd: io.cwd,
        flags,
        ...(git === undefined ? {} : { git }),
        ...(options.config === undefined ? {} : { configFile: options.config }),
        ...(options.override === undefined ? {} : { override: options.override }),
        secrets: options.secrets !== false,
        force: options.force === true || options.explain === true,
        logger: io.logger,
        source: async () => {
          const sm = await secrets.createSecretsManagerClient(io.env);
          client = sm;
          return secrets.createAwsSecretsSource({ client: sm, logger: io.logger });
        },
      });
      if (result.skipped) return 0;
      if (options.explain === true) {
        printWhole(io, secrets.explainSetEnv(result));
        return 0;
      }
      const values = result.variables.map((v) => [v.name, v.value] as const);
      const text =
        format === 'json'
          ? secrets.renderJson(values)
          : format === 'dotenv'
            ? secrets.renderDotenv(values)
            : secrets.renderShell(values, { unset: result.unset });
      printWhole(io, text);
      for (const v of result.variables) if (typeof v.value !== 'string') io.redactor.add(v.value);
      return 0;
    } finally {
      client?.destroy();
    }
  },
});
