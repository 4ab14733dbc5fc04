/**
 * Benchmark helpers. A benchmark is a file `bench/<name>.bench.ts` in a package (or
 * `tools/bench/src/suites/<name>.bench.ts`) whose default export is a {@link Benchmark}.
 * @packageDocumentation
 */
export {
  compare,
  summarise,
  time,
  timeCommand,
  type Benchmark,
  type BenchContext,
  type BenchResult,
  type Timing,
} from './measure.js';
