import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, useCursorKey } from '../../functions/adapters/dynamodb/cursor.js';
import { ValidationError } from '../../functions/core/errors.js';

const binding = 'snapshots:approve_loan:::asc';
const lastKey = { pk: 'SNAP#01JDQ6Z3M4X5Y6Z7A8B9C0D1E2', sk: 'SNAP', gsi1pk: 'FN#approve_loan', gsi1sk: '2026-11-26T10:00:00.000Z#01JDQ6Z3M4X5Y6Z7A8B9C0D1E2' };

/** Asserts that decoding rejects with a 400 ValidationError with code INVALID_CURSOR. */
async function expectInvalid(cursor: string, forBinding = binding): Promise<void> {
  const caught = await decodeCursor(cursor, forBinding).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(caught).toBeInstanceOf(ValidationError);
  expect((caught as ValidationError).code).toBe('INVALID_CURSOR');
}

const envelope = (cursor: string) => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { v: number; k: string; t: string };
const wrap = (obj: unknown) => Buffer.from(JSON.stringify(obj)).toString('base64url');

describe('pagination cursors', () => {
  afterEach(() => useCursorKey(async () => Buffer.alloc(32, 1)));

  it('decodes a cursor back to the LastEvaluatedKey it was issued for', async () => {
    const cursor = await encodeCursor(lastKey, binding);
    expect(await decodeCursor(cursor, binding)).toEqual(lastKey);
  });

  it('is URL-safe (base64url, no padding) so it can travel in a query string as it is', async () => {
    expect(await encodeCursor(lastKey, binding)).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('refuses a cursor issued for another query (other function, range or order)', async () => {
    const cursor = await encodeCursor(lastKey, binding);
    await expectInvalid(cursor, 'snapshots:other_fn:::asc');
    await expectInvalid(cursor, 'snapshots:approve_loan:2026-01-01T00:00:00.000Z::asc');
    await expectInvalid(cursor, 'snapshots:approve_loan:::desc');
  });

  it('refuses a cursor whose key was altered, even when it still decodes', async () => {
    const cursor = await encodeCursor(lastKey, binding);
    await expectInvalid(wrap({ ...envelope(cursor), k: JSON.stringify({ ...lastKey, pk: 'SNAP#01JDQ6Z3M4X5Y6Z7A8B9C0D1E3' }) }));
  });

  it('refuses a cursor forged with the unkeyed checksum anyone can compute (defect: it reached DynamoDB and was a 500)', async () => {
    const k = JSON.stringify({ pk: 'x' });
    const c = createHash('sha256').update(`decision-replay-cursor\0${binding}\0${k}`).digest('base64url').slice(0, 16);
    await expectInvalid(wrap({ v: 1, k, c }));
    await expectInvalid(wrap({ v: 2, k, t: c }));
  });

  it('refuses a cursor signed with another deployment secret', async () => {
    useCursorKey(async () => Buffer.alloc(32, 7));
    const cursor = await encodeCursor(lastKey, binding);
    useCursorKey(async () => Buffer.alloc(32, 8));
    await expectInvalid(cursor);
  });

  it('asks the key source again after a failure instead of caching it', async () => {
    let calls = 0;
    useCursorKey(async () => {
      calls += 1;
      if (calls === 1) throw new Error('secret not reachable');
      return Buffer.alloc(32, 3);
    });
    await expect(encodeCursor(lastKey, binding)).rejects.toThrow('secret not reachable');
    expect(await decodeCursor(await encodeCursor(lastKey, binding), binding)).toEqual(lastKey);
    expect(calls).toBe(2);
  });

  it('refuses a cursor with one character changed', async () => {
    const cursor = await encodeCursor(lastKey, binding);
    const i = Math.floor(cursor.length / 2);
    await expectInvalid(cursor.slice(0, i) + (cursor[i] === 'A' ? 'B' : 'A') + cursor.slice(i + 1));
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'not a cursor!'],
    ['base64 of non-JSON', Buffer.from('hello').toString('base64url')],
    ['JSON that is not an envelope', Buffer.from('[1,2]').toString('base64url')],
    ['an envelope of another version', wrap({ v: 3, k: '{}', t: 'x' })],
    ['an envelope without a tag', wrap({ v: 2, k: '{}' })],
    ['far too long', 'A'.repeat(5000)],
  ])('refuses garbage: %s', async (_what, cursor) => {
    await expectInvalid(cursor);
  });

  it('refuses a correctly signed key that is not a map of strings', async () => {
    await expectInvalid(await encodeCursor({ pk: 1 } as Record<string, unknown>, binding));
  });
});
