/**
 * Packing a build context: `packContext` (tar-fs, `.dockerignore` matching) against GNU
 * `tar -c` of the same tree, both writing to a pipe that this process drains. At scale 1 the tree
 * holds 50,000 files and about 1 GB. Figures: wall-time ratio, and the peak resident memory of
 * each process (VmHWM, sampled from /proc/<pid>/status; the packer also reports its own).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compare, time, type BenchContext, type BenchResult } from '@deploytag/bench';

interface Run {
  bytes: number;
  peakKb: number;
}

/** Runs a command, drains its stdout, and samples its peak memory until it exits. */
function drained(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let peakKb = 0;
    let stderr = '';
    const sample = (): void => {
      try {
        const kb = Number(
          /VmHWM:\s*(\d+)/.exec(readFileSync(`/proc/${child.pid ?? 0}/status`, 'utf8'))?.[1] ?? 0,
        );
        if (kb > peakKb) peakKb = kb;
      } catch {
        // exited
      }
    };
    const timer = setInterval(sample, 20);
    child.stdout.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      const own = Number(/VmHWM (\d+)/.exec(stderr)?.[1] ?? 0);
      if (code !== 0) reject(new Error(`${cmd} exited with ${code ?? 'a signal'}: ${stderr}`));
      else resolve({ bytes, peakKb: Math.max(peakKb, own) });
    });
  });
}

/** Writes `files` files of 1–40 KB (about 20 KB on average) in nested folders. */
function generate(dir: string, files: number): number {
  const block = randomBytes(64 * 1024);
  let total = 0;
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${i % 50}`, `e${Math.floor(i / 50) % 10}`);
    if (i < 500) mkdirSync(sub, { recursive: true });
    const size = 1024 + ((i * 7919) % (40 * 1024));
    const offset = (i * 131) % (block.length - size);
    writeFileSync(join(sub, `file-${i}.bin`), block.subarray(offset, offset + size));
    total += size;
  }
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
  // Patterns that exclude nothing here, so both sides pack the same bytes while every path is matched.
  writeFileSync(join(dir, '.dockerignore'), 'node_modules\n**/*.tmp\n.git\n!d1/e1/keep.tmp\n');
  return total;
}

export default async function bench(ctx: BenchContext): Promise<BenchResult[]> {
  const files = Math.max(500, Math.round(50_000 * ctx.scale));
  const dir = join(ctx.tmp, 'context');
  mkdirSync(dir, { recursive: true });
  const bytes = generate(dir, files);
  ctx.log(`generated ${files} files, ${(bytes / 1e6).toFixed(0)} MB`);
  const child = join(import.meta.dirname, 'pack-child.ts');
  const node = [
    process.execPath,
    ['--conditions=@deploytag/source', '--import', 'tsx', child, dir],
  ] as const;
  let tarRun: Run = { bytes: 0, peakKb: 0 };
  let packRun: Run = { bytes: 0, peakKb: 0 };
  const runs = ctx.scale < 1 ? 3 : 3;
  const baseline = await time(async () => {
    tarRun = await drained('tar', ['-c', '-f', '-', '-C', dir, '.']);
  }, runs);
  const subject = await time(async () => {
    packRun = await drained(node[0], [...node[1]]);
  }, runs);
  const idle = await drained(process.execPath, [
    '--conditions=@deploytag/source',
    '--import',
    'tsx',
    '-e',
    '0',
  ]);
  return [
    compare(
      'image-pack-context',
      `pack a ${files}-file, ${(bytes / 1e6).toFixed(0)} MB build context (tar-fs + .dockerignore) vs GNU tar -c`,
      { label: 'GNU tar -c', timing: baseline },
      { label: 'packContext (node child)', timing: subject },
      {
        files,
        contextMB: Math.round(bytes / 1e6),
        tarArchiveMB: Math.round(tarRun.bytes / 1e6),
        packArchiveMB: Math.round(packRun.bytes / 1e6),
        tarPeakRssMB: Math.round(tarRun.peakKb / 1024),
        packPeakRssMB: Math.round(packRun.peakKb / 1024),
        idleNodeTsxPeakRssMB: Math.round(idle.peakKb / 1024),
        peakRssRatio: Number((packRun.peakKb / Math.max(1, tarRun.peakKb)).toFixed(1)),
      },
    ),
  ];
}
