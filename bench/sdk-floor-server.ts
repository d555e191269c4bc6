/**
 * The floor under the host-wire benchmark's target: the least an HTTP API that stores decisions
 * through the AWS SDK can do, run as its own process the way `npm start` runs the host (same node
 * flags, dynalite in a worker thread, the host's own DynamoDB client and transport).
 *
 * `POST /snapshots` parses the body, takes the next item from a pool built before listening (the
 * same stored item the host writes: keys, index keys, content hash) and PutItems it conditionally;
 * `GET /snapshots/{id}` GetItems it and answers its JSON. No validation, no hashing on the request,
 * no stream, no metrics, no logs: what remains is node:http on both ends and the SDK's two calls.
 * Whatever this costs over the raw wire protocol, no host built on the SDK can go below.
 *
 * `POST /wire/snapshots` and `GET /wire/snapshots/{id}` do the same without the SDK: the item's
 * PutItem and GetItem bodies, serialised before listening, go to dynalite as they are, over the
 * same transport (the direct hand-off, or a keep-alive socket). Floor minus hop is what the SDK's
 * two calls cost; hop minus raw is what one more HTTP server in the path costs.
 *
 * Prints one line, `{"url": ..., "dynamoEndpoint": ...}`, once it listens. Environment: POOL (items
 * to build ahead), DYNAMODB_TRANSPORT (`direct` or `socket`, as the host).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { marshall } from '@aws-sdk/util-dynamodb';
import { DYNAMODB_CLIENT_SETTINGS, documentClientOptions } from '../functions/adapters/dynamodb/client.js';
import { DocumentClient } from '../functions/adapters/dynamodb/document-client.js';
import { DynamoSnapshotStore } from '../functions/adapters/dynamodb/snapshot-store.js';
import { ulidGenerator } from '../functions/adapters/ids.js';
import { buildSnapshot } from '../functions/core/snapshot.js';
import { createLocalDynamoClient, startLocalDynamo } from '../functions/local/dynalite.js';
import { BenchClient } from './http-client.js';
import { benchDecision, wireHeaders } from './sdk-floor.js';

const tableName = process.env.TABLE_NAME ?? 'bench-floor';
const pool = Number(process.env.POOL ?? 20_000);
const transport = process.env.DYNAMODB_TRANSPORT === 'socket' ? 'socket' : 'direct';

const dynamo = await startLocalDynamo({ port: 0, tableName, worker: true });
// The host's own client and document layer (functions/local/host.ts), on the same transport.
const doc = new DocumentClient(createLocalDynamoClient({ ...DYNAMODB_CLIENT_SETTINGS, endpoint: dynamo.endpoint, ...(transport === 'direct' && { requestHandler: dynamo.requestHandler }) }));

const ids = ulidGenerator();
const items = Array.from({ length: pool }, () => DynamoSnapshotStore.toItem(buildSnapshot(benchDecision, ids.next(), new Date().toISOString())));
let next = 0;
const wireItems = Array.from({ length: pool }, () => {
  const item = DynamoSnapshotStore.toItem(buildSnapshot(benchDecision, ids.next(), new Date().toISOString()));
  return { id: String(item.pk).slice('SNAP#'.length), put: JSON.stringify({ TableName: tableName, Item: marshall(item, documentClientOptions.marshallOptions), ConditionExpression: 'attribute_not_exists(pk)' }) };
});
let nextWire = 0;
const dynamoSocket = new BenchClient(dynamo.endpoint, 16);
/** One wire-protocol call to dynalite without the SDK; its status and body. */
async function wireCall(target: string, body: string): Promise<{ status: number; body: string }> {
  if (transport === 'direct') {
    const { response } = await dynamo.requestHandler.handle({ method: 'POST', path: '/', headers: wireHeaders(target), body });
    return { status: response.statusCode, body: Buffer.from(response.body).toString('utf8') };
  }
  return dynamoSocket.request('POST', '/', body, wireHeaders(target));
}

const bodyOf = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const server = createServer((req, res) => {
  const answer = (status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  void (async () => {
    if (req.method === 'POST' && req.url === '/snapshots') {
      JSON.parse(await bodyOf(req));
      const item = items[next++];
      if (item === undefined) return answer(503, '{"error":"the item pool is used up"}');
      await doc.put({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' });
      return answer(201, JSON.stringify({ snapshotId: String(item.pk).slice('SNAP#'.length) }));
    }
    if (req.method === 'POST' && req.url === '/wire/snapshots') {
      JSON.parse(await bodyOf(req));
      const item = wireItems[nextWire++];
      if (item === undefined) return answer(503, '{"error":"the item pool is used up"}');
      const put = await wireCall('PutItem', item.put);
      if (put.status !== 200) return answer(500, put.body);
      return answer(201, JSON.stringify({ snapshotId: item.id }));
    }
    const wireId = req.method === 'GET' ? /^\/wire\/snapshots\/([0-9A-Z]{26})$/.exec(req.url ?? '')?.[1] : undefined;
    if (wireId !== undefined) {
      const got = await wireCall('GetItem', `{"TableName":${JSON.stringify(tableName)},"Key":{"pk":{"S":"SNAP#${wireId}"},"sk":{"S":"SNAP"}},"ConsistentRead":true}`);
      if (got.status !== 200) return answer(500, got.body);
      const { Item } = JSON.parse(got.body) as { Item?: unknown };
      return Item === undefined ? answer(404, '{"error":"not found"}') : answer(200, JSON.stringify(Item));
    }
    const id = req.method === 'GET' ? /^\/snapshots\/([0-9A-Z]{26})$/.exec(req.url ?? '')?.[1] : undefined;
    if (id === undefined) return answer(404, '{"error":"no such route"}');
    const { Item } = await doc.get({ TableName: tableName, Key: { pk: `SNAP#${id}`, sk: 'SNAP' }, ConsistentRead: true });
    return Item === undefined ? answer(404, '{"error":"not found"}') : answer(200, JSON.stringify(Item));
  })().catch((err: unknown) => answer(500, JSON.stringify({ error: err instanceof Error ? err.message : String(err) })));
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, dynamoEndpoint: dynamo.endpoint })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void dynamo.close().then(() => process.exit(0));
});
