/**
 * Batches at scale (issue 14), measured in one run on the local host:
 *
 * 1. Planning a 200,000-snapshot selection: `planBatch` in a process of its own (the batch-plan
 *    Lambda's work: paging through the function's index, streaming the ids into the CSV manifest in
 *    S3), against the host's dynalite and local S3. Figures: that process's peak RSS (target
 *    ≤ 300 MB) and ids planned per second, index paging and manifest upload included (target
 *    ≥ 50,000/s). Baselines, each in a process of its own like Plan, alternating with it: the index
 *    Plan reads (keys-only GSI1K) paged bare the way a user would
 *    (QueryCommand, the key only, 10,000 a page, nothing written), so the figure shows what writing
 *    the manifest adds; and the index Plan read before this change (GSI1, ALL), paged bare.
 * 2. Zero-latency throughput of a 20,000-snapshot batch: replays/s through `POST /batches`
 *    (ItemReader over the manifest, ItemBatcher chunks, maxConcurrency 40) ÷ the bare per-item work
 *    per second at the same concurrency — GetCommand of the snapshot, a POST to the same
 *    zero-latency executor stub, PutCommand of a result-sized item — sent straight to the host's
 *    DynamoDB endpoint (target ≥ 0.5). A and B alternate; medians and the median paired ratio.
 *
 * The 1,000 × 200 ms / maxConcurrency 40 figure is `npm run bench batch`.
 * N and rounds can be lowered for a quick look: BENCH_SCALE_PLAN_N, BENCH_SCALE_BATCH_N, BENCH_SCALE_ROUNDS.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { documentClientOptions } from '../functions/adapters/dynamodb/client.js';
import { DynamoSnapshotStore } from '../functions/adapters/dynamodb/snapshot-store.js';
import { ulidGenerator } from '../functions/adapters/ids.js';
import type { Batch, BatchResult } from '../functions/core/batch.js';
import { buildSnapshot, type Snapshot } from '../functions/core/snapshot.js';
import { LOCAL_AWS } from '../functions/local/dynalite.js';
import { startLocalHost, type LocalHost } from '../functions/local/host.js';
import { median, printFigures } from './report.js';
import { startStubExecutor } from './stub-executor.js';

const PLAN_N = Number(process.env.BENCH_SCALE_PLAN_N ?? 200_000);
const BATCH_N = Number(process.env.BENCH_SCALE_BATCH_N ?? 20_000);
const ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? 3);
const PLAN_ROUNDS = Number(process.env.BENCH_SCALE_PLAN_ROUNDS ?? 3);
const CONCURRENCY = 40;
const POLL_MS = 200;

const OUTPUTS = [
  { name: 'decision', value: 'approve', type: 'string' },
  { name: 'score', value: 0.82, type: 'number' },
  { name: 'rationale', value: 'Income is well above the threshold.', type: 'string' },
];

function snapshot(functionName: string, i: number, id: string, createdAt: string): Snapshot {
  return buildSnapshot(
    {
      functionName,
      inputs: [{ name: 'applicant', value: { income: 40_000 + i, age: 41, debt: 20000 }, type: 'object' }],
      outputs: OUTPUTS,
      modelParameters: { modelName: 'credit-llm', modelVersion: '2026-10', temperature: 0 },
      context: { tenant: 'acme', promptVersion: 'v3' },
      executionTimeMs: 120.5,
    },
    id,
    createdAt,
  );
}

/** Writes `n` snapshots of `functionName` (8 BatchWrites of 25 in flight); returns their ids. */
async function seed(doc: DynamoDBDocumentClient, tableName: string, functionName: string, n: number): Promise<string[]> {
  const ids = ulidGenerator();
  const all: string[] = [];
  const base = Date.now() - n;
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (;;) {
        const start = next;
        if (start >= n) return;
        next += 25;
        const chunk = Array.from({ length: Math.min(25, n - start) }, (_, k) => {
          const s = snapshot(functionName, start + k, ids.next(), new Date(base + start + k).toISOString());
          all.push(s.snapshotId);
          return s;
        });
        let items: Record<string, unknown>[] | undefined = chunk.map((s) => ({ PutRequest: { Item: DynamoSnapshotStore.toItem(s) } }));
        while (items !== undefined && items.length > 0) {
          const res = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: items as never } }));
          items = res.UnprocessedItems?.[tableName] as Record<string, unknown>[] | undefined;
        }
      }
    }),
  );
  return all;
}

type PlanRun = { ms: number; total: number; rssBeforeKb: number; maxRssKb: number; sampledMaxKb: number };
type PagingRun = { ms: number; total: number };

function printPlanFigures(plan: PlanRun, bareMs: number, bareAllMs: number): void {
  const rate = (n: number, ms: number) => (n / ms) * 1000;
  printFigures(`Plan of a ${PLAN_N.toLocaleString('en')}-snapshot selection in its own process, on the local host`, [
    { figure: `peak RSS of the Plan process (VmHWM, highest of ${PLAN_ROUNDS})`, ours: plan.maxRssKb / 1024, unit: 'MB', target: '<= 300' },
    { figure: '  (its RSS before planning: imports, clients, the batch record)', ours: plan.rssBeforeKb / 1024, unit: 'MB' },
    { figure: '  (cross-check: highest RSS sampled every 5 ms while planning)', ours: plan.sampledMaxKb / 1024, unit: 'MB' },
    { figure: `ids paged from the index and written to the manifest per second (median of ${PLAN_ROUNDS})`, ours: rate(PLAN_N, plan.ms), unit: 'ids/s', target: '>= 50000' },
    { figure: '  Plan ids/s ÷ its index (keys-only GSI1K) paged bare: key only, 10,000 a page, nothing written', ours: rate(PLAN_N, plan.ms), baseline: rate(PLAN_N, bareMs), unit: 'ids/s', ratio: bareMs / plan.ms },
    { figure: '  Plan ids/s ÷ the index it read before (GSI1, ALL) paged bare: ids only, 1,000 a page', ours: rate(PLAN_N, plan.ms), baseline: rate(PLAN_N, bareAllMs), unit: 'ids/s', ratio: bareAllMs / plan.ms },
  ]);
}

/** Runs Plan in its own process (see scale-plan-child.ts) and returns what it printed. */
function planInChild(args: Record<string, unknown> & { mode: 'bare-keys' | 'bare-all' }): Promise<PagingRun>;
function planInChild(args: Record<string, unknown>): Promise<PlanRun>;
function planInChild(args: Record<string, unknown>): Promise<PlanRun | PagingRun> {
  const here = dirname(fileURLToPath(import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'scale-plan-child.ts'), JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`plan child exited ${code}: ${out}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as PlanRun | PagingRun);
    });
  });
}

export default async function (): Promise<void> {
  const fast = await startStubExecutor(0, { outputs: OUTPUTS });
  const host: LocalHost = await startLocalHost({ port: 0, dynamoPort: 0, tableName: 'bench-scale', logger: { error: (m, ...e) => console.error(m, ...e), info: () => undefined } });
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: host.dynamoEndpoint });
  const doc = DynamoDBDocumentClient.from(client, documentClientOptions);
  try {
    // 1. Plan a PLAN_N selection.
    const t = performance.now();
    await seed(doc, host.tableName, 'bench_plan', PLAN_N);
    console.log(`  seeded ${PLAN_N} snapshots in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const planArgs = () => ({ dynamoEndpoint: host.dynamoEndpoint, tableName: host.tableName, s3Endpoint: host.s3Endpoint, bucket: host.manifestBucket, batchId: ulidGenerator().next(), functionName: 'bench_plan', limit: PLAN_N });
    // Plan and its baselines, each in a process of its own, alternating (PLAN_ROUNDS rounds; medians).
    const plans: PlanRun[] = [];
    const bareKeys: number[] = [];
    const bareAll: number[] = [];
    for (let r = 0; r < PLAN_ROUNDS; r++) {
      const keysOnly = await planInChild({ ...planArgs(), mode: 'bare-keys' });
      const planned = await planInChild(planArgs());
      const all = await planInChild({ ...planArgs(), mode: 'bare-all' });
      for (const [what, run] of [['bare GSI1K paging', keysOnly], ['Plan', planned], ['bare GSI1 paging', all]] as const) {
        if (run.total !== PLAN_N) throw new Error(`${what} found ${run.total} of ${PLAN_N}`);
      }
      plans.push(planned);
      bareKeys.push(keysOnly.ms);
      bareAll.push(all.ms);
      console.log(`  plan round ${r + 1}: bare GSI1K ${(keysOnly.ms / 1000).toFixed(2)} s, Plan ${(planned.ms / 1000).toFixed(2)} s (peak RSS ${Math.round(planned.maxRssKb / 1024)} MB), bare GSI1 ${(all.ms / 1000).toFixed(2)} s`);
    }
    const planMs = median(plans.map((p) => p.ms));
    const plan: PlanRun = { ...(plans.find((p) => p.ms === planMs) ?? (plans[0] as PlanRun)), ms: planMs, maxRssKb: Math.max(...plans.map((p) => p.maxRssKb)) };
    const bareMs = median(bareKeys);
    const bareAllMs = median(bareAll);
    if (BATCH_N === 0) {
      printPlanFigures(plan, bareMs, bareAllMs);
      return;
    }

    // 2. The zero-latency BATCH_N batch against the bare per-item work, alternating.
    const json = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${host.url}${path}`, { method, ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
      const parsed = (await res.json()) as T;
      if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(parsed)}`);
      return parsed;
    };
    await json('PUT', '/functions/bench_fast/executor', { type: 'http', url: fast.url });
    const fastIds = await seed(doc, host.tableName, 'bench_fast', BATCH_N);
    let lastBatch: Batch | undefined;
    const runBatch = async (snapshotIds: string[]): Promise<Batch> => {
      const started = await json<{ batchId: string }>('POST', '/batches', { snapshotIds, mode: 'Strict', maxConcurrency: CONCURRENCY });
      for (;;) {
        const batch = await json<Batch>('GET', `/batches/${started.batchId}`);
        if (batch.status === 'SUCCEEDED') {
          if (batch.stats?.successfulReplays !== snapshotIds.length) throw new Error(`batch: ${JSON.stringify(batch.stats)}`);
          lastBatch = batch;
          return batch;
        }
        if (batch.status !== 'RUNNING') throw new Error(`batch ${batch.status}: ${batch.failureReason ?? ''}`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    };
    const resultItem = (batchId: string, id: string): BatchResult => ({ batchId, snapshotId: id, replayId: id, status: 'Success', outputsMatch: true, executionTimeMs: 0.5, mismatchedPaths: [], violatedRules: [], integrity: 'verified', createdAt: new Date().toISOString() });
    let round = 0;
    const bare = async (ids: readonly string[]) => {
      round += 1;
      const batchId = `BARE${round}`;
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < ids.length) {
            const id = ids[next++] as string;
            const got = await doc.send(new GetCommand({ TableName: host.tableName, Key: { pk: `SNAP#${id}`, sk: 'SNAP' }, ConsistentRead: true }));
            const item = got.Item;
            if (!item) throw new Error('snapshot not found');
            const res = await fetch(fast.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ functionName: item.functionName, inputs: item.inputs, modelParameters: item.modelParameters, context: item.context }) });
            await res.json();
            await doc.send(new PutCommand({ TableName: host.tableName, Item: { pk: `BENCH#${batchId}`, sk: `RESULT#${id}`, itemType: 'bench', ...resultItem(batchId, id) } }));
          }
        }),
      );
    };
    const time = async (f: () => Promise<unknown>) => {
      const s = performance.now();
      await f();
      return performance.now() - s;
    };
    // Warm-up (JIT, connection pools) on a slice, then A B alternating.
    const warm = fastIds.slice(0, Math.min(1000, BATCH_N));
    await runBatch(warm);
    await bare(warm);
    const ta: number[] = [];
    const tb: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      ta.push(await time(() => runBatch(fastIds)));
      tb.push(await time(() => bare(fastIds)));
      console.log(`  round ${i + 1}: batch ${(ta[i] as number / 1000).toFixed(1)} s, bare ${(tb[i] as number / 1000).toFixed(1)} s`);
    }
    const rate = (n: number, ms: number) => (n / ms) * 1000;

    // Item sizes behind the README's cost arithmetic (DynamoDB bills reads per 4 KB, writes per 1 KB):
    // a sample of each kind this batch wrote, sized as their JSON (close to DynamoDB's own measure).
    const size = (items: Record<string, unknown>[] | undefined) => median((items ?? []).map((i) => Buffer.byteLength(JSON.stringify(i))));
    const prefix = async (pk: string, sk: string) => (await doc.send(new QueryCommand({ TableName: host.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)', ExpressionAttributeValues: { ':pk': pk, ':sk': sk }, Limit: 200 }))).Items;
    const sampleIds = fastIds.slice(0, 50);
    const snapItems = await Promise.all(sampleIds.map(async (id) => (await doc.send(new GetCommand({ TableName: host.tableName, Key: { pk: `SNAP#${id}`, sk: 'SNAP' } }))).Item as Record<string, unknown>));
    const replayItems = (await Promise.all(sampleIds.map((id) => prefix(`SNAP#${id}`, 'REPLAY#')))).flatMap((x) => (x ?? []).slice(0, 1));
    const batchPk = `BATCH#${lastBatch?.batchId ?? ''}`;
    console.log(
      `  item sizes (median bytes): snapshot ${size(snapItems)}, batch result ${size(await prefix(batchPk, 'RESULT#'))}, replay history entry ${size(replayItems)}, chunk ${size(await prefix(batchPk, 'CHUNK#'))}, batch META ${size(await prefix(batchPk, 'META'))}; ${lastBatch?.itemsPerChunk ?? '?'} snapshots per chunk`,
    );

    printPlanFigures(plan, bareMs, bareAllMs);
    printFigures(`zero-latency batch on the local host (${ROUNDS} paired round${ROUNDS === 1 ? '' : 's'}, medians)`, [
      { figure: `zero-latency ${BATCH_N.toLocaleString('en')}-snapshot batch at maxConcurrency ${CONCURRENCY}: replays/s ÷ bare Get+POST+Put/s`, ours: rate(BATCH_N, median(ta)), baseline: rate(BATCH_N, median(tb)), unit: '/s', ratio: median(ta.map((a, i) => (tb[i] as number) / a)), target: '>= 0.5' },
    ]);
  } finally {
    client.destroy();
    await host.close();
    await fast.close();
  }
}
