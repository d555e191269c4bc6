/**
 * Batch statistics (DESIGN §6): a constant-memory, mergeable accumulator of replay results.
 *
 * The batch stats step reads every result item of a batch (never the Map's output, which is bounded
 * by the 256 KiB state payload) and folds each one into a {@link StatsAccumulator}. Memory does not
 * grow with the number of results: counters, a DDSketch for the latency quantiles, and two key→count
 * maps bounded by {@link STATS_TOP_KEYS}. Accumulators over disjoint pages (e.g. parallel segments)
 * merge into exactly what one accumulator over all results would hold.
 */
import { LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';
import * as z from 'zod/mini';
import { ValidationError } from './errors.js';
import { nearestRank } from './quantile.js';
import type { ReplayStatus } from './replay.js';
import { storableNumbers } from './storable.js';

/** What the stats need from one replay result. */
export interface ResultSummary {
  status: ReplayStatus;
  /** Whether the replayed outputs matched under the batch's mode (ignored for `Error`). */
  outputsMatch: boolean;
  /** Duration of the replay in milliseconds, finite and ≥ 0 (ignored for `Error`). */
  executionTimeMs: number;
  /** Field paths whose comparison did not match (e.g. `outputs.decision`). */
  mismatchedPaths: readonly string[];
  /** How many more did not match than `mismatchedPaths` lists (a batch result lists at most 100 KB of paths); counted in `fieldMismatchesOther`. */
  mismatchedPathsOmitted?: number | undefined;
  /** Names of the policy rules this replay violated. */
  violatedRules: readonly string[];
  /** `tampered` when the snapshot no longer matched its contentHash (nothing ran). */
  integrity?: 'verified' | 'tampered' | undefined;
}

// The schema of the statistics lives apart (./replay-stats.ts), so that the functions that only
// carry or describe them do not bundle the sketch library.
export { ReplayStatsSchema, type ReplayStats } from './replay-stats.js';
import type { ReplayStats } from './replay-stats.js';

const CounterStateSchema = z.object({ counts: z.record(z.string(), z.number()), other: z.number() });

/** A {@link StatsAccumulator} as stored with a chunk of a batch (mergeable, exact). */
export const AccumulatorStateSchema = z.object({
  total: z.number(),
  failed: z.number(),
  matched: z.number(),
  tampered: z.number(),
  latencySum: z.number(),
  /** The latency DDSketch: its zero count and its non-empty bins as [key, count]. */
  sketch: z.object({ zero: z.number(), bins: z.array(z.tuple([z.number(), z.number()])) }),
  latencyMin: z.number(),
  latencyMax: z.number(),
  fields: CounterStateSchema,
  rules: CounterStateSchema,
});
export type AccumulatorState = z.infer<typeof AccumulatorStateSchema>;

/** Relative accuracy of the latency quantiles: half the 1 % the design asks for, as margin. */
export const STATS_RELATIVE_ACCURACY = 0.005;

/**
 * Bins the sketch may use before it collapses its lowest bins. At 0.5 % accuracy 4,096 bins span a
 * ratio of e^41 between the smallest and largest latency, far beyond any real spread; the bound
 * is there so that memory is constant even for absurd inputs (≈ 32 KB).
 */
const SKETCH_BIN_LIMIT = 4096;

/** How many keys `fieldMismatches` and `policyViolations` report at most. */
export const STATS_TOP_KEYS = 1000;

/**
 * How many UTF-8 bytes of key text `fieldMismatches` (and `policyViolations`) report at most. The
 * stats are stored in the batch's item and a chunk's state in the chunk's (DynamoDB: 400 KB each),
 * and a field path has no length limit of its own (keys inside an output value): 1,000 paths of
 * 1,500 characters made the final stats update fail and the batch end FAILED with DynamoDB's
 * "Item size to update has exceeded the maximum allowed size".
 */
export const STATS_TOP_KEY_BYTES = 120_000;

const utf8 = new TextEncoder();

/**
 * A key→count map that never holds more than `2 × top` keys nor `2 × maxKeyBytes` bytes of key
 * text. When it fills up, the largest counts are kept (at most `top` of them, `maxKeyBytes` of key
 * text) and the rest is folded into `other`. Until the first prune every count is exact;
 * after it, a dropped key that reappears starts again from zero, so retained counts are lower
 * bounds. The invariant `sum(counts) + other = all occurrences` always holds.
 */
export class BoundedCounter {
  private counts = new Map<string, number>();
  private otherCount = 0;
  private keyBytes = 0;

  constructor(
    private readonly top: number = STATS_TOP_KEYS,
    private readonly maxKeyBytes: number = STATS_TOP_KEY_BYTES,
  ) {
    if (!Number.isInteger(top) || top < 1) throw new RangeError(`top must be a positive integer, got ${top}`);
    if (!Number.isInteger(maxKeyBytes) || maxKeyBytes < 1) throw new RangeError(`maxKeyBytes must be a positive integer, got ${maxKeyBytes}`);
  }

  /** How many keys are held right now (never more than `2 × top`). */
  get size(): number {
    return this.counts.size;
  }

  /** Adds `n` occurrences of `key`. */
  add(key: string, n = 1): void {
    // A key JavaScript objects cannot hold as data (the stats are stored and answered as objects):
    // counted, not shown. Policies refuse it as a rule name; one stored before that still counts.
    if (key === '__proto__') {
      this.otherCount += n;
      return;
    }
    const held = this.counts.get(key);
    if (held === undefined) this.keyBytes += utf8.encode(key).length;
    this.counts.set(key, (held ?? 0) + n);
    if (this.counts.size >= 2 * this.top || this.keyBytes > 2 * this.maxKeyBytes) this.prune();
  }

  /** Adds `n` occurrences of keys that are not named (they are counted in `other`). */
  addOther(n: number): void {
    this.otherCount += n;
  }

  /** Adds every count of `other` to this counter. */
  merge(other: BoundedCounter): void {
    for (const [key, n] of other.counts) this.add(key, n);
    this.otherCount += other.otherCount;
  }

  /** Everything held, for storing; {@link BoundedCounter.fromState} restores it exactly. */
  toState(): { counts: Record<string, number>; other: number } {
    return { counts: Object.fromEntries(this.counts), other: this.otherCount };
  }

  /** A counter holding exactly what `state` describes. */
  static fromState(state: { counts: Record<string, number>; other: number }, top: number = STATS_TOP_KEYS): BoundedCounter {
    const c = new BoundedCounter(top);
    for (const [key, n] of Object.entries(state.counts)) c.add(key, n);
    c.otherCount += state.other;
    return c;
  }

  /** The `top` largest counts (ties by key, ascending) and the count of every other occurrence. */
  snapshot(): { counts: Record<string, number>; other: number } {
    const { kept, other } = this.largest();
    const counts: Record<string, number> = {};
    for (const [key, n] of kept) counts[key] = n;
    return { counts, other: this.otherCount + other };
  }

  private sorted(): Array<[string, number]> {
    return [...this.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** The largest counts within both bounds (at most `top` keys, `maxKeyBytes` of key text), and the sum of the rest. */
  private largest(): { kept: Array<[string, number]>; keptBytes: number; other: number } {
    const kept: Array<[string, number]> = [];
    let keptBytes = 0;
    let other = 0;
    for (const [key, n] of this.sorted()) {
      const bytes = kept.length < this.top ? utf8.encode(key).length : 0;
      if (kept.length < this.top && keptBytes + bytes <= this.maxKeyBytes) {
        kept.push([key, n]);
        keptBytes += bytes;
      } else {
        other += n;
      }
    }
    return { kept, keptBytes, other };
  }

  private prune(): void {
    const { kept, keptBytes, other } = this.largest();
    this.counts = new Map(kept);
    this.keyBytes = keptBytes;
    this.otherCount += other;
  }
}

/** The non-empty bins of a sketch's (positive) store as [key, count]. */
function sketchBins(sketch: LogCollapsingLowestDenseDDSketch): Array<[number, number]> {
  const { bins, offset, minKey, maxKey } = sketch.store;
  const out: Array<[number, number]> = [];
  if (sketch.store.count === 0) return out;
  for (let key = minKey; key <= maxKey; key++) {
    const n = bins[key - offset] ?? 0;
    if (n > 0) out.push([key, n]);
  }
  return out;
}

/** Folds replay results into {@link ReplayStats} in constant memory; mergeable. */
export class StatsAccumulator {
  private total = 0;
  private failed = 0;
  private matched = 0;
  private tamperedCount = 0;
  private latencySum = 0;
  private readonly sketch = new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: STATS_RELATIVE_ACCURACY, binLimit: SKETCH_BIN_LIMIT });
  private fields = new BoundedCounter();
  private rules = new BoundedCounter();

  /** How many results were added (merged ones included). */
  get count(): number {
    return this.total;
  }

  /**
   * Everything this accumulator holds as plain JSON (the sketch as its non-empty bins, with the
   * observed min/max), to be stored with a chunk of a batch and merged later.
   */
  toState(): AccumulatorState {
    return {
      total: this.total,
      failed: this.failed,
      matched: this.matched,
      tampered: this.tamperedCount,
      latencySum: this.latencySum,
      sketch: { zero: this.sketch.zeroCount, bins: sketchBins(this.sketch) },
      latencyMin: this.sketch.count === 0 ? 0 : this.sketch.min,
      latencyMax: this.sketch.count === 0 ? 0 : this.sketch.max,
      fields: this.fields.toState(),
      rules: this.rules.toState(),
    };
  }

  /** An accumulator equal to the one whose {@link toState} gave `state`. */
  static fromState(state: AccumulatorState): StatsAccumulator {
    const acc = new StatsAccumulator();
    acc.total = state.total;
    acc.failed = state.failed;
    acc.matched = state.matched;
    acc.tamperedCount = state.tampered;
    acc.latencySum = state.latencySum;
    // Each bin back at its key: a bin's representative value maps to that same key.
    const s = acc.sketch;
    if (state.sketch.zero > 0) s.accept(0, state.sketch.zero);
    for (const [key, n] of state.sketch.bins) s.accept(s.mapping.value(key), n);
    // The representatives are not the observed extremes; the quantiles clamp to the real ones.
    if (s.count > 0) Object.assign(s, { min: state.latencyMin, max: state.latencyMax });
    acc.fields = BoundedCounter.fromState(state.fields);
    acc.rules = BoundedCounter.fromState(state.rules);
    return acc;
  }

  /**
   * Adds one result. Throws a {@link ValidationError} when a non-`Error` result has a latency that
   * is negative or not finite: such a value would silently corrupt every latency figure.
   */
  add(r: ResultSummary): void {
    if (r.status !== 'Error' && !(Number.isFinite(r.executionTimeMs) && r.executionTimeMs >= 0)) {
      throw new ValidationError(`executionTimeMs must be a finite number ≥ 0, got ${r.executionTimeMs}`, {
        details: { issues: [{ path: 'executionTimeMs', message: 'must be a finite number ≥ 0' }] },
      });
    }
    this.total++;
    if (r.status === 'Error') {
      this.failed++;
    } else if (r.integrity === 'tampered') {
      // Nothing ran: neither a mismatch nor a latency.
      this.tamperedCount++;
    } else {
      if (r.outputsMatch) this.matched++;
      this.latencySum += r.executionTimeMs;
      this.sketch.accept(r.executionTimeMs);
    }
    for (const path of r.mismatchedPaths) this.fields.add(path);
    if (r.mismatchedPathsOmitted !== undefined) this.fields.addOther(r.mismatchedPathsOmitted);
    for (const rule of r.violatedRules) this.rules.add(rule);
  }

  /**
   * Adds everything `other` has seen, as if each of its results had been added here. The result is
   * exactly that of adding every result to one accumulator while the latencies span less than the
   * sketch's range (a ratio of e^41) and the distinct keys fit (2 × {@link STATS_TOP_KEYS});
   * beyond either bound both remain within their documented guarantees.
   */
  merge(other: StatsAccumulator): void {
    this.total += other.total;
    this.failed += other.failed;
    this.matched += other.matched;
    this.tamperedCount += other.tamperedCount;
    this.latencySum += other.latencySum;
    this.sketch.merge(other.sketch);
    this.fields.merge(other.fields);
    this.rules.merge(other.rules);
  }

  /** The statistics so far (see {@link ReplayStats} for each definition), each number storable (storable.ts). */
  toJSON(): ReplayStats {
    const successful = this.total - this.failed;
    const fields = this.fields.snapshot();
    const rules = this.rules.snapshot();
    return storableNumbers({
      totalReplays: this.total,
      successfulReplays: successful,
      failedReplays: this.failed,
      matches: this.matched,
      // DESIGN §6: mismatches = successfulReplays − matches. A tampered snapshot ran nothing, so
      // nothing matched: it is among them, and `tampered` says how many of them it was.
      mismatches: successful - this.matched,
      tampered: this.tamperedCount,
      matchRate: successful === 0 ? 0 : this.matched / successful,
      totalExecutionTimeMs: this.latencySum,
      averageExecutionTimeMs: successful - this.tamperedCount === 0 ? 0 : this.latencySum / (successful - this.tamperedCount),
      p50ExecutionTimeMs: this.quantile(0.5),
      p95ExecutionTimeMs: this.quantile(0.95),
      p99ExecutionTimeMs: this.quantile(0.99),
      fieldMismatches: fields.counts,
      fieldMismatchesOther: fields.other,
      policyViolations: rules.counts,
      policyViolationsOther: rules.other,
    });
  }

  /**
   * The nearest-rank q-quantile (./quantile.ts) of the latencies, within the sketch's relative
   * accuracy (exact at the first and last rank): the representative of the bin holding the value of rank ⌈q·n⌉. (The sketch library's
   * own `getValueAtQuantile` uses rank ⌊q·(n−1)⌋, which for n < 100 never reaches the largest value.)
   */
  private quantile(q: number): number {
    const s = this.sketch;
    if (s.count === 0) return 0;
    // 0-based index of the value of nearest rank; latencies are ≥ 0, so no negative store.
    const index = nearestRank(q, s.count) - 1;
    // The extremes are kept exactly (through merges and stored states too): the first and last
    // ranks are the observed min and max, so p99 of fewer than 100 replays is the slowest one.
    if (index === s.count - 1) return s.max;
    if (index === 0) return s.min;
    if (index < s.zeroCount) return 0;
    const value = s.mapping.value(s.store.keyAtRank(index - s.zeroCount, true));
    // A bin's representative value may lie just outside the observed range; clamping only helps.
    return Math.min(s.max, Math.max(s.min, value));
  }
}
