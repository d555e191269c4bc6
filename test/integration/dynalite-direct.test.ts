/**
 * The local host's own DynamoDB client reaches dynalite without a socket (LocalDynamoRequestHandler):
 * the same wire protocol, answered by dynalite's own request handler, in its worker thread or in
 * process. What a client sees must be what it sees over TCP: items, errors, and the same table.
 */
import { ConditionalCheckFailedException, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { documentClientOptions } from '../../functions/adapters/dynamodb/client.js';
import { LOCAL_AWS, startLocalDynamo, type LocalDynamo } from '../../functions/local/dynalite.js';

describe('LocalDynamoRequestHandler', () => {
  let dynamo: LocalDynamo | undefined;
  const clients: DynamoDBClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await dynamo?.close();
    dynamo = undefined;
  });

  for (const worker of [true, false]) {
    it(`answers as dynalite does over TCP (${worker ? 'worker thread' : 'in process'})`, async () => {
      dynamo = await startLocalDynamo({ port: 0, tableName: 'direct', worker });
      const direct = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint, requestHandler: dynamo.requestHandler });
      const tcp = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint });
      clients.push(direct, tcp);
      const viaDirect = DynamoDBDocumentClient.from(direct, documentClientOptions);
      const viaTcp = DynamoDBDocumentClient.from(tcp, documentClientOptions);
      const item = { pk: 'SNAP#1', sk: 'SNAP', note: 'héllo ✓', n: 1.5, nested: { list: [1, 'two', { three: true }] } };

      await viaDirect.send(new PutCommand({ TableName: 'direct', Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
      // Written directly, read over TCP (the same store), and back.
      expect((await viaTcp.send(new GetCommand({ TableName: 'direct', Key: { pk: 'SNAP#1', sk: 'SNAP' }, ConsistentRead: true }))).Item).toEqual(item);
      expect((await viaDirect.send(new GetCommand({ TableName: 'direct', Key: { pk: 'SNAP#1', sk: 'SNAP' } }))).Item).toEqual(item);
      expect((await viaDirect.send(new QueryCommand({ TableName: 'direct', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'SNAP#1' } }))).Items).toEqual([item]);

      // Errors come back as the same typed exceptions.
      await expect(viaDirect.send(new PutCommand({ TableName: 'direct', Item: item, ConditionExpression: 'attribute_not_exists(pk)' }))).rejects.toBeInstanceOf(ConditionalCheckFailedException);
      await expect(viaDirect.send(new GetCommand({ TableName: 'no-such-table', Key: { pk: 'x', sk: 'y' } }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    });
  }
});
