/**
 * Recording a decision: validate, stamp with id, time and hashes, write once.
 * With an Idempotency-Key, a retry of the same request returns the first snapshot and a reuse of
 * the key with a different body is a conflict.
 */
import { ConflictError } from './errors.js';
import { canonicalHash } from './json.js';
import type { Clock, IdGenerator, SnapshotStore } from './ports.js';
import { parseOrThrow } from './schema-util.js';
import { assertDependencySizes } from './dependencies.js';
import { buildSnapshot, RecordSnapshotSchema, type Snapshot } from './snapshot.js';
import { assertIdempotencyKey } from './idempotency.js';

export interface RecordingDeps {
  store: SnapshotStore;
  clock: Clock;
  ids: IdGenerator;
}

export interface RecordOutcome {
  snapshot: Snapshot;
  /** false when an Idempotency-Key replay returned the snapshot recorded by the first request. */
  created: boolean;
}


/** Records a decision from an untrusted request body. */
export async function recordSnapshot(deps: RecordingDeps, body: unknown, idempotencyKey?: string): Promise<RecordOutcome> {
  const recorded = parseOrThrow(RecordSnapshotSchema, body, 'snapshot');
  assertDependencySizes(recorded.dependencies);
  const snapshotId = deps.ids.next();
  const createdAt = new Date(deps.clock.now()).toISOString();
  const fresh = buildSnapshot(recorded, snapshotId, createdAt);
  deps.store.assertStorable(fresh);

  if (idempotencyKey === undefined) {
    await writeNew(deps.store, fresh);
    return { snapshot: fresh, created: true };
  }
  assertIdempotencyKey(idempotencyKey);
  const requestHash = canonicalHash(recorded);
  const record = { key: idempotencyKey, requestHash, snapshotId, createdAt };
  const claim = await deps.store.claimIdempotencyKey(record);
  if (claim.claimed) {
    let written: boolean;
    try {
      written = await deps.store.putIfAbsent(fresh);
    } catch (err) {
      // The write was refused or failed: the key was not used, so a corrected retry may use it.
      await deps.store.releaseIdempotencyKey(record).catch(() => undefined);
      throw err;
    }
    if (written) return { snapshot: fresh, created: true };
    // A concurrent retry of this same request saw our claim and wrote our snapshot first (it
    // rebuilds it from the same body, id and time): that is our snapshot, not a conflict.
    const stored = await deps.store.get(snapshotId);
    if (stored !== undefined && stored.contentHash === fresh.contentHash) return { snapshot: stored, created: true };
    throw new ConflictError(`snapshot ${snapshotId} already exists`, { code: 'SNAPSHOT_EXISTS' });
  }
  const first = claim.existing;
  if (first.requestHash !== requestHash) {
    throw new ConflictError(`Idempotency-Key '${idempotencyKey}' was already used with a different request body`, {
      code: 'IDEMPOTENCY_KEY_REUSED',
      details: { snapshotId: first.snapshotId },
    });
  }
  // The same request again. Rebuild the first request's snapshot (deterministic from body, id and
  // time) and write it if the first attempt died between claiming the key and writing.
  const original = buildSnapshot(recorded, first.snapshotId, first.createdAt);
  await deps.store.putIfAbsent(original);
  const stored = await deps.store.get(first.snapshotId);
  return { snapshot: stored ?? original, created: false };
}

async function writeNew(store: SnapshotStore, snapshot: Snapshot): Promise<void> {
  const written = await store.putIfAbsent(snapshot);
  if (!written) throw new ConflictError(`snapshot ${snapshot.snapshotId} already exists`, { code: 'SNAPSHOT_EXISTS' });
}
