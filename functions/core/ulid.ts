import * as z from 'zod/mini';

/** A ULID as this service issues and stores them (snapshot, batch, replay and report ids): 26 Crockford base-32 characters, upper case. */
export const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * A ULID in either letter case. Crockford base 32 is case-insensitive (the ULID spec says so), so
 * `01m8t5hj6am2yxz7q0fvawq9a0` names the id stored as `01M8T5HJ6AM2YXZ7Q0FVAWQ9A0`.
 */
export const ULID_ANY_CASE = /^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$/;

/**
 * The id `value` names: a ULID in any case becomes its stored (upper-case) form, so lookups,
 * duplicate checks, cursor bindings and idempotency hashes all see one spelling; any other value
 * is returned unchanged.
 */
export function canonicalId(value: string): string {
  return ULID_ANY_CASE.test(value) ? value.toUpperCase() : value;
}

/** A request field holding a ULID: either case accepted, parsed to the stored upper case. */
export function ulidField(message: string) {
  return z.string().check(z.regex(ULID_ANY_CASE, message), z.overwrite((v: string) => v.toUpperCase()));
}
