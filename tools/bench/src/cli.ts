/**
 * `npm run bench [-- --quick] [filter]`: finds every `*.bench.ts`, runs each against the local stack
 * (started if needed), and writes bench-results/results.json and bench-results/results.md.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  down,
  healthyComponents,
  parseComponents,
  readState,
  stackEnv,
  up,
} from '@deploytag/harness';
import type { Benchmark, BenchResult } from './measure.js';

const root = resolve(import.meta.dirname, '../../..');

function findBenchFiles(): string[] {
  const found: string[] = [];
  const scan = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory() && e.name !== 'node_modules' && e.name !== 'dist') scan(p);
      else if (e.isFile() && e.name.endsWith('.bench.ts')) found.push(p);
    }
  };
  for (const pkg of readdirSync(join(root, 'packages'))) scan(join(root, 'packages', pkg, 'bench'));
  scan(join(root, 'tools', 'bench', 'src', 'suites'));
  return found.sort();
}

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

function markdown(results: BenchResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.description} | ${r.baseline.label}: ${fmt(r.baseline.timing.medianMs)} | ${r.subject.label}: ${fmt(r.subject.timing.medianMs)} | **${r.ratio.toFixed(2)}×** | ${Object.entries(
        r.extra ?? {},
      )
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')} |`,
  );
  return [
    '| benchmark | what | baseline (median) | subject (median) | ratio | extra |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const filter = argv.find((a) => !a.startsWith('--'));
  // Matched against `<package>/bench/<name>.bench.ts`, so that `pack` does not match `packages/`.
  const label = (f: string): string =>
    relative(root, f)
      .replace(/^packages\//, '')
      .replace(/^tools\/bench\/src\/suites\//, 'suites/');
  const files = findBenchFiles().filter((f) => !filter || label(f).includes(filter));
  if (files.length === 0) {
    process.stderr.write('no benchmark files found\n');
    return 1;
  }
  const wanted = parseComponents(process.env['DEPLOYTAG_STACK_COMPONENTS']);
  const reuse = wanted.every((n) => healthyComponents(readState()).includes(n));
  const state = reuse ? readState() : await up(wanted);
  const env = stackEnv(state);
  Object.assign(process.env, env);
  const results: BenchResult[] = [];
  const failed: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'deploytag-bench-'));
  try {
    for (const [i, file] of files.entries()) {
      const name = relative(root, file);
      process.stderr.write(`▸ ${name}\n`);
      const dir = join(tmp, String(i));
      mkdirSync(dir, { recursive: true });
      try {
        const mod = (await import(pathToFileURL(file).href)) as { default: Benchmark };
        const got = await mod.default({
          env,
          tmp: dir,
          scale: quick ? 0.05 : 1,
          log: (l) => process.stderr.write(`  ${l}\n`),
        });
        for (const r of got)
          process.stderr.write(
            `  ${r.name}: ${r.ratio.toFixed(2)}× (${fmt(r.subject.timing.medianMs)} vs ${fmt(r.baseline.timing.medianMs)})\n`,
          );
        results.push(...got);
      } catch (err) {
        // One broken benchmark does not cost the others' figures; the run still fails.
        const reason = err instanceof Error ? (err.stack ?? err.message) : String(err);
        process.stderr.write(`  FAILED: ${reason}\n`);
        failed.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    if (!reuse) await down();
  }
  const out = join(root, 'bench-results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'results.json'),
    `${JSON.stringify({ date: new Date().toISOString(), quick, results, failed }, null, 2)}\n`,
  );
  writeFileSync(join(out, 'results.md'), markdown(results));
  process.stdout.write(markdown(results));
  if (failed.length > 0) {
    process.stderr.write(
      `bench: ${failed.length} benchmark file(s) failed:\n${failed.join('\n')}\n`,
    );
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
