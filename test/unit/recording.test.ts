import { describe, expect, it } from 'vitest';
import { ConflictError, PayloadTooLargeError, ValidationError } from '../../functions/core/errors.js';
import { canonicalJson } from '../../functions/core/json.js';
import type { Clock, IdempotencyRecord, IdGenerator, Page, SnapshotQuery, SnapshotStore } from '../../functions/core/ports.js';
import { recordSnapshot, type RecordingDeps } from '../../functions/core/recording.js';
import { verifyContentHash, type Snapshot } from '../../functions/core/snapshot.js';

/**
 * An in-memory SnapshotStore with the port's semantics (conditional writes, first claim wins) and
 * switches to simulate faults. Items are stored as JSON text so a caller cannot mutate them.
 */
class FakeStore implements SnapshotStore {
  readonly snapshots = new Map<string, string>();
  readonly claims = new Map<string, IdempotencyRecord>();
  /** Fails the next putIfAbsent, as a process dying between claim and write would. */
  failNextPut = false;
  constructor(private readonly maxBytes = 400 * 1024) {}

  assertStorable(snapshot: Snapshot): void {
    const size = Buffer.byteLength(canonicalJson(snapshot), 'utf8');
    if (size > this.maxBytes) throw new PayloadTooLargeError(`snapshot is ${size} bytes`, this.maxBytes, size);
  }
  async putIfAbsent(snapshot: Snapshot): Promise<boolean> {
    if (this.failNextPut) {
      this.failNextPut = false;
      throw new Error('connection reset');
    }
    if (this.snapshots.has(snapshot.snapshotId)) return false;
    this.snapshots.set(snapshot.snapshotId, JSON.stringify(snapshot));
    return true;
  }
  async get(snapshotId: string): Promise<Snapshot | undefined> {
    const text = this.snapshots.get(snapshotId);
    return text === undefined ? undefined : (JSON.parse(text) as Snapshot);
  }
  async getMany(_snapshotIds: readonly string[]): Promise<Map<string, Snapshot>> {
    throw new Error('not used by recording');
  }
  async list(_query: SnapshotQuery): Promise<Page<Snapshot>> {
    throw new Error('not used by recording');
  }
  async findPreviousWithSameInputs(_snapshot: Snapshot): Promise<Snapshot | undefined> {
    throw new Error('not used by recording');
  }
  async claimIdempotencyKey(record: IdempotencyRecord): Promise<{ claimed: true } | { claimed: false; existing: IdempotencyRecord }> {
    const existing = this.claims.get(record.key);
    if (existing) return { claimed: false, existing: { ...existing } };
    this.claims.set(record.key, { ...record });
    return { claimed: true };
  }
  async releaseIdempotencyKey(record: IdempotencyRecord): Promise<void> {
    if (this.claims.get(record.key)?.snapshotId === record.snapshotId) this.claims.delete(record.key);
  }
}

/** A clock that moves 1 s per reading and ids that count up, so every attempt differs from the last. */
function deps(store: SnapshotStore): RecordingDeps {
  let t = Date.parse('2026-11-26T10:00:00.000Z');
  let n = 0;
  const clock: Clock = { now: () => (t += 1000) };
  const ids: IdGenerator = { next: () => `01JDQ6Z3M4X5Y6Z7A8B9C0D${String(++n).padStart(3, '0')}` };
  return { store, clock, ids };
}

const body = {
  functionName: 'approve_loan',
  inputs: [{ name: 'applicant', value: { income: 52000, age: 41 } }],
  outputs: [{ name: 'decision', value: 'approve', type: 'string' }],
};

describe('recordSnapshot', () => {
  it('stamps, hashes and writes a new snapshot once', async () => {
    const store = new FakeStore();

    const outcome = await recordSnapshot(deps(store), body);

    expect(outcome.created).toBe(true);
    expect(outcome.snapshot).toMatchObject({ snapshotId: '01JDQ6Z3M4X5Y6Z7A8B9C0D001', createdAt: '2026-11-26T10:00:01.000Z', functionName: 'approve_loan' });
    expect(verifyContentHash(outcome.snapshot)).toBe(true);
    expect(await store.get(outcome.snapshot.snapshotId)).toEqual(outcome.snapshot);
    expect(store.snapshots.size).toBe(1);
  });

  it('throws a ValidationError and writes nothing for an invalid body', async () => {
    const store = new FakeStore();
    await expect(recordSnapshot(deps(store), { ...body, outputs: [] })).rejects.toBeInstanceOf(ValidationError);
    expect(store.snapshots.size).toBe(0);
  });

  it('returns the first snapshot (created false) when a request is retried with the same Idempotency-Key', async () => {
    // Arrange
    const store = new FakeStore();
    const d = deps(store);
    const first = await recordSnapshot(d, body, 'req-1');

    // Act: the same body again, later, with its keys in another order.
    const retry = await recordSnapshot(d, { outputs: body.outputs, inputs: body.inputs, functionName: body.functionName }, 'req-1');

    // Assert
    expect(first.created).toBe(true);
    expect(retry.created).toBe(false);
    expect(retry.snapshot).toEqual(first.snapshot);
    expect(store.snapshots.size).toBe(1);
  });

  it('throws a ConflictError naming the first snapshot when the key is reused with a different body', async () => {
    const store = new FakeStore();
    const d = deps(store);
    const first = await recordSnapshot(d, body, 'req-1');

    const reuse = recordSnapshot(d, { ...body, outputs: [{ name: 'decision', value: 'deny' }] }, 'req-1');

    await expect(reuse).rejects.toBeInstanceOf(ConflictError);
    await expect(reuse).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { snapshotId: first.snapshot.snapshotId } });
    expect(store.snapshots.size).toBe(1);
  });

  it('heals a crash between claiming the key and writing: the retry writes the snapshot the first attempt promised', async () => {
    // Arrange: a process claimed the key and died before writing (so it never gave the key back).
    const store = new FakeStore();
    const d = deps(store);
    const claim = { key: 'req-1', requestHash: (await import('../../functions/core/json.js')).canonicalHash(body), snapshotId: '01JDQ6Z3M4X5Y6Z7A8B9C0D999', createdAt: '2026-11-26T09:00:00.000Z' };
    store.claims.set('req-1', claim);

    // Act
    const retry = await recordSnapshot(d, body, 'req-1');

    // Assert: the id and time are the first attempt's, the snapshot is stored and verifies.
    expect(retry.created).toBe(false);
    expect(retry.snapshot.snapshotId).toBe(claim.snapshotId);
    expect(retry.snapshot.createdAt).toBe(claim.createdAt);
    expect(verifyContentHash(retry.snapshot)).toBe(true);
    expect(await store.get(retry.snapshot.snapshotId)).toEqual(retry.snapshot);
    expect(store.snapshots.size).toBe(1);
  });

  it('gives the key back when the write after the claim fails, so a corrected retry is recorded (defect: 409 naming a snapshot that does not exist)', async () => {
    const store = new FakeStore();
    const d = deps(store);
    store.failNextPut = true;
    await expect(recordSnapshot(d, body, 'req-1')).rejects.toThrow('connection reset');
    expect(store.claims.size).toBe(0);

    const corrected = await recordSnapshot(d, { ...body, outputs: [{ name: 'decision', value: 'deny' }] }, 'req-1');

    expect(corrected.created).toBe(true);
    expect(await store.get(corrected.snapshot.snapshotId)).toEqual(corrected.snapshot);
  });

  it('answers the first request with its own snapshot when a concurrent retry wrote it first (defect: 409 SNAPSHOT_EXISTS)', async () => {
    // Arrange: the first request's write is held until the retry, which sees the claim, has
    // written the same snapshot (rebuilt from the same body, id and time).
    const store = new FakeStore();
    const d = deps(store);
    const realPut = store.putIfAbsent.bind(store);
    let retry: Promise<Awaited<ReturnType<typeof recordSnapshot>>> | undefined;
    store.putIfAbsent = async (snapshot) => {
      store.putIfAbsent = realPut;
      retry = recordSnapshot(d, body, 'req-race');
      await retry;
      return realPut(snapshot);
    };

    // Act
    const first = await recordSnapshot(d, body, 'req-race');

    // Assert: one snapshot, both answers name it, the first as created.
    expect(first.created).toBe(true);
    expect((await retry)?.snapshot).toEqual(first.snapshot);
    expect(store.snapshots.size).toBe(1);
  });

  it('refuses an oversized snapshot with PayloadTooLargeError before claiming the key or writing anything', async () => {
    const store = new FakeStore(2_000);
    const d = deps(store);
    const big = { ...body, outputs: [{ name: 'rationale', value: 'x'.repeat(3_000) }] };

    await expect(recordSnapshot(d, big, 'req-big')).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(store.snapshots.size).toBe(0);
    expect(store.claims.size).toBe(0);

    // The key is still free: a valid request with it is recorded as new.
    expect((await recordSnapshot(d, body, 'req-big')).created).toBe(true);
  });

  it.each(['', 'has space', 'x'.repeat(256), 'naïve'])('refuses the Idempotency-Key %j with INVALID_IDEMPOTENCY_KEY', async (key) => {
    const store = new FakeStore();
    await expect(recordSnapshot(deps(store), body, key)).rejects.toMatchObject({ code: 'INVALID_IDEMPOTENCY_KEY' });
    expect(store.snapshots.size + store.claims.size).toBe(0);
  });

  it('throws a ConflictError if a freshly generated id is somehow already stored (never overwrites)', async () => {
    const store = new FakeStore();
    const sameId: RecordingDeps = { ...deps(store), ids: { next: () => '01JDQ6Z3M4X5Y6Z7A8B9C0D001' } };
    const first = await recordSnapshot(sameId, body);

    await expect(recordSnapshot(sameId, { ...body, outputs: [{ name: 'decision', value: 'deny' }] })).rejects.toMatchObject({ code: 'SNAPSHOT_EXISTS' });
    expect(await store.get('01JDQ6Z3M4X5Y6Z7A8B9C0D001')).toEqual(first.snapshot);
  });
});
