/**
 * Record + read through the local host (HTTP → API Gateway event → handler → DynamoDB) against the
 * same Put + Get sent straight to its DynamoDB (dynalite) with the SDK. Target: ratio ≤ 1.5.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { documentClientOptions } from '../functions/adapters/dynamodb/client.js';
import { DynamoSnapshotStore } from '../functions/adapters/dynamodb/snapshot-store.js';
import { ulidGenerator } from '../functions/adapters/ids.js';
import { buildSnapshot } from '../functions/core/snapshot.js';
import { LOCAL_AWS } from '../functions/local/dynalite.js';
import { startLocalHost } from '../functions/local/host.js';
import { BenchClient } from './http-client.js';
import { paired, printFigures } from './report.js';
import { benchDecision } from './sdk-floor.js';

const ROUNDS = Number(process.env.BENCH_HOST_ROUNDS ?? 300);

export default async function hostBench(): Promise<void> {
  const host = await startLocalHost({ port: 0, dynamoPort: 0, tableName: 'bench-host', dynamoInWorker: process.env.BENCH_DYNAMO_IN_PROCESS !== '1' });
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: host.dynamoEndpoint });
  const doc = DynamoDBDocumentClient.from(client, documentClientOptions);
  const ids = ulidGenerator();
  const http = new BenchClient(host.url);
  const body = JSON.stringify(benchDecision);
  try {
    // The client side uses node:http with keep-alive, as the SDK's own handler does for the direct
    // calls, so both sides pay the same for their HTTP client.
    const viaHost = async () => {
      const created = await http.request('POST', '/snapshots', body);
      if (created.status !== 201) throw new Error(`POST /snapshots answered ${created.status}`);
      const { snapshotId } = JSON.parse(created.body) as { snapshotId: string };
      const got = await http.request('GET', `/snapshots/${snapshotId}`);
      if (got.status !== 200) throw new Error(`GET answered ${got.status}`);
      JSON.parse(got.body);
    };
    const direct = async () => {
      const snapshot = buildSnapshot(benchDecision, ids.next(), new Date().toISOString());
      await doc.send(new PutCommand({ TableName: host.tableName, Item: DynamoSnapshotStore.toItem(snapshot), ConditionExpression: 'attribute_not_exists(pk)' }));
      await doc.send(new GetCommand({ TableName: host.tableName, Key: { pk: `SNAP#${snapshot.snapshotId}`, sk: 'SNAP' }, ConsistentRead: true }));
    };
    const r = await paired(viaHost, direct, ROUNDS, 20);
    printFigures(`Record + read: local host vs direct SDK calls (median of ${ROUNDS} paired rounds)`, [
      { figure: 'POST + GET via host ÷ Put + Get direct', ours: r.a, baseline: r.b, unit: 'ms', ratio: r.ratio, target: '<= 1.5' },
    ]);
  } finally {
    client.destroy();
    http.close();
    await host.close();
  }
}
