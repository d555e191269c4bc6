import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BoundedCounter, STATS_RELATIVE_ACCURACY, StatsAccumulator, type ResultSummary } from '../../functions/core/stats.js';
import { itemSize, MAX_ITEM_BYTES } from '../../functions/adapters/dynamodb/item-size.js';
import { ValidationError } from '../../functions/core/errors.js';

function result(over: Partial<ResultSummary>): ResultSummary {
  return { status: 'Success', outputsMatch: true, executionTimeMs: 100, mismatchedPaths: [], violatedRules: [], ...over };
}

/**
 * The exact value the sketch approximates: the nearest-rank quantile, the smallest value such that
 * at least q of the values are ≤ it (1-based rank ⌈q·n⌉ of the sorted values).
 */
function exactQuantile(sorted: Float64Array, q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] as number;
}

/** A tiny deterministic PRNG so a failure can be reproduced. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('StatsAccumulator', () => {
  it('computes the hand-checked figures of a small batch', () => {
    // Arrange: 6 results — 4 matched successes, 1 mismatch (Failed), 1 Error.
    const acc = new StatsAccumulator();
    acc.add(result({ executionTimeMs: 10 }));
    acc.add(result({ executionTimeMs: 20 }));
    acc.add(result({ executionTimeMs: 30 }));
    acc.add(result({ executionTimeMs: 40 }));
    acc.add(result({ status: 'Failed', outputsMatch: false, executionTimeMs: 100, mismatchedPaths: ['outputs.decision', 'outputs.score'], violatedRules: ['score-range'] }));
    acc.add(result({ status: 'Error', outputsMatch: false, executionTimeMs: 5000 }));

    // Act
    const s = acc.toJSON();

    // Assert: the Error's latency is excluded; successful = 5, matches = 4.
    expect(s).toMatchObject({
      totalReplays: 6,
      successfulReplays: 5,
      failedReplays: 1,
      matches: 4,
      mismatches: 1,
      matchRate: 0.8,
      totalExecutionTimeMs: 200,
      averageExecutionTimeMs: 40,
      fieldMismatches: { 'outputs.decision': 1, 'outputs.score': 1 },
      fieldMismatchesOther: 0,
      policyViolations: { 'score-range': 1 },
      policyViolationsOther: 0,
    });
    // Sorted successful latencies [10,20,30,40,100], nearest rank ⌈q·5⌉: p50 → 3rd = 30; p95, p99 → 5th = 100.
    expect(s.p50ExecutionTimeMs).toBeCloseTo(30, 0);
    expect(Math.abs(s.p50ExecutionTimeMs - 30) / 30).toBeLessThanOrEqual(STATS_RELATIVE_ACCURACY);
    expect(s.p95ExecutionTimeMs).toBe(100);
    expect(s.p99ExecutionTimeMs).toBe(100);
  });

  it('reports the nearest-rank quantile: p95 and p99 of two replays are the slower one, p50 the faster', () => {
    const acc = new StatsAccumulator();
    acc.add(result({ executionTimeMs: 15.377 }));
    acc.add(result({ executionTimeMs: 8.474 }));

    const s = acc.toJSON();

    expect(Math.abs(s.p50ExecutionTimeMs - 8.474) / 8.474).toBeLessThanOrEqual(STATS_RELATIVE_ACCURACY);
    expect(s.p95ExecutionTimeMs).toBe(15.377);
    expect(s.p99ExecutionTimeMs).toBe(15.377);
  });

  it('reports p99 as the slowest replay for every batch of fewer than 100, merged or not', () => {
    const rand = mulberry32(7);
    for (let n = 1; n < 100; n++) {
      const values = Array.from({ length: n }, () => 1 + rand() * 50);
      const left = new StatsAccumulator();
      const right = new StatsAccumulator();
      values.forEach((v, i) => (i % 2 ? left : right).add(result({ executionTimeMs: v })));
      left.merge(StatsAccumulator.fromState(right.toState()));
      const sorted = Float64Array.from(values).sort();
      const s = left.toJSON();
      expect(s.p99ExecutionTimeMs).toBe(Math.max(...values));
      for (const [q, got] of [[0.5, s.p50ExecutionTimeMs], [0.95, s.p95ExecutionTimeMs]] as const) {
        const exact = exactQuantile(sorted, q);
        expect(Math.abs(got - exact) / exact).toBeLessThanOrEqual(STATS_RELATIVE_ACCURACY);
      }
    }
  });

  it('reports matchRate and latency figures as 0 when every replay errored', () => {
    const acc = new StatsAccumulator();
    acc.add(result({ status: 'Error', outputsMatch: false, executionTimeMs: 12 }));
    acc.add(result({ status: 'Error', outputsMatch: false, executionTimeMs: Number.NaN }));

    const s = acc.toJSON();

    expect(s).toMatchObject({ totalReplays: 2, successfulReplays: 0, failedReplays: 2, matches: 0, mismatches: 0, matchRate: 0, totalExecutionTimeMs: 0, averageExecutionTimeMs: 0, p50ExecutionTimeMs: 0, p95ExecutionTimeMs: 0, p99ExecutionTimeMs: 0 });
  });

  it('reports all zeros and empty maps when nothing was added', () => {
    expect(new StatsAccumulator().toJSON()).toEqual({
      totalReplays: 0, successfulReplays: 0, failedReplays: 0, matches: 0, mismatches: 0, tampered: 0, matchRate: 0,
      totalExecutionTimeMs: 0, averageExecutionTimeMs: 0, p50ExecutionTimeMs: 0, p95ExecutionTimeMs: 0, p99ExecutionTimeMs: 0,
      fieldMismatches: {}, fieldMismatchesOther: 0, policyViolations: {}, policyViolationsOther: 0,
    });
  });

  it('counts results of tampered snapshots among the mismatches (DESIGN §6: successful − matches) and apart, without a latency (nothing ran)', () => {
    const acc = new StatsAccumulator();
    acc.add(result({ executionTimeMs: 10 }));
    acc.add(result({ status: 'Failed', outputsMatch: false, executionTimeMs: 20, mismatchedPaths: ['outputs.score'] }));
    acc.add(result({ status: 'Failed', outputsMatch: false, executionTimeMs: 0, integrity: 'tampered' }));
    const other = new StatsAccumulator();
    other.add(result({ status: 'Failed', outputsMatch: false, executionTimeMs: 0, integrity: 'tampered' }));
    acc.merge(other);

    expect(acc.toJSON()).toMatchObject({ totalReplays: 4, successfulReplays: 4, matches: 1, mismatches: 3, tampered: 2, totalExecutionTimeMs: 30, averageExecutionTimeMs: 15 });
  });

  it('counts a Failed result whose outputs matched (a violated rule) as a match', () => {
    const acc = new StatsAccumulator();
    acc.add(result({ status: 'Failed', outputsMatch: true, violatedRules: ['max-latency'] }));

    expect(acc.toJSON()).toMatchObject({ successfulReplays: 1, matches: 1, mismatches: 0, matchRate: 1, policyViolations: { 'max-latency': 1 } });
  });

  it('refuses a successful result with a negative or non-finite latency', () => {
    const acc = new StatsAccumulator();
    expect(() => acc.add(result({ executionTimeMs: -1 }))).toThrow(ValidationError);
    expect(() => acc.add(result({ executionTimeMs: Number.POSITIVE_INFINITY }))).toThrow(ValidationError);
    expect(acc.toJSON().totalReplays).toBe(0);
  });

  it('merging accumulators over a split equals adding every result to one', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            status: fc.constantFrom<ResultSummary['status']>('Success', 'Failed', 'Error'),
            outputsMatch: fc.boolean(),
            // Real latencies: 0, or 1 µs .. 1,000 s (a span the sketch holds without collapsing bins).
            executionTimeMs: fc.oneof(fc.constant(0), fc.double({ min: 0.001, max: 1e6, noNaN: true })),
            mismatchedPaths: fc.array(fc.constantFrom('outputs.a', 'outputs.b', 'outputs.items[2].price'), { maxLength: 3 }),
            violatedRules: fc.array(fc.constantFrom('r1', 'r2'), { maxLength: 2 }),
          }),
          { maxLength: 60 },
        ),
        fc.nat(),
        (results, cut) => {
          const split = results.length === 0 ? 0 : cut % (results.length + 1);
          const all = new StatsAccumulator();
          const left = new StatsAccumulator();
          const right = new StatsAccumulator();
          results.forEach((r, i) => {
            all.add(r);
            (i < split ? left : right).add(r);
          });

          left.merge(right);

          const merged = left.toJSON();
          const expected = all.toJSON();
          // The latency sum may differ in the last bits because the additions are grouped differently.
          expect(merged.totalExecutionTimeMs).toBeCloseTo(expected.totalExecutionTimeMs, 3);
          expect({ ...merged, totalExecutionTimeMs: 0, averageExecutionTimeMs: 0 }).toEqual({ ...expected, totalExecutionTimeMs: 0, averageExecutionTimeMs: 0 });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps p50/p95/p99 within 1 % of the exact sorted quantiles on random latencies', () => {
    const rand = mulberry32(42);
    const shapes: Array<[string, () => number]> = [
      ['uniform 0..1000 ms', () => rand() * 1000],
      ['log-normal around 120 ms', () => Math.exp(Math.log(120) + 0.8 * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()))],
      ['bimodal 5 ms / 2 s', () => (rand() < 0.9 ? 5 + rand() : 2000 + rand() * 500)],
    ];
    for (const [, draw] of shapes) {
      const n = 20_000;
      const acc = new StatsAccumulator();
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = draw();
        values[i] = v;
        acc.add(result({ executionTimeMs: v }));
      }
      values.sort();
      const s = acc.toJSON();

      for (const [q, got] of [[0.5, s.p50ExecutionTimeMs], [0.95, s.p95ExecutionTimeMs], [0.99, s.p99ExecutionTimeMs]] as const) {
        const exact = exactQuantile(values, q);
        expect(Math.abs(got - exact) / exact).toBeLessThanOrEqual(0.01);
      }
    }
  });
});

describe('BoundedCounter', () => {
  it('keeps every count exact while the keys fit, and shows only the top keys', () => {
    const c = new BoundedCounter(2);
    c.add('a', 5);
    c.add('b', 3);
    c.add('c', 1);

    expect(c.snapshot()).toEqual({ counts: { a: 5, b: 3 }, other: 1 });
  });

  it('never holds more than twice its limit and keeps shown + other equal to all occurrences', () => {
    const c = new BoundedCounter(10);
    let total = 0;
    let largest = 0;
    for (let i = 0; i < 5_000; i++) {
      // 500 distinct keys, 50 times the limit: the counter must prune repeatedly.
      c.add(`outputs.items[${i % 500}].price`);
      total++;
      largest = Math.max(largest, c.size);
    }

    const { counts, other } = c.snapshot();

    expect(largest).toBeLessThanOrEqual(20);
    expect(Object.keys(counts)).toHaveLength(10);
    expect(Object.values(counts).reduce((a, b) => a + b, 0) + other).toBe(total);
  });

  it('keeps the stats and a chunk state within one DynamoDB item whatever the length of the paths (1,000 paths of 1,500 characters FAILED the batch)', () => {
    const acc = new StatsAccumulator();
    const paths = Array.from({ length: 1020 }, (_, i) => `outputs.o.${'k'.repeat(1500)}${String(i).padStart(4, '0')}`);
    for (let i = 0; i < 34; i++) acc.add(result({ status: 'Failed', outputsMatch: false, mismatchedPaths: paths.slice(i * 30, i * 30 + 30) }));

    const stats = acc.toJSON();
    const state = acc.toState();

    expect(itemSize({ pk: 'BATCH#x', sk: 'META', stats })).toBeLessThanOrEqual(MAX_ITEM_BYTES);
    expect(itemSize({ pk: 'BATCH#x', sk: 'CHUNK#x', stats: state })).toBeLessThanOrEqual(MAX_ITEM_BYTES);
    expect(Object.keys(stats.fieldMismatches).length).toBeGreaterThan(0);
    expect(Object.values(stats.fieldMismatches).reduce((a, b) => a + b, 0) + (stats.fieldMismatchesOther ?? 0)).toBe(1020);
    // The state still restores to the same statistics.
    expect(StatsAccumulator.fromState(state).toJSON()).toEqual(stats);
  });

  it('counts a __proto__ key (a rule stored under that name) in other, so the counts stay storable and complete', () => {
    const acc = new StatsAccumulator();
    for (let i = 0; i < 3; i++) acc.add(result({ status: 'Failed', outputsMatch: false, violatedRules: ['__proto__', 'constructor'] }));

    const stats = acc.toJSON();
    const state = acc.toState();

    expect(stats.policyViolations).toEqual({ constructor: 3 });
    expect(stats.policyViolationsOther).toBe(3);
    expect(Object.keys(state.rules.counts)).toEqual(['constructor']);
    expect(StatsAccumulator.fromState(state).toJSON()).toEqual(stats);
  });

  it('breaks ties by key so the output does not depend on insertion order', () => {
    const a = new BoundedCounter(2);
    const b = new BoundedCounter(2);
    for (const k of ['z', 'y', 'x']) a.add(k);
    for (const k of ['x', 'y', 'z']) b.add(k);

    expect(a.snapshot()).toEqual(b.snapshot());
    expect(a.snapshot()).toEqual({ counts: { x: 1, y: 1 }, other: 1 });
  });
});
