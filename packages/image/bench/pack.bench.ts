/**
 * Packing a build context: `packContext` (tar-stream, `.dockerignore` matching) against GNU
 * `tar -c` of the same tree, both writing to a pipe that this process drains. At scale 1 the tree
 * holds 50,000 files and about 1 GB. Figures: wall-time ratio, and the peak resident memory of
 * each process (VmHWM, sampled from /proc/<pid>/status; the packer also reports its own).
 *
 * A second figure shows whether memory stays flat as the file count grows: the same packer on
 * 100,000 small files against 10,000 (time grows with the count; peak memory should not).
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

/**
 * Writes `files` files in nested folders: 1–40 KB each (about 20 KB on average), or all of
 * `fixedSize` bytes.
 */
function generate(dir: string, files: number, fixedSize?: number): number {
  const block = randomBytes(64 * 1024);
  let total = 0;
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${i % 50}`, `e${Math.floor(i / 50) % 10}`);
    if (i < 500) mkdirSync(sub, { recursive: true });
    const size = fixedSize ?? 1024 + ((i * 7919) % (40 * 1024));
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
  const packer = (tree: string, heapCapMb?: number): Promise<Run> =>
    drained(process.execPath, [
      ...(heapCapMb === undefined ? [] : [`--max-old-space-size=${heapCapMb}`]),
      ...['--conditions=@deploytag/source', '--import', 'tsx', child, tree],
    ]);
  let tarRun: Run = { bytes: 0, peakKb: 0 };
  let packRun: Run = { bytes: 0, peakKb: 0 };
  const runs = 3;
  const baseline = await time(async () => {
    tarRun = await drained('tar', ['-c', '-f', '-', '-C', dir, '.']);
  }, runs);
  const subject = await time(async () => {
    packRun = await packer(dir);
  }, runs);
  const idle = await drained(process.execPath, [
    '--conditions=@deploytag/source',
    '--import',
    'tsx',
    '-e',
    '0',
  ]);
  const few = Math.max(500, Math.round(10_000 * ctx.scale));
  const many = few * 10;
  const fewDir = join(ctx.tmp, 'few');
  const manyDir = join(ctx.tmp, 'many');
  generate(fewDir, few, 1024);
  generate(manyDir, many, 1024);
  ctx.log(`generated ${few} and ${many} files of 1 KB`);
  let fewRun: Run = { bytes: 0, peakKb: 0 };
  let manyRun: Run = { bytes: 0, peakKb: 0 };
  const fewTiming = await time(async () => {
    fewRun = await packer(fewDir);
  }, runs);
  const manyTiming = await time(async () => {
    manyRun = await packer(manyDir);
  }, runs);
  // A walk that kept every path would run out of a small heap as the count grows; this one may not.
  const HEAP_CAP_MB = 24;
  const capped = await packer(manyDir, HEAP_CAP_MB).then(
    () => 'completed',
    (err: unknown) => (/heap out of memory/.test(String(err)) ? 'out of memory' : String(err)),
  );
  return [
    compare(
      'image-pack-context',
      `pack a ${files}-file, ${(bytes / 1e6).toFixed(0)} MB build context (tar-stream + .dockerignore) vs GNU tar -c`,
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
    compare(
      'image-pack-file-count',
      `packContext on ${many} files vs ${few} files of 1 KB: time grows with the count, peak memory stays flat (peakRssRatio)`,
      { label: `${few} files`, timing: fewTiming },
      { label: `${many} files`, timing: manyTiming },
      {
        heapCapMB: HEAP_CAP_MB,
        manyFilesUnderHeapCap: capped,
        fewPeakRssMB: Math.round(fewRun.peakKb / 1024),
        manyPeakRssMB: Math.round(manyRun.peakKb / 1024),
        idleNodeTsxPeakRssMB: Math.round(idle.peakKb / 1024),
        peakRssRatio: Number((manyRun.peakKb / Math.max(1, fewRun.peakKb)).toFixed(2)),
      },
    ),
  ];
}
