/**
 * The DynamoDB stream consumer: real-shaped stream records (items marshalled as the table holds
 * them), run through the Powertools batch processor. Skips are not failures; a malformed image or a
 * throwing record is reported by its SequenceNumber while the rest of the batch goes through.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue as StreamAttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { DynamoSnapshotStore } from '../../functions/adapters/dynamodb/snapshot-store.js';
import { onWriteReportId } from '../../functions/adapters/ids.js';
import { makeStreamHandler, MalformedStreamRecordError, processRecord } from '../../functions/api/stream-consumer.js';
import type { PolicyViolationEvent } from '../../functions/core/events.js';
import type { OnWriteDeps } from '../../functions/core/on-write.js';
import { buildStoredPolicy, type PolicyStore, type StoredPolicy } from '../../functions/core/policy.js';
import type { SnapshotStore } from '../../functions/core/ports.js';
import { LexicalSimilarity } from '../../functions/core/similarity.js';
import { buildSnapshot, type Snapshot } from '../../functions/core/snapshot.js';
import type { ValidationReport } from '../../functions/core/validation.js';

const FN = 'approve_loan';
const FLOOR: StoredPolicy = buildStoredPolicy({ name: 'score-floor', functionNames: [FN], rules: [{ name: 'floor', field: 'outputs.score', comparator: 'WithinRange', min: 0.6, max: 1 }] }, 1, '2026-10-01T00:00:00.000Z');

function snapshot(n: number, score: number): Snapshot {
  return buildSnapshot(
    {
      functionName: FN,
      inputs: [{ name: 'applicant', value: { income: 50000 + n, age: 41 } }],
      outputs: [
        { name: 'decision', value: 'approve' },
        { name: 'score', value: score },
      ],
      modelParameters: { modelName: 'credit-llm', temperature: 0 },
    },
    `01JBZ00000000000000000000${n}`,
    `2026-11-01T09:00:0${n}.000Z`,
  );
}

/** A stream record as DynamoDB delivers it: the table item, marshalled, under NEW_IMAGE. */
function streamRecord(item: Record<string, unknown>, seq: number, eventName: 'INSERT' | 'MODIFY' | 'REMOVE' = 'INSERT'): DynamoDBRecord {
  const image = marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: false }) as Record<string, StreamAttributeValue>;
  const sequenceNumber = String(seq).padStart(21, '0');
  return {
    eventID: `event-${seq}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    eventSourceARN: 'arn:aws:dynamodb:eu-west-1:123456789012:table/decision-replay/stream/2026-11-01T00:00:00.000',
    dynamodb: {
      ApproximateCreationDateTime: 1_793_000_000,
      Keys: { pk: image.pk as StreamAttributeValue, sk: image.sk as StreamAttributeValue },
      NewImage: image,
      SequenceNumber: sequenceNumber,
      SizeBytes: JSON.stringify(image).length,
      StreamViewType: 'NEW_IMAGE',
    },
  };
}

const seqOf = (r: DynamoDBRecord) => r.dynamodb?.SequenceNumber ?? '';

/** Fakes for the ports: snapshots have no baseline, one policy is attached, reports and events are recorded. */
function fakeDeps(options: { throwFor?: string } = {}) {
  const reports: ValidationReport[] = [];
  const published = new Set<string>();
  const events: PolicyViolationEvent[] = [];
  const snapshots: Pick<SnapshotStore, 'findPreviousWithSameInputs'> = { findPreviousWithSameInputs: () => Promise.resolve(undefined) };
  const policies: Pick<PolicyStore, 'listAttachedTo'> = { listAttachedTo: (fn) => Promise.resolve(fn === FN ? [FLOOR] : []) };
  const deps: OnWriteDeps = {
    snapshots: snapshots as SnapshotStore,
    policies: policies as PolicyStore,
    reports: {
      putIfAbsent: (report) => {
        if (report.snapshotId === options.throwFor) return Promise.reject(new Error('ProvisionedThroughputExceededException'));
        if (reports.some((r) => r.reportId === report.reportId)) return Promise.resolve(false);
        reports.push(report);
        return Promise.resolve(true);
      },
      listForSnapshot: () => Promise.resolve({ items: [] }),
      isEventPublished: (report) => Promise.resolve(published.has(report.reportId)),
      markEventPublished: (report) => {
        published.add(report.reportId);
        return Promise.resolve();
      },
    },
    similarity: new LexicalSimilarity(),
    events: {
      publishPolicyViolation: (e) => {
        events.push(e);
        return Promise.resolve();
      },
    },
    reportId: onWriteReportId,
    now: () => '2026-11-02T12:00:00.000Z',
  };
  return { deps, reports, events };
}

describe('processRecord', () => {
  it('validates the snapshot held by an INSERT record, unmarshalled from the table item', async () => {
    const { deps, reports } = fakeDeps();
    const snap = snapshot(1, 0.5);

    const summary = await processRecord(deps, streamRecord(DynamoSnapshotStore.toItem(snap), 1));

    expect(summary).toEqual({ snapshotId: snap.snapshotId, reports: 1, violatedPolicies: ['score-floor'], eventsPublished: 1 });
    expect(reports[0]).toMatchObject({ snapshotId: snap.snapshotId, createdAt: '2026-11-02T12:00:00.000Z', trigger: 'on-write', status: 'violated' });
  });

  it.each([
    ['a MODIFY of a snapshot item', () => streamRecord(DynamoSnapshotStore.toItem(snapshot(1, 0.5)), 1, 'MODIFY')],
    ['a REMOVE of a snapshot item', () => streamRecord(DynamoSnapshotStore.toItem(snapshot(1, 0.5)), 1, 'REMOVE')],
    ['an INSERT of a validation report item', () => streamRecord({ pk: 'SNAP#01JBZ000000000000000000001', sk: 'VALIDATION#2026-11-01T09:00:01.000Z#X', itemType: 'validation' }, 1)],
    ['an INSERT of a policy item', () => streamRecord({ pk: 'POLICY#score-floor', sk: 'V#1', itemType: 'policy' }, 1)],
  ])('skips %s without touching any port', async (_label, make) => {
    const { deps, reports, events } = fakeDeps();

    expect(await processRecord(deps, make())).toBeUndefined();

    expect(reports).toEqual([]);
    expect(events).toEqual([]);
  });

  it('throws MalformedStreamRecordError naming the record when a snapshot image is not a snapshot', async () => {
    const { deps } = fakeDeps();
    const { outputs: _outputs, ...broken } = DynamoSnapshotStore.toItem(snapshot(1, 0.5));

    const attempt = processRecord(deps, streamRecord(broken, 7));

    await expect(attempt).rejects.toBeInstanceOf(MalformedStreamRecordError);
    await expect(attempt).rejects.toThrow(/record event-7: not a snapshot/);
  });
});

describe('makeStreamHandler', () => {
  it('reports no failures for a batch of snapshot inserts and skipped records', async () => {
    const { deps, reports } = fakeDeps();
    const handler = makeStreamHandler(deps);
    const event: DynamoDBStreamEvent = {
      Records: [
        streamRecord(DynamoSnapshotStore.toItem(snapshot(1, 0.9)), 1),
        streamRecord(DynamoSnapshotStore.toItem(snapshot(2, 0.5)), 2, 'MODIFY'),
        streamRecord({ pk: 'POLICY#score-floor', sk: 'V#1' }, 3),
        streamRecord(DynamoSnapshotStore.toItem(snapshot(4, 0.5)), 4),
      ],
    };

    const response = await handler(event);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(reports.map((r) => [r.snapshotId, r.status])).toEqual([
      [snapshot(1, 0.9).snapshotId, 'passed'],
      [snapshot(4, 0.5).snapshotId, 'violated'],
    ]);
  });

  it('reports a malformed NewImage by its SequenceNumber while the other records succeed', async () => {
    // Arrange
    const { deps, reports } = fakeDeps();
    const handler = makeStreamHandler(deps);
    const bad = { ...DynamoSnapshotStore.toItem(snapshot(2, 0.5)), createdAt: 12345 };
    const records = [streamRecord(DynamoSnapshotStore.toItem(snapshot(1, 0.5)), 11), streamRecord(bad, 12), streamRecord(DynamoSnapshotStore.toItem(snapshot(3, 0.5)), 13)];

    // Act
    const response = await handler({ Records: records });

    // Assert
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: seqOf(records[1] as DynamoDBRecord) }]);
    expect(reports.map((r) => r.snapshotId)).toEqual([snapshot(1, 0.5).snapshotId, snapshot(3, 0.5).snapshotId]);
  });

  it('reports a record whose processing throws by its SequenceNumber, and the others are processed', async () => {
    const poison = snapshot(2, 0.5);
    const { deps, reports, events } = fakeDeps({ throwFor: poison.snapshotId });
    const handler = makeStreamHandler(deps);
    const records = [streamRecord(DynamoSnapshotStore.toItem(snapshot(1, 0.5)), 21), streamRecord(DynamoSnapshotStore.toItem(poison), 22), streamRecord(DynamoSnapshotStore.toItem(snapshot(3, 0.95)), 23)];

    const response = await handler({ Records: records });

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: '000000000000000000022' }]);
    expect(reports.map((r) => r.snapshotId)).toEqual([snapshot(1, 0.5).snapshotId, snapshot(3, 0.95).snapshotId]);
    expect(events.map((e) => e.snapshotId)).toEqual([snapshot(1, 0.5).snapshotId]);
  });

  it('rejects the whole invocation when every record fails, so the event source retries (and bisects) the batch', async () => {
    const poison = snapshot(2, 0.5);
    const { deps } = fakeDeps({ throwFor: poison.snapshotId });
    const handler = makeStreamHandler(deps);

    await expect(handler({ Records: [streamRecord(DynamoSnapshotStore.toItem(poison), 31)] })).rejects.toThrow(/All records failed processing/);
  });

  it("reads each function's attached policies once per event, and again for the next event", async () => {
    const { deps } = fakeDeps();
    const calls: string[] = [];
    const policies = deps.policies;
    const handler = makeStreamHandler({
      ...deps,
      policies: { ...policies, listAttachedTo: (fn) => (calls.push(fn), policies.listAttachedTo(fn)) },
    });
    const other = { ...DynamoSnapshotStore.toItem(snapshot(3, 0.5)), functionName: 'score_claim' };
    const event: DynamoDBStreamEvent = { Records: [streamRecord(DynamoSnapshotStore.toItem(snapshot(1, 0.5)), 51), streamRecord(DynamoSnapshotStore.toItem(snapshot(2, 0.7)), 52), streamRecord(other, 53)] };

    await handler(event);
    expect(calls.sort()).toEqual([FN, 'score_claim']);
    await handler(event);
    expect(calls).toHaveLength(4);
  });

  it('stores and publishes nothing twice when the same event is delivered twice', async () => {
    const { deps, reports, events } = fakeDeps();
    const handler = makeStreamHandler(deps);
    const event: DynamoDBStreamEvent = { Records: [streamRecord(DynamoSnapshotStore.toItem(snapshot(1, 0.5)), 41), streamRecord(DynamoSnapshotStore.toItem(snapshot(2, 0.4)), 42)] };

    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(await handler(event)).toEqual({ batchItemFailures: [] });

    expect(reports).toHaveLength(2);
    expect(events.map((e) => e.snapshotId)).toEqual([snapshot(1, 0.5).snapshotId, snapshot(2, 0.4).snapshotId]);
  });
});
