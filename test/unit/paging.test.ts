/**
 * A list page ends at its byte budget (a Lambda answers at most 6 MB), with a cursor after the last
 * item it holds — also when the budget runs out at the first item of a later DynamoDB response.
 */
import { describe, expect, it } from 'vitest';
import type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { DocumentClient } from '../../functions/adapters/dynamodb/document-client.js';
import { queryPage } from '../../functions/adapters/dynamodb/paging.js';

type Item = Record<string, unknown>;

/** 12 items of a function on GSI1, ~1 KB each; DynamoDB's pages hold at most 5 (its 1 MB, scaled down). */
const ITEMS: Item[] = Array.from({ length: 12 }, (_, i) => ({ pk: `SNAP#${i}`, sk: 'SNAP', gsi1pk: 'FN#f', gsi1sk: `2026-11-30T10:00:${String(i).padStart(2, '0')}Z#${i}`, snapshotId: String(i), pad: 'x'.repeat(1000) }));
const PER_RESPONSE = 5;

function fakeDoc(items: readonly Item[], project?: (item: Item) => Item): { doc: DocumentClient; queries: QueryCommandInput[] } {
  const queries: QueryCommandInput[] = [];
  const doc = {
    query: async (input: QueryCommandInput) => {
      queries.push(input);
      const after = input.ExclusiveStartKey;
      const from = after === undefined ? 0 : items.findIndex((it) => it.gsi1sk === after.gsi1sk && it.pk === after.pk) + 1;
      const n = Math.min(PER_RESPONSE, input.Limit ?? Infinity);
      const got = items.slice(from, from + n);
      const last = got.at(-1);
      const more = from + got.length < items.length;
      return { Items: got.map(project ?? ((x) => x)), ...(more && last && { LastEvaluatedKey: { pk: last.pk, sk: last.sk, gsi1pk: last.gsi1pk, gsi1sk: last.gsi1sk } }) };
    },
  } as unknown as DocumentClient;
  return { doc, queries };
}

const INPUT = { TableName: 't', IndexName: 'GSI1', KeyConditionExpression: 'gsi1pk = :pk', ExpressionAttributeValues: { ':pk': 'FN#f' } };
const ids = (items: readonly Item[]) => items.map((i) => String(i.snapshotId));

describe('queryPage byte budget', () => {
  it('ends a page before the item that would pass maxBytes, even the first of a later response, and resumes right after', async () => {
    const { doc } = fakeDoc(ITEMS);
    // Each mapped item is ~1.1 KB: six fit in 7,000 bytes, so the page ends at the first item of the second response.
    const seen: string[] = [];
    const pageSizes: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await queryPage(doc, INPUT, { limit: 1000, cursor, binding: 'b', maxBytes: 7000 }, (item) => item);
      pageSizes.push(page.items.length);
      seen.push(...ids(page.items));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(seen).toEqual(ids(ITEMS));
    expect(pageSizes).toEqual([6, 6]);
  });

  it('holds at least one item whatever its size, and ends on limit as before', async () => {
    const { doc } = fakeDoc(ITEMS);
    const one = await queryPage(doc, INPUT, { limit: 1000, binding: 'b', maxBytes: 10 }, (item) => item);
    expect(ids(one.items)).toEqual(['0']);
    const next = await queryPage(doc, INPUT, { limit: 1000, cursor: one.nextCursor, binding: 'b', maxBytes: 10 }, (item) => item);
    expect(ids(next.items)).toEqual(['1']);
    const limited = await queryPage(doc, INPUT, { limit: 3, binding: 'b' }, (item) => item);
    expect(ids(limited.items)).toEqual(['0', '1', '2']);
    expect(limited.nextCursor).toBeDefined();
  });

  it('measures what the page answers (the mapped items), not the stored ones', async () => {
    const { doc } = fakeDoc(ITEMS);
    const page = await queryPage(doc, INPUT, { limit: 1000, binding: 'b', maxBytes: 7000 }, (item) => ({ snapshotId: item.snapshotId }));
    expect(page.items).toHaveLength(12);
    expect(page.nextCursor).toBeUndefined();
  });

  it('never ends early on items without their key attributes (a projection of ids), which it could not resume after', async () => {
    const { doc } = fakeDoc(ITEMS, (item) => ({ pk: item.pk, pad: item.pad }));
    const page = await queryPage(doc, INPUT, { limit: 1000, binding: 'b', maxBytes: 10 }, (item) => item);
    expect(page.items).toHaveLength(12);
  });
});
