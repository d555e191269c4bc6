import { CreateTableCommand, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { createTableInput, GSI1K } from '../../functions/adapters/dynamodb/table-definition.js';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoSnapshotStore } from '../../functions/adapters/dynamodb/snapshot-store.js';
import { createActiveTable } from '../../functions/local/dynalite.js';
import { PayloadTooLargeError, ValidationError } from '../../functions/core/errors.js';
import { buildSnapshot, verifyContentHash, type RecordSnapshot, type Snapshot } from '../../functions/core/snapshot.js';
import { recordSnapshot } from '../../functions/core/recording.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo?.close();
});

/** A fresh, empty store: each test gets its own table so counts are exact. */
let tables = 0;
async function freshStore(): Promise<{ store: DynamoSnapshotStore; tableName: string }> {
  const tableName = `snapshots-${++tables}`;
  await createActiveTable(dynamo.client, tableName);
  return { store: new DynamoSnapshotStore(dynamo.doc, tableName), tableName };
}

const T0 = Date.parse('2026-11-20T08:00:00.000Z');

/** A snapshot of `functionName` recorded `minutes` after T0 with an applicant income of `income`. */
function snap(functionName: string, minutes: number, income = 52000, extra: Partial<RecordSnapshot> = {}): Snapshot {
  const at = T0 + minutes * 60_000;
  const recorded: RecordSnapshot = {
    functionName,
    inputs: [{ name: 'applicant', value: { income, age: 41, history: [1, [2, 3]] }, type: 'object' }],
    outputs: [
      { name: 'decision', value: 'approve', type: 'string' },
      { name: 'score', value: 0.82, type: 'number' },
    ],
    modelParameters: { modelName: 'credit-llm', modelVersion: '2026-10', temperature: 0, maxTokens: 256, topP: 1, seed: 7, extra: {} },
    context: { tenant: 'acme', nested: { ok: true, none: null } },
    executionTimeMs: 120.5,
    tags: { env: 'prod' },
    ...extra,
  };
  return buildSnapshot(recorded, ulid(at), new Date(at).toISOString());
}

async function countItems(tableName: string): Promise<number> {
  const res = await dynamo.client.send(new ScanCommand({ TableName: tableName, Select: 'COUNT' }));
  return res.Count ?? 0;
}

describe('DynamoSnapshotStore against dynalite', () => {
  it('writes a snapshot once: a second putIfAbsent with the same id returns false and changes nothing', async () => {
    const { store } = await freshStore();
    const s = snap('approve_loan', 0);

    expect(await store.putIfAbsent(s)).toBe(true);
    expect(await store.putIfAbsent({ ...s, outputs: [{ name: 'decision', value: 'deny' }] })).toBe(false);

    expect(await store.get(s.snapshotId)).toEqual(s);
  });

  it('reads back exactly what was written, so the content hash still verifies', async () => {
    const { store } = await freshStore();
    const s = snap('approve_loan', 1);
    await store.putIfAbsent(s);

    const read = await store.get(s.snapshotId);

    expect(read).toEqual(s);
    expect(read && verifyContentHash(read)).toBe(true);
  });

  it('returns undefined for an id that was never written', async () => {
    const { store } = await freshStore();
    expect(await store.get(ulid())).toBeUndefined();
  });

  it('stores the snapshot as native DynamoDB maps and lists, readable with the low-level client', async () => {
    const { store, tableName } = await freshStore();
    const s = snap('approve_loan', 2);
    await store.putIfAbsent(s);

    const res = await dynamo.client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: `SNAP#${s.snapshotId}` }, sk: { S: 'SNAP' } } }));
    const item = res.Item ?? {};

    expect(item.inputs?.L?.[0]?.M?.name).toEqual({ S: 'applicant' });
    expect(item.inputs?.L?.[0]?.M?.value?.M?.income).toEqual({ N: '52000' });
    expect(item.inputs?.L?.[0]?.M?.value?.M?.history?.L?.[1]?.L).toEqual([{ N: '2' }, { N: '3' }]);
    expect(item.outputs?.L?.[1]?.M?.value).toEqual({ N: '0.82' });
    expect(item.modelParameters?.M?.modelName).toEqual({ S: 'credit-llm' });
    expect(item.context?.M?.nested?.M).toEqual({ ok: { BOOL: true }, none: { NULL: true } });
    expect(item.tags?.M?.env).toEqual({ S: 'prod' });
    expect(item.executionTimeMs).toEqual({ N: '120.5' });
    expect(item.contentHash).toEqual({ S: s.contentHash });
    for (const attribute of ['inputs', 'outputs', 'modelParameters', 'context']) expect(item[attribute]?.S).toBeUndefined();
  });

  describe('list', () => {
    let store: DynamoSnapshotStore;
    const loans = [0, 10, 20, 30, 40].map((m) => snap('approve_loan', m));
    const others = [5, 25].map((m) => snap('other_fn', m));

    beforeAll(async () => {
      ({ store } = await freshStore());
      // Written out of time order, to show the order comes from the index.
      for (const s of [loans[3], others[0], loans[0], loans[4], others[1], loans[2], loans[1]]) if (s) await store.putIfAbsent(s);
    });

    /** Follows nextCursor until it is absent, collecting ids per page. */
    async function allPages(query: Omit<Parameters<DynamoSnapshotStore['list']>[0], 'cursor'>): Promise<string[][]> {
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list({ ...query, ...(cursor !== undefined && { cursor }) });
        pages.push(page.items.map((s) => s.snapshotId));
        cursor = page.nextCursor;
        expect(pages.length).toBeLessThan(10);
      } while (cursor !== undefined);
      return pages;
    }

    it("lists one function's snapshots oldest first, paged 2 at a time with no duplicates or omissions", async () => {
      const pages = await allPages({ functionName: 'approve_loan', limit: 2 });

      expect(pages.slice(0, 3).map((p) => p.length)).toEqual([2, 2, 1]);
      expect(pages.flat()).toEqual(loans.map((s) => s.snapshotId));
    });

    it('lists newest first with order desc, paged the same way', async () => {
      const pages = await allPages({ functionName: 'approve_loan', limit: 2, order: 'desc' });
      expect(pages.flat()).toEqual(loans.map((s) => s.snapshotId).reverse());
    });

    it('returns the whole list in one page without a cursor when it fits', async () => {
      const page = await store.list({ functionName: 'approve_loan', limit: 50 });
      expect(page.items).toEqual(loans);
      expect(page.nextCursor).toBeUndefined();
    });

    it('keeps to the inclusive from/to range', async () => {
      const from = loans[1]?.createdAt;
      const to = loans[3]?.createdAt;
      const pages = await allPages({ functionName: 'approve_loan', limit: 2, ...(from && { from }), ...(to && { to }) });
      expect(pages.flat()).toEqual([loans[1], loans[2], loans[3]].map((s) => s?.snapshotId));
    });

    it('returns an empty page for a function with no snapshots', async () => {
      expect(await store.list({ functionName: 'never_recorded', limit: 10 })).toEqual({ items: [] });
    });

    it('refuses a cursor issued for another query with INVALID_CURSOR', async () => {
      const first = await store.list({ functionName: 'approve_loan', limit: 2 });
      const cursor = first.nextCursor;
      expect(cursor).toBeDefined();
      if (cursor === undefined) return;

      for (const other of [
        { functionName: 'other_fn', limit: 2 },
        { functionName: 'approve_loan', limit: 2, order: 'desc' as const },
        { functionName: 'approve_loan', limit: 2, from: '2026-11-20T08:00:00.000Z' },
      ]) {
        const attempt = store.list({ ...other, cursor });
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
        await expect(attempt).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
      }
      // With the same query, the same cursor is still good.
      expect((await store.list({ functionName: 'approve_loan', limit: 2, cursor })).items.map((s) => s.snapshotId)).toEqual([loans[2], loans[3]].map((s) => s?.snapshotId));
    });
  });

  describe('findPreviousWithSameInputs', () => {
    it('returns the latest earlier snapshot with the same inputs, never a later one or one with other inputs', async () => {
      // Arrange: same inputs at 0, 20, 30 and 40 minutes; other inputs at 25; same inputs of another function at 27.
      const { store } = await freshStore();
      const a = snap('approve_loan', 0);
      const b = snap('approve_loan', 20);
      const differentInputs = snap('approve_loan', 25, 99_000);
      const otherFunction = snap('other_fn', 27);
      const c = snap('approve_loan', 30);
      const later = snap('approve_loan', 40);
      for (const s of [later, a, differentInputs, c, otherFunction, b]) await store.putIfAbsent(s);

      // Act / Assert
      expect((await store.findPreviousWithSameInputs(c))?.snapshotId).toBe(b.snapshotId);
      expect(await store.findPreviousWithSameInputs(b)).toEqual(a);
      expect(await store.findPreviousWithSameInputs(a)).toBeUndefined();
      expect(await store.findPreviousWithSameInputs(differentInputs)).toBeUndefined();
      expect(await store.findPreviousWithSameInputs(otherFunction)).toBeUndefined();
    });

    it('orders two snapshots of the same millisecond by id', async () => {
      const { store } = await freshStore();
      const at = T0 + 3_600_000;
      const recorded: RecordSnapshot = { functionName: 'approve_loan', inputs: [{ name: 'x', value: 1 }], outputs: [{ name: 'y', value: 1 }] };
      const base = ulid(at);
      const first = buildSnapshot(recorded, base.replace(/.$/, '0'), new Date(at).toISOString());
      const second = buildSnapshot(recorded, base.replace(/.$/, '1'), new Date(at).toISOString());
      await store.putIfAbsent(second);
      await store.putIfAbsent(first);

      expect((await store.findPreviousWithSameInputs(second))?.snapshotId).toBe(first.snapshotId);
    });
  });

  describe('idempotency claims', () => {
    it('lets the first claim win and returns it to every later claimant', async () => {
      const { store } = await freshStore();
      const first = { key: 'req-1', requestHash: 'h1', snapshotId: ulid(), createdAt: '2026-11-26T10:00:00.000Z' };

      expect(await store.claimIdempotencyKey(first)).toEqual({ claimed: true });
      expect(await store.claimIdempotencyKey({ ...first, requestHash: 'h2', snapshotId: ulid() })).toEqual({ claimed: false, existing: first });
      expect(await store.claimIdempotencyKey({ ...first, key: 'req-2' })).toEqual({ claimed: true });
    });

    it('gives a claim back only while it still names the releasing request\'s snapshot', async () => {
      const { store } = await freshStore();
      const mine = { key: 'req-r', requestHash: 'h1', snapshotId: ulid(), createdAt: '2026-11-26T10:00:00.000Z' };
      await store.claimIdempotencyKey(mine);

      await store.releaseIdempotencyKey({ ...mine, snapshotId: ulid() });
      expect(await store.claimIdempotencyKey({ ...mine, snapshotId: ulid() })).toEqual({ claimed: false, existing: mine });

      await store.releaseIdempotencyKey(mine);
      const next = { ...mine, requestHash: 'h2', snapshotId: ulid() };
      expect(await store.claimIdempotencyKey(next)).toEqual({ claimed: true });
    });

    it('gives the claim an expiry (epoch seconds) so only idempotency records age out', async () => {
      const { store, tableName } = await freshStore();
      await store.claimIdempotencyKey({ key: 'req-ttl', requestHash: 'h', snapshotId: ulid(), createdAt: '2026-11-26T10:00:00.000Z' });
      const res = await dynamo.client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'IDEMP#req-ttl' }, sk: { S: 'IDEMP' } } }));
      expect(Number(res.Item?.expiresAt?.N)).toBe(Date.parse('2026-11-26T10:00:00.000Z') / 1000 + 7 * 24 * 3600);

      const s = snap('approve_loan', 0);
      await store.putIfAbsent(s);
      const snapItem = await dynamo.client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: `SNAP#${s.snapshotId}` }, sk: { S: 'SNAP' } } }));
      expect(snapItem.Item?.expiresAt).toBeUndefined();
    });
  });

  describe('items over 400 KB', () => {
    const big = (): Snapshot => snap('approve_loan', 0, 52000, { outputs: [{ name: 'rationale', value: 'x'.repeat(450 * 1024) }] });

    it('is refused with 413 by recordSnapshot before anything (snapshot or idempotency claim) is written', async () => {
      const { store, tableName } = await freshStore();
      const body = { functionName: 'approve_loan', inputs: [], outputs: [{ name: 'rationale', value: 'x'.repeat(450 * 1024) }] };
      const deps = { store, clock: { now: () => T0 }, ids: { next: () => ulid(T0) } };

      await expect(recordSnapshot(deps, body, 'req-big')).rejects.toBeInstanceOf(PayloadTooLargeError);

      expect(await countItems(tableName)).toBe(0);
    });

    it('is refused by assertStorable, naming the size and the limit', () => {
      const store = new DynamoSnapshotStore(dynamo.doc, 'unused');
      let caught: unknown;
      try {
        store.assertStorable(big());
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(PayloadTooLargeError);
      expect((caught as PayloadTooLargeError).limitBytes).toBe(409_600);
      expect((caught as PayloadTooLargeError).actualBytes).toBeGreaterThan(450 * 1024);
    });

    it('is translated to PayloadTooLargeError if it reaches DynamoDB anyway, and nothing is stored', async () => {
      const { store, tableName } = await freshStore();
      await expect(store.putIfAbsent(big())).rejects.toBeInstanceOf(PayloadTooLargeError);
      expect(await countItems(tableName)).toBe(0);
    });

    it('accepts a snapshot just under the limit', async () => {
      const { store } = await freshStore();
      const s = snap('approve_loan', 0, 52000, { outputs: [{ name: 'rationale', value: 'x'.repeat(390 * 1024) }] });
      expect(() => store.assertStorable(s)).not.toThrow();
      expect(await store.putIfAbsent(s)).toBe(true);
      expect((await store.get(s.snapshotId))?.contentHash).toBe(s.contentHash);
    });
  });
});

describe('DynamoSnapshotStore.listIds (the ids a batch selects)', () => {
  async function seeded(tableName: string): Promise<{ store: DynamoSnapshotStore; ids: string[] }> {
    const store = new DynamoSnapshotStore(dynamo.doc, tableName);
    const ids: string[] = [];
    for (let m = 0; m < 7; m++) {
      const s = snap('list_ids_fn', m);
      await store.putIfAbsent(s);
      ids.push(s.snapshotId);
    }
    await store.putIfAbsent(snap('other_fn', 3));
    return { store, ids };
  }

  it('pages the ids of one function newest first from the keys-only index, within the window', async () => {
    const { tableName } = await freshStore();
    const { store, ids } = await seeded(tableName);

    const first = await store.listIds({ functionName: 'list_ids_fn', limit: 4, order: 'desc' });
    const rest = await store.listIds({ functionName: 'list_ids_fn', limit: 4, order: 'desc', ...(first.nextCursor !== undefined && { cursor: first.nextCursor }) });
    const window = await store.listIds({ functionName: 'list_ids_fn', limit: 10, from: new Date(T0 + 2 * 60_000).toISOString(), to: new Date(T0 + 4 * 60_000).toISOString() });

    expect([...first.items, ...rest.items]).toEqual([...ids].reverse());
    expect(rest.nextCursor).toBeUndefined();
    expect(window.items).toEqual(ids.slice(2, 5));
  });

  it('reads GSI1 instead, with the same answers and cursors, on a table without GSI1K (created before it, or while it backfills)', async () => {
    const tableName = `snapshots-${++tables}-no-gsi1k`;
    const input = createTableInput(tableName);
    await dynamo.client.send(new CreateTableCommand({ ...input, GlobalSecondaryIndexes: input.GlobalSecondaryIndexes.filter((ix) => ix.IndexName !== GSI1K.indexName) }));
    await new Promise((r) => setTimeout(r, 50));
    const { store, ids } = await seeded(tableName);

    const first = await store.listIds({ functionName: 'list_ids_fn', limit: 4, order: 'desc' });
    const rest = await store.listIds({ functionName: 'list_ids_fn', limit: 4, order: 'desc', ...(first.nextCursor !== undefined && { cursor: first.nextCursor }) });

    expect([...first.items, ...rest.items]).toEqual([...ids].reverse());
  });

  it('answers other query errors as they are (only an unreadable GSI1K falls back)', async () => {
    const store = new DynamoSnapshotStore(dynamo.doc, 'no-such-table');
    await expect(store.listIds({ functionName: 'f', limit: 1 })).rejects.toThrow(/non-existent table|not found/i);
  });
});
