/**
 * Opaque pagination cursors. A cursor wraps DynamoDB's LastEvaluatedKey together with the query it
 * belongs to and an HMAC-SHA256 tag under a per-deployment secret, base64url encoded. A cursor that
 * does not decode, fails its tag or belongs to another query was not issued by this deployment for
 * this request: 400 INVALID_CURSOR. Without the secret nobody can mint a cursor, so no crafted
 * ExclusiveStartKey ever reaches DynamoDB (it answered those with a ValidationException, a 500).
 *
 * The secret comes from a {@link CursorKeySource} chosen where the process is composed: on AWS a
 * Secrets Manager secret the stack creates, locally a file in DATA_DIR, and otherwise (in memory,
 * tests) 32 random bytes for the life of the process.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../../core/errors.js';
import { onFirstUse } from '../../core/on-first-use.js';

type Key = Record<string, unknown>;

/** Supplies the signing secret; called once (again only after a failure). */
export type CursorKeySource = () => Promise<Uint8Array>;

let keySource: CursorKeySource = onFirstUse(async () => randomBytes(32));

/**
 * Sets where this process's cursor secret comes from. Composition code calls it once at start;
 * every process of a deployment must use the same secret, or cursors break across them.
 */
export function useCursorKey(source: CursorKeySource): void {
  keySource = onFirstUse(source);
}

async function tag(binding: string, key: string): Promise<Buffer> {
  const secret = await keySource();
  return createHmac('sha256', secret).update(`decision-replay-cursor\0${binding}\0${key}`).digest().subarray(0, 16);
}

/** Encodes a LastEvaluatedKey for the query identified by `binding` (e.g. "snapshots:FN#approve_loan"). */
export async function encodeCursor(lastKey: Key, binding: string): Promise<string> {
  const k = JSON.stringify(lastKey);
  return Buffer.from(JSON.stringify({ v: 2, k, t: (await tag(binding, k)).toString('base64url') }), 'utf8').toString('base64url');
}

function invalid(reason: string): never {
  throw new ValidationError(`invalid cursor: ${reason}; use the nextCursor of a previous page of the same query`, { code: 'INVALID_CURSOR' });
}

/** Decodes a cursor issued by {@link encodeCursor} for the same `binding`; throws 400 otherwise. */
export async function decodeCursor(cursor: string, binding: string): Promise<Key> {
  if (cursor.length === 0 || cursor.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(cursor)) invalid('not a cursor this service issued');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    invalid('not a cursor this service issued');
  }
  if (typeof parsed !== 'object' || parsed === null) invalid('not a cursor this service issued');
  const { v, k, t } = parsed as { v?: unknown; k?: unknown; t?: unknown };
  if (v !== 2 || typeof k !== 'string' || typeof t !== 'string') invalid('not a cursor this service issued');
  const given = Buffer.from(t, 'base64url');
  const expected = await tag(binding, k);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) invalid('it belongs to another query, was altered, or was not issued by this deployment');
  let key: unknown;
  try {
    key = JSON.parse(k);
  } catch {
    invalid('not a cursor this service issued');
  }
  if (typeof key !== 'object' || key === null || Array.isArray(key)) invalid('not a cursor this service issued');
  for (const value of Object.values(key)) if (typeof value !== 'string') invalid('not a cursor this service issued');
  return key as Key;
}
