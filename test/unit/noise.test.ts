import { describe, expect, it } from 'vitest';
import { noiseProfileRoutes, type NoiseProfileRoutesDeps } from '../../functions/api/noise-profile-routes.js';
import type { ApiRequest } from '../../functions/http/api.js';
import { NoiseAccumulator, noiseIndex, NUMERIC_SAFETY_FACTOR, observeNoise, type NoiseProfile } from '../../functions/core/noise.js';
import { compareOutputs } from '../../functions/core/output-comparison.js';
import { LexicalSimilarity } from '../../functions/core/similarity.js';
import type { NamedValue } from '../../functions/core/snapshot.js';

const similarity = new LexicalSimilarity();

function run(score: number, rationale: string, requestId: string, approved = true, decision = 'approve'): NamedValue[] {
  return [
    { name: 'decision', value: decision },
    { name: 'score', value: score },
    { name: 'rationale', value: rationale },
    { name: 'requestId', value: requestId },
    { name: 'approved', value: approved },
  ];
}

async function learn(pairs: [NamedValue[], NamedValue[]][]) {
  const acc = new NoiseAccumulator();
  for (const [a, b] of pairs) acc.addPair(await observeNoise(a, b, similarity));
  return acc.fields();
}

function profileOf(fields: NoiseProfile['fields']): NoiseProfile {
  return { functionName: 'f', version: 1, executor: 'x', modelVersions: [], similarityProvider: 'lexical', sampleSize: fields.length, pairs: 3, numericSafetyFactor: NUMERIC_SAFETY_FACTOR, fields, batchId: 'b', createdAt: 't' };
}

const RATIONALE = 'Approved: an income of 52000 covers the requested credit.';
const REWORDED = `In short: ${RATIONALE}`;

describe('learning a noise profile from pairs of runs', () => {
  it('classifies each field: stable, numeric-noise with its spread, text-noise with its floor, always-different ids', async () => {
    const fields = await learn([
      [run(0.8, RATIONALE, 'id-1'), run(0.801, REWORDED, 'id-2')],
      [run(0.5, RATIONALE, 'id-3'), run(0.4995, RATIONALE, 'id-4')],
      [run(0.7, REWORDED, 'id-5'), run(0.7, RATIONALE, 'id-6')],
    ]);
    const by = Object.fromEntries(fields.map((f) => [f.path, f]));
    expect(by['outputs.decision']).toEqual({ path: 'outputs.decision', class: 'stable', pairs: 3, differed: 0 });
    expect(by['outputs.approved']?.class).toBe('stable');
    expect(by['outputs.score']).toMatchObject({ class: 'numeric-noise', pairs: 3, differed: 2 });
    // 0.8 vs 0.801 differs by 0.1248 %; 0.5 vs 0.4995 by exactly 0.1 %: the spread is the largest.
    expect(by['outputs.score']?.spreadPercent).toBeCloseTo(0.12484, 4);
    // …and by 0.001 and 0.0005 in absolute terms: the absolute spread is the largest of those.
    expect(by['outputs.score']?.spreadAbsolute).toBeCloseTo(0.001, 12);
    expect(by['outputs.rationale']).toMatchObject({ class: 'text-noise', pairs: 3, differed: 2 });
    expect(by['outputs.rationale']?.similarityFloor).toBeCloseTo(await similarity.similarity(RATIONALE, REWORDED), 10);
    expect(by['outputs.requestId']).toEqual({ path: 'outputs.requestId', class: 'always-different', pairs: 3, differed: 3 });
  });

  it('keeps words that always change as text-noise, not ignored, and a sometimes-equal id as text-noise', async () => {
    const fields = await learn([
      [run(1, 'low risk overall', 'same'), run(1, 'overall low risk', 'same')],
      [run(1, 'low risk overall', 'a1'), run(1, 'risk is low overall', 'b2')],
    ]);
    const by = Object.fromEntries(fields.map((f) => [f.path, f]));
    expect(by['outputs.rationale']?.class).toBe('text-noise');
    expect(by['outputs.requestId']?.class).toBe('text-noise');
  });

  it('calls a boolean that flips between runs always-different', async () => {
    const fields = await learn([[run(1, 'x', 'i', true), run(1, 'x', 'i', false)], [run(1, 'x', 'i', true), run(1, 'x', 'i', true)]]);
    expect(fields.find((f) => f.path === 'outputs.approved')).toMatchObject({ class: 'always-different', pairs: 2, differed: 1 });
  });
});

describe('a numeric field that jitters around 0', () => {
  // A score that is "0 with a little noise": 0, 0.001 or -0.001 (the probe's D5 repro).
  const pairs: [NamedValue[], NamedValue[]][] = [[0, 0.001], [0, -0.001], [0.001, 0], [0, 0], [-0.001, 0.001], [0, 0.001]].map(([x, y]) => [run(x as number, 'r', 'i'), run(y as number, 'r', 'i')]);

  it('learns a relative spread of 100 % but an absolute spread of only 0.002', async () => {
    const fields = await learn(pairs);
    expect(fields.find((f) => f.path === 'outputs.score')).toEqual({ path: 'outputs.score', class: 'numeric-noise', pairs: 6, differed: 5, spreadPercent: 100, spreadAbsolute: 0.002 });
  });

  it('still catches a real change (0 → 10, 0 → 1e9, 0.5 → -0.5) while suppressing the jitter it learned', async () => {
    const rules = { fields: noiseIndex(profileOf(await learn(pairs))), numericSafetyFactor: NUMERIC_SAFETY_FACTOR };
    const score = async (a: number, b: number) => (await compareOutputs(run(a, 'r', 'i'), run(b, 'r', 'i'), 'Tolerant', 0.8, similarity, rules)).fieldComparisons.find((f) => f.path === 'outputs.score');
    for (const [a, b] of [[0, 10], [0, 1e9], [0.5, -0.5], [0, 0.01]] as const) {
      expect(await score(a, b), `${a} → ${b}`).toMatchObject({ match: false, noise: 'exceeded' });
    }
    const jitter = await score(0, -0.001);
    expect(jitter).toMatchObject({ match: true, noise: 'suppressed' });
    expect(jitter?.noiseReason).toBe('numeric-noise: differs by 100% (by 0.001); learned spread ±100% and ±0.002 (5/6 pairs) × safety factor 3 allows 300% and ±0.006');
    expect(await score(0.004, -0.001)).toMatchObject({ match: true, noise: 'suppressed' });
  });

  it('does not let a profile stored before absolute spreads (no spreadAbsolute) accept every value: its unbounded allowance is not applied', async () => {
    const old = profileOf([{ path: 'outputs.score', class: 'numeric-noise', pairs: 6, differed: 5, spreadPercent: 100 }]);
    const rules = { fields: noiseIndex(old), numericSafetyFactor: NUMERIC_SAFETY_FACTOR };
    const r = await compareOutputs(run(0, 'r', 'i'), run(10, 'r', 'i'), 'Tolerant', 0.8, similarity, rules);
    const f = r.fieldComparisons.find((c) => c.path === 'outputs.score');
    expect(f).toMatchObject({ comparator: 'NumericCloseness', match: false, threshold: 0.8, noise: 'exceeded' });
    expect(f?.noiseReason).toContain('would allow every value');
    // A bounded relative allowance of such a profile still applies as before.
    const bounded = { fields: noiseIndex(profileOf([{ path: 'outputs.score', class: 'numeric-noise', pairs: 6, differed: 5, spreadPercent: 1 }])), numericSafetyFactor: NUMERIC_SAFETY_FACTOR };
    const kept = await compareOutputs(run(100, 'r', 'i'), run(102, 'r', 'i'), 'Tolerant', 0.99, similarity, bounded);
    expect(kept.fieldComparisons.find((c) => c.path === 'outputs.score')).toMatchObject({ match: true, noise: 'suppressed', threshold: 0.97 });
  });
});

describe('noise-aware Tolerant comparison', () => {
  const profile = profileOf([
    { path: 'outputs.decision', class: 'stable', pairs: 3, differed: 0 },
    { path: 'outputs.score', class: 'numeric-noise', pairs: 3, differed: 2, spreadPercent: 0.25 },
    { path: 'outputs.rationale', class: 'text-noise', pairs: 3, differed: 2, similarityFloor: 0.8 },
    { path: 'outputs.requestId', class: 'always-different', pairs: 3, differed: 3 },
  ]);
  const rules = { fields: noiseIndex(profile), numericSafetyFactor: NUMERIC_SAFETY_FACTOR };
  const compare = (a: NamedValue[], b: NamedValue[], tolerance = 0.8) => compareOutputs(a, b, 'Tolerant', tolerance, similarity, rules);
  const at = (r: Awaited<ReturnType<typeof compare>>, path: string) => r.fieldComparisons.find((f) => f.path === path);

  it('suppresses noise within what was learned, and says so and why', async () => {
    const r = await compare(run(0.8, RATIONALE, 'id-1'), run(0.8032, REWORDED, 'id-2'));
    expect(r.outputsMatch).toBe(true);
    expect(at(r, 'outputs.requestId')).toMatchObject({ comparator: 'NoiseIgnored', match: true, noise: 'suppressed' });
    expect(at(r, 'outputs.requestId')?.noiseReason).toContain('always-different');
    // 0.8 → 0.8032 is 0.398 %: within 0.25 % × 3.
    expect(at(r, 'outputs.score')).toMatchObject({ comparator: 'NumericCloseness', match: true, noise: 'suppressed' });
    expect(at(r, 'outputs.score')?.noiseReason).toContain('× safety factor 3 allows 0.75%');
    expect(at(r, 'outputs.rationale')).toMatchObject({ comparator: 'SemanticSimilarity', match: true, noise: 'suppressed', threshold: 0.8 });
    expect(at(r, 'outputs.decision')).toMatchObject({ comparator: 'ExactMatch', match: true, noise: 'stable' });
  });

  it('flags a numeric move beyond spread × safety factor that plain Tolerant would pass', async () => {
    const a = run(0.8, RATIONALE, 'id-1');
    const b = run(0.81, RATIONALE, 'id-1');
    expect((await compareOutputs(a, b, 'Tolerant', 0.8, similarity)).outputsMatch).toBe(true);
    const r = await compare(a, b);
    expect(r.outputsMatch).toBe(false);
    expect(at(r, 'outputs.score')).toMatchObject({ match: false, noise: 'exceeded' });
  });

  it('compares a stable field exactly, even where the tolerance would accept a similar text', async () => {
    const r = await compare(run(0.8, RATIONALE, 'i', true, 'approve'), run(0.8, RATIONALE, 'i', true, 'approved'), 0);
    expect(at(r, 'outputs.decision')).toMatchObject({ comparator: 'ExactMatch', match: false, noise: 'stable' });
  });

  it('flags text below its learned floor even when the tolerance is lower', async () => {
    const r = await compare(run(0.8, RATIONALE, 'i'), run(0.8, 'Declined: the income does not support the requested credit.', 'i'), 0.1);
    expect(at(r, 'outputs.rationale')).toMatchObject({ match: false, noise: 'exceeded', threshold: 0.8 });
  });

  it('compares fields the profile does not know with the plain tolerance, and applies nothing in Strict mode', async () => {
    const extra = (v: string): NamedValue[] => [...run(0.8, RATIONALE, 'i'), { name: 'note', value: v }];
    const r = await compare(extra('a b c d e'), extra('a b c d x'), 0.7);
    expect(at(r, 'outputs.note')).toMatchObject({ comparator: 'SemanticSimilarity', threshold: 0.7, match: true });
    expect(at(r, 'outputs.note')).not.toHaveProperty('noise');
    const strict = await compareOutputs(run(0.8, RATIONALE, 'id-1'), run(0.8, RATIONALE, 'id-2'), 'Strict', 1, similarity, rules);
    expect(strict.outputsMatch).toBe(false);
  });
});

describe('a field present in only some runs', () => {
  // A `warning` the model adds to some answers and not to others, reading the same whenever it is there.
  const withWarning = (warning: string | undefined, score = 0.8): NamedValue[] => [...run(score, 'r', 'i'), ...(warning === undefined ? [] : [{ name: 'warning', value: warning }])];
  const learnWarning = () =>
    learn([
      [withWarning('check income'), withWarning(undefined)],
      [withWarning('check income'), withWarning('check income')],
      [withWarning(undefined), withWarning('check income')],
      [withWarning('check income'), withWarning('check income')],
    ]);

  it('learns its presence apart from its value: stable values, presenceDiffered counted', async () => {
    // Before, the pairs it was missing from made it always-different: its value was then ignored.
    const warning = (await learnWarning()).find((f) => f.path === 'outputs.warning');
    expect(warning).toEqual({ path: 'outputs.warning', class: 'stable', pairs: 4, differed: 2, presenceDiffered: 2 });
  });

  it('lets it be missing on one side as noise, and still catches a change of its value', async () => {
    const rules = { fields: noiseIndex(profileOf(await learnWarning())), numericSafetyFactor: NUMERIC_SAFETY_FACTOR };
    const compare = (a: NamedValue[], b: NamedValue[]) => compareOutputs(a, b, 'Tolerant', 0.8, similarity, rules);

    const dropped = await compare(withWarning('check income'), withWarning(undefined));
    expect(dropped.outputsMatch).toBe(true);
    expect(dropped.fieldComparisons.find((f) => f.path === 'outputs.warning')).toMatchObject({ comparator: 'NoiseIgnored', match: true, noise: 'suppressed', original: 'check income' });
    expect(dropped.fieldComparisons.find((f) => f.path === 'outputs.warning')?.noiseReason).toContain('only one of two runs of the same model had this field in 2/4 pairs');

    const changed = await compare(withWarning('check income'), withWarning('income verified'));
    expect(changed.outputsMatch).toBe(false);
    expect(changed.fieldComparisons.find((f) => f.path === 'outputs.warning')).toMatchObject({ comparator: 'ExactMatch', match: false, noise: 'stable' });
    // A field the profile always saw in both runs is still a mismatch when one side lacks it.
    const noScore = await compare(withWarning('check income'), withWarning('check income').filter((v) => v.name !== 'score'));
    expect(noScore.fieldComparisons.find((f) => f.path === 'outputs.score')).toMatchObject({ comparator: 'Presence', match: false });
  });

  it('keeps classifying observations stored before presence was told apart as before', () => {
    const acc = new NoiseAccumulator();
    acc.addPair([{ path: 'outputs.warning', equal: false, kind: 'other' }]);
    acc.addPair([{ path: 'outputs.warning', equal: true, kind: 'text', similarity: 1, singleToken: false }]);
    expect(acc.fields()).toEqual([{ path: 'outputs.warning', class: 'always-different', pairs: 2, differed: 1 }]);
  });
});

describe('GET /functions/{functionName}/noise-profile', () => {
  const profile = (version: number): NoiseProfile => ({ ...profileOf([]), version });
  const store = { putNextVersion: () => Promise.reject(new Error('not used')), getLatest: () => Promise.resolve(profile(2)), getVersion: (_fn: string, v: number) => Promise.resolve(v <= 2 ? profile(v) : undefined) };
  const get = (query: Record<string, string>) => {
    const route = noiseProfileRoutes({ noiseProfiles: store } as unknown as NoiseProfileRoutesDeps)['GET /functions/{functionName}/noise-profile'];
    if (route === undefined) throw new Error('route missing');
    const req: ApiRequest = { routeKey: 'GET /functions/{functionName}/noise-profile', method: 'GET', path: '/functions/approve_loan/noise-profile', pathParameters: { functionName: 'approve_loan' }, query, headers: {}, rawBody: '', json: () => undefined, requestId: 'test' };
    return route(req);
  };

  it('ignores query parameters other than version, as every other route does (it alone answered 400)', async () => {
    expect(await get({ version: '1', utm_source: 'mail' })).toMatchObject({ status: 200, body: { version: 1 } });
    expect(await get({ verbose: 'true' })).toMatchObject({ status: 200, body: { version: 2 } });
    // version itself is still checked.
    await expect(get({ version: 'one' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});
