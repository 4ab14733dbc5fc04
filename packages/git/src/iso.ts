import { createRequire } from 'node:module';
import type * as IsoGit from 'isomorphic-git';
import type IsoHttp from 'isomorphic-git/http/node';

/**
 * isomorphic-git loaded through `require`: on Node its main entry is CommonJS, and importing it
 * from ESM makes Node lex the whole 580 kB bundle for named exports first (about 0.2 s of every
 * bin's start).
 */
const require = createRequire(import.meta.url);

/** isomorphic-git's commands. */
export const git = require('isomorphic-git') as typeof IsoGit;

/** isomorphic-git's Node HTTP client. */
export const http = (require('isomorphic-git/http/node') as { default: typeof IsoHttp }).default;
