import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineCommand } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import type { StepEvent } from '@deploytag/pipeline';
import type { DeployContext } from '@deploytag/context';

/** Options of `deploytag pipeline`. */
export interface PipelineCommandOptions {
  dir?: string;
  config?: string;
  dryRun?: boolean;
  only?: string;
  skip?: string;
  branch?: string;
  sha?: string;
  timeout?: string;
  addressTimeout?: string;
  atomic?: boolean;
  force?: boolean;
  forceBase?: boolean;
  workingTree?: boolean;
  progress?: string;
  concurrency?: string;
}

const list = (text: string | undefined): string[] | undefined =>
  text === undefined ? undefined : text.split(/[\s,]+/).filter((s) => s !== '');

/** `deploytag pipeline`: the whole push, planned as steps and run concurrently where independent. */
export const pipelineCommand = defineCommand<PipelineCommandOptions>({
  name: 'pipeline',
  summary:
    'tests, base image, app image, secrets, database and deploy of this push, concurrently where independent',
  define(cmd) {
    cmd
      .option('--dir <folder>', 'the project folder', '.')
      .option('--config <file>', 'the config file (default: deploytag.config.{json,yaml,yml})')
      .option('--dry-run', 'print the plan: what each step would do and why; change nothing')
      .option(
        '--only <steps>',
        'run only these steps (tests, secrets, base-image, app-image, database, deploy, dns)',
      )
      .option('--skip <steps>', 'skip these steps')
      .option('--branch <name>', 'the branch (beats CI variables and git)')
      .option('--sha <sha>', 'the commit (beats CI variables and git)')
      .option('--timeout <seconds>', 'how long helm waits for the rollout', '300')
      .option(
        '--address-timeout <seconds>',
        'how long to wait for a load balancer address (0: do not wait)',
        '300',
      )
      .option('--atomic', 'roll back when the rollout fails')
      .option('--force', 'run helm even when chart and values are unchanged')
      .option('--force-base', 'rebuild the base image even when its content tag exists')
      .option('--working-tree', 'build from the work tree, uncommitted changes included')
      .option('--progress <mode>', 'tty (live list), plain (timestamped lines) or github')
      .option('--concurrency <n>', 'most steps at once (1: one after another)')
      .addHelpText(
        'after',
        '\nSteps: (tests, secrets, base-image) → app-image, database → deploy → dns; independent ones run at once.\n' +
          'Reads the variables of every step (CONTAINER_REGISTRY, IMAGE, CHART_NAME, DOMAIN, AWS_SECRETS,\n' +
          'DATABASE_URL, TEST_COMMAND, MIGRATIONS_DIR, …) and deploytag.config.{json,yaml}.\n' +
          'Exit codes: 0 deployed, 1 a step failed, 2 usage or configuration, 3 branch not deployable,\n' +
          '130/143 interrupted (children stopped, locks released).\n\n' +
          'Examples:\n  deploytag pipeline --dry-run\n  deploytag pipeline\n' +
          '  deploytag pipeline --branch feature/login --only base-image,app-image\n  deploytag pipeline --json > report.json',
      );
  },
  async run(_args, options, io) {
    const { UsageError, createLogger, createPlainReporter } = await import('@deploytag/core');
    const pipeline = await import('@deploytag/pipeline');
    const seconds = (text: string | undefined, name: string): number | undefined => {
      if (text === undefined) return undefined;
      const value = Number(text.replace(/s$/, ''));
      if (!Number.isFinite(value) || value < 0)
        throw new UsageError(`${name} takes seconds, not ${JSON.stringify(text)}`);
      return value * 1000;
    };
    const modes = ['tty', 'plain', 'github'] as const;
    const chosen = options.progress ?? io.env.DEPLOYTAG_PROGRESS;
    if (chosen !== undefined && !(modes as readonly string[]).includes(chosen))
      throw new UsageError(`--progress must be one of ${modes.join(', ')}, not "${chosen}"`);
    const mode = io.json
      ? 'silent'
      : ((chosen as (typeof modes)[number] | undefined) ??
        pipeline.detectProgressMode(io.env, io.stderr.isTTY === true));
    const timeoutMs = seconds(options.timeout, '--timeout');
    const concurrency = options.concurrency === undefined ? undefined : Number(options.concurrency);
    if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1))
      throw new UsageError(
        `--concurrency takes a whole number of steps, 1 or more, not ${JSON.stringify(options.concurrency)}`,
      );
    const addressTimeoutMs = seconds(options.addressTimeout, '--address-timeout');
    const input = {
      dir: resolve(io.cwd, options.dir ?? '.'),
      env: io.env,
      flags: {
        ...(options.branch === undefined ? {} : { branch: options.branch }),
        ...(options.sha === undefined ? {} : { sha: options.sha }),
      },
      ...(options.config === undefined ? {} : { configFile: options.config }),
      ...(options.workingTree === true ? { includeWorkingTree: true } : {}),
    };

    // On a terminal the live list owns stderr: log lines are printed above it.
    let taskList: InstanceType<typeof pipeline.TaskList> | undefined;
    const logger =
      mode === 'tty'
        ? createLogger({
            level: io.level === 'info' ? 'warn' : io.level,
            redactor: io.redactor,
            reporter: createPlainReporter((line) => {
              if (taskList === undefined) io.err(line);
              else taskList.log(io.redactor.redact(line));
            }),
          })
        : io.logger;

    const clients = await pipeline.connectPushClients(io.env, logger);
    const controller = new AbortController();
    let interrupted: number | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (interrupted !== undefined) process.exit(interrupted);
      interrupted = signal === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated;
      io.err(`${signal}: stopping the running steps (again to quit at once)`);
      controller.abort(new Error(`interrupted by ${signal}`));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let timer: NodeJS.Timeout | undefined;
    try {
      const shared = {
        ...(list(options.only) === undefined ? {} : { only: list(options.only) }),
        ...(list(options.skip) === undefined ? {} : { skip: list(options.skip) }),
        ...(options.forceBase === true ? { forceBase: true } : {}),
        ...(concurrency === undefined ? {} : { concurrency }),
      };
      if (options.dryRun === true) {
        const result = await pipeline.runPush(input, clients, { ...shared, dryRun: true }, logger);
        if (io.json) {
          io.out(JSON.stringify({ context: contextSummary(result.context), plan: result.plan }));
          return ExitCode.ok;
        }
        for (const line of header(result.context)) io.out(line);
        for (const line of pipeline.renderPlan(
          result.plan.map((p) => (p.skip === undefined ? p : { ...p, plan: `skip: ${p.plan}` })),
        ))
          io.out(line);
        return ExitCode.ok;
      }
      const onEvent = (event: StepEvent) => {
        const at = new Date();
        if (mode === 'tty') taskList?.update(event);
        else if (mode === 'plain') io.err(pipeline.renderPlainEvent(event, at));
        else if (mode === 'github')
          for (const line of pipeline.renderGithubEvent(event, at)) io.err(line);
      };
      if (mode === 'tty') {
        taskList = new pipeline.TaskList(
          { write: (text: string) => io.stderr.write(io.redactor.redact(text)) },
          pipeline.PUSH_STEP_IDS.map((id) => ({ id, title: id, needs: [], plan: '' })),
        );
        timer = setInterval(() => taskList?.draw(), 1000);
        timer.unref();
      }
      // On GitHub Actions the step lines and logs fold into one group; the summary stays visible.
      if (mode === 'github') io.err('::group::deploytag pipeline: step log');
      const result = await pipeline.runPush(
        input,
        clients,
        {
          ...shared,
          signal: controller.signal,
          redact: (value) => io.redactor.add(value),
          onEvent,
          force: options.force === true,
          deploy: {
            ...(timeoutMs === undefined ? {} : { timeoutMs }),
            ...(addressTimeoutMs === undefined ? {} : { addressTimeoutMs }),
            atomic: options.atomic === true,
            ...(io.env.CIRCLE_BUILD_URL ? { lockHolder: io.env.CIRCLE_BUILD_URL } : {}),
            ...(io.env.GITHUB_RUN_ID
              ? {
                  lockHolder: `${io.env.GITHUB_SERVER_URL ?? 'https://github.com'}/${io.env.GITHUB_REPOSITORY ?? ''}/actions/runs/${io.env.GITHUB_RUN_ID}`,
                }
              : {}),
          },
        },
        logger,
      );
      if (mode === 'github') io.err('::endgroup::');
      if (timer !== undefined) clearInterval(timer);
      taskList?.draw();
      taskList = undefined;
      const report = result.report!;
      const summaryFile = io.env.GITHUB_STEP_SUMMARY;
      if (mode === 'github' && summaryFile !== undefined && summaryFile !== '') {
        appendFileSync(
          summaryFile,
          io.redactor.redact(pipeline.renderMarkdownSummary(report, 'DeployTag pipeline')),
        );
      }
      if (io.json) {
        io.out(
          JSON.stringify({
            ok: report.ok,
            context: contextSummary(result.context),
            url: result.url ?? null,
            durationMs: report.durationMs,
            steps: report.steps,
          }),
        );
      } else {
        for (const line of pipeline.renderSummary(report)) io.out(line);
        const c = result.context;
        // A newer commit of the branch was deployed first (see the deploy step): nothing to do.
        const newer = report.steps.find((s) => s.id === 'deploy')?.outputs?.['supersededBy'];
        io.out(
          report.ok
            ? newer !== undefined
              ? `not deployed: ${c.release} in namespace ${c.namespace} already runs the newer commit ${newer.slice(0, 12)} (this is ${c.sha.slice(0, 12)}): ${result.url ?? c.url}`
              : `deployed ${c.release} (${c.sha.slice(0, 12)}) to namespace ${c.namespace}: ${result.url ?? c.url}`
            : `not deployed: ${report.steps
                .filter((s) => s.status === 'failed')
                .map(
                  (s) =>
                    `${s.id} failed (${(s.error?.message ?? 'no message').split('\n')[0] ?? ''})`,
                )
                .join('; ')}`,
        );
      }
      if (interrupted !== undefined) return interrupted;
      return report.ok ? ExitCode.ok : ExitCode.failure;
    } finally {
      if (timer !== undefined) clearInterval(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      clients.close();
    }
  },
});

function contextSummary(c: DeployContext) {
  return {
    kind: c.kind,
    branch: c.branch ?? null,
    sha: c.sha,
    namespace: c.namespace,
    release: c.release,
    database: c.database,
    image: c.image.ref,
    url: c.url,
  };
}

function header(c: DeployContext): string[] {
  return [
    `${c.kind} ${c.branch ?? c.tag ?? ''} @ ${c.sha.slice(0, 12)}: release ${c.release} in namespace ${c.namespace}`,
    '',
  ];
}
