/**
 * Many items read by key in few round trips (BatchGetItem): at most 100 keys a request, and what
 * DynamoDB leaves unprocessed (throttling, an answer over 16 MB) asked for again after a backoff.
 * Items come back in no particular order; a key with no item is simply absent. A key listed twice
 * is asked for once: BatchGetItem refuses a request that repeats a key.
 */
import type { DocumentClient } from './document-client.js';

type Item = Record<string, unknown>;

/** BatchGetItem answers at most 100 keys per request. */
export const BATCH_GET_KEYS = 100;
/** Rounds of asking again for unprocessed keys before giving up. */
export const MAX_UNPROCESSED_ROUNDS = 8;

export interface BatchGetOptions {
  /** Strongly consistent reads (as a GetItem with `ConsistentRead: true`). */
  ConsistentRead?: boolean;
  ProjectionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
}

/** Every item stored under `keyList` (each key once), in requests of {@link BATCH_GET_KEYS}, retrying unprocessed keys. */
export async function batchGetItems(doc: DocumentClient, tableName: string, keyList: readonly Item[], options: BatchGetOptions = {}): Promise<Item[]> {
  // Keys built by one function list their attributes in one order, so equal keys serialise alike.
  const distinct = [...new Map(keyList.map((key) => [JSON.stringify(key), key])).values()];
  const out: Item[] = [];
  for (let i = 0; i < distinct.length; i += BATCH_GET_KEYS) {
    let pending: Item[] | undefined = distinct.slice(i, i + BATCH_GET_KEYS);
    for (let round = 0; pending && pending.length > 0; round++) {
      if (round > MAX_UNPROCESSED_ROUNDS) throw new Error(`BatchGetItem left ${pending.length} keys unprocessed after ${MAX_UNPROCESSED_ROUNDS} retries`);
      if (round > 0) await new Promise((r) => setTimeout(r, 25 * 2 ** round));
      const res = await doc.batchGet({ RequestItems: { [tableName]: { Keys: pending, ...options } } });
      for (const item of res.Responses?.[tableName] ?? []) out.push(item);
      pending = res.UnprocessedKeys?.[tableName]?.Keys as Item[] | undefined;
    }
  }
  return out;
}
