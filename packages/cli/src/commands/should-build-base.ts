import { resolve } from 'node:path';
import { defineCommand } from '../command.js';
import { defineImageOptions, envOptionsOf, type ImageCommandOptions } from './image-options.js';

/** `deploytag should-build-base`: the original `should_build_base.sh`; exit 0 = build, 1 = not. */
export const shouldBuildBase = defineCommand<ImageCommandOptions>({
  name: 'should-build-base',
  original: 'should_build_base.sh',
  summary: 'exit 0 when the base image must be built, 1 when not, printing why',
  define(cmd) {
    defineImageOptions(cmd).addHelpText(
      'after',
      '\nThe base is built when Dockerfile.base exists and the tag made from the digest of its inputs\n' +
        '(Dockerfile.base, the files its COPY/ADD read, build args) is missing from the registry, when\n' +
        'FORCE_BASE_BUILD is set, or when ./scripts/should_build_base.sh exits 0.\n\n' +
        'Examples:\n  deploytag should-build-base && echo build || echo skip',
    );
  },
  async run(_args, options, io) {
    const { buildOptionsFromEnv, clientsFromEnv, prepareBaseImage } =
      await import('@deploytag/image');
    const dir = resolve(io.cwd, options.dir ?? '.');
    const build = await buildOptionsFromEnv(io.env, {
      dir,
      withBase: true,
      ...envOptionsOf(options),
    });
    const plan = await prepareBaseImage(build, clientsFromEnv(io.env, io.logger));
    const yes = plan.action === 'build';
    if (io.json)
      io.out(
        JSON.stringify({
          build: yes,
          action: plan.action,
          reasons: plan.reasons,
          contentTag: plan.contentTag,
        }),
      );
    else
      io.err(
        `${yes ? 'build the base image' : 'no base build needed'}: ${plan.reasons.join('; ')}`,
      );
    return yes ? 0 : 1;
  },
});
