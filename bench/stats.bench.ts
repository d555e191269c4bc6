/**
 * Batch statistics and the local batch runner (DESIGN §10):
 *
 * - stats over 1,000,000 synthetic results: peak RSS (target ≤ 200 MB) and the worst relative error
 *   of p50/p95/p99 against the exact sorted quantiles (target ≤ 1 %). The accumulator runs alone in
 *   a child process (`process.execPath --import tsx` on this very file), so its peak RSS
 *   (`process.resourceUsage().maxRSS`) is not inflated by the parent or by the exact reference, which
 *   the parent computes from the same seeded stream. An idle child (same imports, no work) is printed
 *   beside it.
 * - local interpreter overhead: the deployed batch ASL on aws-local-stepfunctions, 1,000 items whose
 *   replay takes 200 ms, MaxConcurrency 40: wall time ÷ the ideal 1,000 × 200 ms ÷ 40 = 5 s
 *   (target ≤ 1.3), with a bare 40-wide promise pool over the same sleeps for reference.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { StatsAccumulator, type ResultSummary, type ReplayStats } from '../functions/core/stats.js';
import { nearestRankSorted } from '../functions/core/quantile.js';
import { printFigures } from './report.js';
import { seededRandom } from '../functions/core/significance.js';

const N = 1_000_000;
const SEED = 20_260_101;
const CHILD_ENV = 'STATS_BENCH_CHILD';

const RULES = Array.from({ length: 12 }, (_, i) => `rule-${i}`);
const FIXED_PATHS = ['outputs.decision', 'outputs.score', 'outputs.rationale', 'outputs.limits.daily', 'outputs.reasons[0]'];

/**
 * The synthetic results, one at a time (never materialised): 5 % Error; latencies log-normal around
 * 150 ms with a 3 % tail around 2 s; 20 % mismatches, some on `outputs.items[i].price` with 5,000
 * distinct i so the bounded key counts must prune.
 */
function* syntheticResults(n: number): Generator<ResultSummary> {
  const rand = seededRandom(SEED);
  for (let i = 0; i < n; i++) {
    const error = rand() < 0.05;
    const gauss = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const latency = rand() < 0.03 ? 2000 * Math.exp(0.3 * gauss) : 150 * Math.exp(0.5 * gauss);
    const mismatch = !error && rand() < 0.2;
    const paths = mismatch ? [FIXED_PATHS[Math.floor(rand() * FIXED_PATHS.length)] as string, ...(rand() < 0.3 ? [`outputs.items[${Math.floor(rand() * 5000)}].price`] : [])] : [];
    const rules = rand() < 0.1 ? [RULES[Math.floor(rand() * RULES.length)] as string] : [];
    yield { status: error ? 'Error' : mismatch ? 'Failed' : 'Success', outputsMatch: !mismatch, executionTimeMs: latency, mismatchedPaths: paths, violatedRules: rules };
  }
}

interface ChildReport {
  maxRssMb: number;
  ms: number;
  stats?: ReplayStats;
}

/** In the child: run one mode and print a JSON report on stdout. */
async function child(mode: string): Promise<void> {
  const t = performance.now();
  let stats: ReplayStats | undefined;
  if (mode === 'stats') {
    const acc = new StatsAccumulator();
    for (const r of syntheticResults(N)) acc.add(r);
    stats = acc.toJSON();
  }
  const report: ChildReport = { maxRssMb: process.resourceUsage().maxRSS / 1024, ms: performance.now() - t, ...(stats ? { stats } : {}) };
  process.stdout.write(JSON.stringify(report));
}

function runChild(mode: 'idle' | 'stats'): ChildReport {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, [CHILD_ENV]: mode },
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(out) as ChildReport;
}

async function statsFigures(): Promise<void> {
  const idle = runChild('idle');
  const run = runChild('stats');
  if (!run.stats) throw new Error('the stats child reported no stats');

  // Exact reference: the same stream's successful latencies, sorted; nearest rank ⌈q·n⌉ (./quantile.ts).
  const latencies = new Float64Array(run.stats.successfulReplays);
  let k = 0;
  for (const r of syntheticResults(N)) if (r.status !== 'Error') latencies[k++] = r.executionTimeMs;
  latencies.sort();
  const exact = (q: number) => nearestRankSorted(latencies, q);
  const errors = ([[0.5, run.stats.p50ExecutionTimeMs], [0.95, run.stats.p95ExecutionTimeMs], [0.99, run.stats.p99ExecutionTimeMs]] as const).map(([q, got]) => Math.abs(got - exact(q)) / exact(q));
  const worst = Math.max(...errors) * 100;

  printFigures('stats over 1,000,000 synthetic results (accumulator alone in a child process)', [
    { figure: 'peak RSS of the child (maxRSS)', ours: run.maxRssMb, unit: 'MB', target: '<= 200' },
    { figure: 'peak RSS of an idle child, same imports', ours: idle.maxRssMb, unit: 'MB' },
    { figure: 'worst relative error of p50/p95/p99 vs exact', ours: worst, unit: '%', target: '<= 1' },
    { figure: 'accumulate 1,000,000 results', ours: run.ms, unit: 'ms' },
  ]);
  console.log(`  p50/p95/p99 relative errors: ${errors.map((e) => (e * 100).toFixed(3) + ' %').join(' / ')}; ` +
    `keys kept: ${Object.keys(run.stats.fieldMismatches).length} field paths (+${run.stats.fieldMismatchesOther} other), ${Object.keys(run.stats.policyViolations).length} rules`);
}

async function interpreterFigures(): Promise<void> {
  // Imported here so the child processes above do not pay for the CDK and the interpreter.
  const { renderBatchAsl } = await import('../lib/batch-definition.js');
  const { LocalStateMachine } = await import('../functions/local/step-functions.js');
  const { itemsPerChunkFor } = await import('../functions/core/batch.js');
  const items = 1000;
  const latencyMs = 200;
  const concurrency = 40;
  const ideal = (items * latencyMs) / concurrency;
  const snapshotIds = Array.from({ length: items }, (_, i) => `S${i}`);
  const itemsPerChunk = itemsPerChunkFor(items, concurrency);
  // The manifest Plan writes (CSV with a snapshotId header), read by the definition's ItemReader.
  const manifest = { bucket: 'bench', key: 'batches/bench/snapshot-ids.csv' };
  const objects = {
    async *readLines(bucket: string, key: string): AsyncIterable<string[]> {
      if (bucket !== manifest.bucket || key !== manifest.key) throw new Error(`no object s3://${bucket}/${key}`);
      yield ['snapshotId', ...snapshotIds];
    },
  };

  const machine = new LocalStateMachine(
    renderBatchAsl(),
    {
      plan: (p) => ({ batchId: (p as { input: { batchId: string } }).input.batchId, manifest, itemsPerChunk, maxConcurrency: concurrency }),
      // A chunk replays its items one after another, as replayBatchChunk does.
      replay: async (p) => {
        const chunk = p as { items: unknown[] };
        for (let i = 0; i < chunk.items.length; i++) await sleep(latencyMs);
        return { count: chunk.items.length, failed: 0 };
      },
      stats: (p) => p,
    },
    { objects },
  );
  let t = performance.now();
  const outcome = await machine.start('bench', { batchId: 'bench' }).done;
  const wall = performance.now() - t;
  if (outcome.status !== 'SUCCEEDED') throw new Error(`bench execution failed: ${JSON.stringify(outcome)}`);

  // Reference: the same sleeps through a bare 40-wide pool.
  t = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items) {
      next++;
      await sleep(latencyMs);
    }
  }));
  const bare = performance.now() - t;

  printFigures(`local batch: ${items} items × ${latencyMs} ms at MaxConcurrency ${concurrency}, chunks of ${itemsPerChunk} (ideal ${ideal / 1000} s)`, [
    { figure: 'local interpreter wall ÷ ideal', ours: wall, baseline: ideal, unit: 'ms', ratio: wall / ideal, target: '<= 1.3' },
    { figure: 'bare promise pool wall ÷ ideal (reference)', ours: bare, baseline: ideal, unit: 'ms', ratio: bare / ideal },
  ]);
}

export default async function (): Promise<void> {
  await statsFigures();
  await interpreterFigures();
}

const mode = process.env[CHILD_ENV];
if (mode !== undefined) await child(mode);
