/**
 * The demo (`npm run demo`, after the stack is up and the packages are built): the sample service
 * pushed as branch `feature/demo` and deployed by the built `deploytag pipeline` against the local
 * stack, then pushed again unchanged to show that a re-run builds and restarts nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cacheDir } from './paths.js';
import { prepareSampleProject } from './sample-project.js';
import { stackEnv } from './stack.js';

const bin = resolve(import.meta.dirname, '../../../packages/cli/dist/bin/deploytag.js');
if (!existsSync(bin)) {
  console.error(`${bin} is missing: run npm run build first`);
  process.exit(2);
}
const stack = stackEnv();
if (stack['KUBECONFIG'] === undefined) {
  console.error('the local stack is not running: npm run stack -- up');
  process.exit(2);
}

const branch = process.env['DEMO_BRANCH'] ?? 'feature/demo';
const project = await prepareSampleProject({
  dir: join(cacheDir(), 'demo', 'sample-service'),
  branch,
  stackEnv: stack,
});
const env: NodeJS.ProcessEnv = {
  PATH: process.env['PATH'],
  HOME: process.env['HOME'],
  ...(process.env['TERM'] === undefined ? {} : { TERM: process.env['TERM'] }),
  ...(process.env['CI'] === undefined ? {} : { CI: process.env['CI'] }),
  ...project.env,
};

function pipeline(title: string): number {
  console.log(`\n## ${title}\n$ deploytag pipeline   # in ${project.dir}, branch ${branch}\n`);
  const r = spawnSync(process.execPath, [bin, 'pipeline'], {
    cwd: project.dir,
    env,
    stdio: 'inherit',
  });
  return r.status ?? 1;
}

console.log(
  `# The sample service (examples/sample-service) at ${project.sha().slice(0, 12)}, pushed to ${project.env['CONTAINER_REGISTRY'] ?? ''} and the local cluster`,
);
const first = pipeline('first push: tests, images, secrets, database, helm, address');
if (first !== 0) process.exit(first);
const second = pipeline('the same commit again: nothing to build, migrate or restart');
if (second !== 0) process.exit(second);
console.log('\nThe stack keeps running: npm run stack -- status (and -- down to stop it).');
