/**
 * One replay through the local host ÷ (one snapshot read + the executor call), target ≤ 2
 * (DESIGN §10).
 *
 * A: `POST /snapshots/{id}/replay` (Tolerant) on the in-memory local host: HTTP edge, a consistent
 *    Get of the snapshot, the hash check, the executor configuration (cached for 5 s), the executor
 *    call, the leaf comparison and diff, and the Put of the result.
 * B: the bare work a replay cannot avoid: one GetCommand of that snapshot with a DocumentClient
 *    straight to the host's DynamoDB endpoint, plus one fetch POST of the executor request to the
 *    same executor.
 * The executor is a zero-latency stub (node:http on 127.0.0.1, in a worker thread, answering a
 * fixed `{outputs}` at once), so the figure is the replay machinery's own overhead. A and B
 * alternate (`paired`).
 *
 * A second, informational pair sets A against the I/O a replay does by design, sent straight from
 * here: Get snapshot → executor POST → Put result (the result must be stored before the answer).
 * The distance between the two rows is what the Put costs; the distance from 1 in the second row
 * is the host's own overhead (HTTP edge, parsing, hashing, comparing).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { documentClientOptions } from '../functions/adapters/dynamodb/client.js';
import { LOCAL_AWS } from '../functions/local/dynalite.js';
import { startLocalHost } from '../functions/local/host.js';
import { BenchClient } from './http-client.js';
import { startStubExecutor } from './stub-executor.js';
import { paired, printFigures } from './report.js';

const ROUNDS = 300;
const WARMUP = 30;

const OUTPUTS = [
  { name: 'decision', value: 'approve', type: 'string' },
  { name: 'score', value: 0.82, type: 'number' },
  { name: 'rationale', value: 'Income is well above the threshold.', type: 'string' },
];

export default async function (): Promise<void> {
  const stub = await startStubExecutor(0, { outputs: OUTPUTS });
  const stubUrl = stub.url;

  const host = await startLocalHost({ port: 0, dynamoPort: 0, tableName: 'bench-replay', logger: { error: (m, ...e) => console.error(m, ...e), info: () => undefined } });
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: host.dynamoEndpoint });
  const doc = DynamoDBDocumentClient.from(client, documentClientOptions);
  const http = new BenchClient(host.url);
  try {
    // Calls into the host go through node:http with keep-alive, like the SDK's direct calls.
    const json = (method: string, path: string, body: unknown): Promise<unknown> => http.json(method, path, body);
    await json('PUT', '/functions/approve_loan/executor', { type: 'http', url: stubUrl });
    const snapshot = (await json('POST', '/snapshots', {
      functionName: 'approve_loan',
      inputs: [{ name: 'applicant', value: { income: 52000, age: 41, debt: 20000 }, type: 'object' }],
      outputs: OUTPUTS,
      modelParameters: { modelName: 'credit-llm', modelVersion: '2026-10', temperature: 0 },
      context: { tenant: 'acme', promptVersion: 'v3' },
      executionTimeMs: 120.5,
    })) as { snapshotId: string; functionName: string; inputs: unknown; modelParameters: unknown; context: unknown };
    const replayPath = `/snapshots/${snapshot.snapshotId}/replay`;

    let lastResult: Record<string, unknown> = {};
    const viaHost = async () => {
      const result = (await json('POST', replayPath, { mode: 'Tolerant' })) as { status: string };
      if (result.status !== 'Success') throw new Error(`replay ended ${JSON.stringify(result)}`);
      lastResult = result;
    };
    // B: one consistent Get of the snapshot, then the executor call with the request the host sends.
    const direct = async () => {
      const got = await doc.send(new GetCommand({ TableName: host.tableName, Key: { pk: `SNAP#${snapshot.snapshotId}`, sk: 'SNAP' }, ConsistentRead: true }));
      if (!got.Item) throw new Error('snapshot not found');
      const res = await fetch(stubUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ functionName: got.Item.functionName, inputs: got.Item.inputs, modelParameters: got.Item.modelParameters, context: got.Item.context }),
      });
      await res.json();
    };

    let n = 0;
    // C: B, then a Put of the result, as a replay must store it before answering.
    const sameIo = async () => {
      await direct();
      // A result item of the same size and shape as the host writes, under its own key.
      n += 1;
      await doc.send(
        new PutCommand({
          TableName: host.tableName,
          Item: { ...lastResult, pk: `SNAP#${snapshot.snapshotId}`, sk: `BENCH#${String(n).padStart(6, '0')}`, itemType: 'replay' },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    };

    const r = await paired(viaHost, direct, ROUNDS, WARMUP);
    const io = await paired(viaHost, sameIo, ROUNDS, WARMUP);
    printFigures('replay: one replay through the local host vs one snapshot read + the executor call', [
      { figure: `POST /snapshots/{id}/replay (Tolerant) ÷ GetCommand + executor POST (median of ${ROUNDS} paired ratios)`, ours: r.a, baseline: r.b, unit: 'ms', ratio: r.ratio, target: '<= 2' },
      { figure: 'same replay ÷ its own I/O sent directly (Get snapshot, executor POST, Put result); informational', ours: io.a, baseline: io.b, unit: 'ms', ratio: io.ratio },
    ]);
  } finally {
    client.destroy();
    http.close();
    await host.close();
    await stub.close();
  }
}
