#!/usr/bin/env node
import { basename } from 'node:path';
import { main } from '../main.js';

// The AWS SDK warns on every run under Node 20 that its releases after January 2027 need Node 22:
// news for whoever pins our dependencies, not for a CI log. Setting the variable to false shows it.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

// One file serves every bin: `deploytag-set-env ARGS` runs as `deploytag set-env ARGS`.
const invokedAs = basename(process.argv[1] ?? 'deploytag').replace(/\.[cm]?js$/, '');
const prefix = invokedAs.startsWith('deploytag-') ? [invokedAs.slice('deploytag-'.length)] : [];
process.exitCode = await main([...prefix, ...process.argv.slice(2)]);
