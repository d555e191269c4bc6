/**
 * Batch replays over HTTP on the in-memory local host: the demo credit model v2 re-decides what v1
 * decided, through `POST /batches` → the deployed ASL on the local interpreter → `GET /batches/{id}`
 * and its results.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch, BatchResult } from '../../functions/core/batch.js';
import type { Page } from '../../functions/core/ports.js';
import type { ReplayResult } from '../../functions/core/replay.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import { decideCredit, handleDemoRequest, type Applicant } from '../../functions/local/demo-model.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { requestWithHeaders, type ReplyWithHeaders } from '../support/http.js';

const FN = 'approve_loan_batch';
const COUNTED_FN = 'approve_loan_counted';
const UNKNOWN_ID = '01JZZZZZZZZZZZZZZZZZZZZZZZ';

/** 20 applicants: the debt-free decide alike in v1 and v2; with debt, v2's heavier penalty flips some. */
const APPLICANTS: Applicant[] = Array.from({ length: 20 }, (_, i) => ({ income: 30_000 + i * 2_500, age: 22 + i * 2, ...(i % 2 === 1 && { debt: 5_000 + i * 1_500 }) }));

describe('batch replays over HTTP (local host)', () => {
  let t: TestHost;
  let counter: Server;
  let counted = 0;
  let recorded: Snapshot[] = [];

  function call<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ReplyWithHeaders<T>> {
    return requestWithHeaders<T>(t.url, method, path, body, headers);
  }

  async function record(functionName: string, applicant: Applicant): Promise<Snapshot> {
    const res = await call<Snapshot>('POST', '/snapshots', demoV1Decision(functionName, applicant));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  }

  /** Polls `GET /batches/{id}` until it leaves RUNNING or the deadline passes. */
  async function waitForBatch(batchId: string, deadlineMs = 30_000): Promise<Batch> {
    const until = Date.now() + deadlineMs;
    for (;;) {
      const res = await call<Batch>('GET', `/batches/${batchId}`);
      expect(res.status).toBe(200);
      if (res.body.status !== 'RUNNING') return res.body;
      if (Date.now() > until) throw new Error(`batch ${batchId} still RUNNING after ${deadlineMs} ms: ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function allResults(batchId: string, limit: number): Promise<{ pages: number; items: BatchResult[] }> {
    const items: BatchResult[] = [];
    let pages = 0;
    let cursor: string | undefined;
    do {
      const res = await call<Page<BatchResult>>('GET', `/batches/${batchId}/results?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status).toBe(200);
      items.push(...res.body.items);
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor);
    return { pages, items };
  }

  beforeAll(async () => {
    t = await startTestHost();
    // The demo model v2 behind a counter, to see how often a batch calls its executor.
    counter = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        counted += 1;
        const answer = handleDemoRequest('POST', '/demo/credit/v2', JSON.parse(body));
        res.writeHead(answer?.status ?? 500, { 'content-type': 'application/json' }).end(JSON.stringify(answer?.body));
      });
    });
    await new Promise<void>((resolve) => counter.listen(0, '127.0.0.1', resolve));

    expect((await call('PUT', `/functions/${FN}/executor`, { type: 'http', url: `${t.url}/demo/credit/v2` })).status).toBe(200);
    expect((await call('PUT', `/functions/${COUNTED_FN}/executor`, { type: 'http', url: `http://127.0.0.1:${(counter.address() as AddressInfo).port}/v2` })).status).toBe(200);
    recorded = [];
    for (const a of APPLICANTS) recorded.push(await record(FN, a));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => counter.close(() => resolve()));
    await t.close();
  });

  describe('a batch of 20 recorded decisions', () => {
    let started: ReplyWithHeaders<{ batchId: string; status: string; total: number }>;
    let batch: Batch;

    beforeAll(async () => {
      started = await call('POST', '/batches', { snapshotIds: recorded.map((s) => s.snapshotId), maxConcurrency: 4 });
      batch = await waitForBatch(started.body.batchId);
    });

    it('answers 202 {batchId, status RUNNING, total} with the batch as Location', () => {
      expect(started.status).toBe(202);
      expect(started.body).toEqual({ batchId: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/), status: 'RUNNING', total: 20 });
      expect(started.headers.get('location')).toBe(`/batches/${started.body.batchId}`);
    });

    it('ends SUCCEEDED with every snapshot completed and consistent stats', () => {
      const flips = APPLICANTS.filter((a) => decideCredit('v1', a).decision !== decideCredit('v2', a).decision).length;
      expect(flips, 'the fixture must make v2 disagree somewhere').toBeGreaterThan(0);

      expect(batch).toMatchObject({ batchId: started.body.batchId, status: 'SUCCEEDED', total: 20, completed: 20, maxConcurrency: 4, trigger: 'api' });
      const stats = batch.stats;
      expect(stats).toBeDefined();
      expect(stats).toMatchObject({ totalReplays: 20, failedReplays: 0, successfulReplays: 20 });
      expect((stats?.matches ?? -1) + (stats?.mismatches ?? -1)).toBe(stats?.successfulReplays);
      expect(stats?.fieldMismatches['outputs.decision']).toBe(flips);
      expect(stats?.matchRate).toBeCloseTo((stats?.matches ?? 0) / 20, 10);
    });

    it('pages the results, one per snapshot, each agreeing with a single replay of it', async () => {
      const { pages, items } = await allResults(started.body.batchId, 7);

      expect(pages).toBe(3);
      expect(items.map((r) => r.snapshotId).sort()).toEqual(recorded.map((s) => s.snapshotId).sort());
      for (const r of items) {
        const single = await call<ReplayResult>('POST', `/snapshots/${r.snapshotId}/replay`, {});
        expect(single.status).toBe(200);
        expect({ snapshotId: r.snapshotId, outputsMatch: r.outputsMatch, status: r.status }).toEqual({ snapshotId: r.snapshotId, outputsMatch: single.body.outputsMatch, status: single.body.status });
      }
      const matched = items.filter((r) => r.outputsMatch).length;
      expect(matched).toBe(batch.stats?.matches);
    });

    it("shows each batch replay in its snapshot's history", async () => {
      const { items } = await allResults(started.body.batchId, 100);
      const first = items[0];
      const history = await call<Page<ReplayResult>>('GET', `/snapshots/${first?.snapshotId ?? ''}/replays`);

      expect(history.status).toBe(200);
      expect(history.body.items.filter((r) => r.batchId === started.body.batchId).map((r) => r.replayId)).toEqual([first?.replayId]);
    });
  });

  it('replays a selector: the function’s snapshots of the last hour', async () => {
    const res = await call<{ batchId: string; total: number }>('POST', '/batches', { selector: { functionName: FN, lastHours: 1 }, mode: 'Strict' });

    expect(res.status).toBe(202);
    expect(res.body.total).toBe(20);
    const batch = await waitForBatch(res.body.batchId);
    expect(batch).toMatchObject({ status: 'SUCCEEDED', completed: 20, request: { selector: { functionName: FN, lastHours: 1 }, mode: 'Strict' } });
    // Strict: every v2 rationale is worded differently, so nothing matches.
    expect(batch.stats).toMatchObject({ matches: 0, mismatches: 20, fieldMismatches: expect.objectContaining({ 'outputs.rationale': 20 }) });
  });

  it('selects nothing (202, total 0), not a 500, for a selector whose from is after the batch starts and whose end is open', async () => {
    const res = await call<{ batchId: string; total: number }>('POST', '/batches', { selector: { functionName: FN, from: '2099-01-01T00:00:00Z' }, mode: 'Strict' });

    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.total).toBe(0);
    expect(await waitForBatch(res.body.batchId)).toMatchObject({ status: 'SUCCEEDED', completed: 0 });
  });

  it('returns the same batch for a repeated Idempotency-Key and runs it once', async () => {
    const snaps = [await record(COUNTED_FN, { income: 40_000, age: 30 }), await record(COUNTED_FN, { income: 52_000, age: 41, debt: 20_000 }), await record(COUNTED_FN, { income: 90_000, age: 50 })];
    const body = { snapshotIds: snaps.map((s) => s.snapshotId), maxConcurrency: 2 };
    const before = counted;

    const first = await call<{ batchId: string }>('POST', '/batches', body, { 'idempotency-key': 'nightly-2026-11-02' });
    const second = await call<{ batchId: string }>('POST', '/batches', body, { 'idempotency-key': 'nightly-2026-11-02' });
    const batch = await waitForBatch(first.body.batchId);
    const third = await call<{ batchId: string }>('POST', '/batches', body, { 'idempotency-key': 'nightly-2026-11-02' });
    await new Promise((r) => setTimeout(r, 200));

    expect([first.status, second.status, third.status]).toEqual([202, 202, 202]);
    expect(second.body.batchId).toBe(first.body.batchId);
    expect(third.body.batchId).toBe(first.body.batchId);
    expect(batch).toMatchObject({ status: 'SUCCEEDED', total: 3, completed: 3 });
    expect(counted - before).toBe(3);
    const reused = await call<{ error: { code: string } }>('POST', '/batches', { ...body, maxConcurrency: 3 }, { 'idempotency-key': 'nightly-2026-11-02' });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('answers a retry while the first request under its Idempotency-Key still writes its ids 503 IDEMPOTENT_REQUEST_IN_PROGRESS, never 202 with a batch GET does not know', async () => {
    // 20,000 listed ids take the first request a while to write; requests sent meanwhile with the
    // same key used to answer 202 with the batch id it would record, which GET /batches/{id}
    // answered 404 until then (and forever, had that request stopped).
    const ids = Array.from({ length: 20_000 }, (_, i) => `01K${String(i).padStart(23, '0')}`);
    let inProgress = 0;
    let batchId: string | undefined;
    for (let round = 0; round < 5 && inProgress === 0; round++) {
      const key = `in-progress-${round}`;
      const answers = await Promise.all(
        Array.from({ length: 6 }, async (_, i) => {
          await new Promise((r) => setTimeout(r, i * 15));
          const res = await call<{ batchId: string; error?: { code: string; details: { batchId: string } } }>('POST', '/batches', { snapshotIds: ids, maxConcurrency: 1 }, { 'idempotency-key': key });
          // Checked the moment it answers: a 202 names a batch that exists.
          const known = res.status === 202 ? (await call('GET', `/batches/${res.body.batchId}`)).status : undefined;
          return { ...res, known };
        }),
      );
      const accepted = answers.filter((a) => a.status === 202);
      expect(answers.every((a) => a.status === 202 || a.status === 503), JSON.stringify(answers.map((a) => a.status))).toBe(true);
      expect(accepted.length).toBeGreaterThan(0);
      batchId = accepted[0]?.body.batchId;
      for (const a of accepted) expect({ batchId: a.body.batchId, known: a.known }).toEqual({ batchId, known: 200 });
      for (const a of answers.filter((x) => x.status === 503)) {
        expect(a.body.error).toMatchObject({ code: 'IDEMPOTENT_REQUEST_IN_PROGRESS', details: { batchId } });
        expect(a.headers.get('retry-after')).toBe('2');
        inProgress += 1;
      }
      expect((await call('POST', `/batches/${batchId ?? ''}/cancel`)).status).toBe(200);
    }
    // Not a test of timing: five rounds of six requests have always caught the first one writing.
    expect(inProgress, 'no request arrived while the first wrote its ids').toBeGreaterThan(0);
  });

  it('answers 404 for an unknown batch and its results', async () => {
    const one = await call<{ error: { code: string } }>('GET', `/batches/${UNKNOWN_ID}`);
    const results = await call<{ error: { code: string } }>('GET', `/batches/${UNKNOWN_ID}/results`);

    expect(one.status).toBe(404);
    expect(one.body.error.code).toBe('BATCH_NOT_FOUND');
    expect(results.status).toBe(404);
  });

  it('answers 422 UNSUPPORTED_MODEL, as a single replay does, for a selector batch overriding a model its executor does not serve', async () => {
    // Probe D17: 202, then every item ended Error UNSUPPORTED_MODEL.
    const fn = 'approve_loan_models';
    await record(fn, APPLICANTS[0] as Applicant);
    expect((await call('PUT', `/functions/${fn}/executor`, { type: 'http', url: `${t.url}/demo/credit/v2`, models: ['demo-credit'] })).status).toBe(200);
    const before = (await call<Page<Batch>>('GET', `/batches?functionName=${fn}`)).body.items.length;
    const overrides = { modelParameters: { modelName: 'gpt-unknown' } };
    const batch = await call<{ error: { code: string; message: string } }>('POST', '/batches', { selector: { functionName: fn }, overrides });
    const single = await call<{ error: { code: string } }>('POST', `/snapshots/${(await call<Page<Snapshot>>('GET', `/snapshots?functionName=${fn}`)).body.items[0]?.snapshotId ?? ''}/replay`, { overrides });
    expect(single.status).toBe(422);
    expect(batch.status).toBe(422);
    expect(batch.body.error.code).toBe(single.body.error.code);
    expect(batch.body.error.message).toContain("does not support model 'gpt-unknown'");
    expect((await call<Page<Batch>>('GET', `/batches?functionName=${fn}`)).body.items).toHaveLength(before);
    // A model it serves starts as before.
    expect((await call('POST', '/batches', { selector: { functionName: fn }, overrides: { modelParameters: { modelName: 'demo-credit' } } })).status).toBe(202);
  });

  it('answers 404 for an unknown policyName and starts nothing', async () => {
    const res = await call<{ error: { code: string; message: string } }>('POST', '/batches', { snapshotIds: [recorded[0]?.snapshotId], policyName: 'no-such-policy' });

    expect(res.status).toBe(404);
    expect(res.body.error.message).toContain('no-such-policy');
  });

  it.each([
    ['maxConcurrency 0', { maxConcurrency: 0 }, /maxConcurrency/],
    ['maxConcurrency 1001', { maxConcurrency: 1001 }, /maxConcurrency/],
    ['both snapshotIds and a selector', { selector: { functionName: FN } }, /exactly one of snapshotIds, snapshotManifest and selector/],
    ['an id listed twice', { snapshotIds: ['01JB0000000000000000000001', '01JB0000000000000000000001'] }, /listed twice/],
    ['tolerance with Strict', { mode: 'Strict', tolerance: 0.5 }, /tolerance/],
    // A name no policy can have is a bad field (400), not a policy that does not exist (404).
    ['a policyName that can never exist', { policyName: 'no such policy!' }, /policyName: policy name may contain letters, digits/],
  ])('answers 400 for %s', async (_name, patch, message) => {
    const res = await call<{ error: { code: string; message: string } }>('POST', '/batches', { snapshotIds: [recorded[0]?.snapshotId], ...patch });

    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(message);
  });

  it('answers 400 MALFORMED_JSON for a body that is not JSON, 400 BATCH_TOO_LARGE past 100,000 listed ids and 400 past a 1,000,000 selection, naming the limit', async () => {
    const malformed = await call<{ error: { code: string } }>('POST', '/batches', '{"snapshotIds": [');
    const many = Array.from({ length: 100_001 }, (_, i) => `01JB${String(i).padStart(22, '0')}`);
    const tooMany = await call<{ error: { code: string; message: string } }>('POST', '/batches', { snapshotIds: many });
    const tooWide = await call<{ error: { code: string; message: string } }>('POST', '/batches', { selector: { functionName: 'approve_loan', limit: 1_000_001 } });

    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('MALFORMED_JSON');
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.code).toBe('BATCH_TOO_LARGE');
    expect(tooMany.body.error.message).toContain('at most 100000 snapshot ids');
    expect(tooWide.status).toBe(400);
    expect(tooWide.body.error.message).toContain('limit must be at most 1000000');
  });
});
