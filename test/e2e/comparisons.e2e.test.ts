/**
 * A/B comparisons over HTTP on the in-memory local host: the same recorded decisions replayed as a
 * baseline batch (demo model v1, which decided them) and a candidate batch (v2, whose heavier debt
 * penalty flips some decisions), then `POST /comparisons` and `GET /comparisons/{id}`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../functions/core/batch.js';
import type { Comparison } from '../../functions/core/comparison.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import type { Applicant } from '../../functions/local/demo-model.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { requestWithHeaders, type ReplyWithHeaders } from '../support/http.js';

const V1 = 'cmp_loans';
/** 60 applicants, half with debt: v2 flips many of those, so the candidate matches far less often. */
const APPLICANTS: Applicant[] = Array.from({ length: 60 }, (_, i) => ({ income: 30_000 + i * 1_000, age: 22 + (i % 40), ...(i % 2 === 1 && { debt: 6_000 + i * 700 }) }));

describe('A/B comparisons over HTTP (local host)', () => {
  let t: TestHost;
  let ids: string[] = [];
  let baseline: Batch;
  let candidate: Batch;
  let subset: Batch;
  let tolerant: Batch;

  function call<T = unknown>(method: string, path: string, body?: unknown): Promise<ReplyWithHeaders<T>> {
    return requestWithHeaders<T>(t.url, method, path, body);
  }

  async function runBatch(body: unknown): Promise<Batch> {
    const started = await call<{ batchId: string }>('POST', '/batches', body);
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    for (;;) {
      const res = await call<Batch>('GET', `/batches/${started.body.batchId}`);
      if (res.body.status !== 'RUNNING') return res.body;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    t = await startTestHost();
    // The decisions v1 made, replayed first on v1 (the baseline), then on v2 (the candidate).
    expect((await call('PUT', `/functions/${V1}/executor`, { type: 'http', url: `${t.url}/demo/credit/v1` })).status).toBe(200);
    const recorded: Snapshot[] = [];
    for (const applicant of APPLICANTS) recorded.push((await call<Snapshot>('POST', '/snapshots', demoV1Decision(V1, applicant))).body);
    ids = recorded.map((s) => s.snapshotId);
    baseline = await runBatch({ snapshotIds: ids, mode: 'Strict', maxConcurrency: 4 });
    // The candidate replays the very same snapshots on v2: re-point the function's executor.
    expect((await call('PUT', `/functions/${V1}/executor`, { type: 'http', url: `${t.url}/demo/credit/v2` })).status).toBe(200);
    candidate = await runBatch({ snapshotIds: ids, mode: 'Strict', maxConcurrency: 4 });
    subset = await runBatch({ snapshotIds: ids.slice(0, 50), mode: 'Strict', maxConcurrency: 4 });
    // The same snapshots on the same v2, judged in the default mode (Tolerant) instead of Strict.
    tolerant = await runBatch({ snapshotIds: ids, maxConcurrency: 2 });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('calls a candidate that matches the recorded decisions far less often worse, paired per snapshot, and stores the comparison', async () => {
    expect([baseline.status, candidate.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);

    const res = await call<Comparison>('POST', '/comparisons', { baselineBatchId: baseline.batchId, candidateBatchId: candidate.batchId });

    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.headers.get('location')).toBe(`/comparisons/${res.body.comparisonId}`);
    const c = res.body;
    expect(c).toMatchObject({ baselineBatchId: baseline.batchId, candidateBatchId: candidate.batchId, alpha: 0.05, pairs: 60, intersectionOnly: false, excluded: { baselineOnly: 0, candidateOnly: 0 } });
    expect(c.matchRate.baseline).toBe(baseline.stats?.matchRate);
    expect(c.matchRate.candidate).toBeCloseTo(candidate.stats?.matchRate ?? -1, 12);
    expect(c.matchRate.candidateOnly).toBe(0);
    expect(c.matchRate.pValue).toBeLessThan(0.05);
    expect(c.verdict).toBe('worse');
    expect(c.fields.map((f) => f.path)).toContain('outputs.decision');
    expect(c.latency.pairs).toBe(60);
    expect(c.latency.p50?.ci95[0]).toBeLessThanOrEqual(c.latency.p50?.ci95[1] ?? -1);

    const again = await call<Comparison>('GET', `/comparisons/${c.comparisonId}`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(c);
  });

  it('gives the same numbers when the same two batches are compared again (seeded bootstrap)', async () => {
    const a = await call<Comparison>('POST', '/comparisons', { baselineBatchId: baseline.batchId, candidateBatchId: candidate.batchId, alpha: 0.01 });
    const b = await call<Comparison>('POST', '/comparisons', { baselineBatchId: baseline.batchId, candidateBatchId: candidate.batchId, alpha: 0.01 });
    expect(a.body.comparisonId).not.toBe(b.body.comparisonId);
    const strip = ({ comparisonId: _id, createdAt: _at, ...rest }: Comparison) => rest;
    expect(strip(a.body)).toEqual(strip(b.body));
    expect(a.body.alpha).toBe(0.01);
  });

  it('refuses a batch compared with itself: 400 SAME_BATCH naming candidateBatchId', async () => {
    const res = await call<{ error: { code: string; message: string; details: { issues: { path: string }[] } } }>('POST', '/comparisons', { baselineBatchId: baseline.batchId, candidateBatchId: baseline.batchId.toLowerCase() });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('SAME_BATCH');
    expect(res.body.error.details.issues.map((i) => i.path)).toEqual(['candidateBatchId']);
  });

  it('refuses batches judged in different modes with 422 BATCHES_NOT_COMPARABLE naming each setting and both values, either way round', async () => {
    for (const [b, c] of [[candidate, tolerant], [tolerant, candidate]] as const) {
      const res = await call<{ error: { code: string; message: string; details: unknown } }>('POST', '/comparisons', { baselineBatchId: b.batchId, candidateBatchId: c.batchId });
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.error.code).toBe('BATCHES_NOT_COMPARABLE');
      const [bm, cm] = [b, c].map((x) => (x === tolerant ? 'Tolerant' : 'Strict'));
      expect(res.body.error.message).toContain(`mode: ${bm} in the baseline, ${cm} in the candidate`);
      expect(res.body.error.details).toEqual({
        differences: [
          { setting: 'mode', baseline: bm, candidate: cm },
          { setting: 'tolerance', baseline: b === tolerant ? 0.8 : null, candidate: c === tolerant ? 0.8 : null },
        ],
      });
    }
  });

  it('refuses batches over different snapshots with 422 naming how many differ, and compares the intersection on request', async () => {
    const refused = await call<{ error: { code: string; message: string; details: unknown } }>('POST', '/comparisons', { baselineBatchId: baseline.batchId, candidateBatchId: subset.batchId });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('BATCHES_DIFFER');
    expect(refused.body.error.message).toContain('10 only in the baseline, 0 only in the candidate');
    expect(refused.body.error.details).toEqual({ baselineOnly: 10, candidateOnly: 0, common: 50 });

    const intersection = await call<Comparison>('POST', '/comparisons', { baselineBatchId: baseline.batchId, candidateBatchId: subset.batchId, intersectionOnly: true });
    expect(intersection.status).toBe(201);
    expect(intersection.body).toMatchObject({ pairs: 50, intersectionOnly: true, excluded: { baselineOnly: 10, candidateOnly: 0 } });
  });

  it('answers 400 for a bad body, 404 for an unknown batch or comparison, and stores nothing on a refusal', async () => {
    const unknown = '01JZZZZZZZZZZZZZZZZZZZZZZZ';
    const badAlpha = await call<{ error: { code: string; message: string } }>('POST', '/comparisons', { baselineBatchId: baseline.batchId, candidateBatchId: candidate.batchId, alpha: 0.9 });
    expect(badAlpha.status).toBe(400);
    expect(badAlpha.body.error.message).toContain('alpha must be in [1e-130, 0.5]');
    const missing = await call<{ error: { code: string } }>('POST', '/comparisons', { baselineBatchId: baseline.batchId });
    expect(missing.status).toBe(400);
    const noBatch = await call<{ error: { code: string; message: string } }>('POST', '/comparisons', { baselineBatchId: unknown, candidateBatchId: candidate.batchId });
    expect(noBatch.status).toBe(404);
    expect(noBatch.body.error.message).toContain('baseline batch');
    expect((await call('GET', `/comparisons/${unknown}`)).status).toBe(404);
  });
});
