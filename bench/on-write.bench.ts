/**
 * Validation on write (DESIGN §7), measured side by side in one run. No target is set for it:
 * the figures say what the stream path costs over the bare evaluation and where that time goes.
 *
 * 1,000 snapshots of one function (250 applicants × 4 decisions, so 750 have a same-inputs
 * baseline), three policies attached to it (six rules: absolute, relative, lexical similarity).
 *
 * - A: the real stream handler (`makeStreamHandler`: Powertools batch processor → unmarshall →
 *   schema parse → `handleSnapshotWritten`) over the DynamoDB stores on dynalite in memory, fed
 *   the 1,000 records as DynamoDB stream events in batches of 100 (built with `marshall` from the
 *   items the snapshot store wrote). Events go to the local in-memory sink. Each round gets its own
 *   report ids, so every round stores every report anew (first delivery, not redelivery).
 * - B: `evaluatePolicy` of the same three policies on the same snapshots and baselines, in-process.
 * - C (where the time goes): A's handler over in-memory ports, separating DynamoDB I/O (A − C) from
 *   the batch processor, unmarshalling, schema parsing and report building (C − B).
 *
 * Everything (dynalite, the SDK client, the handler) shares one Node process on this machine.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue as StreamAttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { DYNAMODB_CLIENT_SETTINGS } from '../functions/adapters/dynamodb/client.js';
import { DocumentClient } from '../functions/adapters/dynamodb/document-client.js';
import { DynamoPolicyStore } from '../functions/adapters/dynamodb/policy-store.js';
import { DynamoSnapshotStore } from '../functions/adapters/dynamodb/snapshot-store.js';
import { DynamoValidationReportStore } from '../functions/adapters/dynamodb/validation-report-store.js';
import { deterministicUlid } from '../functions/adapters/ids.js';
import { makeStreamHandler } from '../functions/api/stream-consumer.js';
import type { OnWriteDeps, OnWriteReportStore } from '../functions/core/on-write.js';
import { evaluatePolicy, type PolicyBody, type PolicyStore, type StoredPolicy } from '../functions/core/policy.js';
import type { SnapshotStore } from '../functions/core/ports.js';
import { LexicalSimilarity } from '../functions/core/similarity.js';
import { buildSnapshot, type Snapshot } from '../functions/core/snapshot.js';
import type { ValidationReport } from '../functions/core/validation.js';
import { LOCAL_AWS, startLocalDynamo } from '../functions/local/dynalite.js';
import { LocalEventSink } from '../functions/local/event-sink.js';
import { median, paired, printFigures } from './report.js';
import { seededRandom } from '../functions/core/significance.js';

const N = 1000;
const APPLICANTS = 250;
const BATCH = 100;
const FN = 'approve_loan';

const POLICIES: (PolicyBody & { name: string })[] = [
  {
    name: 'bounds',
    functionNames: [FN],
    rules: [
      { name: 'score-range', field: 'outputs.score', comparator: 'WithinRange', min: 0.3, max: 1 },
      { name: 'known-decision', field: 'outputs.decision', comparator: 'Regex', pattern: '^(approve|review|decline)$' },
    ],
  },
  {
    name: 'drift',
    functionNames: [FN],
    rules: [
      { name: 'same-decision', field: 'outputs.decision', comparator: 'ExactMatch' },
      { name: 'score-drop', field: 'outputs.score', comparator: 'MaxDecreasePercent', threshold: 15 },
    ],
  },
  {
    name: 'rationale',
    functionNames: [FN],
    rules: [
      { name: 'similar-rationale', field: 'outputs.rationale', comparator: 'SemanticSimilarity', threshold: 0.5 },
      { name: 'mentions-income', field: 'outputs.rationale', comparator: 'Contains', value: 'income' },
    ],
  },
];

const WORDS = 'the applicant income exceeds threshold risk score model approve decline review manual credit history stable employment region segment offer limit rate term collateral'.split(' ');

/** 1,000 decisions, oldest first: applicant i decides at rounds 0..3, so rounds 1..3 have a baseline. */
function makeSnapshots(): Snapshot[] {
  const r = seededRandom(42);
  const out: Snapshot[] = [];
  const t0 = Date.parse('2026-11-01T00:00:00.000Z');
  for (let i = 0; i < N; i++) {
    const applicant = i % APPLICANTS;
    const score = Math.round((0.25 + r() * 0.75) * 1000) / 1000;
    const decision = score > 0.7 ? 'approve' : score > 0.45 ? 'review' : 'decline';
    const words = Array.from({ length: 24 }, () => WORDS[Math.floor(r() * WORDS.length)] as string).join(' ');
    const createdAt = new Date(t0 + i * 1000).toISOString();
    out.push(
      buildSnapshot(
        {
          functionName: FN,
          inputs: [
            { name: 'applicant', value: { id: `app-${applicant}`, income: 30000 + applicant * 100, age: 20 + (applicant % 50) }, type: 'object' },
            { name: 'amount', value: 5000 + (applicant % 20) * 1000, type: 'number' },
          ],
          outputs: [
            { name: 'decision', value: decision, type: 'string' },
            { name: 'score', value: score, type: 'number' },
            { name: 'rationale', value: `Decision ${decision}: ${words}.`, type: 'string' },
          ],
          modelParameters: { modelName: 'credit-llm', modelVersion: 'v3', temperature: 0 },
          context: { tenant: 'acme', region: 'eu-west-1' },
          executionTimeMs: 120 + Math.floor(r() * 300),
        },
        deterministicUlid(Date.parse(createdAt), `bench-snapshot-${i}`),
        createdAt,
      ),
    );
  }
  return out;
}

/** The stream record DynamoDB would deliver for the item the snapshot store wrote. */
function streamRecord(snapshot: Snapshot, seq: number): DynamoDBRecord {
  const image = marshall(DynamoSnapshotStore.toItem(snapshot), { removeUndefinedValues: true, convertClassInstanceToMap: false }) as Record<string, StreamAttributeValue>;
  return {
    eventID: `bench-${seq}`,
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'local',
    eventSourceARN: 'arn:aws:dynamodb:local:000000000000:table/bench/stream/local',
    dynamodb: { Keys: { pk: image.pk as StreamAttributeValue, sk: image.sk as StreamAttributeValue }, NewImage: image, SequenceNumber: String(seq).padStart(21, '0'), StreamViewType: 'NEW_IMAGE' },
  };
}

/** In-memory ports for C: the same answers the DynamoDB stores give, without I/O. */
function memoryPorts(policies: StoredPolicy[], baselines: Map<string, Snapshot | undefined>): Pick<OnWriteDeps, 'snapshots' | 'policies' | 'reports'> {
  const reports = new Map<string, ValidationReport & { eventPublishedAt?: string }>();
  const key = (r: ValidationReport) => `${r.snapshotId}#${r.createdAt}#${r.reportId}`;
  const snapshots: Pick<SnapshotStore, 'findPreviousWithSameInputs'> = { findPreviousWithSameInputs: (s) => Promise.resolve(baselines.get(s.snapshotId)) };
  const policyStore: Pick<PolicyStore, 'listAttachedTo'> = { listAttachedTo: (fn) => Promise.resolve(fn === FN ? policies : []) };
  const reportStore: OnWriteReportStore = {
    putIfAbsent: (r) => {
      if (reports.has(key(r))) return Promise.resolve(false);
      reports.set(key(r), r);
      return Promise.resolve(true);
    },
    listForSnapshot: () => Promise.resolve({ items: [] }),
    isEventPublished: (r) => Promise.resolve(reports.get(key(r))?.eventPublishedAt !== undefined),
    markEventPublished: (r, at) => {
      const item = reports.get(key(r));
      if (item) item.eventPublishedAt ??= at;
      return Promise.resolve();
    },
  };
  return { snapshots: snapshots as SnapshotStore, policies: policyStore as PolicyStore, reports: reportStore };
}

export default async function (): Promise<void> {
  const dynamo = await startLocalDynamo({ port: 0, tableName: 'bench-on-write' });
  const client = new DynamoDBClient({ ...LOCAL_AWS, ...DYNAMODB_CLIENT_SETTINGS, endpoint: dynamo.endpoint });
  // Counts the requests A sends, by command, to say where its time goes.
  const requests = new Map<string, { count: number; ms: number }>();
  let counting = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const start = performance.now();
      try {
        return await next(args);
      } finally {
        if (counting) {
          const index = (args.input as { IndexName?: string }).IndexName;
          const name = `${context.commandName ?? '?'}${index === undefined ? '' : ` on ${index}`}`;
          const entry = requests.get(name) ?? { count: 0, ms: 0 };
          entry.count += 1;
          entry.ms += performance.now() - start;
          requests.set(name, entry);
        }
      }
    },
    { step: 'initialize', name: 'benchRequestCounter' },
  );
  const doc = new DocumentClient(client);
  try {
    const snapshotStore = new DynamoSnapshotStore(doc, dynamo.tableName);
    const policyStore = new DynamoPolicyStore(doc, dynamo.tableName);
    const stored: StoredPolicy[] = [];
    for (const body of POLICIES) stored.push(await policyStore.putNextVersion(body, '2026-10-01T00:00:00.000Z'));

    const snapshots = makeSnapshots();
    for (let i = 0; i < snapshots.length; i += 50) await Promise.all(snapshots.slice(i, i + 50).map((s) => snapshotStore.putIfAbsent(s)));
    const events: DynamoDBStreamEvent[] = [];
    for (let i = 0; i < snapshots.length; i += BATCH) events.push({ Records: snapshots.slice(i, i + BATCH).map((s, j) => streamRecord(s, i + j + 1)) });

    // Baselines as the index finds them: the latest earlier snapshot with the same inputs.
    const baselines = new Map<string, Snapshot | undefined>();
    const latestByInputs = new Map<string, Snapshot>();
    for (const s of snapshots) {
      baselines.set(s.snapshotId, latestByInputs.get(s.inputsHash));
      latestByInputs.set(s.inputsHash, s);
    }

    const similarity = new LexicalSimilarity();
    let round = 0;
    let eventsPublished = 0;
    const sink = new LocalEventSink(undefined, () => undefined);
    const common = {
      similarity,
      events: { publishPolicyViolation: (e: Parameters<LocalEventSink['publishPolicyViolation']>[0]) => ((eventsPublished += 1), sink.publishPolicyViolation(e)) },
      // Ids that differ by round: every round stores every report (a first delivery each time).
      reportId: (s: Snapshot, p: StoredPolicy) => deterministicUlid(Date.parse(s.createdAt), `bench-round-${round}:on-write:${s.snapshotId}:${p.name}:${p.version}`),
      now: () => new Date().toISOString(),
    };
    const viaDynamo = makeStreamHandler({ ...common, snapshots: snapshotStore, policies: policyStore, reports: new DynamoValidationReportStore(doc, dynamo.tableName) });

    let failures = 0;
    const deliver = async (handler: (e: DynamoDBStreamEvent) => Promise<{ batchItemFailures: unknown[] }>) => {
      round += 1;
      for (const e of events) failures += (await handler(e)).batchItemFailures.length;
    };
    let violated = 0;
    const inProcess = async () => {
      violated = 0;
      for (const s of snapshots) {
        const baseline = baselines.get(s.snapshotId);
        for (const p of stored) if ((await evaluatePolicy(p, s, baseline, similarity)).status === 'violated') violated += 1;
      }
    };

    // A vs B.
    counting = true;
    const ab = await paired(() => deliver(viaDynamo), inProcess, 3, 1);
    counting = false;
    const aRounds = round;
    const eventsPerARound = eventsPublished / aRounds;
    if (failures > 0) throw new Error(`the stream handler reported ${failures} failed records`);

    // C vs B: the same handler over in-memory ports.
    const viaMemory = () => makeStreamHandler({ ...common, ...memoryPorts(stored, baselines) });
    const cb = await paired(() => deliver(viaMemory()), inProcess, 3, 1);

    // The cost of one bare request to dynalite at the same parallelism: report-sized PutItems, 100 at a time.
    const sample = { ...(await evaluatePolicy(stored[1] as StoredPolicy, snapshots[N - 1] as Snapshot, baselines.get((snapshots[N - 1] as Snapshot).snapshotId), similarity)), policy: { name: 'drift', version: 1 } };
    const bare = async () => {
      for (let i = 0; i < N; i += BATCH) {
        await Promise.all(Array.from({ length: BATCH }, (_, j) => doc.put({ TableName: dynamo.tableName, Item: { pk: `BENCH#${round}`, sk: `R#${i + j}`, ...sample } })));
      }
      round += 1;
    };
    await bare();
    const bareTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await bare();
      bareTimes.push(performance.now() - t);
    }
    const bareMsPerRequest = median(bareTimes) / N;

    const rate = (ms: number) => (N * 1000) / ms;
    printFigures(`validation on write: ${N} snapshots, ${stored.length} policies (${stored.reduce((n, p) => n + p.rules.length, 0)} rules) attached, stream batches of ${BATCH}`, [
      { figure: 'A: stream handler over DynamoDB (dynalite) ÷ B: evaluatePolicy in-process', ours: rate(ab.a), baseline: rate(ab.b), unit: 'records/s', ratio: 1 / ab.ratio },
      { figure: 'C: stream handler over in-memory ports ÷ B', ours: rate(cb.a), baseline: rate(cb.b), unit: 'records/s', ratio: 1 / cb.ratio },
      { figure: 'A: ms per record', ours: ab.a / N, unit: 'ms' },
      { figure: 'B: ms per record (3 policies)', ours: ab.b / N, unit: 'ms' },
      { figure: 'C: ms per record', ours: cb.a / N, unit: 'ms' },
    ]);

    // Where A's time goes.
    const perRecord = [...requests].map(([name, v]) => `${name} ${(v.count / (aRounds * N)).toFixed(2)}/record (mean ${(v.ms / v.count).toFixed(2)} ms)`).join(', ');
    const total = [...requests.values()].reduce((n, v) => n + v.count, 0) / (aRounds * N);
    console.log(`A sends ${total.toFixed(2)} DynamoDB requests per record: ${perRecord}`);
    console.log(`  records in a batch run in parallel (Powertools default), so request latencies overlap; by subtraction per record:`);
    console.log(`  DynamoDB I/O (A − C) ≈ ${((ab.a - cb.a) / N).toFixed(3)} ms, batch processor + unmarshall + schema parse + report building (C − B) ≈ ${((cb.a - ab.b) / N).toFixed(3)} ms, evaluation (B) ≈ ${(ab.b / N).toFixed(3)} ms`);
    const withBaseline = [...baselines.values()].filter((b) => b !== undefined).length;
    console.log(`  a bare report-sized PutItem to dynalite, 100 in parallel, costs ${bareMsPerRequest.toFixed(2)} ms of wall time; × ${total.toFixed(2)} requests ≈ ${(bareMsPerRequest * total).toFixed(1)} ms per record (A measured ${(ab.a / N).toFixed(1)} ms)`);
    console.log(`  per round: ${withBaseline} of ${N} snapshots have a baseline; ${violated} of ${N * stored.length} (snapshot, policy) reports violated, so as many events; A published ${eventsPerARound} per round`);
  } finally {
    client.destroy();
    await dynamo.close();
  }
}
