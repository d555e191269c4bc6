/**
 * The triggers over HTTP on the one-machine host (DESIGN §7-§8): every snapshot write reaches the
 * stream consumer by itself (no further call), which stores on-write reports and publishes
 * PolicyViolation events; a poison record ends in the failure sink after bounded retries while its
 * batch goes on; redelivery duplicates nothing; and the local cron starts a scheduled batch.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue as StreamAttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocumentClient } from '../../functions/adapters/dynamodb/document-client.js';
import { DynamoPolicyStore } from '../../functions/adapters/dynamodb/policy-store.js';
import { DynamoSnapshotStore } from '../../functions/adapters/dynamodb/snapshot-store.js';
import { DynamoValidationReportStore } from '../../functions/adapters/dynamodb/validation-report-store.js';
import { keys } from '../../functions/adapters/dynamodb/keys.js';
import { onWriteReportId } from '../../functions/adapters/ids.js';
import { makeStreamHandler } from '../../functions/api/stream-consumer.js';
import type { Batch } from '../../functions/core/batch.js';
import type { OnWriteDeps } from '../../functions/core/on-write.js';
import type { ReplayResult } from '../../functions/core/replay.js';
import { LexicalSimilarity } from '../../functions/core/similarity.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import type { ValidationReport } from '../../functions/core/validation.js';
import { decideCredit, type Applicant } from '../../functions/local/demo-model.js';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import type { LocalEvent } from '../../functions/local/event-sink.js';
import type { StreamFailure } from '../../functions/local/stream.js';
import { startLocalHost, type LocalHost } from '../../functions/local/host.js';
import type { ScheduleStatus } from '../../functions/local/scheduler.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { eventually, requestJson, type Reply } from '../support/http.js';

interface Page<T> {
  items: T[];
  nextCursor?: string;
}

function call<T = unknown>(base: string, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  return requestJson<T>(base, method, path, body);
}

function snapshotBody(functionName: string, income: number, score: number, decision = 'approve') {
  return {
    functionName,
    inputs: [{ name: 'applicant', value: { income, age: 41 } }],
    outputs: [
      { name: 'decision', value: decision },
      { name: 'score', value: score },
    ],
    modelParameters: { modelName: 'credit-llm' },
  };
}

/** An absolute floor and a relative same-decision rule. */
const FLOOR_GUARD = {
  rules: [
    { name: 'floor', field: 'outputs.score', comparator: 'WithinRange', min: 0.6, max: 1 },
    { name: 'same-decision', field: 'outputs.decision', comparator: 'ExactMatch' },
  ],
};
/** Relative only: at most a 10 % score drop from the same-inputs baseline. */
const DRIFT_GUARD = { rules: [{ name: 'drop', field: 'outputs.score', comparator: 'MaxDecreasePercent', threshold: 10 }] };

/** A stream handler like the host's: the same code over the host's table and event sink, on a client of its own. */
function consumerDeps(t: TestHost, client: DynamoDBClient): OnWriteDeps {
  const doc = new DocumentClient(client);
  return {
    snapshots: new DynamoSnapshotStore(doc, t.host.tableName),
    policies: new DynamoPolicyStore(doc, t.host.tableName),
    reports: new DynamoValidationReportStore(doc, t.host.tableName),
    similarity: new LexicalSimilarity(),
    events: t.host.events,
    reportId: onWriteReportId,
    now: () => new Date().toISOString(),
  };
}

const POISON_SCORE = 0.31;
const snapshotIdOf = (r: DynamoDBRecord) => String(r.dynamodb?.NewImage?.snapshotId?.S);

describe('validation on every write (local host)', () => {
  let t: TestHost;
  let client: DynamoDBClient;
  const api = <T = unknown>(method: string, path: string, body?: unknown) => call<T>(t.url, method, path, body);

  async function record(functionName: string, income: number, score: number): Promise<Snapshot> {
    const res = await api<Snapshot>('POST', '/snapshots', snapshotBody(functionName, income, score));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  }

  async function onWriteReports(id: string): Promise<ValidationReport[]> {
    const res = await api<Page<ValidationReport>>('GET', `/snapshots/${id}/validations`);
    expect(res.status).toBe(200);
    return res.body.items.filter((r) => r.trigger === 'on-write');
  }

  /** Waits for `count` on-write reports of a snapshot, over HTTP only. */
  const reportsOf = (id: string, count: number) => eventually(`${count} on-write reports of ${id}`, async () => ((await onWriteReports(id)).length >= count ? onWriteReports(id) : undefined));

  async function violationEvents(id: string): Promise<LocalEvent[]> {
    const res = await api<Page<LocalEvent>>('GET', '/_local/events');
    expect(res.status).toBe(200);
    return res.body.items.filter((e) => e.detail.snapshotId === id);
  }

  const byPolicy = (reports: ValidationReport[]) => Object.fromEntries(reports.map((r) => [r.policy.name, r]));

  beforeAll(async () => {
    t = await startTestHost();
    client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint });
    for (const [name, body] of [
      ['floor-guard', { ...FLOOR_GUARD, functionNames: ['approve_loan'] }],
      ['drift-guard', { ...DRIFT_GUARD, functionNames: ['approve_loan'] }],
      ['not-attached', { rules: [{ name: 'impossible', field: 'outputs.score', comparator: 'WithinRange', min: 0.99, max: 1 }] }],
    ] as const) {
      const res = await api('PUT', `/policies/${name}`, body);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
  });
  afterAll(async () => {
    client.destroy();
    await t.close();
  });

  describe('a snapshot that breaks an attached policy', () => {
    let first: Snapshot;
    let second: Snapshot;

    it('gets an on-write report per attached policy and one PolicyViolation event, with no further call', async () => {
      // Arrange + Act: only the write.
      first = await record('approve_loan', 52000, 0.5);

      // Assert: poll what a user would read.
      const reports = byPolicy(await reportsOf(first.snapshotId, 2));
      expect(Object.keys(reports).sort()).toEqual(['drift-guard', 'floor-guard']);
      expect(reports['floor-guard']).toMatchObject({ snapshotId: first.snapshotId, trigger: 'on-write', status: 'violated', baselineId: null, policy: { name: 'floor-guard', version: 1 } });
      // Dated when the consumer wrote it (sealed in the window it lands in), not back-dated to the snapshot's time.
      expect((reports['floor-guard']?.createdAt ?? '') >= first.createdAt).toBe(true);
      expect(reports['floor-guard']?.rules.map((r) => [r.ruleName, r.status])).toEqual([
        ['floor', 'violated'],
        ['same-decision', 'skipped'],
      ]);
      expect(reports['drift-guard']).toMatchObject({ status: 'passed', violations: [], rules: [{ ruleName: 'drop', status: 'skipped', reason: 'no baseline' }] });
      // The report as clients read it has exactly the documented fields.
      expect(Object.keys(reports['floor-guard'] ?? {}).sort()).toEqual(['baselineId', 'contentHash', 'createdAt', 'functionName', 'integrity', 'policy', 'policyIntegrity', 'reportId', 'rules', 'snapshotId', 'status', 'trigger', 'violations']);
      // It pins the sealed policy version it was judged under.
      expect(reports['floor-guard']?.policy).toEqual({ name: 'floor-guard', version: 1, contentHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(reports['floor-guard']?.policyIntegrity).toBe('verified');

      const events = await eventually('the PolicyViolation event', async () => ((await violationEvents(first.snapshotId)).length > 0 ? violationEvents(first.snapshotId) : undefined));
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        source: 'decision-replay',
        'detail-type': 'PolicyViolation',
        detail: { snapshotId: first.snapshotId, functionName: 'approve_loan', policy: { name: 'floor-guard', version: 1 }, reportId: reports['floor-guard']?.reportId, baselineId: null, snapshotCreatedAt: first.createdAt, violations: [expect.objectContaining({ ruleName: 'floor', field: 'outputs.score' })] },
      });
    });

    it('takes the first as baseline for a second snapshot with the same inputs, so the relative rules are evaluated', async () => {
      // 0.5 → 0.4 is a 20 % drop; the decision is unchanged.
      second = await record('approve_loan', 52000, 0.4);

      const reports = byPolicy(await reportsOf(second.snapshotId, 2));
      expect(reports['floor-guard']?.baselineId).toBe(first.snapshotId);
      expect(reports['drift-guard']?.baselineId).toBe(first.snapshotId);
      expect(reports['floor-guard']?.rules.map((r) => [r.ruleName, r.status])).toEqual([
        ['floor', 'violated'],
        ['same-decision', 'passed'],
      ]);
      expect(reports['drift-guard']).toMatchObject({ status: 'violated', rules: [{ ruleName: 'drop', status: 'violated' }] });
      expect(reports['drift-guard']?.rules[0]?.score).toBeCloseTo(-20, 6);

      const events = await eventually('two PolicyViolation events', async () => ((await violationEvents(second.snapshotId)).length >= 2 ? violationEvents(second.snapshotId) : undefined));
      expect(events.map((e) => e.detail.policy.name).sort()).toEqual(['drift-guard', 'floor-guard']);
      expect(events.every((e) => e.detail.baselineId === first.snapshotId)).toBe(true);
    });

    it('stores nothing twice and publishes nothing twice when the stream handler gets the same record again', async () => {
      // Arrange: the record as the stream carries it (the item, as DynamoDB holds it), after the host processed it.
      await t.host.stream.drain();
      const item = (await client.send(new GetItemCommand({ TableName: t.host.tableName, Key: { pk: { S: keys.snapshot(second.snapshotId).pk }, sk: { S: 'SNAP' } } }))).Item;
      expect(item).toBeDefined();
      const event: DynamoDBStreamEvent = {
        Records: [
          {
            eventID: 'redelivered-1',
            eventName: 'INSERT',
            eventSource: 'aws:dynamodb',
            dynamodb: { Keys: { pk: item?.pk as StreamAttributeValue, sk: item?.sk as StreamAttributeValue }, NewImage: item as Record<string, StreamAttributeValue>, SequenceNumber: '900000000000000000001', StreamViewType: 'NEW_IMAGE' },
          },
        ],
      };
      const reportsBefore = await onWriteReports(second.snapshotId);
      const eventsBefore = await violationEvents(second.snapshotId);
      const handler = makeStreamHandler(consumerDeps(t, client));

      // Act
      const responses = [await handler(event), await handler(event)];

      // Assert
      expect(responses).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
      expect(await onWriteReports(second.snapshotId)).toEqual(reportsBefore);
      expect(await violationEvents(second.snapshotId)).toEqual(eventsBefore);
      expect(eventsBefore).toHaveLength(2);
    });
  });

  it('stores no report for a snapshot of a function no policy is attached to', async () => {
    const lone = await record('score_claim', 52000, 0.1);

    // The host hands every write to the stream; once it is drained, this record has been processed.
    await t.host.stream.drain();

    expect(await onWriteReports(lone.snapshotId)).toEqual([]);
    expect(await violationEvents(lone.snapshotId)).toEqual([]);
    expect((await api<Page<StreamFailure>>('GET', '/_local/stream-failures')).body.items).toEqual([]);
  });

  it('validates the next write under a policy attached by a PUT right after a write that found none (the attached-policies cache is cleared)', async () => {
    const before = await record('score_fraud', 52000, 0.1);
    await t.host.stream.drain();
    expect(await onWriteReports(before.snapshotId)).toEqual([]);

    expect((await api('PUT', '/policies/fraud-floor', { ...FLOOR_GUARD, functionNames: ['score_fraud'] })).status).toBe(200);
    const after = await record('score_fraud', 52000, 0.1);
    await t.host.stream.drain();

    expect((await onWriteReports(after.snapshotId)).map((r) => [r.policy.name, r.status])).toEqual([['fraud-floor', 'violated']]);

    // And detaching applies at once too.
    expect((await api('PUT', '/policies/fraud-floor', { ...FLOOR_GUARD, functionNames: ['other_fn'] })).status).toBe(200);
    const detached = await record('score_fraud', 52000, 0.1);
    await t.host.stream.drain();
    expect(await onWriteReports(detached.snapshotId)).toEqual([]);
  });
});

describe('a stream record that keeps failing (local host)', () => {
  let t: TestHost;
  let client: DynamoDBClient;
  const api = <T = unknown>(method: string, path: string, body?: unknown) => call<T>(t.url, method, path, body);
  /** The snapshot ids of each event the stream delivered, in order. */
  const deliveries: string[][] = [];

  beforeAll(async () => {
    t = await startTestHost();
    client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint });
    expect((await api('PUT', '/policies/floor-guard', { ...FLOOR_GUARD, functionNames: ['flaky_fn'] })).status).toBe(200);
    // The host's consumer, except that looking up the baseline of the poison snapshot (score 0.31)
    // fails every time (say, a throttled index): the real batch processor decides what is reported.
    const deps = consumerDeps(t, client);
    const snapshots = deps.snapshots;
    const handler = makeStreamHandler({
      ...deps,
      snapshots: {
        assertStorable: (s) => snapshots.assertStorable(s),
        putIfAbsent: (s) => snapshots.putIfAbsent(s),
        get: (id) => snapshots.get(id),
        getMany: (ids) => snapshots.getMany(ids),
        list: (q) => snapshots.list(q),
        claimIdempotencyKey: (r) => snapshots.claimIdempotencyKey(r),
        releaseIdempotencyKey: (r) => snapshots.releaseIdempotencyKey(r),
        findPreviousWithSameInputs: (s) =>
          s.outputs.some((o) => o.name === 'score' && o.value === POISON_SCORE) ? Promise.reject(new Error('ProvisionedThroughputExceededException: rate of requests exceeds the allowed throughput')) : snapshots.findPreviousWithSameInputs(s),
      },
    });
    t.host.stream.setHandler((event) => {
      deliveries.push(event.Records.map(snapshotIdOf));
      return handler(event);
    });
  });
  afterAll(async () => {
    client.destroy();
    await t.close();
  });

  it('goes to GET /_local/stream-failures after the bounded retries, while the other records are processed once', async () => {
    // Arrange
    const bodies = [snapshotBody('flaky_fn', 1000, 0.9), snapshotBody('flaky_fn', 2000, POISON_SCORE), snapshotBody('flaky_fn', 3000, 0.5)];
    const posted: Snapshot[] = [];

    // Act: three writes at once, so they travel in one batch; the middle one is the poison.
    const replies = await Promise.all(bodies.map((b) => api<Snapshot>('POST', '/snapshots', b)));
    for (const r of replies) {
      expect(r.status).toBe(201);
      posted.push(r.body);
    }
    const [good, poison, violating] = posted as [Snapshot, Snapshot, Snapshot];

    // Assert: the failure sink, polled over HTTP.
    const failures = await eventually('the poison record in the failure sink', async () => {
      const res = await api<Page<StreamFailure>>('GET', '/_local/stream-failures');
      return res.body.items.length > 0 ? res.body.items : undefined;
    });
    await t.host.stream.drain();
    expect(failures).toHaveLength(1);
    // The last retry may carry the poison record alone, and a batch whose every record fails is
    // thrown (FullBatchFailureError) rather than reported: either way it is this record's failure.
    expect(failures[0]).toMatchObject({ attempts: 4, reason: expect.stringMatching(/reported in batchItemFailures|FullBatchFailureError/), record: { eventName: 'INSERT', dynamodb: { NewImage: { snapshotId: { S: poison.snapshotId } } } } });
    // The first attempt plus maxRetries (3) retries, and no more.
    expect(deliveries.filter((d) => d.includes(poison.snapshotId))).toHaveLength(4);

    // The others were validated, each once, and the violating one published once despite riding along on the retries.
    const good1 = (await api<Page<ValidationReport>>('GET', `/snapshots/${good.snapshotId}/validations`)).body.items;
    const bad1 = (await api<Page<ValidationReport>>('GET', `/snapshots/${violating.snapshotId}/validations`)).body.items;
    expect(good1.map((r) => [r.trigger, r.status])).toEqual([['on-write', 'passed']]);
    expect(bad1.map((r) => [r.trigger, r.status])).toEqual([['on-write', 'violated']]);
    expect((await api<Page<ValidationReport>>('GET', `/snapshots/${poison.snapshotId}/validations`)).body.items).toEqual([]);
    const events = (await api<Page<LocalEvent>>('GET', '/_local/events')).body.items;
    expect(events.map((e) => e.detail.snapshotId)).toEqual([violating.snapshotId]);
    // Every record of the poison's first batch other than the poison was processed.
    const firstBatch = deliveries.find((d) => d.includes(poison.snapshotId)) ?? [];
    for (const id of firstBatch.filter((id) => id !== poison.snapshotId)) {
      expect((await api<Page<ValidationReport>>('GET', `/snapshots/${id}/validations`)).body.items).toHaveLength(1);
    }
  });
});

describe('an on-write that fails a record (local host, the host\'s own consumer)', () => {
  let t: TestHost;
  let client: DynamoDBClient;
  const logged: Array<[string, unknown[]]> = [];
  const api = <T = unknown>(method: string, path: string, body?: unknown) => call<T>(t.url, method, path, body);

  beforeAll(async () => {
    t = await startTestHost({ logger: { info: () => undefined, error: (message: string, ...extra: unknown[]) => logged.push([message, extra]) } });
    client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint });
  });
  afterAll(async () => {
    client.destroy();
    await t.close();
  });

  it('sinks the record with the code and message of what failed (MALFORMED_STREAM_RECORD), and logs the code, not the class name', async () => {
    // Arrange: a snapshot item without its outputs, inserted by a client the host's stream taps, as
    // it taps its own (an item of an older version, or written behind the service). (A report too
    // large to store no longer fails: it is stored without its rule results. A record that cannot
    // be a snapshot is what still fails on every delivery.)
    const id = '01M8XZZZZZZZZZZZZZZZZZZZZ1';
    const { pk, sk } = keys.snapshot(id);
    t.host.stream.attach(client);

    // Act
    await client.send(
      new PutItemCommand({
        TableName: t.host.tableName,
        Item: { pk: { S: pk }, sk: { S: sk }, itemType: { S: 'snapshot' }, snapshotId: { S: id }, functionName: { S: 'bloated_fn' }, createdAt: { S: new Date().toISOString() } },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    const failures = await eventually('the record in the failure sink', async () => {
      const res = await api<Page<StreamFailure>>('GET', '/_local/stream-failures');
      return res.body.items.length > 0 ? res.body.items : undefined;
    });

    // Assert
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ code: 'MALFORMED_STREAM_RECORD', reason: expect.stringMatching(/^MALFORMED_STREAM_RECORD: record .*: not a snapshot/) });
    expect(failures[0]?.record.dynamodb?.NewImage?.snapshotId?.S).toBe(id);
    const recordLines = logged.filter(([message]) => message === 'stream record failed');
    expect(recordLines).toHaveLength(failures[0]?.attempts ?? -1);
    expect(recordLines[0]?.[1][0]).toMatchObject({ error: { code: 'MALFORMED_STREAM_RECORD', message: expect.stringMatching(/not a snapshot/) } });
    expect(JSON.stringify(logged)).not.toMatch(/MalformedStreamRecordError|FullBatchFailureError/);
  });
});

describe('scheduled regression replays (local host, controlled clock)', () => {
  let t: TestHost;
  let offsetMs = 0;
  const api = <T = unknown>(method: string, path: string, body?: unknown) => call<T>(t.url, method, path, body);
  const APPLICANTS: Applicant[] = [
    { income: 52000, age: 41 },
    { income: 52000, age: 41, debt: 20000 },
  ];

  beforeAll(async () => {
    t = await startTestHost({
      clock: { now: () => Date.now() + offsetMs },
      schedules: [{ name: 'nightly', schedule: 'rate(1 minute)', selector: { functionName: 'sched_fn', lastHours: 24 }, mode: 'Tolerant' }],
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('fires the configured schedule when its time comes and runs a batch with trigger "schedule" over the last 24 h of the function', async () => {
    // Arrange: v1 decisions, replayed against the v2 demo model.
    expect((await api('PUT', '/functions/sched_fn/executor', { type: 'http', url: `${t.url}/demo/credit/v2` })).status).toBe(200);
    const recorded: Snapshot[] = [];
    for (const applicant of APPLICANTS) {
      const v1 = decideCredit('v1', applicant);
      const res = await api<Snapshot>('POST', '/snapshots', {
        functionName: 'sched_fn',
        inputs: [{ name: 'applicant', value: applicant }],
        outputs: [
          { name: 'decision', value: v1.decision },
          { name: 'score', value: v1.score },
          { name: 'rationale', value: v1.rationale },
        ],
        modelParameters: { modelName: 'demo-credit', modelVersion: 'v1' },
      });
      expect(res.status).toBe(201);
      recorded.push(res.body);
    }
    const schedules = await api<Page<{ name: string; nextFireAt: string }>>('GET', '/_local/schedules');
    expect(schedules.body.items).toEqual([expect.objectContaining({ name: 'nightly', schedule: 'rate(1 minute)', nextFireAt: expect.any(String), lastBatchId: null })]);
    const firesAt = Date.parse(schedules.body.items[0]?.nextFireAt ?? '');

    // Not yet due: nothing fires.
    expect(t.host.scheduler.tick()).toBe(0);

    // Act: the clock passes the first fire time.
    offsetMs = firesAt - Date.now() + 1_000;
    expect(t.host.scheduler.tick()).toBe(1);

    // Assert: the batch shows up in each snapshot's replay history, then completes.
    const replayed = await eventually('a batch replay in the history', async () => {
      const items = (await api<Page<ReplayResult>>('GET', `/snapshots/${recorded[0]?.snapshotId ?? ''}/replays`)).body.items;
      return items.find((r) => r.batchId !== undefined);
    });
    const batchId = replayed.batchId ?? '';
    const batch = await eventually(
      'the scheduled batch to succeed',
      async () => {
        const res = await api<Batch>('GET', `/batches/${batchId}`);
        return res.status === 200 && res.body.status !== 'RUNNING' ? res.body : undefined;
      },
      20_000,
    );
    expect(batch).toMatchObject({ batchId, status: 'SUCCEEDED', trigger: 'schedule', scheduleName: 'nightly', total: 2, completed: 2, request: { selector: { functionName: 'sched_fn', lastHours: 24 }, mode: 'Tolerant' } });
    expect(batch.stats).toMatchObject({ totalReplays: 2, matches: 1, mismatches: 1 });
    const second = (await api<Page<ReplayResult>>('GET', `/snapshots/${recorded[1]?.snapshotId ?? ''}/replays`)).body.items;
    expect(second.map((r) => r.batchId)).toEqual([batchId]);

    // The next fire time moved on, the schedule names its run's batch, and ticking again now starts nothing new.
    const after = await api<Page<{ name: string; nextFireAt: string; lastBatchId: string | null }>>('GET', '/_local/schedules');
    expect(Date.parse(after.body.items[0]?.nextFireAt ?? '')).toBe(firesAt + 60_000);
    expect(after.body.items[0]?.lastBatchId).toBe(batchId);
    // The schedule's runs, and only them, by its name; a name no schedule can have is a 400.
    expect((await api('POST', '/batches', { selector: { functionName: 'sched_fn', lastHours: 24 } })).status).toBe(202);
    expect((await api<Page<Batch>>('GET', '/batches?scheduleName=nightly')).body.items.map((b) => b.batchId)).toEqual([batchId]);
    expect((await api<Page<Batch>>('GET', '/batches?scheduleName=weekly')).body.items).toEqual([]);
    expect((await api<Page<Batch>>('GET', '/batches?functionName=sched_fn')).body.items).toHaveLength(2);
    const bad = await api<{ error: { code: string; message: string } }>('GET', '/batches?scheduleName=no%20such');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("scheduleName must be a schedule's name");
    expect(t.host.scheduler.tick()).toBe(0);
  });
});

describe('scheduled replays across restarts of the local host (DATA_DIR)', () => {
  // Probe D15: a rate schedule restarted its period at every start, so a host restarted more often
  // than the rate never ran it, silently.
  const HOUR = 3_600_000;
  const T0 = Date.parse('2026-12-02T04:00:00.000Z');
  let offsetMs = 0;
  let dir: string;
  let host: LocalHost | undefined;
  const logged: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sched-restart-'));
  });
  afterAll(async () => {
    await host?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function restartAt(ms: number): Promise<LocalHost> {
    await host?.close();
    offsetMs = ms - Date.now();
    host = await startLocalHost({
      port: 0,
      dynamoPort: 0,
      tableName: 'sched-restart',
      dataDir: dir,
      clock: { now: () => Date.now() + offsetMs },
      schedules: [{ name: 'hourly', schedule: 'rate(1 hour)', selector: { functionName: 'restart_fn', lastHours: 24 } }],
      logger: { info: (m: string) => logged.push(m), error: () => undefined },
    });
    return host;
  }

  const schedule = async (h: LocalHost) => (await call<Page<ScheduleStatus & { name: string }>>(h.url, 'GET', '/_local/schedules')).body.items[0];
  const scheduledBatches = async (h: LocalHost) => (await call<Page<Batch>>(h.url, 'GET', '/batches?functionName=restart_fn')).body.items.filter((b) => b.trigger === 'schedule');

  it('keeps a rate schedule\'s period across a restart and fires a run that came due while the host was down once, at start', async () => {
    // First start: one period after it, as a new EventBridge rule. (The host's clock runs on from
    // each start, so the phase S is read back, not assumed.)
    let h = await restartAt(T0);
    const first = await schedule(h);
    expect(first).toMatchObject({ name: 'hourly', lastFireAt: null });
    expect(first?.missedWhileDown).toBeUndefined();
    const S = Date.parse(first?.nextFireAt ?? '') - HOUR;
    expect(S - T0).toBeGreaterThanOrEqual(0);
    expect(S - T0).toBeLessThan(60_000);
    const iso = (ms: number) => new Date(ms).toISOString();

    // Restarted half an hour later: still due at S + 1 h (not at the restart + 1 h).
    h = await restartAt(T0 + HOUR / 2);
    expect(await schedule(h)).toMatchObject({ nextFireAt: iso(S + HOUR), lastFireAt: null });
    expect(await scheduledBatches(h)).toEqual([]);

    // Down over three scheduled times: one run fires at start, said in the log and in /_local/schedules.
    h = await restartAt(T0 + 3 * HOUR + 10 * 60_000);
    const batches = await eventually('the missed run to start a scheduled batch', async () => {
      const found = await scheduledBatches(h);
      return found.length > 0 ? found : undefined;
    });
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ scheduleName: 'hourly' });
    expect(await schedule(h)).toMatchObject({
      nextFireAt: iso(S + 4 * HOUR),
      lastFireAt: iso(S + 3 * HOUR),
      missedWhileDown: { count: 3, firstDueAt: iso(S + HOUR), lastDueAt: iso(S + 3 * HOUR) },
    });
    expect(logged).toContain(`schedule hourly (rate(1 hour)): 3 runs (due ${iso(S + HOUR)} to ${iso(S + 3 * HOUR)}) came due while the host was down (last run never); firing one now`);
    expect(JSON.parse(readFileSync(join(dir, 'schedules.json'), 'utf8'))).toEqual({ hourly: { since: iso(S), lastFireAt: iso(S + 3 * HOUR) } });
    await eventually('the scheduled batch to end', async () => ((await scheduledBatches(h))[0]?.status === 'RUNNING' ? undefined : true), 20_000);

    // Restarted again at once: that run is not owed again.
    h = await restartAt(T0 + 3 * HOUR + 11 * 60_000);
    expect(await schedule(h)).toMatchObject({ nextFireAt: iso(S + 4 * HOUR), lastFireAt: iso(S + 3 * HOUR) });
    expect((await schedule(h))?.missedWhileDown).toBeUndefined();
    expect(await scheduledBatches(h)).toHaveLength(1);
  });
});
