import { resolve } from 'node:path';
import { compare, timeCommand, type Benchmark } from '@deploytag/bench';

/**
 * CLI start-up: `deploytag --help` and `release help` (the built bins) against `node -e 0` on the same machine, in the
 * same run. Subcommands import their libraries lazily, so `--help` loads only the CLI and core.
 */
const bench: Benchmark = async (ctx) => {
  const bin = resolve(import.meta.dirname, '../dist/bin/deploytag.js');
  const runs = Math.max(5, Math.round(20 * ctx.scale));
  const node = {
    label: 'node -e 0',
    timing: await timeCommand(process.execPath, ['-e', '0'], runs),
  };
  const help = {
    label: 'deploytag --help',
    timing: await timeCommand(process.execPath, [bin, '--help'], runs),
  };
  const version = {
    label: 'deploytag --version',
    timing: await timeCommand(process.execPath, [bin, '--version'], runs),
  };
  const releaseBin = resolve(import.meta.dirname, '../../release/dist/bin/release.js');
  const release = {
    label: 'release help',
    timing: await timeCommand(process.execPath, [releaseBin, 'help'], runs),
  };
  return [
    compare('cli-start-help', '`deploytag --help` vs `node -e 0` (target: under 1.5×)', node, help),
    compare('cli-start-version', '`deploytag --version` vs `node -e 0`', node, version),
    compare('cli-start-release', '`release help` vs `node -e 0`', node, release),
  ];
};

export default bench;
