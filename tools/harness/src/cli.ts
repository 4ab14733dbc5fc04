/**
 * `npm run stack -- up|down|status|env|provision [components]`: runs the real local stack by hand.
 * Progress goes to stderr; `env` prints `export` lines on stdout for `eval "$(npm run -s stack -- env)"`.
 */
import { COMPONENT_NAMES } from './component.js';
import { loadComponent } from './components/index.js';
import { isAlive } from './daemon.js';
import { down, parseComponents, provision, readState, shellQuote, stackEnv, up } from './stack.js';

const usage = `usage: npm run stack -- <command> [components]

commands:
  up [c,...]         provision what is missing, then start the components (default: all)
  down               stop every component and remove its state
  status             list the components and whether their processes are alive
  env                print export lines for the running stack (eval them in a shell)
  provision [c,...]  install and build without starting anything

components: ${COMPONENT_NAMES.join(', ')}`;

async function main(argv: string[]): Promise<number> {
  const [cmd, list] = argv;
  switch (cmd) {
    case 'up': {
      const t0 = Date.now();
      await up(parseComponents(list));
      process.stderr.write(
        `stack is up in ${((Date.now() - t0) / 1000).toFixed(1)}s; run: eval "$(npm run -s stack -- env)"\n`,
      );
      return 0;
    }
    case 'down':
      await down();
      process.stderr.write('stack is down\n');
      return 0;
    case 'provision':
      await provision(parseComponents(list));
      return 0;
    case 'env': {
      const state = readState();
      if (!state) {
        process.stderr.write('no stack is running: start it with npm run stack -- up\n');
        return 1;
      }
      for (const [k, v] of Object.entries(stackEnv(state)))
        process.stdout.write(`export ${k}=${shellQuote(v)}\n`);
      return 0;
    }
    case 'status': {
      const state = readState();
      if (!state) {
        process.stdout.write('no stack is running\n');
        return 1;
      }
      let allOk = true;
      for (const n of COMPONENT_NAMES) {
        const c = state.components[n];
        if (!c) {
          process.stdout.write(`${n.padEnd(9)} not started\n`);
          continue;
        }
        const dead = c.daemons.filter((d) => !isAlive(d)).map((d) => d.name);
        if (dead.length > 0) allOk = false;
        process.stdout.write(
          `${n.padEnd(9)} ${dead.length === 0 ? 'up          ' : `DOWN (${dead.join(', ')})`}  ${(await loadComponent(n)).description}\n`,
        );
      }
      return allOk ? 0 : 1;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${usage}\n`);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command "${cmd}"\n${usage}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`stack: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
