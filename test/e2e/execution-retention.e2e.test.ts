/**
 * The local state machine remembers ended executions only within a bound (`maxEndedExecutions`),
 * where Step Functions keeps a name taken for 90 days. A repeated `POST /batches` with the
 * Idempotency-Key of a batch that has ended must not run it again once its execution is forgotten.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../functions/core/batch.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { requestWithHeaders, type ReplyWithHeaders } from '../support/http.js';

const FN = 'retention_fn';

describe('batch executions beyond the local state machine’s bound', () => {
  let t: TestHost;
  const snapshotIds: string[] = [];

  function call<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ReplyWithHeaders<T>> {
    return requestWithHeaders<T>(t.url, method, path, body, headers);
  }

  /** Starts a batch and waits until its execution has ended. */
  async function runToEnd(headers: Record<string, string> = {}): Promise<Batch> {
    const started = await call<{ batchId: string }>('POST', '/batches', { snapshotIds, maxConcurrency: 2 }, headers);
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const outcome = await t.host.stateMachine.get(started.body.batchId)?.done;
    expect(outcome?.status).toBe('SUCCEEDED');
    return (await call<Batch>('GET', `/batches/${started.body.batchId}`)).body;
  }

  beforeAll(async () => {
    t = await startTestHost({ maxEndedExecutions: 1 });
    expect((await call('PUT', `/functions/${FN}/executor`, { type: 'http', url: `${t.url}/demo/credit/v2` })).status).toBe(200);
    for (const income of [40_000, 60_000, 80_000]) {
      const res = await call<{ snapshotId: string }>('POST', '/snapshots', demoV1Decision(FN, { income, age: 40 }));
      expect(res.status).toBe(201);
      snapshotIds.push(res.body.snapshotId);
    }
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it('forgets the older ended execution and does not run its batch again on a repeated Idempotency-Key', { timeout: 60_000 }, async () => {
    const first = await runToEnd({ 'idempotency-key': 'retention-first' });
    const second = await runToEnd();
    expect(first.status).toBe('SUCCEEDED');
    expect(second.status).toBe('SUCCEEDED');
    expect(t.host.stateMachine.get(first.batchId)).toBeUndefined();
    expect(t.host.stateMachine.get(second.batchId)).toBeDefined();

    const repeated = await call<Batch>('POST', '/batches', { snapshotIds, maxConcurrency: 2 }, { 'idempotency-key': 'retention-first' });
    await new Promise((r) => setTimeout(r, 300));

    expect(repeated.status).toBe(202);
    expect(repeated.body.batchId).toBe(first.batchId);
    // Not started again: a new execution would be running, or remembered as the latest ended.
    expect(t.host.stateMachine.get(first.batchId)).toBeUndefined();
    expect(t.host.stateMachine.get(second.batchId)).toBeDefined();
    expect((await call<Batch>('GET', `/batches/${first.batchId}`)).body).toMatchObject({ status: 'SUCCEEDED', completed: 3, completedAt: first.completedAt });
  });
});
