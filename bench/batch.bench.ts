/**
 * Batch replays through the local host (DESIGN §10), both measured in one run:
 *
 * 1. A 200 ms executor: 1,000 snapshots at maxConcurrency 40 through `POST /batches` on the
 *    in-memory local host, wall time from the POST until `GET /batches/{id}` shows SUCCEEDED,
 *    over the ideal 1,000 × 200 ms ÷ 40 = 5 s (target ≤ 1.3); the median of 3 batches after a
 *    warm-up batch (a single one varied 1.31 – 1.50 from one batch to the next in one process).
 *    The executor is a node:http stub on 127.0.0.1 that answers after 200 ms; GET is polled every
 *    50 ms (1 % of the ideal).
 * 2. A zero-latency executor: replays/s through a batch of 1,000 at maxConcurrency 40 ÷ the bare
 *    per-item work per second at the same concurrency 40 — one GetCommand of the snapshot, one
 *    fetch POST of the executor request to the same stub, one PutCommand of a result-sized item,
 *    sent straight to the host's DynamoDB endpoint (target ≥ 0.5). A diagnostic third side C sends,
 *    the same way, the round trips a batch item makes by design (2 Gets, the executor POST and 2
 *    Puts; the executor config is read once per batch): A ÷ C is the cost of everything else
 *    (interpreter, replay logic, polling).
 *    A, B and C alternate, 3 rounds after a warm-up; medians.
 *
 * The host, the interpreter and this client share one event loop, as under `npm start`; dynalite
 * runs on its own thread as the host runs it, and the executor stub on another (a model is a
 * remote service, so its HTTP work is not charged to the host).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { documentClientOptions } from '../functions/adapters/dynamodb/client.js';
import { DynamoSnapshotStore } from '../functions/adapters/dynamodb/snapshot-store.js';
import { ulidGenerator } from '../functions/adapters/ids.js';
import type { Batch, BatchResult } from '../functions/core/batch.js';
import { buildSnapshot, type Snapshot } from '../functions/core/snapshot.js';
import { LOCAL_AWS } from '../functions/local/dynalite.js';
import { startLocalHost, type LocalHost } from '../functions/local/host.js';
import { median, printFigures } from './report.js';
import { startStubExecutor } from './stub-executor.js';

const N = 1000;
const CONCURRENCY = 40;
const SLOW_MS = 200;
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 50);
const ROUNDS = 3;

const OUTPUTS = [
  { name: 'decision', value: 'approve', type: 'string' },
  { name: 'score', value: 0.82, type: 'number' },
  { name: 'rationale', value: 'Income is well above the threshold.', type: 'string' },
];

/** Answers `{outputs}` after `delayMs` (0: at once). */
function snapshots(functionName: string, n: number): Snapshot[] {
  const ids = ulidGenerator();
  return Array.from({ length: n }, (_, i) =>
    buildSnapshot(
      {
        functionName,
        inputs: [{ name: 'applicant', value: { income: 40_000 + i, age: 41, debt: 20000 }, type: 'object' }],
        outputs: OUTPUTS,
        modelParameters: { modelName: 'credit-llm', modelVersion: '2026-10', temperature: 0 },
        context: { tenant: 'acme', promptVersion: 'v3' },
        executionTimeMs: 120.5,
      },
      ids.next(),
      new Date().toISOString(),
    ),
  );
}

export default async function (): Promise<void> {
  const slow = await startStubExecutor(SLOW_MS, { outputs: OUTPUTS });
  const fast = await startStubExecutor(0, { outputs: OUTPUTS });
  const host: LocalHost = await startLocalHost({ port: 0, dynamoPort: 0, tableName: 'bench-batch', logger: { error: (m, ...e) => console.error(m, ...e), info: () => undefined } });
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: host.dynamoEndpoint });
  const doc = DynamoDBDocumentClient.from(client, documentClientOptions);
  try {
    const json = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${host.url}${path}`, { method, ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
      const parsed = (await res.json()) as T;
      if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(parsed)}`);
      return parsed;
    };
    const seed = async (list: Snapshot[]) => {
      for (let i = 0; i < list.length; i += 25) {
        const chunk = list.slice(i, i + 25);
        await doc.send(new BatchWriteCommand({ RequestItems: { [host.tableName]: chunk.map((s) => ({ PutRequest: { Item: DynamoSnapshotStore.toItem(s) } })) } }));
      }
    };
    /** POST /batches, then poll GET until it ends; returns the wall time in ms. */
    const runBatch = async (snapshotIds: string[]): Promise<{ ms: number; batch: Batch }> => {
      const t = performance.now();
      const started = await json<{ batchId: string }>('POST', '/batches', { snapshotIds, mode: 'Strict', maxConcurrency: CONCURRENCY });
      for (;;) {
        const batch = await json<Batch>('GET', `/batches/${started.batchId}`);
        if (batch.status === 'SUCCEEDED') return { ms: performance.now() - t, batch };
        if (batch.status === 'FAILED') throw new Error(`batch failed: ${batch.failureReason ?? ''}`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    };

    // 1. The 200 ms executor.
    await json('PUT', '/functions/bench_slow/executor', { type: 'http', url: slow.url, timeoutMs: 10_000 });
    const slowSet = snapshots('bench_slow', N);
    await seed(slowSet);
    // Warm-up (JIT, connection pools) with a smaller batch, as the zero-latency side below has.
    await runBatch(slowSet.slice(0, CONCURRENCY * 2).map((s) => s.snapshotId));
    const ideal = (N * SLOW_MS) / CONCURRENCY;
    // ROUNDS whole batches of the same snapshots (each batch replays all of them anew); the median.
    const slowMs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const slowRun = await runBatch(slowSet.map((s) => s.snapshotId));
      if (slowRun.batch.stats?.successfulReplays !== N) throw new Error(`slow batch: ${JSON.stringify(slowRun.batch.stats)}`);
      slowMs.push(slowRun.ms);
    }

    // 2. The zero-latency executor: a whole batch against the bare per-item work, alternating.
    await json('PUT', '/functions/bench_fast/executor', { type: 'http', url: fast.url });
    const fastSet = snapshots('bench_fast', N);
    await seed(fastSet);
    const fastIds = fastSet.map((s) => s.snapshotId);
    let lastBatch: Batch | undefined;
    const viaBatch = async () => {
      const { batch } = await runBatch(fastIds);
      if (batch.stats?.successfulReplays !== N) throw new Error(`fast batch: ${JSON.stringify(batch.stats)}`);
      lastBatch = batch;
    };
    let round = 0;
    /** A `concurrency`-wide pool over the ids, `work` once per id. */
    const pool = async (work: (id: string) => Promise<void>) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < N) await work(fastIds[next++] as string);
        }),
      );
    };
    const getSnapshot = async (id: string) => {
      const got = await doc.send(new GetCommand({ TableName: host.tableName, Key: { pk: `SNAP#${id}`, sk: 'SNAP' }, ConsistentRead: true }));
      if (!got.Item) throw new Error('snapshot not found');
      return got.Item;
    };
    const callExecutor = async (item: Record<string, unknown>) => {
      const res = await fetch(fast.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ functionName: item.functionName, inputs: item.inputs, modelParameters: item.modelParameters, context: item.context }),
      });
      return (await res.json()) as { outputs: unknown };
    };
    const resultItem = (batchId: string, id: string): BatchResult => ({
      batchId,
      snapshotId: id,
      replayId: id,
      status: 'Success',
      outputsMatch: true,
      executionTimeMs: 0.5,
      mismatchedPaths: [],
      violatedRules: [],
      integrity: 'verified',
      createdAt: new Date().toISOString(),
    });
    // B: the bare per-item work (DESIGN §10): Get snapshot + executor POST + Put of a result item.
    const bare = async () => {
      round += 1;
      const batchId = `BARE${round}`;
      await pool(async (id) => {
        await callExecutor(await getSnapshot(id));
        await doc.send(new PutCommand({ TableName: host.tableName, Item: { pk: `BENCH#${batchId}`, sk: `RESULT#${id}`, itemType: 'bench', ...resultItem(batchId, id) } }));
      });
    };
    // C (diagnostic): the DynamoDB round trips a batch item makes by design, sent straight from
    // here: Get result (idempotency) + Get snapshot + POST + conditional Put of the result + Put of
    // the replay into the snapshot's history (the executor config is read once per batch).
    const byDesign = async () => {
      round += 1;
      const batchId = `DESIGN${round}`;
      await pool(async (id) => {
        await doc.send(new GetCommand({ TableName: host.tableName, Key: { pk: `BENCH#${batchId}`, sk: `RESULT#${id}` }, ConsistentRead: true }));
        const item = await getSnapshot(id);
        const answer = await callExecutor(item);
        await doc.send(new PutCommand({ TableName: host.tableName, Item: { pk: `BENCH#${batchId}`, sk: `RESULT#${id}`, ...resultItem(batchId, id) }, ConditionExpression: 'attribute_not_exists(pk)' }));
        await doc.send(new PutCommand({ TableName: host.tableName, Item: { pk: `BENCH#${id}`, sk: `REPLAY#${batchId}`, ...resultItem(batchId, id), replayOutputs: answer.outputs, original: item.outputs }, ConditionExpression: 'attribute_not_exists(pk)' }));
      });
    };
    const time = async (f: () => Promise<void>) => {
      const t = performance.now();
      await f();
      return performance.now() - t;
    };
    // Warm-up, then A B C alternating; medians of each and of the per-round ratios.
    await viaBatch();
    await bare();
    await byDesign();
    const ta: number[] = [];
    const tb: number[] = [];
    const tc: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      ta.push(await time(viaBatch));
      tb.push(await time(bare));
      tc.push(await time(byDesign));
    }
    const rate = (ms: number) => (N / ms) * 1000;
    const batchRate = rate(median(ta));
    const bareRate = rate(median(tb));
    const designRate = rate(median(tc));
    const vsBare = median(ta.map((a, i) => (tb[i] as number) / a));
    const vsDesign = median(ta.map((a, i) => (tc[i] as number) / a));

    printFigures(`batch replays on the local host: ${N} snapshots at maxConcurrency ${CONCURRENCY}`, [
      { figure: `${SLOW_MS} ms executor: POST → SUCCEEDED wall ÷ ideal ${N}×${SLOW_MS}÷${CONCURRENCY}`, ours: median(slowMs), baseline: ideal, unit: 'ms', ratio: median(slowMs) / ideal, target: '<= 1.3' },
      { figure: 'zero-latency executor: batch replays/s ÷ bare Get+POST+Put/s', ours: batchRate, baseline: bareRate, unit: '/s', ratio: vsBare, target: '>= 0.5' },
      { figure: '  diagnostic: batch replays/s ÷ its 4 DynamoDB round trips + POST sent bare', ours: batchRate, baseline: designRate, unit: '/s', ratio: vsDesign },
    ]);
    console.log(`  ${SLOW_MS} ms batches, in turn: ${slowMs.map((ms) => (ms / ideal).toFixed(2)).join(', ')} × ideal`);
    if (lastBatch) console.log(`  last zero-latency batch: p50 executor ${lastBatch.stats?.p50ExecutionTimeMs.toFixed(2)} ms, ${lastBatch.stats?.matches} matches`);
  } finally {
    client.destroy();
    await host.close();
    await slow.close();
    await fast.close();
  }
}
