import { monotonicFactory } from 'ulid';
import type { IdGenerator } from '../core/ports.js';

/** ULIDs: 26 characters, time-sortable, monotonic within one process. */
export function ulidGenerator(): IdGenerator {
  const next = monotonicFactory();
  return { next: () => next() };
}
