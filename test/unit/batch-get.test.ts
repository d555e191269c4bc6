/**
 * Reading many items by key (functions/adapters/dynamodb/batch-get.ts): requests of at most 100
 * keys, and the keys DynamoDB leaves unprocessed (throttling, a 16 MB answer) asked for again after
 * a backoff, up to a bound. dynalite never leaves keys unprocessed, so the SDK is mocked here to give
 * the answers DynamoDB gives.
 */
import { BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BATCH_GET_KEYS, batchGetItems, MAX_UNPROCESSED_ROUNDS } from '../../functions/adapters/dynamodb/batch-get.js';
import { DYNAMODB_CLIENT_SETTINGS } from '../../functions/adapters/dynamodb/client.js';
import { DocumentClient } from '../../functions/adapters/dynamodb/document-client.js';

const client = new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, ...DYNAMODB_CLIENT_SETTINGS });
const ddb = mockClient(client);
const doc = new DocumentClient(client);

const key = (n: number) => ({ pk: `K#${n}`, sk: 'S' });
const itemOf = (k: Record<string, unknown>) => ({ ...k, n: Number(String(k.pk).slice(2)) });
type WireKeys = NonNullable<NonNullable<ConstructorParameters<typeof BatchGetItemCommand>[0]['RequestItems']>[string]['Keys']>;
const keysAsked = (call: number) => (ddb.commandCalls(BatchGetItemCommand)[call]?.args[0].input.RequestItems?.t?.Keys ?? []).map((k) => unmarshall(k));

beforeEach(() => ddb.reset());
afterEach(() => vi.useRealTimers());
afterAll(() => ddb.restore());

describe('batchGetItems', () => {
  it('asks for at most 100 keys a request, with the options given, and returns every item found', async () => {
    ddb.on(BatchGetItemCommand).callsFake((input: { RequestItems: Record<string, { Keys: WireKeys }> }) => ({
      // Every key but the multiples of 7 has an item.
      Responses: { t: (input.RequestItems.t?.Keys ?? []).map((k) => unmarshall(k)).filter((k) => Number(String(k.pk).slice(2)) % 7 !== 0).map((k) => marshall(itemOf(k))) },
    }));

    const items = await batchGetItems(doc, 't', Array.from({ length: 250 }, (_, i) => key(i)), { ConsistentRead: true });

    const calls = ddb.commandCalls(BatchGetItemCommand);
    expect(calls.map((c) => c.args[0].input.RequestItems?.t?.Keys?.length)).toEqual([BATCH_GET_KEYS, BATCH_GET_KEYS, 50]);
    expect(calls.every((c) => c.args[0].input.RequestItems?.t?.ConsistentRead === true)).toBe(true);
    expect(items.map((i) => i.n).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 250 }, (_, i) => i).filter((i) => i % 7 !== 0));
  });

  it('asks for a key listed twice once (BatchGetItem refuses a request that repeats a key)', async () => {
    ddb.on(BatchGetItemCommand).callsFake((input: { RequestItems: Record<string, { Keys: WireKeys }> }) => ({
      Responses: { t: (input.RequestItems.t?.Keys ?? []).map((k) => marshall(itemOf(unmarshall(k)))) },
    }));

    const items = await batchGetItems(doc, 't', [key(1), key(2), key(1), { pk: 'K#2', sk: 'S' }]);

    expect(keysAsked(0)).toEqual([key(1), key(2)]);
    expect(items.map((i) => i.n)).toEqual([1, 2]);
  });

  it('asks again, after a backoff, for the keys DynamoDB left unprocessed', async () => {
    ddb
      .on(BatchGetItemCommand)
      .resolvesOnce({ Responses: { t: [marshall(itemOf(key(1)))] }, UnprocessedKeys: { t: { Keys: [marshall(key(2)), marshall(key(3))] } } })
      .resolvesOnce({ Responses: { t: [marshall(itemOf(key(2)))] }, UnprocessedKeys: { t: { Keys: [marshall(key(3))] } } })
      .resolvesOnce({ Responses: { t: [marshall(itemOf(key(3)))] } });

    const items = await batchGetItems(doc, 't', [key(1), key(2), key(3)]);

    expect(items.map((i) => i.n)).toEqual([1, 2, 3]);
    expect([keysAsked(0), keysAsked(1), keysAsked(2)]).toEqual([[key(1), key(2), key(3)], [key(2), key(3)], [key(3)]]);
  });

  it(`gives up, naming how many keys are left, after ${MAX_UNPROCESSED_ROUNDS} rounds that leave keys unprocessed`, async () => {
    vi.useFakeTimers();
    ddb.on(BatchGetItemCommand).resolves({ Responses: { t: [] }, UnprocessedKeys: { t: { Keys: [marshall(key(1)), marshall(key(2))] } } });

    const outcome = batchGetItems(doc, 't', [key(1), key(2)]).catch((err: Error) => err);
    await vi.runAllTimersAsync();

    expect(await outcome).toEqual(new Error(`BatchGetItem left 2 keys unprocessed after ${MAX_UNPROCESSED_ROUNDS} retries`));
    expect(ddb.commandCalls(BatchGetItemCommand)).toHaveLength(MAX_UNPROCESSED_ROUNDS + 1);
  });
});
