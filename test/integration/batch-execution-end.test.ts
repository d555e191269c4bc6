/**
 * The execution-end function against dynalite: an abnormal execution end fails a RUNNING batch
 * and only a RUNNING one. A batch the workflow finished (SUCCEEDED, or FAILED by its Catch with its
 * own reason) or one cancelled through the API keeps its status, statistics and reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoBatchStore } from '../../functions/adapters/dynamodb/batch-store.js';
import type { Batch } from '../../functions/core/batch.js';
import { computeBatchStats } from '../../functions/core/batch-stats.js';
import { StatsAccumulator } from '../../functions/core/stats.js';
import { compose } from '../../functions/handlers/execution-end.compose.js';
import { LocalMetricsStore, localTelemetry } from '../../functions/local/metrics.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';

const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:BatchWorkflow';
const EXECUTIONS = MACHINE.replace(':stateMachine:', ':execution:');
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

let counter = 0;
const newBatchId = () => `01JE${String(++counter).padStart(22, '0')}`;
const batch = (batchId: string): Batch => ({ batchId, status: 'RUNNING', total: 1, completed: 0, maxConcurrency: 1, request: { mode: 'Strict' }, trigger: 'api', createdAt: '2026-11-30T22:00:00.000Z' });

function statusChange(batchId: string, status: string, extra: Record<string, unknown> = {}) {
  return {
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: { executionArn: `${EXECUTIONS}:${batchId}`, stateMachineArn: MACHINE, name: batchId, status, startDate: Date.parse('2026-11-30T22:00:00.000Z'), stopDate: Date.parse('2026-11-30T22:30:00.000Z'), input: JSON.stringify({ batchId }), ...extra },
  };
}

describe('execution-end against dynalite', () => {
  let db: TestDynamo;
  let store: DynamoBatchStore;
  let end: ReturnType<typeof compose>;

  beforeAll(async () => {
    db = await startTestDynamo();
    store = new DynamoBatchStore(db.doc, db.tableName);
    end = compose({ TABLE_NAME: db.tableName, STATE_MACHINE_ARN: MACHINE }, { doc: db.doc, clock: { now: () => Date.now() }, ids: { next: () => 'unused' } as never, logger: silent, telemetry: localTelemetry('decision-replay-execution-end', new LocalMetricsStore()) });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('fails a RUNNING batch, naming the status, the execution and the error', async () => {
    const id = newBatchId();
    await store.create(batch(id));

    expect(await end(statusChange(id, 'FAILED', { error: 'Lambda.ServiceException', cause: 'The Lambda service is unavailable' }))).toMatchObject({ outcome: 'failed' });

    expect(await store.get(id)).toMatchObject({
      status: 'FAILED',
      failureReason: `the batch execution ended FAILED: ${EXECUTIONS}:${id} (TASK_FAILED: Lambda.ServiceException: The Lambda service is unavailable)`,
      completedAt: '2026-11-30T22:30:00.000Z',
    });
    // A second delivery of the same event (EventBridge delivers at least once) changes nothing.
    expect(await end(statusChange(id, 'FAILED'))).toMatchObject({ outcome: 'unchanged' });
    expect((await store.get(id))?.failureReason).toContain('Lambda.ServiceException');
  });

  it('keeps a SUCCEEDED, a CANCELLED and a Catch-FAILED batch as they are', async () => {
    const succeeded = newBatchId();
    const cancelled = newBatchId();
    const caught = newBatchId();
    for (const id of [succeeded, cancelled, caught]) await store.create(batch(id));
    const stats = new StatsAccumulator().toJSON();
    await store.complete(succeeded, stats, '2026-11-30T22:10:00.000Z');
    expect(await store.cancel(cancelled, stats, 0, '2026-11-30T22:11:00.000Z')).toBe(true);
    expect(await store.failIfRunning(caught, 'States.TaskFailed: the executor is unreachable', '2026-11-30T22:12:00.000Z')).toBe(true);
    const before = await Promise.all([succeeded, cancelled, caught].map((id) => store.get(id)));

    for (const [id, status] of [[succeeded, 'TIMED_OUT'], [cancelled, 'ABORTED'], [caught, 'FAILED']] as const) {
      expect(await end(statusChange(id, status)), `${id} ${status}`).toMatchObject({ outcome: 'unchanged' });
    }

    expect(await Promise.all([succeeded, cancelled, caught].map((id) => store.get(id)))).toEqual(before);
    expect(before.map((b) => b?.status)).toEqual(['SUCCEEDED', 'CANCELLED', 'FAILED']);
  });

  // A cancel sets CANCELLED and then stops the execution; a workflow that reaches its Stats step in
  // between (its chunks saw CANCELLED and stopped early) must not turn the batch FAILED.
  it('keeps a batch cancelled before its Stats step CANCELLED, whether the step finds results missing or the Catch reports a failure', async () => {
    const stats = new StatsAccumulator().toJSON();
    const clock = { now: () => Date.parse('2026-11-30T22:20:00.000Z') };
    const short = newBatchId();
    const caught = newBatchId();
    for (const id of [short, caught]) {
      await store.create({ ...batch(id), total: 3 });
      expect(await store.cancel(id, stats, 0, '2026-11-30T22:11:00.000Z')).toBe(true);
    }
    const before = await Promise.all([short, caught].map((id) => store.get(id)));

    // No result stored for 3 snapshots: the Stats step's reconciliation disagrees.
    expect(await computeBatchStats({ batches: store, clock }, { batchId: short })).toEqual({ batchId: short, status: 'CANCELLED', totalReplays: 0, matches: 0, mismatches: 0, failedReplays: 0 });
    expect(await computeBatchStats({ batches: store, clock }, { batchId: caught, failed: { reason: 'States.TaskFailed: a chunk failed' } })).toMatchObject({ status: 'CANCELLED' });

    expect(await Promise.all([short, caught].map((id) => store.get(id)))).toEqual(before);
    expect(before.map((b) => b?.status)).toEqual(['CANCELLED', 'CANCELLED']);
  });

  it('creates no batch record for an execution whose batch does not exist', async () => {
    const id = newBatchId();
    expect(await end(statusChange(id, 'TIMED_OUT'))).toMatchObject({ outcome: 'unchanged' });
    expect(await store.get(id)).toBeUndefined();
  });
});
