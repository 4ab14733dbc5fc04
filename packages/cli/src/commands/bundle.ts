import { defineCommand } from '../command.js';

interface BundleOptions {
  dryRun?: boolean;
}

/** `deploytag bundle`: the original `bundle.sh`. */
export const bundle = defineCommand<BundleOptions>({
  name: 'bundle',
  original: 'bundle.sh',
  summary: 'install the bundler version pinned in Gemfile.lock, then bundle install (frozen)',
  define(cmd) {
    cmd
      .option('--dry-run', 'print the commands without running them')
      .addHelpText(
        'after',
        '\nOutside RAILS_ENV/RACK_ENV development and test, the development and test groups are left out.\n\nExamples:\n  RAILS_ENV=production deploytag bundle\n  deploytag bundle --dry-run',
      );
  },
  async run(_args, options, io) {
    const { runBundle } = await import('@deploytag/db');
    const plan = await runBundle({
      cwd: io.cwd,
      env: io.env,
      logger: io.logger,
      dryRun: options.dryRun === true,
    });
    if (io.json) io.out(JSON.stringify(plan));
    else if (options.dryRun === true) {
      for (const command of plan.commands) {
        const env = Object.entries(command.env)
          .map(([k, v]) => `${k}=${v} `)
          .join('');
        io.out(`${env}${[command.program, ...command.args].join(' ')}`);
      }
    } else
      io.out(
        `bundle installed (${plan.environment}${plan.without.length > 0 ? `, without ${plan.without.join(', ')}` : ''})`,
      );
    return 0;
  },
});
