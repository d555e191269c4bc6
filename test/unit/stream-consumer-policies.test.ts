import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { DynamoSnapshotStore } from '../../functions/adapters/dynamodb/snapshot-store.js';
import { makeStreamHandler } from '../../functions/api/stream-consumer.js';
import type { PolicyStore, StoredPolicy } from '../../functions/core/policy.js';
import type { SnapshotStore } from '../../functions/core/ports.js';
import { LexicalSimilarity } from '../../functions/core/similarity.js';
import { buildSnapshot } from '../../functions/core/snapshot.js';
import type { ValidationReport } from '../../functions/core/validation.js';

const policy: StoredPolicy = { name: 'range', version: 1, functionNames: ['fn'], rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }], createdAt: '2026-01-01T00:00:00.000Z' };

function record(i: number): DynamoDBRecord {
  const s = buildSnapshot({ functionName: 'fn', inputs: [{ name: 'x', value: i }], outputs: [{ name: 'score', value: 0.5 }] }, `01M8BQ0000000000000000000${i}`, `2026-11-26T10:00:0${i}.000Z`);
  return { eventName: 'INSERT', eventID: `e${i}`, dynamodb: { SequenceNumber: String(i), NewImage: marshall(DynamoSnapshotStore.toItem(s)) as never } };
}

describe('makeStreamHandler', () => {
  it("reads a function's attached policies once per stream event, not once per record", async () => {
    let reads = 0;
    const policies = { listAttachedTo: async () => (reads++, [policy]) } as unknown as PolicyStore;
    const stored: ValidationReport[] = [];
    const handler = makeStreamHandler({
      snapshots: { findPreviousWithSameInputs: async () => undefined } as unknown as SnapshotStore,
      policies,
      reports: { putIfAbsent: async (r: ValidationReport) => (stored.push(r), true), listForSnapshot: async () => ({ items: [] }), isEventPublished: async () => false, markEventPublished: async () => undefined },
      similarity: new LexicalSimilarity(),
      events: { publishPolicyViolation: async () => undefined },
      reportId: (s) => `R${s.snapshotId}`,
      now: () => '2026-11-26T10:00:00.000Z',
    });

    const response = await handler({ Records: [record(1), record(2), record(3)] });
    await handler({ Records: [record(4)] });

    expect(response.batchItemFailures).toEqual([]);
    expect(stored).toHaveLength(4);
    expect(reads).toBe(2);
  });
});
