/**
 * The `Idempotency-Key` header of `POST /snapshots` and `POST /batches`: one rule for what a key
 * may be, and how long a claimed key is remembered.
 */
import { ValidationError } from './errors.js';

/** 1 to 255 printable ASCII characters without spaces. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** How long a claimed key is remembered (its item expires by the table's TTL): 7 days. */
export const IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600;

/** Throws a 400 (`INVALID_IDEMPOTENCY_KEY`) unless `key` follows {@link IDEMPOTENCY_KEY_PATTERN}. */
export function assertIdempotencyKey(key: string): void {
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new ValidationError('Idempotency-Key must be 1 to 255 printable ASCII characters without spaces', { code: 'INVALID_IDEMPOTENCY_KEY' });
  }
}
