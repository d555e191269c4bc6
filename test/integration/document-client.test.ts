/**
 * The document layer over a client whose middleware is cached (`DYNAMODB_CLIENT_SETTINGS`), against
 * dynalite: the SDK then shares one resolved handler, and its context object, between concurrent
 * calls of a command class. Each call must still get its own answer and its own outcome, and a
 * middleware added before the first call (the local stream's tap) must see each call's own input.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DYNAMODB_CLIENT_SETTINGS } from '../../functions/adapters/dynamodb/client.js';
import { DocumentClient } from '../../functions/adapters/dynamodb/document-client.js';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import { LocalStream } from '../../functions/local/stream.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';

describe('DocumentClient over a cached-middleware client (dynalite)', () => {
  let dynamo: TestDynamo;

  beforeAll(async () => {
    dynamo = await startTestDynamo();
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('answers each of 200 concurrent puts and gets with its own outcome and item', async () => {
    const doc = dynamo.doc;
    const n = 200;
    const item = (i: number) => ({ pk: `CONC#${i}`, sk: 'SNAP', i, nested: { label: `item ${i}`, list: [i, `${i}`] } });
    // Every other key exists already: its conditional put must fail, the others succeed.
    await Promise.all(Array.from({ length: n / 2 }, (_, k) => doc.put({ TableName: dynamo.tableName, Item: item(2 * k) })));

    const outcomes = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        doc.put({ TableName: dynamo.tableName, Item: { ...item(i), second: true }, ConditionExpression: 'attribute_not_exists(pk)' }).then(
          () => 'written',
          (err: unknown) => (err instanceof ConditionalCheckFailedException ? 'exists' : `error ${String(err)}`),
        ),
      ),
    );
    const reads = await Promise.all(Array.from({ length: n }, (_, i) => doc.get({ TableName: dynamo.tableName, Key: { pk: `CONC#${i}`, sk: 'SNAP' }, ConsistentRead: true })));

    expect(outcomes).toEqual(Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 'exists' : 'written')));
    expect(reads.map((r) => r.Item)).toEqual(Array.from({ length: n }, (_, i) => (i % 2 === 0 ? item(i) : { ...item(i), second: true })));
  });

  it('pages concurrent queries of different partitions independently', async () => {
    const doc = dynamo.doc;
    await Promise.all(
      ['A', 'B', 'C'].flatMap((p) => Array.from({ length: 30 }, (_, i) => doc.put({ TableName: dynamo.tableName, Item: { pk: `PAGE#${p}`, sk: `S#${String(i).padStart(2, '0')}`, p } }))),
    );

    const all = await Promise.all(
      ['A', 'B', 'C'].map(async (p) => {
        const seen: string[] = [];
        let start: Record<string, unknown> | undefined;
        do {
          const res = await doc.query({ TableName: dynamo.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `PAGE#${p}` }, Limit: 7, ExclusiveStartKey: start });
          for (const it of res.Items ?? []) seen.push(`${String(it.p)}${String(it.sk)}`);
          start = res.LastEvaluatedKey;
        } while (start);
        return seen;
      }),
    );

    for (const [k, p] of ['A', 'B', 'C'].entries()) expect(all[k]).toEqual(Array.from({ length: 30 }, (_, i) => `${p}S#${String(i).padStart(2, '0')}`));
  });

  it("hands the local stream's tap each concurrent snapshot put's own item", async () => {
    const client = new DynamoDBClient({ ...LOCAL_AWS, ...DYNAMODB_CLIENT_SETTINGS, endpoint: dynamo.endpoint });
    const stream = new LocalStream({ batchSize: 1_000, batchingWindowMs: 5, maxRetries: 0, retryDelayMs: 1, tableArn: 'arn:aws:dynamodb:local:000000000000:table/t' });
    const delivered: string[] = [];
    stream.setHandler(async (event) => {
      for (const r of event.Records) delivered.push(String(r.dynamodb?.NewImage?.pk?.S));
    });
    stream.attach(client);
    const doc = new DocumentClient(client);
    try {
      const ids = Array.from({ length: 50 }, (_, i) => `SNAP#TAP${String(i).padStart(2, '0')}`);
      await Promise.all(ids.map((pk) => doc.put({ TableName: dynamo.tableName, Item: { pk, sk: 'SNAP', itemType: 'snapshot' }, ConditionExpression: 'attribute_not_exists(pk)' })));
      await stream.drain();

      expect([...delivered].sort()).toEqual(ids);
    } finally {
      await stream.close();
      client.destroy();
    }
  });
});
