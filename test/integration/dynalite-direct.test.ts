/**
 * The local host's own DynamoDB client reaches dynalite without a socket (LocalDynamoRequestHandler):
 * the same wire protocol, answered by dynalite's own request handler, in its worker thread or in
 * process. What a client sees must be what it sees over TCP: items, errors, and the same table.
 */
import { ConditionalCheckFailedException, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { documentClientOptions } from '../../functions/adapters/dynamodb/client.js';
import { createLocalDynamoClient, LOCAL_AWS, startLocalDynamo, type LocalDynamo } from '../../functions/local/dynalite.js';

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

  it('reads the request body as bytes, never through its string conversion', async () => {
    dynamo = await startLocalDynamo({ port: 0, tableName: 'direct', worker: false });
    // The SDK serialises JSON bodies into a Uint8Array subclass whose string conversion (valueOf,
    // as Buffer.from(object) calls it) logs a deprecation warning and will throw in a later version.
    class StrictBytes extends Uint8Array {
      override valueOf(): never {
        throw new Error('the body was used as a string');
      }
      override toString(): never {
        throw new Error('the body was used as a string');
      }
    }
    const json = JSON.stringify({ TableName: 'direct', Item: { pk: { S: 'a' }, sk: { S: 'héllo ✓' } } });
    const bytes = Buffer.from(json, 'utf8');
    const body = new StrictBytes(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const answer = await dynamo.requestHandler.handle({
      method: 'POST',
      path: '/',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': 'DynamoDB_20120810.PutItem',
        'X-Amz-Date': '20260101T000000Z',
        Authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=local',
      },
      body,
    });
    expect({ status: answer.response.statusCode, body: Buffer.from(answer.response.body).toString('utf8') }).toEqual({ status: 200, body: '{}' });
    const direct = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint, requestHandler: dynamo.requestHandler });
    clients.push(direct);
    const doc = DynamoDBDocumentClient.from(direct, documentClientOptions);
    expect((await doc.send(new GetCommand({ TableName: 'direct', Key: { pk: 'a', sk: 'héllo ✓' } }))).Item).toEqual({ pk: 'a', sk: 'héllo ✓' });
  });

  it("the local host's client sends no SDK user-agent, and still signs, serialises and answers as the SDK does", async () => {
    dynamo = await startLocalDynamo({ port: 0, tableName: 'direct', worker: false });
    const sent: Record<string, string>[] = [];
    const handler = dynamo.requestHandler;
    const seen = { ...handler, handle: (request: Parameters<typeof handler.handle>[0]) => (sent.push({ ...request.headers }), handler.handle(request)) } as typeof handler;
    const local = createLocalDynamoClient({ endpoint: dynamo.endpoint, requestHandler: seen });
    const standard = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint, requestHandler: seen });
    clients.push(local, standard);
    const item = { pk: 'SNAP#ua', sk: 'SNAP', n: 2 };

    await DynamoDBDocumentClient.from(local, documentClientOptions).send(new PutCommand({ TableName: 'direct', Item: item }));
    const got = await DynamoDBDocumentClient.from(local, documentClientOptions).send(new GetCommand({ TableName: 'direct', Key: { pk: 'SNAP#ua', sk: 'SNAP' } }));
    await DynamoDBDocumentClient.from(standard, documentClientOptions).send(new GetCommand({ TableName: 'direct', Key: { pk: 'SNAP#ua', sk: 'SNAP' } }));

    expect(got.Item).toEqual(item);
    const [put, get, standardGet] = sent.map((headers) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])));
    for (const headers of [put, get]) {
      expect(headers).not.toHaveProperty('user-agent');
      expect(headers).not.toHaveProperty('x-amz-user-agent');
      expect(headers).toHaveProperty('authorization');
      expect(headers).toHaveProperty('amz-sdk-invocation-id');
    }
    // A client built the ordinary way (as every Lambda's is) keeps it.
    expect(standardGet?.['user-agent']).toMatch(/aws-sdk-js/);
  });
});
