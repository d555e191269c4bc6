/**
 * Queries shared by the stores: paging, and the newest version of a versioned record. DynamoDB
 * answers at most 1 MB per request, so a page of a list route may take several requests; the
 * position after it travels as an opaque cursor bound to the query it belongs to.
 */
import type { QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { DocumentClient } from './document-client.js';
import type { Page } from '../../core/ports.js';
import { decodeCursor, encodeCursor } from './cursor.js';

type Item = Record<string, unknown>;
export type QueryInput = Omit<QueryCommandInput, 'Limit' | 'ExclusiveStartKey'>;

/**
 * One page of up to `limit` items, starting after `cursor` (a cursor issued for the same
 * `binding`, else 400 INVALID_CURSOR), with `nextCursor` when the query may hold more.
 */
export async function queryPage<T>(doc: DocumentClient, input: QueryInput, page: { limit: number; cursor?: string | undefined; binding: string }, map: (item: Item) => T): Promise<Page<T>> {
  const items: T[] = [];
  let startKey = page.cursor === undefined ? undefined : await decodeCursor(page.cursor, page.binding);
  let lastKey: Item | undefined;
  do {
    const res = await doc.query({ ...input, Limit: page.limit - items.length, ExclusiveStartKey: startKey });
    for (const item of res.Items ?? []) items.push(map(item));
    lastKey = res.LastEvaluatedKey;
    startKey = lastKey;
  } while (lastKey && items.length < page.limit);
  return lastKey ? { items, nextCursor: await encodeCursor(lastKey, page.binding) } : { items };
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
