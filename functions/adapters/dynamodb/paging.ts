/**
 * Queries shared by the stores: paging, and the newest version of a versioned record. DynamoDB
 * answers at most 1 MB per request, so a page of a list route may take several requests; the
 * position after it travels as an opaque cursor bound to the query it belongs to.
 */
import type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { DocumentClient } from './document-client.js';
import type { Page } from '../../core/ports.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { INDEXES, TABLE_KEYS } from './table-definition.js';

type Item = Record<string, unknown>;
export type QueryInput = Omit<QueryCommandInput, 'Limit' | 'ExclusiveStartKey'>;

/**
 * Most bytes of JSON the items of one list page may weigh: a Lambda answers at most 6 MB, so a page
 * of 1,000 snapshots of ~20 KB each (or 100 replays of two ~300 KB snapshots' outputs) failed on
 * AWS as an opaque 500. A page ends early at this size, with a cursor to the rest.
 */
export const LIST_PAGE_BYTES = 4 * 1024 * 1024;

/**
 * One page of up to `limit` items, starting after `cursor` (a cursor issued for the same
 * `binding`, else 400 INVALID_CURSOR), with `nextCursor` when the query may hold more. A page also
 * ends once its items weigh `maxBytes` of JSON (default {@link LIST_PAGE_BYTES}; always at least one
 * item), its cursor then after the last item it holds.
 */
export async function queryPage<T>(doc: DocumentClient, input: QueryInput, page: { limit: number; cursor?: string | undefined; binding: string; maxBytes?: number }, map: (item: Item) => T): Promise<Page<T>> {
  const maxBytes = page.maxBytes ?? LIST_PAGE_BYTES;
  const keyNames = keyAttributes(input.IndexName);
  const items: T[] = [];
  let bytes = 0;
  let lastIncluded: Item | undefined;
  let startKey = page.cursor === undefined ? undefined : await decodeCursor(page.cursor, page.binding);
  let lastKey: Item | undefined;
  do {
    const res = await doc.query({ ...input, Limit: page.limit - items.length, ExclusiveStartKey: startKey });
    for (const item of res.Items ?? []) {
      const value = map(item);
      const size = Buffer.byteLength(JSON.stringify(value) ?? '');
      // Full: the page ends after the item before this one, where the next page starts. (An item
      // without its key attributes — a projection of ids only — never fills a page.)
      if (bytes + size > maxBytes) {
        const resumeAt = lastIncluded && keyOf(lastIncluded, keyNames);
        if (resumeAt !== undefined) return { items, nextCursor: await encodeCursor(resumeAt, page.binding) };
      }
      items.push(value);
      bytes += size;
      lastIncluded = item;
    }
    lastKey = res.LastEvaluatedKey;
    startKey = lastKey;
  } while (lastKey && items.length < page.limit);
  return lastKey ? { items, nextCursor: await encodeCursor(lastKey, page.binding) } : { items };
}

/** The attributes of a query's position: the table's keys, and the index's when it queries one. */
function keyAttributes(indexName: string | undefined): string[] {
  const index = indexName === undefined ? undefined : INDEXES.find((ix) => ix.indexName === indexName);
  return [TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey, ...(index ? [index.partitionKey, index.sortKey] : [])];
}

/** An item's position as DynamoDB's LastEvaluatedKey gives it, or undefined when it lacks one of those attributes. */
function keyOf(item: Item, names: readonly string[]): Item | undefined {
  const key: Item = {};
  for (const name of names) {
    if (typeof item[name] !== 'string') return undefined;
    key[name] = item[name];
  }
  return key;
}

/** Visits every item of a query, request by request (constant memory); returns how many. */
export async function queryEach(doc: DocumentClient, input: QueryInput, visit: (item: Item) => void): Promise<number> {
  let count = 0;
  let startKey: Item | undefined;
  do {
    const res = await doc.query({ ...input, ExclusiveStartKey: startKey });
    for (const item of res.Items ?? []) {
      visit(item);
      count += 1;
    }
    startKey = res.LastEvaluatedKey;
  } while (startKey);
  return count;
}

/**
 * The newest `V#<version>` item of a versioned record (policies, noise profiles) under `pk`, read
 * consistently: versions are written once with conditional puts, so the next version number comes
 * from this item, never from a `LATEST` copy a writer may have died before updating.
 * `projection`: the attributes to read (all when absent).
 */
export async function newestVersionItem(doc: DocumentClient, tableName: string, pk: string, projection?: string): Promise<Item | undefined> {
  const res = await doc.query({
    TableName: tableName,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
    ExpressionAttributeValues: { ':pk': pk, ':v': 'V#' },
    ScanIndexForward: false,
    Limit: 1,
    ConsistentRead: true,
    ...(projection !== undefined && { ProjectionExpression: projection }),
  });
  return res.Items?.[0];
}
