#!/usr/bin/env node
import { basename } from 'node:path';
import { main } from '../main.js';

// One file serves every bin: `deploytag-set-env ARGS` runs as `deploytag set-env ARGS`.
const invokedAs = basename(process.argv[1] ?? 'deploytag').replace(/\.[cm]?js$/, '');
const prefix = invokedAs.startsWith('deploytag-') ? [invokedAs.slice('deploytag-'.length)] : [];
process.exitCode = await main([...prefix, ...process.argv.slice(2)]);
