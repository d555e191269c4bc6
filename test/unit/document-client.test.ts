/**
 * The document layer (functions/adapters/dynamodb/document-client.ts) sends, for every operation,
 * the same DynamoDB request lib-dynamodb's DocumentClient sends for the same input, and reads the
 * same values out of the same answer. Both run over a real DynamoDBClient whose request handler
 * records the wire request and answers a canned response, so what is compared is the JSON body
 * that would go to DynamoDB.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { DYNAMODB_CLIENT_SETTINGS, documentClientOptions } from '../../functions/adapters/dynamodb/client.js';
import { DocumentClient } from '../../functions/adapters/dynamodb/document-client.js';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';

interface Wire {
  target: string;
  body: unknown;
}

/** A DynamoDBClient that records each request body and answers `answer(target)`. */
function recordingClient(answer: (target: string) => unknown, settings: object = {}) {
  const sent: Wire[] = [];
  const requestHandler = {
    metadata: { handlerProtocol: 'http/1.1' },
    async handle(request: { headers: Record<string, string>; body?: unknown }) {
      const target = String(request.headers['x-amz-target']).split('.')[1] ?? '';
      const text = typeof request.body === 'string' ? request.body : Buffer.from(request.body as Uint8Array).toString('utf8');
      sent.push({ target, body: JSON.parse(text) });
      return { response: { statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: Buffer.from(JSON.stringify(answer(target) ?? {})) } };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
  return { sent, client: new DynamoDBClient({ ...LOCAL_AWS, ...settings, endpoint: 'http://127.0.0.1:1', requestHandler }) };
}

/** Every kind of value an item may hold, and the awkward keys. */
const item = {
  pk: 'SNAP#1',
  sk: 'SNAP',
  text: 'décision ✓',
  empty: '',
  integer: 52000,
  negative: -12.5,
  tiny: 1e-7,
  zero: 0,
  yes: true,
  nothing: null,
  dropped: undefined,
  list: [1, 'two', { three: 3, gone: undefined }, [4], null, ''],
  map: { nested: { deeper: { value: 0.82 } }, gone: undefined, emptyMap: {}, emptyList: [] },
  // A recorded context may hold a key named like a class's property: stored as a plain map.
  context: { constructor: { name: 'x' }, toString: 'y', hasOwnProperty: 1 },
  binary: new Uint8Array([0, 1, 2, 255]),
  strings: new Set(['a', 'b']),
  numbers: new Set([1, 2.5]),
};

/** The item as DynamoDB's JSON answers carry it (binary as base64). */
const storedItem = { ...marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: true }), binary: { B: 'AAEC/w==' } };

/** What DynamoDB answers for each operation (items in wire format). */
function answer(target: string): unknown {
  switch (target) {
    case 'GetItem':
      return { Item: storedItem };
    case 'Query':
    case 'Scan':
      return { Items: [storedItem, storedItem], Count: 2, ScannedCount: 2, LastEvaluatedKey: { pk: { S: 'SNAP#1' }, sk: { S: 'SNAP' } } };
    case 'PutItem':
    case 'DeleteItem':
    case 'UpdateItem':
      return { Attributes: storedItem };
    case 'BatchGetItem':
      return { Responses: { t: [storedItem] }, UnprocessedKeys: { t: { Keys: [{ pk: { S: 'SNAP#2' }, sk: { S: 'SNAP' } }], ConsistentRead: true } } };
    case 'BatchWriteItem':
      return { UnprocessedItems: { t: [{ PutRequest: { Item: storedItem } }, { DeleteRequest: { Key: { pk: { S: 'SNAP#2' }, sk: { S: 'SNAP' } } } }] } };
    default:
      return {};
  }
}

const key = { pk: 'SNAP#1', sk: 'SNAP' };
const values = { ':n': 1, ':s': 'x', ':m': { a: [1, { b: undefined }] }, ':gone': undefined, ':set': new Set(['a']) };

/** Each operation, as lib-dynamodb's command and as the document layer's call, with the same input. */
const operations: Array<{ name: string; theirs: () => object; ours: (doc: DocumentClient) => Promise<unknown> }> = [
  { name: 'put', theirs: () => new PutCommand({ TableName: 't', Item: item, ConditionExpression: 'attribute_not_exists(pk) OR v < :n', ExpressionAttributeValues: values, ReturnValues: 'ALL_OLD' }), ours: (d) => d.put({ TableName: 't', Item: item, ConditionExpression: 'attribute_not_exists(pk) OR v < :n', ExpressionAttributeValues: values, ReturnValues: 'ALL_OLD' }) },
  { name: 'get', theirs: () => new GetCommand({ TableName: 't', Key: key, ConsistentRead: true, ProjectionExpression: 'pk' }), ours: (d) => d.get({ TableName: 't', Key: key, ConsistentRead: true, ProjectionExpression: 'pk' }) },
  { name: 'delete', theirs: () => new DeleteCommand({ TableName: 't', Key: key, ConditionExpression: '#s = :s', ExpressionAttributeNames: { '#s': 's' }, ExpressionAttributeValues: { ':s': 'x' } }), ours: (d) => d.delete({ TableName: 't', Key: key, ConditionExpression: '#s = :s', ExpressionAttributeNames: { '#s': 's' }, ExpressionAttributeValues: { ':s': 'x' } }) },
  { name: 'update', theirs: () => new UpdateCommand({ TableName: 't', Key: key, UpdateExpression: 'SET a = :m ADD n :n', ExpressionAttributeValues: values, ReturnValues: 'ALL_NEW' }), ours: (d) => d.update({ TableName: 't', Key: key, UpdateExpression: 'SET a = :m ADD n :n', ExpressionAttributeValues: values, ReturnValues: 'ALL_NEW' }) },
  { name: 'query', theirs: () => new QueryCommand({ TableName: 't', IndexName: 'GSI1', KeyConditionExpression: 'pk = :s', ExpressionAttributeValues: { ':s': 'x' }, ExclusiveStartKey: key, Limit: 2, ScanIndexForward: false }), ours: (d) => d.query({ TableName: 't', IndexName: 'GSI1', KeyConditionExpression: 'pk = :s', ExpressionAttributeValues: { ':s': 'x' }, ExclusiveStartKey: key, Limit: 2, ScanIndexForward: false }) },
  { name: 'query without values or start key', theirs: () => new QueryCommand({ TableName: 't', KeyConditionExpression: 'pk = a', Select: 'COUNT' }), ours: (d) => d.query({ TableName: 't', KeyConditionExpression: 'pk = a', Select: 'COUNT' }) },
  { name: 'scan', theirs: () => new ScanCommand({ TableName: 't', FilterExpression: 'n > :n', ExpressionAttributeValues: { ':n': 1 }, ExclusiveStartKey: key }), ours: (d) => d.scan({ TableName: 't', FilterExpression: 'n > :n', ExpressionAttributeValues: { ':n': 1 }, ExclusiveStartKey: key }) },
  { name: 'batchGet', theirs: () => new BatchGetCommand({ RequestItems: { t: { Keys: [key, { pk: 'SNAP#2', sk: 'SNAP' }], ConsistentRead: true, ProjectionExpression: 'pk' } } }), ours: (d) => d.batchGet({ RequestItems: { t: { Keys: [key, { pk: 'SNAP#2', sk: 'SNAP' }], ConsistentRead: true, ProjectionExpression: 'pk' } } }) },
  { name: 'batchWrite', theirs: () => new BatchWriteCommand({ RequestItems: { t: [{ PutRequest: { Item: item } }, { DeleteRequest: { Key: key } }] } }), ours: (d) => d.batchWrite({ RequestItems: { t: [{ PutRequest: { Item: item } }, { DeleteRequest: { Key: key } }] } }) },
];

const withoutMetadata = (output: unknown) => {
  const { $metadata: _ignored, ...rest } = output as { $metadata?: unknown };
  return rest;
};

describe('DocumentClient (the document layer)', () => {
  for (const op of operations) {
    it(`${op.name}: sends the request lib-dynamodb sends, and answers the same values`, async () => {
      const theirs = recordingClient(answer);
      const ours = recordingClient(answer, DYNAMODB_CLIENT_SETTINGS);
      const libOutput = await DynamoDBDocumentClient.from(theirs.client, { marshallOptions: { ...documentClientOptions.marshallOptions }, unmarshallOptions: { ...documentClientOptions.unmarshallOptions } }).send(op.theirs() as never);

      const output = await op.ours(new DocumentClient(ours.client));

      expect(ours.sent).toEqual(theirs.sent);
      expect(ours.sent).toHaveLength(1);
      expect(withoutMetadata(output)).toEqual(withoutMetadata(libOutput));
    });
  }

  it('stores an item with every kind of value as DynamoDB attributes, dropping undefined at every depth', async () => {
    const { sent, client } = recordingClient(answer, DYNAMODB_CLIENT_SETTINGS);

    await new DocumentClient(client).put({ TableName: 't', Item: item });

    const body = sent[0]?.body as { Item: Record<string, unknown> };
    expect(body.Item).toMatchObject({
      empty: { S: '' },
      integer: { N: '52000' },
      negative: { N: '-12.5' },
      tiny: { N: '1e-7' },
      nothing: { NULL: true },
      context: { M: { constructor: { M: { name: { S: 'x' } } }, toString: { S: 'y' }, hasOwnProperty: { N: '1' } } },
      binary: { B: 'AAEC/w==' },
      strings: { SS: ['a', 'b'] },
      numbers: { NS: ['1', '2.5'] },
      map: { M: { nested: { M: { deeper: { M: { value: { N: '0.82' } } } } }, emptyMap: { M: {} }, emptyList: { L: [] } } },
    });
    expect(body.Item).not.toHaveProperty('dropped');
    expect(body.Item.list).toEqual({ L: [{ N: '1' }, { S: 'two' }, { M: { three: { N: '3' } } }, { L: [{ N: '4' }] }, { NULL: true }, { S: '' }] });
  });

  it('reads numbers back as JS numbers, sets as Sets and binary as bytes', async () => {
    const { client } = recordingClient(answer, DYNAMODB_CLIENT_SETTINGS);

    const { Item } = await new DocumentClient(client).get({ TableName: 't', Key: key });

    const { dropped: _dropped, ...expected } = item;
    expect(Item).toEqual({ ...expected, list: [1, 'two', { three: 3 }, [4], null, ''], map: { nested: { deeper: { value: 0.82 } }, emptyMap: {}, emptyList: [] } });
  });

  it('is not changed by a lib-dynamodb DocumentClient created later on the shared options (which sets convertTopLevelContainer in them)', async () => {
    const shared = { marshallOptions: documentClientOptions.marshallOptions, unmarshallOptions: documentClientOptions.unmarshallOptions };
    const other = recordingClient(answer);
    await DynamoDBDocumentClient.from(other.client, shared).send(new GetCommand({ TableName: 't', Key: key }));
    const { sent, client } = recordingClient(answer, DYNAMODB_CLIENT_SETTINGS);

    await new DocumentClient(client).put({ TableName: 't', Item: { pk: 'a', sk: 'b', m: { x: 1 } } });

    expect((sent[0]?.body as { Item: unknown }).Item).toEqual({ pk: { S: 'a' }, sk: { S: 'b' }, m: { M: { x: { N: '1' } } } });
  });

  it('marshalls an own "__proto__" key exactly as lib-dynamodb does (not faithfully: the HTTP edge refuses such bodies with 400 UNSTORABLE_KEY), polluting no shared prototype', async () => {
    const parsed = JSON.parse('{"pk":"a","sk":"b","m":{"__proto__":{"polluted":true},"kept":1}}') as Record<string, unknown>;
    const theirs = recordingClient(answer);
    await DynamoDBDocumentClient.from(theirs.client, { marshallOptions: { ...documentClientOptions.marshallOptions } }).send(new PutCommand({ TableName: 't', Item: parsed }));
    const { sent, client } = recordingClient(answer, DYNAMODB_CLIENT_SETTINGS);

    await new DocumentClient(client).put({ TableName: 't', Item: parsed });

    expect(sent).toEqual(theirs.sent);
    expect((sent[0]?.body as { Item: { m: { M: Record<string, unknown> } } }).Item.m.M.kept).toEqual({ N: '1' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).M).toBeUndefined();
  });

  it('refuses a number DynamoDB cannot hold exactly as the marshaller does, before sending anything', async () => {
    const { sent, client } = recordingClient(answer, DYNAMODB_CLIENT_SETTINGS);
    await expect(new DocumentClient(client).put({ TableName: 't', Item: { pk: 'a', sk: 'b', n: Number.MAX_SAFE_INTEGER + 2 } })).rejects.toThrow(/Number .* is greater than Number.MAX_SAFE_INTEGER/);
    expect(sent).toEqual([]);
  });
});
