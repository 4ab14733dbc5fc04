/**
 * Child process of pack.bench.ts: packs the folder given as argument to stdout with
 * `packContext` and `.dockerignore`, then reports its peak resident memory (VmHWM) on stderr.
 */
import { readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { packContext, readContextFilter } from '../src/index.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: pack-child.ts <dir>');
await pipeline(packContext(dir, { filter: readContextFilter(dir) }), process.stdout);
const hwm = /VmHWM:\s*(\d+)\s*kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
process.stderr.write(`VmHWM ${hwm}\n`);
