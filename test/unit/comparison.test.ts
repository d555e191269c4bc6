/**
 * `compareBatches` (functions/core/comparison.ts) on in-memory batches: which pairs of batches it
 * refuses before reading a result. A comparison answers "is the candidate better?" only when both
 * batches judged their outputs the same way; otherwise its verdict would measure the settings.
 */
import { describe, expect, it } from 'vitest';
import type { Batch, BatchRequest, BatchResult } from '../../functions/core/batch.js';
import { compareBatches, type Comparison, type ComparisonDeps } from '../../functions/core/comparison.js';
import { UnprocessableError, ValidationError } from '../../functions/core/errors.js';
import { fixedClock, sequentialIds } from '../support/memory-ports.js';

const A = '01JBZ0000000000000000000BA';
const B = '01JBZ0000000000000000000BB';
const SNAPSHOTS = Array.from({ length: 40 }, (_, i) => `01JBZ00000000000000000${String(i).padStart(4, '0')}`);

type Settings = Omit<BatchRequest, 'snapshotIds'>;

/** Two SUCCEEDED batches over the same 40 snapshots; the candidate matches 30 where the baseline matched all. */
type Pins = Batch['noiseProfileVersions'];

function world(baseline: Settings, candidate: Settings, options: { pinned?: [number | undefined, number | undefined]; candidateSnapshots?: string[]; noisePins?: [Pins, Pins] } = {}) {
  const [basePin, candPin] = options.pinned ?? [undefined, undefined];
  const [baseNoise, candNoise] = options.noisePins ?? [undefined, undefined];
  const batch = (batchId: string, request: Settings, policyVersion: number | undefined, noiseProfileVersions: Pins): Batch => ({ batchId, status: 'SUCCEEDED', total: 40, completed: 40, maxConcurrency: request.maxConcurrency ?? 10, request, ...(policyVersion !== undefined && { policyVersion }), ...(noiseProfileVersions !== undefined && { noiseProfileVersions }), trigger: 'api', createdAt: '2026-12-02T04:00:00.000Z' });
  const result = (batchId: string, matched: (i: number) => boolean, snapshots = SNAPSHOTS) =>
    snapshots.map((snapshotId, i) => ({ batchId, snapshotId, replayId: null, status: matched(i) ? 'Success' : 'Failed', outputsMatch: matched(i), executionTimeMs: 10, mismatchedPaths: matched(i) ? [] : ['outputs.y'] }) as unknown as BatchResult);
  const batches = new Map([[A, batch(A, baseline, basePin, baseNoise)], [B, batch(B, candidate, candPin, candNoise)]]);
  const results = new Map([[A, result(A, () => true)], [B, result(B, (i) => i % 4 !== 0, options.candidateSnapshots)]]);
  const stored: Comparison[] = [];
  let reads = 0;
  const deps: ComparisonDeps = {
    batches: {
      get: async (id) => batches.get(id),
      listResults: async (id) => {
        reads++;
        return { items: results.get(id) ?? [] };
      },
    },
    comparisons: { put: async (c) => void stored.push(c), get: async (id) => stored.find((c) => c.comparisonId === id) },
    clock: fixedClock('2026-12-02T05:00:00.000Z'),
    ids: sequentialIds('01JBZ00000000000000000C'),
  };
  return { deps, stored, reads: () => reads };
}

async function refusal(p: Promise<unknown>): Promise<UnprocessableError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UnprocessableError);
  return err as UnprocessableError;
}

describe('compareBatches: which batches are comparable', () => {
  it('refuses batches judged in different modes with 422 BATCHES_NOT_COMPARABLE naming the setting and both values, storing nothing', async () => {
    const w = world({ selector: { functionName: 'slow' }, mode: 'Strict', maxConcurrency: 2 }, { selector: { functionName: 'slow' } });

    const err = await refusal(compareBatches(w.deps, { baselineBatchId: A, candidateBatchId: B }));

    expect(err.code).toBe('BATCHES_NOT_COMPARABLE');
    expect(err.message).toContain('mode: Strict in the baseline, Tolerant in the candidate');
    expect(err.details).toEqual({ differences: [{ setting: 'mode', baseline: 'Strict', candidate: 'Tolerant' }, { setting: 'tolerance', baseline: null, candidate: 0.8 }] });
    expect(w.stored).toEqual([]);
    expect(w.reads()).toBe(0);
  });

  it('names every differing judging setting: tolerance, policy and noise profile (defaults spelled out)', async () => {
    const w = world({ mode: 'Tolerant', tolerance: 0.8, policyName: 'p1', noiseProfile: 2 }, { tolerance: 0.6, noiseProfile: 'none' });

    const err = await refusal(compareBatches(w.deps, { baselineBatchId: A, candidateBatchId: B }));

    expect(err.details).toEqual({
      differences: [
        { setting: 'tolerance', baseline: 0.8, candidate: 0.6 },
        { setting: 'policyName', baseline: 'p1', candidate: null },
        { setting: 'noiseProfile', baseline: 2, candidate: 'none' },
      ],
    });
    expect(err.message).toMatch(/tolerance: 0\.8 in the baseline, 0\.6 in the candidate; policyName: p1 in the baseline, \(none\) in the candidate; noiseProfile: 2 in the baseline, none in the candidate/);
  });

  it('compares batches whose overrides (the experiment) and maxConcurrency differ, and treats defaults as given', async () => {
    const w = world(
      { selector: { functionName: 'slow' }, maxConcurrency: 2 },
      { selector: { functionName: 'slow' }, mode: 'Tolerant', tolerance: 0.8, noiseProfile: 'none', maxConcurrency: 9, overrides: { modelParameters: { modelVersion: 'v2' }, context: { promptVersion: 'p9' } } },
    );

    const c = await compareBatches(w.deps, { baselineBatchId: A, candidateBatchId: B });

    expect(c).toMatchObject({ pairs: 40, verdict: 'worse' });
    expect(w.stored).toHaveLength(1);
  });

  it('ignores the tolerance of modes that do not use one', async () => {
    const w = world({ mode: 'Strict' }, { mode: 'Strict', maxConcurrency: 3 });
    await expect(compareBatches(w.deps, { baselineBatchId: A, candidateBatchId: B })).resolves.toMatchObject({ pairs: 40 });
  });

  it('refuses a batch compared with itself with 400 SAME_BATCH naming candidateBatchId, before reading anything', async () => {
    const w = world({ mode: 'Strict' }, { mode: 'Strict' });

    const err = await compareBatches(w.deps, { baselineBatchId: A, candidateBatchId: A }).then(() => undefined, (e: unknown) => e);

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe('SAME_BATCH');
    expect((err as ValidationError).message).toContain('compare two different batches');
    expect((err as ValidationError).details).toEqual({ issues: [{ path: 'candidateBatchId', message: 'must differ from baselineBatchId' }] });
    expect(w.reads()).toBe(0);
    expect(w.stored).toEqual([]);
  });

  it('names a policy version change between batches that both pinned one (policyVersion)', async () => {
    const w = world({ policyName: 'p1' }, { policyName: 'p1' }, { pinned: [1, 2] });

    const err = await refusal(compareBatches(w.deps, { baselineBatchId: A, candidateBatchId: B }));

    expect(err.code).toBe('BATCHES_NOT_COMPARABLE');
    expect(err.details).toEqual({ differences: [{ setting: 'policyVersion', baseline: 1, candidate: 2 }] });
    expect(err.message).toContain('policyVersion: 1 in the baseline, 2 in the candidate');
    expect(w.reads()).toBe(0);
  });

  it('compares batches under the same pinned policy version, and a batch stored before versions were pinned with any', async () => {
    await expect(compareBatches(world({ policyName: 'p1' }, { policyName: 'p1' }, { pinned: [3, 3] }).deps, { baselineBatchId: A, candidateBatchId: B })).resolves.toMatchObject({ pairs: 40 });
    await expect(compareBatches(world({ policyName: 'p1' }, { policyName: 'p1' }, { pinned: [undefined, 3] }).deps, { baselineBatchId: A, candidateBatchId: B })).resolves.toMatchObject({ pairs: 40 });
  });
});

describe('compareBatches: noise profiles pinned per function by batches over listed ids', () => {
  const latest: Settings = { noiseProfile: 'latest' };

  it('names a function whose profile the two batches pinned at different versions (noiseProfileVersions)', async () => {
    const w = world(latest, latest, {
      noisePins: [
        [{ functionName: 'approve_loan', version: 2 }, { functionName: 'score_risk', version: 1 }],
        [{ functionName: 'score_risk', version: 1 }, { functionName: 'approve_loan', version: 3 }],
      ],
    });

    const err = await refusal(compareBatches(w.deps, { baselineBatchId: A, candidateBatchId: B }));

    expect(err.code).toBe('BATCHES_NOT_COMPARABLE');
    expect(err.details).toEqual({ differences: [{ setting: 'noiseProfileVersions', baseline: 'approve_loan version 2', candidate: 'approve_loan version 3' }] });
    expect(err.message).toContain('noiseProfileVersions: approve_loan version 2 in the baseline, approve_loan version 3 in the candidate');
    expect(w.reads()).toBe(0);
  });

  it('compares batches that pinned the same versions (in any order), a function only one of them replayed, and a batch stored before pins', async () => {
    const same = world(latest, latest, { noisePins: [[{ functionName: 'a', version: 1 }, { functionName: 'b', version: 4 }], [{ functionName: 'b', version: 4 }, { functionName: 'a', version: 1 }]] });
    await expect(compareBatches(same.deps, { baselineBatchId: A, candidateBatchId: B })).resolves.toMatchObject({ pairs: 40 });
    const subset = world(latest, latest, { noisePins: [[{ functionName: 'a', version: 1 }, { functionName: 'b', version: 4 }], [{ functionName: 'a', version: 1 }]] });
    await expect(compareBatches(subset.deps, { baselineBatchId: A, candidateBatchId: B })).resolves.toMatchObject({ pairs: 40 });
    const older = world(latest, latest, { noisePins: [undefined, [{ functionName: 'a', version: 2 }]] });
    await expect(compareBatches(older.deps, { baselineBatchId: A, candidateBatchId: B })).resolves.toMatchObject({ pairs: 40 });
  });
});

describe('compareBatches: batches with no snapshot in common', () => {
  it('says there is nothing to compare (422 NOTHING_TO_COMPARE), without advising intersectionOnly, which cannot help', async () => {
    for (const candidateSnapshots of [[], ['01JBZ0000000000000000ZZZZZ']]) {
      const w = world({}, {}, { candidateSnapshots });

      const err = await refusal(compareBatches(w.deps, { baselineBatchId: A, candidateBatchId: B }));

      expect(err.code).toBe('NOTHING_TO_COMPARE');
      expect(err.message).not.toContain('intersectionOnly');
      expect(err.message).toContain(`40 only in the baseline, ${candidateSnapshots.length} only in the candidate`);
      expect(err.details).toEqual({ baselineOnly: 40, candidateOnly: candidateSnapshots.length });
      // And the same answer when intersectionOnly is asked for.
      expect((await refusal(compareBatches(w.deps, { baselineBatchId: A, candidateBatchId: B, intersectionOnly: true }))).code).toBe('NOTHING_TO_COMPARE');
      expect(w.stored).toEqual([]);
    }
  });
});
