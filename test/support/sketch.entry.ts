/**
 * Bundled by test/infra/function-bundle.test.ts as a function's asset is (its sketch library
 * without the protobuf definitions it never loads) and run: prints the statistics of a fixed set of
 * results, folded, stored, restored and merged, which must equal what the same code prints
 * unbundled ({@link sketchFigures}).
 */
import { StatsAccumulator } from '../../functions/core/stats.js';

/** Statistics of 2,000 fixed results, through toState / fromState / merge. */
export function sketchFigures(): unknown {
  const a = new StatsAccumulator();
  const b = new StatsAccumulator();
  for (let i = 0; i < 2000; i++) {
    const acc = i % 2 === 0 ? a : b;
    acc.add({ status: i % 97 === 0 ? 'Error' : i % 7 === 0 ? 'Failed' : 'Success', outputsMatch: i % 7 !== 0, executionTimeMs: ((i * 7919) % 5000) / 3 + 1, mismatchedPaths: i % 7 === 0 ? [`outputs.f${i % 5}`] : [], violatedRules: i % 11 === 0 ? ['r1'] : [] });
  }
  const merged = StatsAccumulator.fromState(JSON.parse(JSON.stringify(a.toState())) as ReturnType<StatsAccumulator['toState']>);
  merged.merge(b);
  return merged.toJSON();
}

if (process.argv[1]?.endsWith('index.mjs')) process.stdout.write(JSON.stringify(sketchFigures()));
