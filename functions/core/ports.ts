/**
 * Ports: what the core needs from the outside world. Adapters (DynamoDB, executors, Step Functions,
 * EventBridge) implement them; tests pass fakes or real local services.
 */

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
