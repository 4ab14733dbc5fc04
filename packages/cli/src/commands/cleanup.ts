import { defineCommand } from '../command.js';

/** Options of `deploytag cleanup`. */
interface CleanupCommandOptions {
  olderThan?: string;
  branch?: string[];
  dropDatabases?: boolean;
  pruneImages?: boolean;
  dryRun?: boolean;
  repo?: string;
  remote?: string;
  timeout?: string;
  concurrency?: string;
  kubeconfig?: string;
  context?: string;
}

/** `deploytag cleanup`: removes stale preview environments (the later DeployTag's cleanup job). */
export const cleanupCommand = defineCommand<CleanupCommandOptions>({
  name: 'cleanup',
  summary:
    'remove preview environments whose branch is gone, that are older than a TTL, or that are named',
  define(cmd) {
    cmd
      .option(
        '--older-than <duration>',
        'also remove previews last deployed longer ago (7d, 12h, 30m)',
      )
      .option('--branch <name...>', 'also remove the previews of these branches')
      .option('--drop-databases', "drop each removed preview's database (never a shared one)")
      .option(
        '--prune-images',
        "delete each removed preview's image tags (never one another environment uses)",
      )
      .option('--dry-run', 'list what would be removed and why; change nothing')
      .option('--repo <name>', 'the repository (default: CI variables, else the checkout)')
      .option(
        '--remote <url>',
        "the git remote whose branches count (default: the checkout's origin, else the CI's)",
      )
      .option('--timeout <seconds>', 'longest wait for one uninstall or namespace deletion', '300')
      .option('--concurrency <n>', 'environments removed at once (default 4; 1: one after another)')
      .option('--kubeconfig <file>', 'the kubeconfig (default: $KUBECONFIG)')
      .option('--context <name>', 'the kubeconfig context')
      .addHelpText(
        'after',
        '\nEnvironment: DEPLOYTAG_GIT_TOKEN (else GITHUB_TOKEN/GH_TOKEN) to list a private remote; DATABASE_URL\n' +
          '(or DATABASE_HOST…) for --drop-databases; CONTAINER_REGISTRY, PROJECT_ID, IMAGE for --prune-images.\n' +
          'Exit code 1 when an environment could not be removed: run it again to finish.\n\n' +
          'Examples:\n  deploytag cleanup --dry-run\n  deploytag cleanup --older-than 7d --drop-databases --prune-images\n' +
          '  deploytag cleanup --branch feature/login',
      );
  },
  async run(_args, options, io) {
    const { UsageError } = await import('@deploytag/core');
    const { formatCleanup, runCleanup } = await import('@deploytag/cleanup');
    const seconds = Number(options.timeout ?? '300');
    if (!Number.isFinite(seconds) || seconds <= 0) {
      throw new UsageError(
        `--timeout takes a positive number of seconds, not ${JSON.stringify(options.timeout)}`,
      );
    }
    const concurrency = options.concurrency === undefined ? undefined : Number(options.concurrency);
    if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
      throw new UsageError(
        `--concurrency takes a whole number of environments, 1 or more, not ${JSON.stringify(options.concurrency)}`,
      );
    }
    const result = await runCleanup({
      ...(options.olderThan === undefined ? {} : { olderThan: options.olderThan }),
      ...(options.branch === undefined ? {} : { branches: options.branch }),
      dropDatabases: options.dropDatabases === true,
      pruneImages: options.pruneImages === true,
      dryRun: options.dryRun === true,
      ...(options.repo === undefined ? {} : { repo: options.repo }),
      ...(options.remote === undefined ? {} : { remote: options.remote }),
      ...(options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig }),
      ...(options.context === undefined ? {} : { context: options.context }),
      timeoutMs: seconds * 1000,
      ...(concurrency === undefined ? {} : { concurrency }),
      env: io.env,
      cwd: io.cwd,
      logger: io.logger,
    });
    if (io.json) io.out(JSON.stringify(result));
    else for (const line of formatCleanup(result)) io.out(line);
    return (result.report?.failed ?? 0) > 0 ? 1 : 0;
  },
});
