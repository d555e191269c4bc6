/**
 * Opaque pagination cursors. A cursor wraps DynamoDB's LastEvaluatedKey together with the query it
 * belongs to and a checksum, base64url encoded. A cursor that does not decode, fails its checksum or
 * belongs to another query was not issued for this request: 400 INVALID_CURSOR.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../../core/errors.js';

type Key = Record<string, unknown>;

function checksum(binding: string, key: string): string {
  return createHash('sha256').update(`decision-replay-cursor\0${binding}\0${key}`).digest('base64url').slice(0, 16);
}

/** Encodes a LastEvaluatedKey for the query identified by `binding` (e.g. "snapshots:FN#approve_loan"). */
export function encodeCursor(lastKey: Key, binding: string): string {
  const k = JSON.stringify(lastKey);
  return Buffer.from(JSON.stringify({ v: 1, k, c: checksum(binding, k) }), 'utf8').toString('base64url');
}

function invalid(reason: string): never {
  throw new ValidationError(`invalid cursor: ${reason}; use the nextCursor of a previous page of the same query`, { code: 'INVALID_CURSOR' });
}

/** Decodes a cursor issued by {@link encodeCursor} for the same `binding`; throws 400 otherwise. */
export function decodeCursor(cursor: string, binding: string): Key {
  if (cursor.length === 0 || cursor.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(cursor)) invalid('not a cursor this service issued');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    invalid('not a cursor this service issued');
  }
  if (typeof parsed !== 'object' || parsed === null) invalid('not a cursor this service issued');
  const { v, k, c } = parsed as { v?: unknown; k?: unknown; c?: unknown };
  if (v !== 1 || typeof k !== 'string' || typeof c !== 'string') invalid('not a cursor this service issued');
  if (checksum(binding, k) !== c) invalid('it belongs to another query or was altered');
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
