/**
 * Numbers the service computes are stored, whatever their size (storable.ts): a percent change of
 * 9e16 % and a p-value of 3e-139 are written through the real stores to dynalite and read back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoComparisonStore } from '../../functions/adapters/dynamodb/comparison-store.js';
import { DynamoReplayResultStore } from '../../functions/adapters/dynamodb/replay-result-store.js';
import { DynamoValidationReportStore } from '../../functions/adapters/dynamodb/validation-report-store.js';
import type { BatchResult } from '../../functions/core/batch.js';
import { compareBatches } from '../../functions/core/comparison.js';
import { ValidationError } from '../../functions/core/errors.js';
import { hasIntactHash } from '../../functions/core/records.js';
import type { ReplayResult } from '../../functions/core/replay.js';
import { buildSnapshot } from '../../functions/core/snapshot.js';
import { MAX_STORABLE_MAGNITUDE } from '../../functions/core/storable.js';
import { validateOnDemand } from '../../functions/core/validation.js';
import { LexicalSimilarity } from '../../functions/core/similarity.js';
import { fixedClock, MemoryPolicyStore, MemorySnapshotStore, sequentialIds } from '../support/memory-ports.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';

const BASE = '01JBZ0000000000000000000B1';
const CAND = '01JBZ0000000000000000000B2';

describe('computed numbers outside DynamoDB range (dynalite)', () => {
  let dynamo: TestDynamo;

  beforeAll(async () => {
    dynamo = await startTestDynamo();
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('stores a validation report whose percent-change score exceeds 2^53, still violated, with the exact change in its message', async () => {
    const snapshots = new MemorySnapshotStore();
    const baseline = buildSnapshot({ functionName: 'prob', inputs: [{ name: 'i', value: 1 }], outputs: [{ name: 'pFraud', value: 1e-15 }] }, '01JBZ0000000000000000000S1', '2026-12-01T00:00:00.000Z');
    const candidate = buildSnapshot({ functionName: 'prob', inputs: [{ name: 'i', value: 2 }], outputs: [{ name: 'pFraud', value: 0.9 }] }, '01JBZ0000000000000000000S2', '2026-12-01T00:00:01.000Z');
    await snapshots.putIfAbsent(baseline);
    await snapshots.putIfAbsent(candidate);
    const reports = new DynamoValidationReportStore(dynamo.doc, dynamo.tableName);

    const report = await validateOnDemand(
      { snapshots, policies: new MemoryPolicyStore(), reports, similarity: new LexicalSimilarity(), clock: fixedClock('2026-12-01T00:01:00.000Z'), ids: sequentialIds('01JBZ00000000000000000V') },
      candidate.snapshotId,
      { baselineId: baseline.snapshotId, policy: { rules: [{ field: 'outputs.pFraud', comparator: 'MaxIncreasePercent', threshold: 50 }] } },
    );

    expect(report.status).toBe('violated');
    expect(report.rules[0]).toMatchObject({ status: 'violated', score: MAX_STORABLE_MAGNITUDE });
    // The real change, to 12 significant digits (+89999999999999900 %), not the stored score's 2^53 - 1.
    expect(report.violations[0]?.message).toContain('changed by +90000000000000000% (1e-15 → 0.9)');
    const stored = await reports.listForSnapshot(candidate.snapshotId, 10);
    expect(stored.items).toHaveLength(1);
    expect(stored.items[0]).toEqual(report);
    expect(hasIntactHash(stored.items[0] as object)).toBe(true);
  });

  it('stores a comparison whose McNemar p-value underflows DynamoDB (3e-139) as 0, and calls the candidate worse', async () => {
    const ids = Array.from({ length: 460 }, (_, i) => `01JBZ00000000000000000${String(i).padStart(4, '0')}`);
    const resultOf = (batchId: string, matched: boolean) => (snapshotId: string) =>
      ({ batchId, snapshotId, status: matched ? 'Success' : 'Failed', outputsMatch: matched, executionTimeMs: 10, mismatchedPaths: matched ? [] : ['outputs.decision'] }) as unknown as BatchResult;
    const results: Record<string, BatchResult[]> = { [BASE]: ids.map(resultOf(BASE, true)), [CAND]: ids.map(resultOf(CAND, false)) };
    const batches = {
      get: async (batchId: string) => ({ batchId, status: 'SUCCEEDED', request: {} }) as never,
      listResults: async (batchId: string) => ({ items: results[batchId] ?? [] }),
    };
    const comparisons = new DynamoComparisonStore(dynamo.doc, dynamo.tableName);

    const comparison = await compareBatches({ batches, comparisons, clock: fixedClock('2026-12-01T00:02:00.000Z'), ids: sequentialIds('01JBZ00000000000000000C') }, { baselineBatchId: BASE, candidateBatchId: CAND });

    expect(comparison.verdict).toBe('worse');
    expect(comparison.matchRate).toMatchObject({ pValue: 0, adjustedPValue: 0, significant: true });
    expect(await comparisons.get(comparison.comparisonId)).toEqual(comparison);
  });

  it('refuses an alpha DynamoDB cannot store with a 400 naming alpha, storing nothing', async () => {
    const comparisons = new DynamoComparisonStore(dynamo.doc, dynamo.tableName);
    const batches = { get: async () => undefined, listResults: async () => ({ items: [] }) };
    const attempt = compareBatches({ batches, comparisons, clock: fixedClock(0), ids: sequentialIds('01JBZ00000000000000000D') }, { baselineBatchId: BASE, candidateBatchId: CAND, alpha: 1e-300 });
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toThrow(/alpha.*1e-130/);
  });

  it('stores a replay result (as a batch with a policy writes one) whose rule scores lie outside the range, readable by its replayId', async () => {
    const store = new DynamoReplayResultStore(dynamo.doc, dynamo.tableName);
    const result: ReplayResult = {
      replayId: '01JBZ0000000000000000000R1',
      snapshotId: '01JBZ0000000000000000000S2',
      functionName: 'prob',
      mode: 'ValidationOnly',
      tolerance: null,
      overrides: null,
      replayOutputs: null,
      fieldComparisons: [],
      diff: null,
      executionTimeMs: 0,
      executor: null,
      status: 'Failed',
      outputsMatch: true,
      policy: {
        name: 'p',
        version: 1,
        rules: [
          { ruleName: 'up', field: 'outputs.pFraud', comparator: 'MaxIncreasePercent', status: 'violated', score: 8.99999999999999e16 },
          { ruleName: 'down', field: 'outputs.pFraud', comparator: 'MaxDecreasePercent', status: 'passed', score: -1e-200 },
        ],
      },
      policyViolations: [{ ruleName: 'up', field: 'outputs.pFraud', expected: 'increase <= 50%', actual: '+89999999999999900%', message: 'outputs.pFraud changed by +89999999999999900%' }],
      integrity: 'verified',
      createdAt: '2026-12-01T00:03:00.000Z',
    };
    expect(await store.put(result)).toBe(true);
    const page = await store.listForSnapshot(result.snapshotId, 10);
    expect(page.items.map((r) => r.replayId)).toEqual([result.replayId]);
    expect(page.items[0]?.policy?.rules.map((r) => r.score)).toEqual([MAX_STORABLE_MAGNITUDE, 0]);
    expect(hasIntactHash(page.items[0] as object)).toBe(true);
  });
});
