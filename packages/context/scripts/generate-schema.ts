/**
 * Writes `deploytag.config.schema.json` from the schema table in `src/config.ts`.
 * Run: `npx tsx packages/context/scripts/generate-schema.ts` (a unit test checks the output is
 * committed).
 */
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../src/config.js';

const target = new URL('../deploytag.config.schema.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${target.pathname}\n`);
