#!/usr/bin/env node
/**
 * Assembles the deploy image's application folder from a built workspace.
 *
 * Usage: `node docker/assemble-app.mjs WORKSPACE OUT [--prefix /opt/deploytag]`
 *
 * - `OUT/node_modules`: `@deploytag/cli` and its production dependency tree, as npm resolved it
 *   in the workspace (`npm ls --omit=dev`); our packages hold what `npm pack` would publish, the
 *   others their installed files without type declarations and source maps.
 * - `OUT/bin`: `deploytag` and every `deploytag-NAME` bin of the cli package (symlinks).
 * - `OUT/scripts`: one executable per original DeployTag script (`set_env.sh`, `deploy.sh`, …),
 *   from each command's `original` file name: the file of that name in `docker/scripts/` when
 *   there is one (set_env.sh is sourced, release and db_connect.sh keep the original's
 *   arguments), else `exec PREFIX/bin/deploytag COMMAND "$@"`.
 *
 * The Dockerfile runs it after `npm ci` and the build (`APP_FROM=source`); for an offline image
 * build, run it on a built checkout and pass the result in the context (`APP_FROM=context`).
 * `--prefix` is where `OUT` will be in the image. It reads the workspace and writes only `OUT`.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CLI = '@deploytag/cli';
const OVERRIDES = join(dirname(fileURLToPath(import.meta.url)), 'scripts');
/** Files an installed dependency does not need at run time. */
const DROPPED = /(\.d\.[cm]?ts|\.map)$/;
/** What an original script file name may look like (`set_env.sh`, `release`). */
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Prints one line and exits 2. */
function fail(message) {
  process.stderr.write(`assemble-app: ${message}\n`);
  process.exit(2);
}

/** The workspace, the output folder and the prefix from the command line. */
function parseArgs(argv) {
  const positional = [];
  let prefix = '/opt/deploytag';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--prefix') prefix = argv[++i] ?? fail('--prefix needs a folder');
    else if (a.startsWith('--prefix=')) prefix = a.slice('--prefix='.length);
    else if (a.startsWith('-')) fail(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional.length !== 2) fail('usage: assemble-app.mjs WORKSPACE OUT [--prefix DIR]');
  return { workspace: resolve(positional[0] ?? ''), out: resolve(positional[1] ?? ''), prefix };
}

/** Runs npm in `cwd` and returns what it printed. */
function npm(cwd, args) {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/**
 * Every installed folder of the cli's production tree: where it goes under `OUT` (`rel`), where
 * it is (`abs`), and whether it is one of our workspace packages (`linked`).
 */
function productionTree(workspace) {
  const listed = npm(workspace, ['ls', '--parseable', '--all', '--omit=dev', '--workspace', CLI]);
  const root = realpathSync(workspace);
  const paths = listed
    .split('\n')
    .map((l) => l.trim())
    .filter((p) => p !== '' && resolve(p) !== root);
  const tree = [];
  // A workspace package is a link from node_modules into the workspace's own folders.
  for (const abs of paths) {
    const rel = relative(root, abs);
    if (!rel.startsWith(`node_modules${sep}`)) continue;
    const real = realpathSync(abs);
    const linked = !relative(root, real).split(sep).includes('node_modules');
    tree.push({ rel, abs: real, linked });
  }
  // A dependency installed inside a workspace package's folder (packages/cli/node_modules/x)
  // goes under that package's place in node_modules.
  for (const abs of paths) {
    const rel = relative(root, abs);
    if (rel.startsWith(`node_modules${sep}`)) continue;
    const owner = tree.find((p) => p.linked && abs.startsWith(`${p.abs}${sep}node_modules${sep}`));
    if (owner === undefined) fail(`npm ls listed ${abs}, outside node_modules and our packages`);
    tree.push({
      rel: join(owner.rel, relative(owner.abs, abs)),
      abs: realpathSync(abs),
      linked: false,
    });
  }
  if (!tree.some((p) => p.rel === join('node_modules', ...CLI.split('/')))) {
    fail(`npm ls did not list ${CLI}: is ${workspace} the DeployTag workspace, installed?`);
  }
  return tree;
}

/** What `npm pack` would publish of each named workspace package, by package name. */
function packedFiles(workspace, names) {
  const args = ['pack', '--dry-run', '--json', '--ignore-scripts'];
  for (const n of names) args.push('--workspace', n);
  const packs = JSON.parse(npm(workspace, args));
  return new Map(packs.map((p) => [p.name, p.files.map((f) => f.path)]));
}

/** Copies the production tree into `OUT/node_modules`; returns how many packages it holds. */
function copyTree(workspace, out) {
  const tree = productionTree(workspace);
  const linked = tree.filter((p) => p.linked);
  const names = linked.map(
    (p) => JSON.parse(readFileSync(join(p.abs, 'package.json'), 'utf8')).name,
  );
  const packed = packedFiles(workspace, names);
  linked.forEach((p, i) => {
    const files = packed.get(names[i]) ?? fail(`npm pack listed nothing for ${names[i]}`);
    for (const f of files) {
      if (DROPPED.test(f)) continue;
      const target = join(out, p.rel, f);
      mkdirSync(dirname(target), { recursive: true });
      cpSync(join(p.abs, f), target);
    }
  });
  for (const p of tree) {
    if (p.linked) continue;
    // Type-only packages have nothing to run.
    if (p.rel.split(sep).includes('@types')) continue;
    cpSync(p.abs, join(out, p.rel), {
      recursive: true,
      verbatimSymlinks: true,
      // Nested node_modules are listed (or left out as dev-only) by npm ls on their own.
      filter: (src) => {
        const inside = relative(p.abs, src);
        return !(inside.split(sep)[0] === 'node_modules' || DROPPED.test(inside));
      },
    });
  }
  return tree.length;
}

/** Links every bin of the cli package into `OUT/bin`; returns the path `deploytag` will have. */
function writeBins(out, prefix) {
  const cliDir = join(out, 'node_modules', ...CLI.split('/'));
  const pkg = JSON.parse(readFileSync(join(cliDir, 'package.json'), 'utf8'));
  const bins = Object.entries(pkg.bin ?? {});
  if (!bins.some(([name]) => name === 'deploytag')) fail(`${CLI} declares no deploytag bin`);
  mkdirSync(join(out, 'bin'), { recursive: true });
  for (const [name, file] of bins) {
    const target = join(cliDir, file);
    if (!existsSync(target)) fail(`${target} is missing: build ${CLI} first`);
    chmodSync(target, 0o755);
    symlinkSync(relative(join(out, 'bin'), target), join(out, 'bin', name));
  }
  return join(prefix, 'bin', 'deploytag');
}

/** Writes `OUT/scripts/ORIGINAL` for every command that replaces an original script file. */
async function writeScripts(out, deploytag) {
  const index = join(out, 'node_modules', ...CLI.split('/'), 'dist', 'index.js');
  // Loading the command list from the assembled tree also proves the tree resolves.
  const { commands } = await import(pathToFileURL(index).href);
  const dir = join(out, 'scripts');
  mkdirSync(dir, { recursive: true });
  const overrides = new Set(existsSync(OVERRIDES) ? readdirSync(OVERRIDES) : []);
  const written = [];
  for (const c of commands) {
    const original = c.original;
    // `app.thor config_yaml` was a Thor task, not a file: it has no /scripts entry.
    if (original === undefined || !FILE_NAME.test(original)) continue;
    const target = join(dir, original);
    if (overrides.delete(original)) {
      const text = readFileSync(join(OVERRIDES, original), 'utf8');
      writeFileSync(target, text.replaceAll('@DEPLOYTAG@', deploytag));
    } else {
      writeFileSync(
        target,
        `#!/bin/sh\n# /scripts/${original}: the original DeployTag script, now \`deploytag ${c.name}\`.\nexec ${deploytag} ${c.name} "$@"\n`,
      );
    }
    chmodSync(target, 0o755);
    written.push(original);
  }
  if (overrides.size > 0) {
    fail(`docker/scripts/ holds ${[...overrides].join(', ')}, which no command names as original`);
  }
  return written;
}

const { workspace, out, prefix } = parseArgs(process.argv.slice(2));
if (existsSync(out)) rmSync(out, { recursive: true });
mkdirSync(out, { recursive: true });
const packages = copyTree(workspace, out);
const deploytag = writeBins(out, prefix);
const scripts = await writeScripts(out, deploytag);
process.stdout.write(
  `assembled ${packages} packages, bins and /scripts/{${scripts.join(',')}} in ${basename(out)}\n`,
);
