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
 * Each concurrency is measured twice in the same processes: cold, in the rounds right after start
 * (a user's first requests), and warm, after every side has made {@link WARM_OPS} more operations
 * (a host that has been running for a while). The target is read on the warm figures: a server's
 * steady state, with the raw calls warmed as much. The cold ones are printed beside them.
 *
 * The host's own DynamoDB client reaches dynalite without a socket by default (`direct`: the SDK's
 * serialised request handed to dynalite's request handler in the same process). So that nobody takes
 * that for the whole story, the run is made twice, once per transport (`DYNAMODB_TRANSPORT=direct`,
 * then `socket`: the SDK over dynalite's TCP port, keep-alive), and both are printed, each against
 * its own raw baseline. The real SDK (serialisation, middleware) runs in both.
 *
 * Where the floor is: a second process (./sdk-floor-server.ts, started with `npm start`'s flags,
 * dynalite in a worker, the host's own client and transport) answers the same two requests with
 * nothing but node:http and the SDK's PutItem + GetItem of a pre-built item (`floor`), and with
 * nothing but node:http and the same pre-serialised wire bodies handed to dynalite without the SDK
 * (`hop`). Each is timed against raw calls to its own dynalite, in the same rounds as the host (the
 * five sides rotate their order). hop ÷ raw is what one more HTTP server costs, floor ÷ raw what any
 * host that stores through the SDK costs at the least, and host ÷ floor what this host's own work
 * (validation, hashing, idempotency, the stream, metrics) adds to that.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import { documentClientOptions } from '../functions/adapters/dynamodb/client.js';
import { DynamoSnapshotStore } from '../functions/adapters/dynamodb/snapshot-store.js';
import { ulidGenerator } from '../functions/adapters/ids.js';
import { buildSnapshot } from '../functions/core/snapshot.js';
import { BenchClient } from './http-client.js';
import { startHostProcess } from './local-process.js';
import { benchDecision, startFloorProcess, wireHeaders } from './sdk-floor.js';
import { median, printFigures } from './report.js';

const ROUNDS = Number(process.env.BENCH_WIRE_ROUNDS ?? 300);
/** Rounds run and discarded before the cold figures: connections open, first calls compiled. */
const WARMUP = 30;
/**
 * Operations (record + read, per side) run and discarded between the cold figures and the warm
 * ones. Measured on this machine (2026-12-02, quiet): per-300-round medians at concurrency 1 kept
 * falling until ~1,200 operations per side (the floor server 4.0 → 2.3 ms, its hop 3.0 → 1.8 ms; the
 * raw calls to dynalite too), as V8 optimised the SDK's, dynalite's and the host's code; then flat.
 */
const WARM_OPS = Number(process.env.BENCH_WIRE_WARM_OPS ?? 2400);

export default async function hostWireBench(): Promise<void> {
  const figures = [];
  for (const transport of ['direct', 'socket'] as const) figures.push(...(await measure(transport)));
  printFigures('Record + read from outside: local host process vs raw DynamoDB wire protocol to its dynalite (medians, paired rounds)', figures);
}

/** Rounds of each phase at `concurrency`: warm-up, cold, warming, warm. */
function phases(concurrency: number) {
  const rounds = concurrency === 1 ? ROUNDS : Math.ceil(ROUNDS / 3);
  return { rounds, warming: Math.ceil(WARM_OPS / concurrency) };
}

/** Record + read operations each side makes at `concurrency`, all phases. */
function opsPerSide(concurrency: number): number {
  const { rounds, warming } = phases(concurrency);
  return (WARMUP + rounds + warming + rounds) * concurrency;
}

async function measure(transport: 'direct' | 'socket') {
  const host = await startHostProcess({ tableName: 'bench-wire', env: { DYNAMODB_TRANSPORT: transport }, nodeOptions: (process.env.BENCH_WIRE_NODE_OPTIONS ?? '').split(' ').filter((s) => s !== '') });
  const floor = await startFloorProcess({ transport, pool: [1, 8].reduce((n, c) => n + opsPerSide(c), 100) });
  const api = new BenchClient(host.url, 8);
  const wire = new BenchClient(host.dynamoEndpoint, 8);
  const floorApi = new BenchClient(floor.url, 8);
  const floorWire = new BenchClient(floor.dynamoEndpoint, 8);
  const ids = ulidGenerator();
  const body = JSON.stringify(benchDecision);
  /** The raw Put and Get bodies of one operation for `table`, serialised ahead of time. */
  const rawBodies = (n: number, table: string) =>
    Array.from({ length: n }, () => {
      const item = DynamoSnapshotStore.toItem(buildSnapshot(benchDecision, ids.next(), new Date().toISOString()));
      const marshalled = marshall(item, documentClientOptions.marshallOptions);
      return {
        put: JSON.stringify({ TableName: table, Item: marshalled, ConditionExpression: 'attribute_not_exists(pk)' }),
        get: JSON.stringify({ TableName: table, Key: { pk: marshalled.pk, sk: marshalled.sk }, ConsistentRead: true }),
      };
    });
  try {
    const viaApi = (client: BenchClient, prefix = '') => async () => {
      const created = await client.request('POST', `${prefix}/snapshots`, body);
      if (created.status !== 201) throw new Error(`POST /snapshots answered ${created.status}: ${created.body}`);
      const { snapshotId } = JSON.parse(created.body) as { snapshotId: string };
      const got = await client.request('GET', `${prefix}/snapshots/${snapshotId}`);
      if (got.status !== 200) throw new Error(`GET answered ${got.status}`);
      JSON.parse(got.body);
    };
    const viaWire = (client: BenchClient) => async (raw: { put: string; get: string }) => {
      const put = await client.request('POST', '/', raw.put, wireHeaders('PutItem'));
      if (put.status !== 200) throw new Error(`PutItem answered ${put.status}: ${put.body}`);
      const got = await client.request('POST', '/', raw.get, wireHeaders('GetItem'));
      if (got.status !== 200) throw new Error(`GetItem answered ${got.status}: ${got.body}`);
      if ((JSON.parse(got.body) as { Item?: unknown }).Item === undefined) throw new Error('GetItem found no item');
    };

    const figures = [];
    for (const concurrency of [1, 8]) {
      const { rounds, warming } = phases(concurrency);
      const hostRaws = rawBodies(opsPerSide(concurrency), host.tableName);
      const floorRaws = rawBodies(opsPerSide(concurrency), floor.tableName);
      let r = 0;
      let f = 0;
      const all = (op: () => Promise<void>) => () => Promise.all(Array.from({ length: concurrency }, op));
      const sides = {
        host: all(viaApi(api)),
        raw: all(() => viaWire(wire)(hostRaws[r++] as { put: string; get: string })),
        floor: all(viaApi(floorApi)),
        hop: all(viaApi(floorApi, '/wire')),
        floorRaw: all(() => viaWire(floorWire)(floorRaws[f++] as { put: string; get: string })),
      };
      type Side = keyof typeof sides;
      // Each pair alternates which goes first, and the pairs alternate which goes first.
      const orders: Side[][] = [
        ['host', 'raw', 'floor', 'hop', 'floorRaw'],
        ['floorRaw', 'hop', 'floor', 'raw', 'host'],
        ['floor', 'hop', 'floorRaw', 'host', 'raw'],
        ['raw', 'host', 'floorRaw', 'hop', 'floor'],
      ];
      /** `n` rounds of every side; their times, or nothing when `keep` is false. */
      const run = async (n: number, keep: boolean) => {
        const t: Record<Side, number[]> = { host: [], raw: [], floor: [], hop: [], floorRaw: [] };
        for (let i = 0; i < n; i++) {
          for (const side of orders[i % orders.length] as Side[]) {
            const start = performance.now();
            await sides[side]();
            if (keep) t[side].push(performance.now() - start);
          }
        }
        return t;
      };
      await run(WARMUP, false);
      // Cold: the first rounds after start, as a user's first requests. Warm: after the code on
      // every side has been optimised, as a host that has been running for a while (the target).
      const cold = await run(rounds, true);
      await run(warming, false);
      const warm = await run(rounds, true);
      const ratio = (t: Record<Side, number[]>, a: Side, b: Side) => median(t[a].map((x, i) => x / (t[b][i] as number)));
      const label = `${transport} transport, concurrency ${concurrency}`;
      const ops = (WARMUP + rounds + warming) * concurrency;
      figures.push(
        { figure: `${label}: POST + GET via host ÷ raw PutItem + GetItem (${rounds} rounds, warm: after ${ops} operations a side)`, ours: median(warm.host), baseline: median(warm.raw), unit: 'ms', ratio: ratio(warm, 'host', 'raw'), target: '<= 1.5' },
        { figure: `${label}: floor — POST + GET via a bare node:http + SDK server ÷ raw to its dynalite`, ours: median(warm.floor), baseline: median(warm.floorRaw), unit: 'ms', ratio: ratio(warm, 'floor', 'floorRaw') },
        { figure: `${label}: hop — the same server without the SDK (pre-serialised bodies, same transport) ÷ raw`, ours: median(warm.hop), baseline: median(warm.floorRaw), unit: 'ms', ratio: ratio(warm, 'hop', 'floorRaw') },
        { figure: `${label}: host ÷ floor`, ours: median(warm.host), baseline: median(warm.floor), unit: 'ms', ratio: ratio(warm, 'host', 'floor') },
        { figure: `${label}, cold (the ${rounds} rounds after the first ${WARMUP * concurrency} operations): host ÷ raw`, ours: median(cold.host), baseline: median(cold.raw), unit: 'ms', ratio: ratio(cold, 'host', 'raw') },
        { figure: `${label}, cold: floor ÷ raw`, ours: median(cold.floor), baseline: median(cold.floorRaw), unit: 'ms', ratio: ratio(cold, 'floor', 'floorRaw') },
      );
    }
    return figures;
  } finally {
    api.close();
    wire.close();
    floorApi.close();
    floorWire.close();
    await host.stop();
    await floor.stop();
  }
}
