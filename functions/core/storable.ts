/**
 * Numbers the service computes (comparison scores, percent changes, similarities, statistics,
 * p-values, latencies) made storable before a record holding them is sealed, answered or written.
 *
 * What can be stored: DynamoDB keeps a number of magnitude 1E-130 to 9.99…E+125 (or 0), and the
 * document layer (util-dynamodb's marshalling, numbers as JS numbers) refuses any magnitude above
 * 2^53 − 1 (every double that large is an integer it cannot keep exactly). Requests are held to
 * the same range by `StorableNumberSchema`; numbers the service computes itself are brought into it
 * here, so that a record never fails to be written (a 500, a lost report) because of what it says.
 *
 * The representation, one rule for every computed number: the nearest storable value.
 * - beyond ±(2^53 − 1) (also ±Infinity): ±9007199254740991, {@link MAX_STORABLE_MAGNITUDE} —
 *   a percent change of +9e16 % is stored and answered as +9007199254740991; verdicts are decided
 *   on the exact value first, and messages state the exact value;
 * - nonzero but below 1E-130 in magnitude: 0 — a p-value of 3e-139 is 0 at DynamoDB's precision.
 * NaN has no nearest value: it is left as it is (no computation may produce one; writing it fails
 * loudly as the fault it is).
 */

/** Largest magnitude a computed number is stored with: 2^53 − 1. */
export const MAX_STORABLE_MAGNITUDE = Number.MAX_SAFE_INTEGER;

/** Smallest nonzero magnitude DynamoDB stores. */
export const MIN_STORABLE_MAGNITUDE = 1e-130;

/** True when DynamoDB and the document layer store `value` and give it back unchanged. */
export function isStorableNumber(value: number): boolean {
  const abs = Math.abs(value);
  return abs === 0 || (abs >= MIN_STORABLE_MAGNITUDE && abs <= MAX_STORABLE_MAGNITUDE);
}

/** The storable number nearest to `value` (see the module comment); NaN stays NaN. */
export function storableNumber(value: number): number {
  if (Number.isNaN(value) || isStorableNumber(value)) return value;
  const abs = Math.abs(value);
  if (abs > MAX_STORABLE_MAGNITUDE) return Math.sign(value) * MAX_STORABLE_MAGNITUDE;
  return 0;
}

/**
 * A copy of a computed record (plain JSON-like data) with every number made storable by
 * {@link storableNumber}; `record` itself is returned when nothing needed to change, so records
 * already storable (every snapshot value, every request number) keep their identity and content.
 */
export function storableNumbers<T>(record: T): T {
  return convert(record) as T;
}

function convert(value: unknown): unknown {
  if (typeof value === 'number') return storableNumber(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = convert(item);
      if (next !== item) (out ??= value.slice())[i] = next;
    });
    return out ?? value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    const next = convert(item);
    if (next !== item) {
      out ??= { ...(value as Record<string, unknown>) };
      // defineProperty, not assignment: a key named `__proto__` stays a key.
      Object.defineProperty(out, key, { value: next, enumerable: true, writable: true, configurable: true });
    }
  }
  return out ?? value;
}
