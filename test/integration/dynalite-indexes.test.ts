/**
 * The local host's dynalite, in memory, writes global secondary index entries after it answers a
 * write, as DynamoDB does, and stays strongly consistent on them for its readers: a Query or Scan waits for
 * every index entry of the writes answered before it. Over the direct hand-off and over TCP, in
 * the worker thread and in process.
 */
import { DeleteItemCommand, DynamoDBClient, PutItemCommand, QueryCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { GSI1, GSI3 } from '../../functions/adapters/dynamodb/table-definition.js';
import { LOCAL_AWS, startLocalDynamo, type LocalDynamo } from '../../functions/local/dynalite.js';
import { indexWorkPending, settleIndexes } from '../../functions/local/dynalite-indexes.mjs';
import { tempDir } from '../support/temp-dirs.js';

const TABLE = 'indexes-after-answer';
const item = (n: number, fn = 'fn_a') => ({
  pk: { S: `SNAP#${String(n).padStart(4, '0')}` },
  sk: { S: 'SNAP' },
  [GSI1.partitionKey]: { S: `FN#${fn}` },
  [GSI1.sortKey]: { S: `2026-12-03T00:00:00.000Z#${String(n).padStart(4, '0')}` },
  [GSI3.partitionKey]: { S: 'AUDIT#2026-12-03#07' },
  [GSI3.sortKey]: { S: `2026-12-03T00:00:00.000Z#snapshot#${n}` },
  n: { N: String(n) },
});
const byFunction = (fn: string) => new QueryCommand({ TableName: TABLE, IndexName: GSI1.indexName, KeyConditionExpression: '#p = :p', ExpressionAttributeNames: { '#p': GSI1.partitionKey }, ExpressionAttributeValues: { ':p': { S: `FN#${fn}` } } });
const ids = (items: Array<Record<string, { S?: string }>> | undefined) => (items ?? []).map((i) => i.pk?.S);

describe('global secondary index entries written after the answer (local dynalite)', () => {
  let dynamo: LocalDynamo | undefined;
  const clients: DynamoDBClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await dynamo?.close();
    dynamo = undefined;
  });

  it('answers a write before its global index entries are written, and writes them right after (in process)', async () => {
    dynamo = await startLocalDynamo({ port: 0, tableName: TABLE, worker: false });
    const direct = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint, requestHandler: dynamo.requestHandler });
    clients.push(direct);

    await direct.send(new PutItemCommand({ TableName: TABLE, Item: item(1) }));
    // Answered, and the entries (GSI1, GSI1K, GSI2 where keyed, GSI3) still queued.
    expect(indexWorkPending()).toBe(1);
    await settleIndexes();
    expect(indexWorkPending()).toBe(0);
    expect(ids((await direct.send(byFunction('fn_a'))).Items)).toEqual(['SNAP#0001']);
  });

  it('writes them before answering on disk, where a queued entry would not survive a kill (in process)', async () => {
    const path = tempDir('dynalite-indexes-');
    dynamo = await startLocalDynamo({ port: 0, tableName: TABLE, worker: false, path });
    const direct = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint, requestHandler: dynamo.requestHandler });
    clients.push(direct);

    await direct.send(new PutItemCommand({ TableName: TABLE, Item: item(1) }));
    expect(indexWorkPending()).toBe(0);
    // Nothing is queued that a kill now could lose; reopened on the same folder, the entry is there.
    await dynamo.close();
    dynamo = await startLocalDynamo({ port: 0, tableName: TABLE, worker: false, path });
    const reopened = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint, requestHandler: dynamo.requestHandler });
    clients.push(reopened);
    expect(ids((await reopened.send(byFunction('fn_a'))).Items)).toEqual(['SNAP#0001']);
  });

  for (const worker of [true, false]) {
    it(`a Query or Scan sees every write answered before it: puts, key changes and deletes, direct and over TCP (${worker ? 'worker thread' : 'in process'})`, async () => {
      dynamo = await startLocalDynamo({ port: 0, tableName: TABLE, worker });
      const direct = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint, requestHandler: dynamo.requestHandler });
      const tcp = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint });
      clients.push(direct, tcp);

      const expected: string[] = [];
      for (let n = 1; n <= 60; n++) {
        const writer = n % 2 === 0 ? direct : tcp;
        const reader = n % 3 === 0 ? direct : tcp;
        await writer.send(new PutItemCommand({ TableName: TABLE, Item: item(n) }));
        expected.push(`SNAP#${String(n).padStart(4, '0')}`);
        expect(ids((await reader.send(byFunction('fn_a'))).Items)).toEqual(expected);
      }
      // Moved to another function (the entry's key changes): gone from the first list at once.
      await direct.send(new UpdateItemCommand({ TableName: TABLE, Key: { pk: { S: 'SNAP#0007' }, sk: { S: 'SNAP' } }, UpdateExpression: 'SET #p = :p', ExpressionAttributeNames: { '#p': GSI1.partitionKey }, ExpressionAttributeValues: { ':p': { S: 'FN#fn_b' } } }));
      expect(ids((await tcp.send(byFunction('fn_a'))).Items)).not.toContain('SNAP#0007');
      expect(ids((await direct.send(byFunction('fn_b'))).Items)).toEqual(['SNAP#0007']);
      // Deleted: gone from every index at once.
      await tcp.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: { S: 'SNAP#0008' }, sk: { S: 'SNAP' } } }));
      expect(ids((await direct.send(byFunction('fn_a'))).Items)).not.toContain('SNAP#0008');
      const audit = await tcp.send(new ScanCommand({ TableName: TABLE, IndexName: GSI3.indexName }));
      expect(audit.Count).toBe(59);
      expect(ids(audit.Items)).not.toContain('SNAP#0008');
      // Writes in a burst, not awaited one by one, then one Query: every one of them is in it.
      await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? direct : tcp).send(new PutItemCommand({ TableName: TABLE, Item: item(100 + i, 'fn_c') }))));
      expect((await direct.send(byFunction('fn_c'))).Count).toBe(40);
    });
  }
});
