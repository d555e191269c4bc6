/**
 * Ports: what the core needs from the outside world. Adapters (DynamoDB, executors, Step Functions,
 * EventBridge) implement them; tests pass fakes or real local services.
 */
import * as z from 'zod/mini';
import type { Snapshot } from './snapshot.js';

/** Wall-clock time, injectable so tests and the local cron can control it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Produces identifiers (ULIDs in production: time-sortable). */
export interface IdGenerator {
  next(): string;
}

/** A page of a list route: `{items, nextCursor?}`. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** The schema of a {@link Page} of `item`s: what every list route answers. */
export function pageSchema<T extends z.ZodMiniType>(item: T) {
  return z.strictObject({ items: z.array(item), nextCursor: z.optional(z.string()) });
}

/** A function's snapshots between two instants, oldest first unless `order` is 'desc'. */
export interface SnapshotQuery {
  functionName: string;
  /** Inclusive, ISO-8601 UTC. */
  from?: string;
  /** Inclusive, ISO-8601 UTC. */
  to?: string;
  limit: number;
  cursor?: string;
  order?: 'asc' | 'desc';
}

/** A function's snapshot ids by time: what a batch selection pages through (only ids come back). */
export interface SnapshotIdIndex {
  listIds(query: SnapshotQuery): Promise<Page<string>>;
  /**
   * The function of each stored snapshot among `snapshotIds`, by id (an id not stored is absent):
   * the name alone, not the snapshot, for a caller that needs nothing else (pinning the noise
   * profiles of 100,000 listed ids reads their names, not their inputs and outputs).
   */
  functionNamesOf(snapshotIds: readonly string[]): Promise<Map<string, string>>;
}

/** What a claimed Idempotency-Key remembers. */
export interface IdempotencyRecord {
  key: string;
  requestHash: string;
  snapshotId: string;
  createdAt: string;
}

/** Storage of snapshots. Snapshots are immutable: written once, never updated or deleted. */
export interface SnapshotStore {
  /**
   * Throws PayloadTooLargeError when the snapshot would not fit in one item. Called before anything
   * is written so an oversized request leaves no trace.
   */
  assertStorable(snapshot: Snapshot): void;
  /** Writes a new snapshot; returns false (and writes nothing) when that id is already stored. */
  putIfAbsent(snapshot: Snapshot): Promise<boolean>;
  get(snapshotId: string): Promise<Snapshot | undefined>;
  /** The stored snapshots among `snapshotIds`, by id, read as `get` reads them (an id not stored is absent). */
  getMany(snapshotIds: readonly string[]): Promise<Map<string, Snapshot>>;
  list(query: SnapshotQuery): Promise<Page<Snapshot>>;
  /** The latest snapshot of the same function with the same inputsHash recorded before `snapshot`. */
  findPreviousWithSameInputs(snapshot: Snapshot): Promise<Snapshot | undefined>;
  /** Claims an Idempotency-Key; when it was claimed before, returns that earlier claim instead. */
  claimIdempotencyKey(record: IdempotencyRecord): Promise<{ claimed: true } | { claimed: false; existing: IdempotencyRecord }>;
  /**
   * Gives back a key this request claimed, when its write failed: a key is only used up by a
   * request that succeeded. Removes the claim only while it still names `record.snapshotId`.
   */
  releaseIdempotencyKey(record: IdempotencyRecord): Promise<void>;
}
