import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/core/errors.js';
import { compareOutputs, numericCloseness } from '../../functions/core/output-comparison.js';
import { LexicalSimilarity, type SimilarityProvider } from '../../functions/core/similarity.js';
import type { NamedValue } from '../../functions/core/snapshot.js';

const lexical = new LexicalSimilarity();

const recorded: NamedValue[] = [
  { name: 'decision', value: 'approve', type: 'string' },
  { name: 'score', value: 0.8 },
  { name: 'rationale', value: 'Income is well above the threshold.' },
  { name: 'flags', value: { manualReview: false, note: null } },
  { name: 'items', value: [{ price: 10 }, { price: 20 }, { price: 30 }] },
];

describe('compareOutputs', () => {
  it('compares every output leaf, matched by name, with leaf paths', async () => {
    const replayed = [...recorded].reverse();
    const result = await compareOutputs(recorded, replayed, 'Strict', 0.8, lexical);
    expect(result.outputsMatch).toBe(true);
    expect(result.fieldComparisons.map((f) => f.path)).toEqual([
      'outputs.decision',
      'outputs.score',
      'outputs.rationale',
      'outputs.flags.manualReview',
      'outputs.flags.note',
      'outputs.items[0].price',
      'outputs.items[1].price',
      'outputs.items[2].price',
    ]);
    expect(result.fieldComparisons.every((f) => f.comparator === 'ExactMatch' && f.score === 1 && f.threshold === 1 && f.match)).toBe(true);
  });

  it('compares an output named __proto__ like any other (a changed one compared as a match, with no field compared)', async () => {
    const result = await compareOutputs([{ name: '__proto__', value: { decision: 'approve' } }], [{ name: '__proto__', value: { decision: 'deny' } }], 'Strict', 0.8, lexical);
    expect(result.outputsMatch).toBe(false);
    expect(result.fieldComparisons).toEqual([{ path: 'outputs.__proto__.decision', comparator: 'ExactMatch', score: 0, threshold: 1, match: false, original: 'approve', replayed: 'deny' }]);
  });

  it('in Strict mode fails any leaf that is not exactly equal', async () => {
    const replayed: NamedValue[] = recorded.map((o) => (o.name === 'score' ? { name: 'score', value: 0.8000001 } : o));
    const result = await compareOutputs(recorded, replayed, 'Strict', 0.8, lexical);
    expect(result.outputsMatch).toBe(false);
    expect(result.fieldComparisons.find((f) => f.path === 'outputs.score')).toEqual({ path: 'outputs.score', comparator: 'ExactMatch', score: 0, threshold: 1, match: false, original: 0.8, replayed: 0.8000001 });
  });

  it('in Tolerant mode scores strings by the similarity provider and numbers by closeness', async () => {
    const replayed: NamedValue[] = [
      { name: 'decision', value: 'approve' },
      { name: 'score', value: 0.76 },
      { name: 'rationale', value: 'The income is well above the threshold' },
      { name: 'flags', value: { manualReview: false, note: null } },
      { name: 'items', value: [{ price: 10 }, { price: 20 }, { price: 15 }] },
    ];
    const result = await compareOutputs(recorded, replayed, 'Tolerant', 0.8, lexical);
    const byPath = Object.fromEntries(result.fieldComparisons.map((f) => [f.path, f]));
    // 1 − |0.8 − 0.76| / 0.8 = 0.95.
    expect(byPath['outputs.score']).toMatchObject({ comparator: 'NumericCloseness', threshold: 0.8, match: true });
    expect(byPath['outputs.score']?.score).toBeCloseTo(0.95, 12);
    expect(byPath['outputs.rationale']).toMatchObject({ comparator: 'SemanticSimilarity', provider: 'lexical', match: true });
    expect(byPath['outputs.rationale']?.score).toBeGreaterThan(0.8);
    expect(byPath['outputs.rationale']?.score).toBeLessThan(1);
    expect(byPath['outputs.decision']).toMatchObject({ comparator: 'SemanticSimilarity', score: 1, match: true });
    expect(byPath['outputs.flags.manualReview']).toMatchObject({ comparator: 'ExactMatch', score: 1, threshold: 1, match: true });
    // 30 → 15: closeness 0.5 < 0.8.
    expect(byPath['outputs.items[2].price']).toMatchObject({ comparator: 'NumericCloseness', score: 0.5, match: false, original: 30, replayed: 15 });
    expect(result.outputsMatch).toBe(false);
  });

  it('in Tolerant mode fails a low-similarity string', async () => {
    const replayed = recorded.map((o) => (o.name === 'rationale' ? { name: 'rationale', value: 'Declined because of open accounts.' } : o));
    const result = await compareOutputs(recorded, replayed, 'Tolerant', 0.8, lexical);
    const f = result.fieldComparisons.find((x) => x.path === 'outputs.rationale');
    expect(f?.match).toBe(false);
    expect(f?.score).toBeLessThan(0.8);
    expect(result.outputsMatch).toBe(false);
  });

  it('in Tolerant mode compares booleans, null and type changes exactly', async () => {
    const replayed: NamedValue[] = [
      { name: 'decision', value: 1 },
      { name: 'score', value: '0.8' },
      { name: 'rationale', value: 'Income is well above the threshold.' },
      { name: 'flags', value: { manualReview: true, note: 'x' } },
      { name: 'items', value: { price: 10 } },
    ];
    const result = await compareOutputs(recorded, replayed, 'Tolerant', 0, lexical);
    const mismatched = result.fieldComparisons.filter((f) => !f.match).map((f) => [f.path, f.comparator, f.score]);
    expect(mismatched).toEqual([
      ['outputs.decision', 'ExactMatch', 0],
      ['outputs.score', 'ExactMatch', 0],
      ['outputs.flags.manualReview', 'ExactMatch', 0],
      ['outputs.flags.note', 'ExactMatch', 0],
      ['outputs.items', 'ExactMatch', 0],
    ]);
  });

  it('fails added and removed leaves in both modes, leaving out the absent side', async () => {
    const replayed: NamedValue[] = [...recorded.filter((o) => o.name !== 'rationale' && o.name !== 'items'), { name: 'items', value: [{ price: 10 }, { price: 20 }] }, { name: 'extra', value: { a: 1, b: [true] } }];
    for (const mode of ['Strict', 'Tolerant'] as const) {
      const result = await compareOutputs(recorded, replayed, mode, 0, lexical);
      const presence = result.fieldComparisons.filter((f) => f.comparator === 'Presence');
      expect(presence).toEqual([
        { path: 'outputs.rationale', comparator: 'Presence', score: 0, threshold: mode === 'Strict' ? 1 : 0, match: false, original: 'Income is well above the threshold.' },
        { path: 'outputs.items[2].price', comparator: 'Presence', score: 0, threshold: mode === 'Strict' ? 1 : 0, match: false, original: 30 },
        { path: 'outputs.extra.a', comparator: 'Presence', score: 0, threshold: mode === 'Strict' ? 1 : 0, match: false, replayed: 1 },
        { path: 'outputs.extra.b[0]', comparator: 'Presence', score: 0, threshold: mode === 'Strict' ? 1 : 0, match: false, replayed: true },
      ]);
      expect(result.outputsMatch).toBe(false);
    }
  });

  it('treats empty arrays and objects as leaves', async () => {
    const a: NamedValue[] = [{ name: 'list', value: [] }, { name: 'obj', value: {} }];
    const same = await compareOutputs(a, a, 'Strict', 1, lexical);
    expect(same.fieldComparisons.map((f) => [f.path, f.match])).toEqual([
      ['outputs.list', true],
      ['outputs.obj', true],
    ]);
    const grown = await compareOutputs(a, [{ name: 'list', value: [1] }, { name: 'obj', value: {} }], 'Strict', 1, lexical);
    expect(grown.fieldComparisons[0]).toMatchObject({ path: 'outputs.list[0]', comparator: 'Presence', match: false, replayed: 1 });
  });

  it('matches when neither side has outputs, and fails when the replay has none', async () => {
    expect(await compareOutputs([], [], 'Strict', 1, lexical)).toEqual({ outputsMatch: true, fieldComparisons: [] });
    const none = await compareOutputs(recorded.slice(0, 1), [], 'Tolerant', 0.8, lexical);
    expect(none).toEqual({ outputsMatch: false, fieldComparisons: [{ path: 'outputs.decision', comparator: 'Presence', score: 0, threshold: 0.8, match: false, original: 'approve' }] });
  });

  it('refuses a tolerance outside 0..1 in Tolerant mode', async () => {
    await expect(compareOutputs(recorded, recorded, 'Tolerant', 1.5, lexical)).rejects.toBeInstanceOf(ValidationError);
    await expect(compareOutputs(recorded, recorded, 'Tolerant', Number.NaN, lexical)).rejects.toBeInstanceOf(ValidationError);
  });

  it('asks the provider for differing strings only, and bounds concurrent requests', async () => {
    let inFlight = 0;
    let peak = 0;
    const calls: string[][] = [];
    const slow: SimilarityProvider = {
      name: 'slow',
      similarity: async (a, b) => {
        calls.push([a, b]);
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight -= 1;
        return 0.9;
      },
    };
    const original = Array.from({ length: 30 }, (_, i) => ({ name: `t${i}`, value: `text ${i}` }));
    const replayed = original.map((o, i) => (i === 0 ? o : { name: o.name, value: `${String(o.value)} changed` }));
    const result = await compareOutputs(original, replayed, 'Tolerant', 0.85, slow);
    expect(calls).toHaveLength(29);
    expect(peak).toBeLessThanOrEqual(8);
    expect(result.outputsMatch).toBe(true);
    expect(result.fieldComparisons[0]).toMatchObject({ score: 1, provider: 'slow' });
  });

  it('refuses a provider score outside [0, 1]', async () => {
    const bad: SimilarityProvider = { name: 'bad', similarity: async () => 1.5 };
    await expect(compareOutputs([{ name: 'a', value: 'x' }], [{ name: 'a', value: 'y' }], 'Tolerant', 0.5, bad)).rejects.toThrow(/outside \[0, 1\]/);
  });
});

describe('numericCloseness', () => {
  it('is 1 for equal numbers including both 0, and never negative', () => {
    expect(numericCloseness(0, 0)).toBe(1);
    expect(numericCloseness(5, 5)).toBe(1);
    expect(numericCloseness(100, 90)).toBeCloseTo(0.9, 12);
    expect(numericCloseness(0, 3)).toBe(0);
    expect(numericCloseness(-5, 5)).toBe(0);
    expect(numericCloseness(-10, -9)).toBeCloseTo(0.9, 12);
  });
});
