import { sealRecord } from '../../functions/core/records.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/dynamodb/keys.js';
import { DynamoReplayResultStore } from '../../functions/adapters/dynamodb/replay-result-store.js';
import { DynamoValidationReportStore, validationReportKey } from '../../functions/adapters/dynamodb/validation-report-store.js';
import { ValidationError } from '../../functions/core/errors.js';
import type { ReplayResult } from '../../functions/core/replay.js';
import type { ValidationReport } from '../../functions/core/validation.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';

const SNAP = '01JBZ0000000000000000000A1';
const OTHER = '01JBZ0000000000000000000A2';

function replayResult(snapshotId: string, minute: number, status: ReplayResult['status'] = 'Success'): ReplayResult {
  const replayId = `01JBZ00000000000000000R${String(minute).padStart(3, '0')}`;
  return {
    replayId,
    snapshotId,
    functionName: 'approve_loan',
    mode: 'Tolerant',
    tolerance: 0.8,
    status,
    outputsMatch: status === 'Success',
    replayOutputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: 0.82 }],
    fieldComparisons: [{ path: 'outputs.score', comparator: 'NumericCloseness', score: 1, threshold: 0.8, match: true, original: 0.82, replayed: 0.82 }],
    diff: { changes: [], inputsChanged: false, outputsChanged: false, modelParamsChanged: false, executionTimeDeltaMs: -3.5 },
    policy: null,
    policyViolations: [],
    integrity: 'verified',
    ...(status === 'Error' && { error: { code: 'EXECUTOR_TIMEOUT', message: 'did not answer within 200 ms' } }),
    executionTimeMs: 12.25,
    executor: 'http POST http://127.0.0.1:3000/demo/credit/v2',
    overrides: null,
    createdAt: `2026-11-02T10:${String(minute).padStart(2, '0')}:00.000Z`,
  };
}

function report(snapshotId: string, minute: number): ValidationReport {
  return {
    reportId: `01JBZ00000000000000000V${String(minute).padStart(3, '0')}`,
    integrity: 'verified',
    snapshotId,
    functionName: 'approve_loan',
    baselineId: null,
    policy: { name: 'loan-regression', version: 2 },
    trigger: 'on-demand',
    status: 'passed',
    rules: [{ ruleName: 'score-range', field: 'outputs.score', comparator: 'WithinRange', status: 'passed' }],
    violations: [],
    createdAt: `2026-11-02T10:${String(minute).padStart(2, '0')}:00.000Z`,
  };
}

describe('replay and validation stores (dynalite)', () => {
  let dynamo: TestDynamo;
  let replays: DynamoReplayResultStore;
  let reports: DynamoValidationReportStore;

  beforeAll(async () => {
    dynamo = await startTestDynamo();
    replays = new DynamoReplayResultStore(dynamo.doc, dynamo.tableName);
    reports = new DynamoValidationReportStore(dynamo.doc, dynamo.tableName);
  });
  afterAll(async () => {
    await dynamo.close();
  });

  describe('DynamoReplayResultStore', () => {
    beforeAll(async () => {
      // Written out of order: the listing order comes from the sort key, not from insertion.
      for (const minute of [3, 1, 5, 2, 4]) await replays.put(replayResult(SNAP, minute, minute === 4 ? 'Error' : 'Success'));
      await replays.put(replayResult(OTHER, 9));
    });

    it('stores a result under its snapshot at REPLAY#<createdAt>#<replayId> and reads it back unchanged', async () => {
      const raw = await dynamo.doc.get({ TableName: dynamo.tableName, Key: keys.replay(SNAP, '2026-11-02T10:04:00.000Z', '01JBZ00000000000000000R004') });
      expect(raw.Item).toMatchObject({ pk: `SNAP#${SNAP}`, itemType: 'replay', status: 'Error', error: { code: 'EXECUTOR_TIMEOUT' } });
      const page = await replays.listForSnapshot(SNAP, 50);
      expect(page.items.find((r) => r.replayId === '01JBZ00000000000000000R004')).toEqual(sealRecord(replayResult(SNAP, 4, 'Error')));
    });

    it('lists a snapshot’s replays newest first, only that snapshot’s', async () => {
      const page = await replays.listForSnapshot(SNAP, 50);
      expect(page.items.map((r) => r.createdAt.slice(14, 16))).toEqual(['05', '04', '03', '02', '01']);
      expect(page.nextCursor).toBeUndefined();
      expect((await replays.listForSnapshot(OTHER, 50)).items.map((r) => r.replayId)).toEqual(['01JBZ00000000000000000R009']);
    });

    it('pages with a cursor, newest first across pages', async () => {
      const first = await replays.listForSnapshot(SNAP, 2);
      const second = await replays.listForSnapshot(SNAP, 2, first.nextCursor);
      const third = await replays.listForSnapshot(SNAP, 2, second.nextCursor);
      expect([first, second, third].map((p) => p.items.map((r) => r.createdAt.slice(14, 16)))).toEqual([['05', '04'], ['03', '02'], ['01']]);
      expect(first.nextCursor).toEqual(expect.any(String));
      expect(third.nextCursor).toBeUndefined();
    });

    it('does not mix replays into the snapshot item or validation reports', async () => {
      await reports.putIfAbsent(report(SNAP, 30));
      expect((await replays.listForSnapshot(SNAP, 50)).items).toHaveLength(5);
    });

    it('refuses a cursor issued for another snapshot', async () => {
      const first = await replays.listForSnapshot(SNAP, 2);
      await expect(replays.listForSnapshot(OTHER, 2, first.nextCursor)).rejects.toBeInstanceOf(ValidationError);
    });

    it('returns an empty page for a snapshot never replayed', async () => {
      expect(await replays.listForSnapshot('01JBZ0000000000000000000ZZ', 10)).toEqual({ items: [] });
    });
  });

  describe('DynamoValidationReportStore', () => {
    const S = '01JBZ0000000000000000000B1';

    beforeAll(async () => {
      for (const minute of [12, 10, 14, 11, 13]) expect(await reports.putIfAbsent(report(S, minute))).toBe(true);
      await replays.put(replayResult(S, 20));
    });

    it('writes a report once: the same id and time again stores nothing', async () => {
      expect(await reports.putIfAbsent({ ...report(S, 10), status: 'violated' })).toBe(false);
      const raw = await dynamo.doc.get({ TableName: dynamo.tableName, Key: validationReportKey(report(S, 10)) });
      expect(raw.Item).toMatchObject({ itemType: 'validation', status: 'passed' });
    });

    it('lists a snapshot’s reports newest first, in pages, without replay results', async () => {
      const first = await reports.listForSnapshot(S, 3);
      const second = await reports.listForSnapshot(S, 3, first.nextCursor);
      expect(first.items.map((r) => r.createdAt.slice(14, 16))).toEqual(['14', '13', '12']);
      expect(second.items.map((r) => r.createdAt.slice(14, 16))).toEqual(['11', '10']);
      expect(second.nextCursor).toBeUndefined();
      expect(first.items[0]).toEqual(sealRecord(report(S, 14)));
    });

    it('refuses a replay-history cursor for the validation list', async () => {
      await replays.put(replayResult(S, 21));
      const replayPage = await replays.listForSnapshot(S, 1);
      await expect(reports.listForSnapshot(S, 1, replayPage.nextCursor)).rejects.toBeInstanceOf(ValidationError);
    });
  });

  describe('DynamoReplayResultStore with results too large for one item', () => {
    const BIG = '01JBZ0000000000000000000B1';
    const text = (seed: string) => `${seed} `.repeat(30_000); // 4 bytes per repetition: 120 KB for a 3-letter seed

    it('stores a compacted result (values left out, verdicts kept) instead of failing with 413', async () => {
      const result: ReplayResult = {
        ...replayResult(BIG, 30, 'Failed'),
        outputsMatch: false,
        replayOutputs: [{ name: 'answer', value: text('new') }],
        fieldComparisons: [{ path: 'outputs.answer', comparator: 'SemanticSimilarity', score: 0, threshold: 0.8, match: false, original: text('old'), replayed: text('new') }],
        diff: { changes: [{ path: 'outputs.answer', changeType: 'Modified', oldValue: text('old'), newValue: text('new') }], inputsChanged: false, outputsChanged: true, modelParamsChanged: false, executionTimeDeltaMs: 0 },
      };

      await replays.put(result);

      const [stored] = (await replays.listForSnapshot(BIG, 10)).items as (ReplayResult & { truncated?: string })[];
      expect(stored?.truncated).toContain('400 KB');
      expect(stored?.fieldComparisons).toEqual([{ path: 'outputs.answer', comparator: 'SemanticSimilarity', score: 0, threshold: 0.8, match: false }]);
      expect(stored?.diff?.changes).toEqual([{ path: 'outputs.answer', changeType: 'Modified' }]);
      expect(stored?.replayOutputs).toEqual(result.replayOutputs);
      expect(stored?.status).toBe('Failed');
    });

    it('also leaves out replayOutputs when the outputs alone are too large', async () => {
      const result: ReplayResult = { ...replayResult(BIG, 31), replayOutputs: [{ name: 'a', value: text('xxxxxx') }, { name: 'b', value: text('yyyyyy') }, { name: 'c', value: text('zzzzzz') }] };

      await replays.put(result);

      const stored = (await replays.listForSnapshot(BIG, 10)).items.find((r) => r.replayId === result.replayId) as ReplayResult & { truncated?: string };
      expect(stored.replayOutputs).toBeNull();
      expect(stored.truncated).toContain('replayOutputs');
    });

    it('keeps at most 1,000 field comparisons, every one that did not match first, when even the verdicts outgrow an item (was 413)', async () => {
      // An output of 40,000 array elements compares element by element: 40,000 verdicts, ~3 MB of paths alone.
      const fieldComparisons = Array.from({ length: 40_000 }, (_, i) => ({ path: `outputs.items[${i}]`, comparator: 'ExactMatch' as const, score: i === 39_999 ? 0 : 1, threshold: 1, match: i !== 39_999, original: i, replayed: i === 39_999 ? -1 : i }));
      const result: ReplayResult = {
        ...replayResult(BIG, 32, 'Failed'),
        outputsMatch: false,
        fieldComparisons,
        diff: { changes: [{ path: 'outputs.items[39999]', changeType: 'Modified', oldValue: 39_999, newValue: -1 }], inputsChanged: false, outputsChanged: true, modelParamsChanged: false, executionTimeDeltaMs: 0 },
      };

      expect(await replays.put(result)).toBe(true);

      const stored = (await replays.listForSnapshot(BIG, 10)).items.find((r) => r.replayId === result.replayId) as ReplayResult & { truncated?: string };
      expect(stored.status).toBe('Failed');
      expect(stored.outputsMatch).toBe(false);
      expect(stored.fieldComparisons).toHaveLength(1000);
      // The one that did not match is kept, in its place (last), without its values.
      expect(stored.fieldComparisons.at(-1)).toEqual({ path: 'outputs.items[39999]', comparator: 'ExactMatch', score: 0, threshold: 1, match: false });
      expect(stored.fieldComparisons[0]?.path).toBe('outputs.items[0]');
      expect(stored.diff?.changes).toEqual([{ path: 'outputs.items[39999]', changeType: 'Modified' }]);
      expect(stored.truncated).toBe('compared values, replayOutputs and 39000 of 40000 field comparisons (every one that did not match is kept while there are at most 1000) left out to fit the 400 KB item limit');
    });
  });
});

