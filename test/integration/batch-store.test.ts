/** The DynamoDB batch store against dynalite: META/RESULT#/CHUNK# items, written-once results and chunks, paging. */
import { sealRecord } from '../../functions/core/records.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoBatchStore } from '../../functions/adapters/dynamodb/batch-store.js';
import type { Batch, BatchResult } from '../../functions/core/batch.js';
import { ValidationError } from '../../functions/core/errors.js';
import { StatsAccumulator } from '../../functions/core/stats.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';

let counter = 0;
/** A fresh batch id per test (26-character ULID shape). */
function newBatchId(): string {
  return `01JH${String(++counter).padStart(22, '0')}`;
}
const snap = (n: number) => `01JS${String(n).padStart(22, '0')}`;

function batch(batchId: string, total: number): Batch {
  return {
    batchId,
    status: 'RUNNING',
    total,
    completed: 0,
    maxConcurrency: 7,
    request: { mode: 'Tolerant', tolerance: 0.9, policyName: 'credit-rules', overrides: { modelParameters: { modelVersion: 'v2' } } },
    trigger: 'api',
    createdAt: '2026-11-02T10:00:00.000Z',
  };
}

function result(batchId: string, n: number, overrides: Partial<BatchResult> = {}): BatchResult {
  return {
    batchId,
    snapshotId: snap(n),
    replayId: `01JR${String(n).padStart(22, '0')}`,
    status: 'Success',
    outputsMatch: true,
    executionTimeMs: 10 + n,
    mismatchedPaths: [],
    violatedRules: [],
    integrity: 'verified',
    createdAt: '2026-11-02T10:01:00.000Z',
    ...overrides,
  };
}

describe('DynamoBatchStore', () => {
  let db: TestDynamo;
  let store: DynamoBatchStore;

  beforeAll(async () => {
    db = await startTestDynamo();
    store = new DynamoBatchStore(db.doc, db.tableName);
  });
  afterAll(async () => {
    await db.close();
  });

  it('creates a batch and reads it back; a second create of the id is refused and keeps the record', async () => {
    const id = newBatchId();

    expect(await store.create(batch(id, 3))).toBe(true);
    expect(await store.create({ ...batch(id, 1), maxConcurrency: 99 })).toBe(false);

    // A running batch reads with its progress counters (none yet).
    expect(await store.get(id)).toEqual({ ...batch(id, 3), progress: { completed: 0, successful: 0, matches: 0 } });
  });

  it('records the plan (total, manifest, chunk size) on the batch', async () => {
    const id = newBatchId();
    await store.create({ ...batch(id, 0), total: null });

    await store.setPlan(id, { total: 250_000, manifest: { bucket: 'b', key: `batches/${id}/snapshot-ids.csv` }, itemsPerChunk: 20 });

    expect(await store.get(id)).toMatchObject({ total: 250_000, manifest: { bucket: 'b', key: `batches/${id}/snapshot-ids.csv` }, itemsPerChunk: 20 });
  });

  it('stores a chunk once and adds its count to the progress once, whatever the retries', async () => {
    const id = newBatchId();
    await store.create(batch(id, 5));
    const acc = new StatsAccumulator();
    acc.add(result(id, 1));
    const chunk = { batchId: id, chunkId: snap(1), count: 3, successful: 2, matches: 1, stats: acc.toState(), createdAt: '2026-11-02T10:02:00.000Z' };

    expect(await store.putChunk(chunk)).toBe(true);
    expect(await store.putChunk(chunk)).toBe(false);
    expect(await store.putChunk({ ...chunk, chunkId: snap(4), count: 2, successful: 2, matches: 2 })).toBe(true);

    // One read answers the progress: the counters of the two chunks, each counted once.
    expect((await store.get(id))?.completed).toBe(5);
    expect((await store.get(id))?.progress).toEqual({ completed: 5, successful: 4, matches: 3 });
    const seen: string[] = [];
    expect(await store.forEachChunk(id, (c) => seen.push(`${c.chunkId}:${c.count}`))).toBe(2);
    expect(seen).toEqual([`${snap(1)}:3`, `${snap(4)}:2`]);
    // Chunks are not results: neither the count nor the result pages include them.
    expect(await store.countResults(id)).toBe(0);
  });

  it('keeps a cancelled batch at the count its cancel recorded: a chunk finishing afterwards is stored but not counted', async () => {
    const id = newBatchId();
    await store.create(batch(id, 6));
    const acc = new StatsAccumulator();
    acc.add(result(id, 1));
    const chunk = { batchId: id, chunkId: snap(1), count: 2, successful: 2, matches: 1, stats: acc.toState(), createdAt: '2026-11-02T10:02:00.000Z' };
    await store.putChunk(chunk);
    const stats = acc.toJSON();
    expect(await store.cancel(id, stats, 2, '2026-11-02T10:03:00.000Z')).toBe(true);

    // The chunk that was running when the cancel came finishes.
    expect(await store.putChunk({ ...chunk, chunkId: snap(3), count: 3, successful: 3, matches: 3 })).toBe(true);

    expect(await store.get(id)).toEqual({ ...batch(id, 6), status: 'CANCELLED', stats, completed: 2, completedAt: '2026-11-02T10:03:00.000Z' });
    expect(await store.forEachChunk(id, () => undefined)).toBe(2);
  });

  it('still refuses a chunk of a batch that does not exist', async () => {
    const acc = new StatsAccumulator();
    const missing = newBatchId();
    await expect(store.putChunk({ batchId: missing, chunkId: snap(1), count: 1, successful: 1, matches: 1, stats: acc.toState(), createdAt: '2026-11-02T10:02:00.000Z' })).rejects.toThrow();
  });

  it('answers undefined for a batch that does not exist', async () => {
    expect(await store.get(newBatchId())).toBeUndefined();
    expect(await store.getResult(newBatchId(), snap(1))).toBeUndefined();
  });

  it('writes a result once: the second put is refused, keeps the first and does not count again', async () => {
    const id = newBatchId();
    await store.create(batch(id, 2));

    const first = await store.putResult(result(id, 1));
    const second = await store.putResult(result(id, 1, { status: 'Error', replayId: null, error: { code: 'X', message: 'late duplicate' } }));

    expect(first).toBe(true);
    expect(second).toBe(false);
    expect(await store.getResult(id, snap(1))).toEqual(sealRecord(result(id, 1)));
    expect(await store.countResults(id)).toBe(1);
  });

  it("reads a batch's results for many snapshots at once as getResult reads each, over 100 and with one listed twice", async () => {
    const id = newBatchId();
    await store.create(batch(id, 120));
    for (let i = 0; i < 120; i += 1) if (i % 3 !== 0) await store.putResult(result(id, i));
    // Another batch's result for the same snapshot is not this batch's.
    const other = newBatchId();
    await store.create(batch(other, 1));
    await store.putResult(result(other, 0));

    const found = await store.getResults(id, [snap(1), ...Array.from({ length: 120 }, (_, i) => snap(i))]);

    expect(found.size).toBe(80);
    for (let i = 0; i < 120; i += 1) expect(found.get(snap(i))).toEqual(await store.getResult(id, snap(i)));
    expect(await store.getResults(id, [])).toEqual(new Map());
  });

  it('counts concurrent first writes of distinct results exactly', async () => {
    const id = newBatchId();
    await store.create(batch(id, 40));

    const written = await Promise.all(Array.from({ length: 40 }, (_, i) => store.putResult(result(id, i))));
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.putResult(result(id, i))));

    expect(written.every(Boolean)).toBe(true);
    expect(await store.countResults(id)).toBe(40);
  });

  it('pages results by snapshot id with cursors bound to the batch', async () => {
    const id = newBatchId();
    const other = newBatchId();
    await store.create(batch(id, 7));
    await store.create(batch(other, 1));
    for (const n of [5, 1, 7, 3, 2, 6, 4]) await store.putResult(result(id, n));
    await store.putResult(result(other, 9));

    const p1 = await store.listResults(id, 3);
    const p2 = await store.listResults(id, 3, p1.nextCursor);
    const p3 = await store.listResults(id, 3, p2.nextCursor);

    expect(p1.items.map((r) => r.snapshotId)).toEqual([snap(1), snap(2), snap(3)]);
    expect(p2.items.map((r) => r.snapshotId)).toEqual([snap(4), snap(5), snap(6)]);
    expect(p3.items.map((r) => r.snapshotId)).toEqual([snap(7)]);
    expect(p3.nextCursor).toBeUndefined();
    expect(p1.items[0]).toEqual(sealRecord(result(id, 1)));
    // Neither META nor IDS is a result; nor is another batch's result.
    expect([...p1.items, ...p2.items, ...p3.items].every((r) => r.batchId === id)).toBe(true);
    await expect(store.listResults(other, 3, p1.nextCursor)).rejects.toBeInstanceOf(ValidationError);
  });

  it('visits every result once across DynamoDB pages of 1 MB and returns the count', async () => {
    const id = newBatchId();
    await store.create(batch(id, 150));
    // ~10 KB per result, so 150 results span two 1 MB query pages.
    const longPaths = Array.from({ length: 100 }, (_, i) => `outputs.items[${i}].${'description'.repeat(8)}`);
    const written = Array.from({ length: 150 }, (_, i) => result(id, i, { status: 'Failed', outputsMatch: false, mismatchedPaths: longPaths }));
    for (let i = 0; i < written.length; i += 25) await Promise.all(written.slice(i, i + 25).map((r) => store.putResult(r)));
    const firstPage = await db.doc.query({ TableName: db.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `BATCH#${id}` } });
    expect(firstPage.LastEvaluatedKey, 'the data must span more than one page').toBeDefined();

    const seen: string[] = [];
    const acc = new StatsAccumulator();
    const count = await store.forEachResult(id, (r) => {
      seen.push(r.snapshotId);
      acc.add(r);
    });

    expect(count).toBe(150);
    expect(new Set(seen).size).toBe(150);
    expect(acc.toJSON()).toMatchObject({ totalReplays: 150, mismatches: 150, fieldMismatches: { [longPaths[0] as string]: 150 } });
  });

  it('completes a batch with its stats, and fails another with its reason', async () => {
    const done = newBatchId();
    const failed = newBatchId();
    await store.create(batch(done, 1));
    await store.create(batch(failed, 1));
    await store.putResult(result(done, 1));
    const acc = new StatsAccumulator();
    acc.add(result(done, 1));

    expect(await store.complete(done, acc.toJSON(), '2026-11-02T10:05:00.000Z')).toBe(true);
    expect(await store.failIfRunning(failed, '0 results were stored for 1 snapshots', '2026-11-02T10:06:00.000Z')).toBe(true);

    expect(await store.get(done)).toEqual({ ...batch(done, 1), completed: 1, status: 'SUCCEEDED', stats: acc.toJSON(), completedAt: '2026-11-02T10:05:00.000Z' });
    expect(await store.get(failed)).toEqual({ ...batch(failed, 1), status: 'FAILED', failureReason: '0 results were stored for 1 snapshots', completedAt: '2026-11-02T10:06:00.000Z', progress: { completed: 0, successful: 0, matches: 0 } });
  });

  it('fails or completes a batch only while it is RUNNING: a finished (or cancelled) batch keeps its status, a missing one is not created', async () => {
    const running = newBatchId();
    const done = newBatchId();
    await store.create(batch(running, 1));
    await store.create(batch(done, 1));
    await store.complete(done, new StatsAccumulator().toJSON(), '2026-11-02T10:05:00.000Z');

    expect(await store.failIfRunning(running, 'execution TIMED_OUT', '2026-11-02T10:06:00.000Z')).toBe(true);
    expect(await store.failIfRunning(running, 'again', '2026-11-02T10:07:00.000Z')).toBe(false);
    expect(await store.failIfRunning(done, 'late event', '2026-11-02T10:07:00.000Z')).toBe(false);
    expect(await store.complete(running, new StatsAccumulator().toJSON(), '2026-11-02T10:08:00.000Z')).toBe(false);
    const missing = newBatchId();
    expect(await store.failIfRunning(missing, 'nope', '2026-11-02T10:07:00.000Z')).toBe(false);

    expect(await store.get(running)).toMatchObject({ status: 'FAILED', failureReason: 'execution TIMED_OUT' });
    expect((await store.get(done))?.status).toBe('SUCCEEDED');
    expect(await store.get(missing)).toBeUndefined();
  });

  it('claims an Idempotency-Key once and returns the first claim, with its time, afterwards', async () => {
    const a = newBatchId();
    const b = newBatchId();

    const first = await store.claimIdempotencyKey('client-key-1', 'hash-a', a, '2026-12-03T08:00:00.000Z');
    const again = await store.claimIdempotencyKey('client-key-1', 'hash-b', b, '2026-12-03T08:00:05.000Z');
    const other = await store.claimIdempotencyKey('client-key-2', 'hash-b', b, '2026-12-03T08:00:05.000Z');

    expect(first).toEqual({ claimed: true });
    expect(again).toEqual({ claimed: false, batchId: a, requestHash: 'hash-a', claimedAt: '2026-12-03T08:00:00.000Z' });
    expect(other).toEqual({ claimed: true });
  });
});
