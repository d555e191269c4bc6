import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../functions/adapters/dynamodb/cursor.js';
import { ValidationError } from '../../functions/core/errors.js';

const binding = 'snapshots:approve_loan:::asc';
const lastKey = { pk: 'SNAP#01JDQ6Z3M4X5Y6Z7A8B9C0D1E2', sk: 'SNAP', gsi1pk: 'FN#approve_loan', gsi1sk: '2026-11-26T10:00:00.000Z#01JDQ6Z3M4X5Y6Z7A8B9C0D1E2' };

/** Asserts that decoding throws a 400 ValidationError with code INVALID_CURSOR. */
function expectInvalid(cursor: string, forBinding = binding): void {
  let caught: unknown;
  try {
    decodeCursor(cursor, forBinding);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  expect((caught as ValidationError).code).toBe('INVALID_CURSOR');
}

describe('pagination cursors', () => {
  it('decodes a cursor back to the LastEvaluatedKey it was issued for', () => {
    const cursor = encodeCursor(lastKey, binding);
    expect(decodeCursor(cursor, binding)).toEqual(lastKey);
  });

  it('is URL-safe (base64url, no padding) so it can travel in a query string as it is', () => {
    expect(encodeCursor(lastKey, binding)).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('refuses a cursor issued for another query (other function, range or order)', () => {
    const cursor = encodeCursor(lastKey, binding);
    expectInvalid(cursor, 'snapshots:other_fn:::asc');
    expectInvalid(cursor, 'snapshots:approve_loan:2026-01-01T00:00:00.000Z::asc');
    expectInvalid(cursor, 'snapshots:approve_loan:::desc');
  });

  it('refuses a cursor whose key was altered, even when it still decodes', () => {
    const cursor = encodeCursor(lastKey, binding);
    const envelope = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { v: number; k: string; c: string };
    const forged = { ...envelope, k: JSON.stringify({ ...lastKey, pk: 'SNAP#01JDQ6Z3M4X5Y6Z7A8B9C0D1E3' }) };
    expectInvalid(Buffer.from(JSON.stringify(forged)).toString('base64url'));
  });

  it('refuses a cursor with one character changed', () => {
    const cursor = encodeCursor(lastKey, binding);
    const i = Math.floor(cursor.length / 2);
    const altered = cursor.slice(0, i) + (cursor[i] === 'A' ? 'B' : 'A') + cursor.slice(i + 1);
    expectInvalid(altered);
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'not a cursor!'],
    ['base64 of non-JSON', Buffer.from('hello').toString('base64url')],
    ['JSON that is not an envelope', Buffer.from('[1,2]').toString('base64url')],
    ['an envelope of another version', Buffer.from(JSON.stringify({ v: 2, k: '{}', c: 'x' })).toString('base64url')],
    ['an envelope without a checksum', Buffer.from(JSON.stringify({ v: 1, k: '{}' })).toString('base64url')],
    ['far too long', 'A'.repeat(5000)],
  ])('refuses garbage: %s', (_what, cursor) => {
    expectInvalid(cursor);
  });

  it('refuses a correctly signed key that is not a map of strings', () => {
    expectInvalid(encodeCursor({ pk: 1 } as Record<string, unknown>, binding));
  });
});
