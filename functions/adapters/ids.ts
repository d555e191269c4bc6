import { createHash, randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';
import type { IdGenerator } from '../core/ports.js';

/**
 * ulid's PRNG contract (a fraction in [0, 1)) over bytes from the system CSPRNG, read 4 KiB at a
 * time. ulid's own default asks `crypto.getRandomValues` for one byte per character, 16 calls per
 * id, which was a visible share of recording a snapshot. A byte / 256 maps onto ulid's 32-letter
 * alphabet uniformly (256 is a multiple of 32), so ids are exactly as random as before.
 */
export function bufferedCryptoPrng(bufferBytes = 4096): () => number {
  const bytes = new Uint8Array(bufferBytes);
  let at = bytes.length;
  return () => {
    if (at === bytes.length) {
      randomFillSync(bytes);
      at = 0;
    }
    return (bytes[at++] as number) / 256;
  };
}

/** ULIDs: 26 characters, time-sortable, monotonic within one process. */
export function ulidGenerator(): IdGenerator {
  const next = monotonicFactory(bufferedCryptoPrng());
  return { next: () => next() };
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID fixed by its inputs: the time part from `timeMs`, the rest from a hash of `seed`. Used
 * where a retried or redelivered operation must produce the same id (on-write reports, scheduled
 * batches), so a conditional put makes it idempotent.
 */
export function deterministicUlid(timeMs: number, seed: string): string {
  let time = '';
  let t = Math.max(0, Math.floor(timeMs));
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const hash = createHash('sha256').update(seed).digest();
  let rand = '';
  for (let i = 0; i < 16; i++) rand += CROCKFORD[(hash[i] as number) % 32];
  return time + rand;
}

/** The id of the on-write report of a snapshot under one policy version: a redelivered record reuses it. */
export function onWriteReportId(snapshot: { snapshotId: string; createdAt: string }, policy: { name: string; version: number }): string {
  return deterministicUlid(Date.parse(snapshot.createdAt), `on-write:${snapshot.snapshotId}:${policy.name}:${policy.version}`);
}
