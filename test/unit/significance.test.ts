import { describe, expect, it } from 'vitest';
import { binomialHalfCdf, holmAdjust, logGamma, mcnemarExact, pairedQuantileDifferences, seededRandom, type Estimate } from '../../functions/core/significance.js';
import { MAX_COMPARED_FIELDS, PairedComparison, type PairSide } from '../../functions/core/comparison-stats.js';
import { itemSize, MAX_ITEM_BYTES } from '../../functions/adapters/dynamodb/item-size.js';

describe('mcnemarExact', () => {
  it('reproduces the exact conditional p-value of the worked example in Fagerland, Lydersen & Laake (2013)', () => {
    // Fagerland MW, Lydersen S, Laake P. "The McNemar test for binary matched-pairs data: mid-p and
    // asymptotic are better than exact conditional." BMC Medical Research Methodology 13:91 (2013),
    // example of airway hyper-responsiveness before and after stem cell transplantation
    // (Bentur et al. 2009), n = 21 pairs with discordant cells n12 = 1 and n21 = 7: the exact
    // conditional McNemar test gives p = 0.070 (= 2 · 9/256 = 0.0703125).
    const r = mcnemarExact(1, 7);
    expect(r.pValue).toBeCloseTo(0.0703125, 10);
    expect(r.pValue.toFixed(3)).toBe('0.070');
    expect(mcnemarExact(7, 1).pValue).toBe(r.pValue);
  });

  it('is 1 without discordant pairs and for equal discordant counts at most 1', () => {
    expect(mcnemarExact(0, 0).pValue).toBe(1);
    expect(mcnemarExact(5, 5).pValue).toBe(1);
  });

  it('matches the exact binomial sum for a small case computed by hand', () => {
    // b = 0, c = 6: 2 · (1/64) = 0.03125.
    expect(mcnemarExact(0, 6).pValue).toBeCloseTo(0.03125, 12);
    // b = 2, c = 10: 2 · (1 + 12 + 66) / 4096.
    expect(mcnemarExact(2, 10).pValue).toBeCloseTo((2 * 79) / 4096, 12);
  });

  it('stays finite and monotone for a million discordant pairs', () => {
    const p = mcnemarExact(499_000, 501_000).pValue;
    expect(p).toBeGreaterThan(0.04);
    expect(p).toBeLessThan(0.06); // z = 2000 / 1000 = 2 → two-sided normal p ≈ 0.0455
    expect(mcnemarExact(450_000, 550_000).pValue).toBeLessThan(1e-300 * 1e10);
  });

  it('refuses negative or fractional counts', () => {
    expect(() => mcnemarExact(-1, 2)).toThrow(RangeError);
    expect(() => mcnemarExact(1.5, 2)).toThrow(RangeError);
  });
});

describe('binomialHalfCdf and logGamma', () => {
  it('agree with exact values', () => {
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 10);
    expect(binomialHalfCdf(3, 10)).toBeCloseTo((1 + 10 + 45 + 120) / 1024, 12);
    expect(binomialHalfCdf(10, 10)).toBe(1);
    expect(binomialHalfCdf(-1, 10)).toBe(0);
  });
});

describe('holmAdjust', () => {
  it('reproduces the Holm–Bonferroni worked example (four hypotheses, alpha 0.05)', () => {
    // Holm S. "A simple sequentially rejective multiple test procedure." Scand J Statist 6:65–70
    // (1979); worked example as given in the Wikipedia article "Holm–Bonferroni method", section
    // "Example": p = 0.01, 0.04, 0.03, 0.005 → H1 and H4 rejected at alpha 0.05. Adjusted
    // p-values (as R's p.adjust(method = "holm")): 0.03, 0.06, 0.06, 0.02.
    const adjusted = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    expect(adjusted[0]).toBeCloseTo(0.03, 12);
    expect(adjusted[1]).toBeCloseTo(0.06, 12);
    expect(adjusted[2]).toBeCloseTo(0.06, 12);
    expect(adjusted[3]).toBeCloseTo(0.02, 12);
    expect(adjusted.map((p) => p <= 0.05)).toEqual([true, false, false, true]);
  });

  it('caps at 1 and keeps the order monotone', () => {
    expect(holmAdjust([0.5, 0.6, 0.9])).toEqual([1, 1, 1]);
    expect(holmAdjust([])).toEqual([]);
  });
});

describe('pairedQuantileDifferences', () => {
  it('is repeatable with a seed and brackets a known shift', () => {
    const random = seededRandom(3);
    const base = Array.from({ length: 800 }, () => 100 + random() * 50);
    const cand = base.map((v) => v + 20);
    const a = pairedQuantileDifferences(base, cand, [0.5, 0.95], { seed: 42, resamples: 300 });
    const b = pairedQuantileDifferences(base, cand, [0.5, 0.95], { seed: 42, resamples: 300 });
    expect(a).toEqual(b);
    for (const e of a) {
      expect(e.estimate).toBeCloseTo(20, 6);
      expect(e.ci95[0]).toBeLessThanOrEqual(20 + 1e-9);
      expect(e.ci95[1]).toBeGreaterThanOrEqual(20 - 1e-9);
    }
  });

  it('gives a CI that excludes zero for a real latency increase and includes it for none', () => {
    const random = seededRandom(9);
    const base = Array.from({ length: 1000 }, () => 100 + random() * 100);
    const slower = base.map((v) => v * 1.3);
    const same = Array.from({ length: 1000 }, () => 100 + random() * 100);
    const [p50Slower] = pairedQuantileDifferences(base, slower, [0.5], { seed: 1, resamples: 400 }) as [Estimate];
    const [p50Same] = pairedQuantileDifferences(base, same, [0.5], { seed: 1, resamples: 400 }) as [Estimate];
    expect(p50Slower.ci95[0]).toBeGreaterThan(0);
    expect(p50Same.ci95[0]).toBeLessThan(0);
    expect(p50Same.ci95[1]).toBeGreaterThan(0);
  });
});

/** Simulated pairs: each snapshot's "difficulty" correlates the two runs, as real replays do. */
function simulate(seed: number, n: number, baselineRate: number, candidateRate: number): PairedComparison {
  const random = seededRandom(seed);
  const cmp = new PairedComparison();
  const side = (match: boolean, latency: number): PairSide => ({ status: match ? 'Success' : 'Failed', outputsMatch: match, executionTimeMs: latency, mismatchedPaths: match ? [] : ['outputs.decision'] });
  for (let i = 0; i < n; i++) {
    // A shared uniform draw makes the pair correlated; each side thresholds it at its own rate,
    // with some independent noise.
    const shared = random();
    const noiseB = random();
    const noiseC = random();
    const uB = random() < 0.5 ? shared : noiseB;
    const uC = random() < 0.5 ? shared : noiseC;
    cmp.add(side(uB < baselineRate, 100 + random() * 20), side(uC < candidateRate, 100 + random() * 20));
  }
  return cmp;
}

describe('PairedComparison on simulated pairs (200 seeded simulations each)', () => {
  it('calls the null case significant in at most 8 % of runs at alpha 0.05', () => {
    let significant = 0;
    for (let s = 0; s < 200; s++) {
      const r = simulate(1000 + s, 1000, 0.8, 0.8).result(0.05, s, 10);
      if (r.verdict !== 'no significant difference') significant++;
    }
    expect(significant / 200).toBeLessThanOrEqual(0.08);
  });

  it('detects a 10-point match-rate drop on 1,000 pairs in at least 95 % of runs, as worse', () => {
    let detected = 0;
    for (let s = 0; s < 200; s++) {
      const r = simulate(5000 + s, 1000, 0.8, 0.7).result(0.05, s, 10);
      if (r.verdict === 'worse') detected++;
    }
    expect(detected / 200).toBeGreaterThanOrEqual(0.95);
  });

  it('calls a 10-point match-rate gain better', () => {
    expect(simulate(77, 1000, 0.7, 0.8).result(0.05, 1, 50).verdict).toBe('better');
  });
});

describe('PairedComparison', () => {
  const ok = (latency: number, paths: string[] = []): PairSide => ({ status: paths.length ? 'Failed' : 'Success', outputsMatch: paths.length === 0, executionTimeMs: latency, mismatchedPaths: paths });
  const err: PairSide = { status: 'Error', outputsMatch: false, executionTimeMs: 0, mismatchedPaths: [] };

  it('counts discordant pairs, rates and per-field tests exactly', () => {
    const cmp = new PairedComparison();
    cmp.add(ok(10), ok(12));
    cmp.add(ok(10), ok(12, ['outputs.score']));
    cmp.add(ok(10, ['outputs.score']), ok(12));
    cmp.add(ok(10), err);
    const r = cmp.result(0.05, 7, 20);
    expect(r.pairs).toBe(4);
    expect(r.matchRate).toMatchObject({ baseline: 0.75, candidate: 0.5, difference: -0.25, baselineOnly: 2, candidateOnly: 1 });
    expect(r.errorRate).toMatchObject({ baseline: 0, candidate: 0.25, baselineOnly: 0, candidateOnly: 1, pValue: 1 });
    expect(r.fields).toEqual([expect.objectContaining({ path: 'outputs.score', baselineOnly: 1, candidateOnly: 1, baseline: 0.25, candidate: 0.25 })]);
    expect(r.latency.pairs).toBe(3);
    expect(r.latency.p50).toMatchObject({ baselineMs: 10, candidateMs: 12, differenceMs: 2 });
    expect(r.verdict).toBe('no significant difference');
  });

  it('reports latency p50/p95 as nearest-rank quantiles, as the batch statistics do: p95 of two pairs is the slower replay', () => {
    const cmp = new PairedComparison();
    cmp.add(ok(10), ok(10));
    cmp.add(ok(20), ok(30));
    const r = cmp.result(0.05, 7, 50);
    // Nearest rank ⌈q·2⌉: p50 → 1st, p95 → 2nd (an interpolated p95 would be 19.5 / 29.5).
    expect(r.latency.p50).toMatchObject({ baselineMs: 10, candidateMs: 10, differenceMs: 0 });
    expect(r.latency.p95).toMatchObject({ baselineMs: 20, candidateMs: 30, differenceMs: 10 });
  });

  it('calls a candidate that errors significantly more often worse even when its matches do not drop significantly', () => {
    const cmp = new PairedComparison();
    for (let i = 0; i < 30; i++) cmp.add(ok(10, ['outputs.x']), err);
    for (let i = 0; i < 100; i++) cmp.add(ok(10), ok(10));
    const r = cmp.result(0.05, 1, 20);
    expect(r.matchRate.baselineOnly + r.matchRate.candidateOnly).toBe(0);
    expect(r.errorRate.significant).toBe(true);
    expect(r.verdict).toBe('worse');
  });

  it('tracks no more path text than one DynamoDB item holds: 1,000 paths of 345 characters were a 413 on every POST /comparisons', () => {
    const cmp = new PairedComparison();
    const path = (i: number) => `outputs.o.${String(i).padStart(4, '0')}-${'k'.repeat(330)}`;
    // Three pairs per path with uneven counts, so the rates and p-values have many digits.
    for (let i = 0; i < MAX_COMPARED_FIELDS + 50; i++) {
      cmp.add(ok(10), ok(11, [path(i)]));
      cmp.add(ok(10, [path(i)]), ok(11, [path(i)]));
      cmp.add(ok(10), ok(11));
    }
    const r = cmp.result(0.05, 7, 20);
    expect(r.fields.length).toBeGreaterThan(400);
    expect(r.fields.length + r.fieldsNotTested).toBe(MAX_COMPARED_FIELDS + 50);
    const stored = { pk: `COMPARISON#${'0'.repeat(26)}`, sk: 'COMPARISON', itemType: 'comparison', comparisonId: '0'.repeat(26), baselineBatchId: '1'.repeat(26), candidateBatchId: '2'.repeat(26), alpha: 0.05, intersectionOnly: false, excluded: { baselineOnly: 0, candidateOnly: 0 }, ...r, createdAt: new Date(0).toISOString() };
    expect(itemSize(stored)).toBeLessThanOrEqual(MAX_ITEM_BYTES);
  });

  it('does not read a path a side left out of its list as matched there: that pair is not counted for it', () => {
    const cmp = new PairedComparison();
    // The baseline lists items[0..2] and left 5,000 more out; the candidate lists items[4000] only.
    // items[4000] may well be among the baseline's omitted paths, so this pair says nothing about
    // it, and nothing about items[0..2] either, which the candidate lists in full as matched.
    cmp.add({ ...ok(10, ['outputs.items[0]', 'outputs.items[1]', 'outputs.items[2]']), mismatchedPathsOmitted: 5_000 }, ok(11, ['outputs.items[4000]']));
    // A pair whose lists are whole counts as before.
    cmp.add(ok(10, ['outputs.items[0]']), ok(11));
    const r = cmp.result(0.05, 7, 20);
    expect(r.pairsWithOmittedPaths).toBe(1);
    expect(r.fields.map((f) => [f.path, f.baselineOnly, f.candidateOnly])).toEqual([
      ['outputs.items[0]', 2, 0],
      ['outputs.items[1]', 1, 0],
      ['outputs.items[2]', 1, 0],
    ]);
  });

  it('refuses an alpha outside (0, 1)', () => {
    expect(() => new PairedComparison().result(0, 1)).toThrow(RangeError);
    expect(() => new PairedComparison().result(1, 1)).toThrow(RangeError);
  });
});
