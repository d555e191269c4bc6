/** The DynamoDB batch store against dynalite: META/IDS/RESULT# items, written-once results, paging. */
import { sealRecord } from '../../functions/core/records.js';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoBatchStore } from '../../functions/adapters/dynamodb/batch-store.js';
import { keys } from '../../functions/adapters/dynamodb/keys.js';
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

  it('creates a batch with its ids and reads both back; a second create of the id is refused and keeps the record', async () => {
    const id = newBatchId();
    const ids = [snap(1), snap(2), snap(3)];

    expect(await store.create(batch(id, 3), ids)).toBe(true);
    expect(await store.create({ ...batch(id, 1), maxConcurrency: 99 }, [snap(1)])).toBe(false);

    expect(await store.get(id)).toEqual(batch(id, 3));
    expect(await store.getSnapshotIds(id)).toEqual(ids);
    // The META item holds no ids: reading the status stays small whatever the batch size.
    const meta = await db.doc.send(new GetCommand({ TableName: db.tableName, Key: keys.batchMeta(id) }));
    expect(meta.Item).not.toHaveProperty('snapshotIds');
  });

  it('replaces the ids an interrupted create left behind without its META', async () => {
    const id = newBatchId();
    await db.doc.send(new PutCommand({ TableName: db.tableName, Item: { pk: keys.batchMeta(id).pk, sk: 'IDS', itemType: 'batch-ids', snapshotIds: [snap(9)] } }));

    expect(await store.create(batch(id, 2), [snap(1), snap(2)])).toBe(true);

    expect(await store.getSnapshotIds(id)).toEqual([snap(1), snap(2)]);
    expect((await store.get(id))?.total).toBe(2);
  });

  it('keeps thousands of ids in order in one item', async () => {
    const id = newBatchId();
    const ids = Array.from({ length: 8000 }, (_, i) => snap(i));

    await store.create(batch(id, ids.length), ids);

    expect(await store.getSnapshotIds(id)).toEqual(ids);
  });

  it('answers undefined and [] for a batch that does not exist', async () => {
    expect(await store.get(newBatchId())).toBeUndefined();
    expect(await store.getSnapshotIds(newBatchId())).toEqual([]);
    expect(await store.getResult(newBatchId(), snap(1))).toBeUndefined();
  });

  it('writes a result once: the second put is refused, keeps the first and does not count again', async () => {
    const id = newBatchId();
    await store.create(batch(id, 2), [snap(1), snap(2)]);

    const first = await store.putResult(result(id, 1));
    const second = await store.putResult(result(id, 1, { status: 'Error', replayId: null, error: { code: 'X', message: 'late duplicate' } }));

    expect(first).toBe(true);
    expect(second).toBe(false);
    expect(await store.getResult(id, snap(1))).toEqual(sealRecord(result(id, 1)));
    expect(await store.countResults(id)).toBe(1);
  });

  it('counts concurrent first writes of distinct results exactly', async () => {
    const id = newBatchId();
    await store.create(batch(id, 40), []);

    const written = await Promise.all(Array.from({ length: 40 }, (_, i) => store.putResult(result(id, i))));
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.putResult(result(id, i))));

    expect(written.every(Boolean)).toBe(true);
    expect(await store.countResults(id)).toBe(40);
  });

  it('pages results by snapshot id with cursors bound to the batch', async () => {
    const id = newBatchId();
    const other = newBatchId();
    await store.create(batch(id, 7), []);
    await store.create(batch(other, 1), []);
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
    await store.create(batch(id, 150), []);
    // ~10 KB per result, so 150 results span two 1 MB query pages.
    const longPaths = Array.from({ length: 100 }, (_, i) => `outputs.items[${i}].${'description'.repeat(8)}`);
    const written = Array.from({ length: 150 }, (_, i) => result(id, i, { status: 'Failed', outputsMatch: false, mismatchedPaths: longPaths }));
    for (let i = 0; i < written.length; i += 25) await Promise.all(written.slice(i, i + 25).map((r) => store.putResult(r)));
    const firstPage = await db.doc.send(new QueryCommand({ TableName: db.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `BATCH#${id}` } }));
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
    await store.create(batch(done, 1), [snap(1)]);
    await store.create(batch(failed, 1), [snap(1)]);
    await store.putResult(result(done, 1));
    const acc = new StatsAccumulator();
    acc.add(result(done, 1));

    await store.complete(done, acc.toJSON(), '2026-11-02T10:05:00.000Z');
    await store.fail(failed, '0 results were stored for 1 snapshots', '2026-11-02T10:06:00.000Z');

    expect(await store.get(done)).toEqual({ ...batch(done, 1), completed: 1, status: 'SUCCEEDED', stats: acc.toJSON(), completedAt: '2026-11-02T10:05:00.000Z' });
    expect(await store.get(failed)).toEqual({ ...batch(failed, 1), status: 'FAILED', failureReason: '0 results were stored for 1 snapshots', completedAt: '2026-11-02T10:06:00.000Z' });
  });

  it('refuses to fail a batch that does not exist instead of creating a stray record', async () => {
    const id = newBatchId();

    await expect(store.fail(id, 'nope', '2026-11-02T10:06:00.000Z')).rejects.toThrow();

    expect(await store.get(id)).toBeUndefined();
  });

  it('fails a batch only while it is RUNNING: a finished (or cancelled) batch keeps its status, a missing one is not created', async () => {
    const running = newBatchId();
    const done = newBatchId();
    await store.create(batch(running, 1), [snap(1)]);
    await store.create(batch(done, 1), [snap(1)]);
    await store.complete(done, new StatsAccumulator().toJSON(), '2026-11-02T10:05:00.000Z');

    expect(await store.failIfRunning(running, 'execution TIMED_OUT', '2026-11-02T10:06:00.000Z')).toBe(true);
    expect(await store.failIfRunning(running, 'again', '2026-11-02T10:07:00.000Z')).toBe(false);
    expect(await store.failIfRunning(done, 'late event', '2026-11-02T10:07:00.000Z')).toBe(false);
    const missing = newBatchId();
    expect(await store.failIfRunning(missing, 'nope', '2026-11-02T10:07:00.000Z')).toBe(false);

    expect(await store.get(running)).toMatchObject({ status: 'FAILED', failureReason: 'execution TIMED_OUT' });
    expect((await store.get(done))?.status).toBe('SUCCEEDED');
    expect(await store.get(missing)).toBeUndefined();
  });

  it('claims an Idempotency-Key once and returns the first claim afterwards', async () => {
    const a = newBatchId();
    const b = newBatchId();

    const first = await store.claimIdempotencyKey('client-key-1', 'hash-a', a);
    const again = await store.claimIdempotencyKey('client-key-1', 'hash-b', b);
    const other = await store.claimIdempotencyKey('client-key-2', 'hash-b', b);

    expect(first).toEqual({ claimed: true });
    expect(again).toEqual({ claimed: false, batchId: a, requestHash: 'hash-a' });
    expect(other).toEqual({ claimed: true });
  });
});
