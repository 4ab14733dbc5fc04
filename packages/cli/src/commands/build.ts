import { resolve } from 'node:path';
import { defineCommand } from '../command.js';
import type { CliIO } from '../io.js';
import { defineImageOptions, envOptionsOf, type ImageCommandOptions } from './image-options.js';

async function runBuild(
  withBase: boolean,
  options: ImageCommandOptions,
  io: CliIO,
): Promise<number> {
  const { applyBuild, buildOptionsFromEnv, clientsFromEnv, describeBuildPlan, prepareBuild } =
    await import('@deploytag/image');
  const dir = resolve(io.cwd, options.dir ?? '.');
  const buildOptions = await buildOptionsFromEnv(io.env, {
    dir,
    withBase,
    ...envOptionsOf(options),
  });
  const clients = clientsFromEnv(io.env, io.logger);
  const plan = await prepareBuild(buildOptions, clients);
  if (options.dryRun === true) {
    if (io.json)
      io.out(
        JSON.stringify({
          base: plan.base,
          app: plan.app,
          baseImageRef: plan.baseImageRef,
          warnings: plan.warnings,
        }),
      );
    else for (const line of describeBuildPlan(plan)) io.out(line);
    return 0;
  }
  const result = await applyBuild(plan, buildOptions, clients);
  if (io.json) io.out(JSON.stringify(result));
  else {
    io.out(`base: ${result.base}; app: ${result.app}`);
    for (const ref of result.pushed) io.out(`pushed ${ref}`);
  }
  return 0;
}

/** `deploytag build`: the original `build.sh` (login, base when needed, substituted Dockerfile, app, tags, push). */
export const build = defineCommand<ImageCommandOptions>({
  name: 'build',
  original: 'build.sh',
  summary: 'build and push the base image (when its inputs changed) and the app image',
  define(cmd) {
    defineImageOptions(cmd)
      .option('--dry-run', 'print the plan and what would be pushed, without building')
      .addHelpText(
        'after',
        '\nReads CONTAINER_REGISTRY, PROJECT_ID, IMAGE, CLOUD_PROVIDER, FORCE_BASE_BUILD, DOCKER_FILE, DOCKER_BUILD_ARGS,\n' +
          'DOCKER_HOST; registry login from DEPLOYTAG_REGISTRY_USER/PASSWORD, ECR, GCLOUD_SERVICE_KEY or ~/.docker/config.json.\n' +
          'DOCKER_TAG and BASE_IMAGE_REF are substituted into the Dockerfile (FROM ${BASE_IMAGE_REF}).\n\n' +
          'Examples:\n  deploytag build --dry-run\n  deploytag build',
      );
  },
  async run(_args, options, io) {
    return await runBuild(true, options, io);
  },
});

/** `deploytag build-docker-image`: the original `build_docker_image.sh` (one image, DOCKER_FILE, DOCKER_BUILD_ARGS). */
export const buildDockerImage = defineCommand<ImageCommandOptions>({
  name: 'build-docker-image',
  original: 'build_docker_image.sh',
  summary:
    'build and push one image (DOCKER_FILE, DOCKER_BUILD_ARGS) tagged with sha, branch and latest',
  define(cmd) {
    defineImageOptions(cmd)
      .option('--dry-run', 'print the plan and what would be pushed, without building')
      .addHelpText(
        'after',
        '\nExamples:\n  DOCKER_FILE=Dockerfile.worker DOCKER_BUILD_ARGS="--build-arg NODE_ENV=production" deploytag build-docker-image',
      );
  },
  async run(_args, options, io) {
    return await runBuild(false, options, io);
  },
});
