/**
 * Record + read measured from outside (issue 9, Performance): the real local host (`npm start
 * --in-memory`, its own process) answering `POST /snapshots` + `GET /snapshots/{id}`, against a
 * raw DynamoDB wire-protocol PutItem + GetItem of the same stored item sent to the same dynalite
 * (the host's own DynamoDB endpoint): pre-serialised JSON bodies over HTTP, no SDK. Target ≤ 1.5.
 *
 * Both sides use the same node:http keep-alive client from this process, and both parse the read's
 * JSON answer. The raw item is the one the host stores for the same decision (keys, index keys,
 * attributes: `DynamoSnapshotStore.toItem`, marshalled as the host's DocumentClient does), with a
 * fresh id per operation, serialised before the clock starts. At concurrency 1 a round is one
 * record + read on each side; at concurrency 8 a round is 8 of them at once on each side. The
 * sides alternate which goes first, round after round; medians of each side and of the per-round
 * ratios are printed.
 *
 * The host's own DynamoDB client reaches dynalite without a socket by default (`direct`: the SDK's
 * serialised request handed to dynalite's request handler in the same process). So that nobody takes
 * that for the whole story, the run is made twice, once per transport (`DYNAMODB_TRANSPORT=direct`,
 * then `socket`: the SDK over dynalite's TCP port, keep-alive), and both are printed, each against
 * its own raw baseline. The real SDK (serialisation, middleware) runs in both.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import { documentClientOptions } from '../functions/adapters/dynamodb/client.js';
import { DynamoSnapshotStore } from '../functions/adapters/dynamodb/snapshot-store.js';
import { ulidGenerator } from '../functions/adapters/ids.js';
import { buildSnapshot, type RecordSnapshot } from '../functions/core/snapshot.js';
import { BenchClient } from './http-client.js';
import { startHostProcess } from './local-process.js';
import { median, printFigures } from './report.js';

const ROUNDS = Number(process.env.BENCH_WIRE_ROUNDS ?? 300);
const WARMUP = 30;

const decision: RecordSnapshot = {
  functionName: 'approve_loan',
  inputs: [{ name: 'applicant', value: { income: 52000, age: 41, debt: 12000 }, type: 'object' }],
  outputs: [
    { name: 'decision', value: 'approve', type: 'string' },
    { name: 'score', value: 0.82, type: 'number' },
    { name: 'rationale', value: 'Income is well above the threshold.', type: 'string' },
  ],
  modelParameters: { modelName: 'credit-llm', modelVersion: '2026-10', temperature: 0 },
  context: { tenant: 'acme' },
  executionTimeMs: 120.5,
};

/** dynalite wants these headers; it checks no signature (the host's own client sends the same). */
const wireHeaders = (target: string) => ({
  'content-type': 'application/x-amz-json-1.0',
  'x-amz-target': `DynamoDB_20120810.${target}`,
  'x-amz-date': '20260101T000000Z',
  authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=local',
});

export default async function hostWireBench(): Promise<void> {
  const figures = [];
  for (const transport of ['direct', 'socket'] as const) figures.push(...(await measure(transport)));
  printFigures('Record + read from outside: local host process vs raw DynamoDB wire protocol to its dynalite (medians, paired rounds)', figures);
}

async function measure(transport: 'direct' | 'socket') {
  const host = await startHostProcess({ tableName: 'bench-wire', env: { DYNAMODB_TRANSPORT: transport }, nodeOptions: (process.env.BENCH_WIRE_NODE_OPTIONS ?? '').split(' ').filter((s) => s !== '') });
  const api = new BenchClient(host.url, 8);
  const wire = new BenchClient(host.dynamoEndpoint, 8);
  const ids = ulidGenerator();
  const body = JSON.stringify(decision);
  /** The raw Put and Get bodies of one operation, serialised ahead of time. */
  const rawBodies = (n: number) =>
    Array.from({ length: n }, () => {
      const item = DynamoSnapshotStore.toItem(buildSnapshot(decision, ids.next(), new Date().toISOString()));
      const marshalled = marshall(item, documentClientOptions.marshallOptions);
      return {
        put: JSON.stringify({ TableName: host.tableName, Item: marshalled, ConditionExpression: 'attribute_not_exists(pk)' }),
        get: JSON.stringify({ TableName: host.tableName, Key: { pk: marshalled.pk, sk: marshalled.sk }, ConsistentRead: true }),
      };
    });
  try {
    const viaHost = async () => {
      const created = await api.request('POST', '/snapshots', body);
      if (created.status !== 201) throw new Error(`POST /snapshots answered ${created.status}: ${created.body}`);
      const { snapshotId } = JSON.parse(created.body) as { snapshotId: string };
      const got = await api.request('GET', `/snapshots/${snapshotId}`);
      if (got.status !== 200) throw new Error(`GET answered ${got.status}`);
      JSON.parse(got.body);
    };
    const viaWire = async (raw: { put: string; get: string }) => {
      const put = await wire.request('POST', '/', raw.put, wireHeaders('PutItem'));
      if (put.status !== 200) throw new Error(`PutItem answered ${put.status}: ${put.body}`);
      const got = await wire.request('POST', '/', raw.get, wireHeaders('GetItem'));
      if (got.status !== 200) throw new Error(`GetItem answered ${got.status}: ${got.body}`);
      if ((JSON.parse(got.body) as { Item?: unknown }).Item === undefined) throw new Error('GetItem found no item');
    };

    const figures = [];
    for (const concurrency of [1, 8]) {
      const rounds = concurrency === 1 ? ROUNDS : Math.ceil(ROUNDS / 3);
      const raws = rawBodies((rounds + WARMUP) * concurrency);
      let r = 0;
      const a = () => Promise.all(Array.from({ length: concurrency }, () => viaHost()));
      const b = () => Promise.all(Array.from({ length: concurrency }, () => viaWire(raws[r++] as { put: string; get: string })));
      const ta: number[] = [];
      const tb: number[] = [];
      const ratios: number[] = [];
      for (let i = 0; i < rounds + WARMUP; i++) {
        const time = async (f: () => Promise<unknown>) => {
          const t = performance.now();
          await f();
          return performance.now() - t;
        };
        let da: number;
        let db: number;
        if (i % 2 === 0) {
          da = await time(a);
          db = await time(b);
        } else {
          db = await time(b);
          da = await time(a);
        }
        if (i < WARMUP) continue;
        ta.push(da);
        tb.push(db);
        ratios.push(da / db);
      }
      figures.push({ figure: `${transport} transport, concurrency ${concurrency}: POST + GET via host ÷ raw PutItem + GetItem (${rounds} rounds)`, ours: median(ta), baseline: median(tb), unit: 'ms', ratio: median(ratios), target: '<= 1.5' });
    }
    return figures;
  } finally {
    api.close();
    wire.close();
    await host.stop();
  }
}
