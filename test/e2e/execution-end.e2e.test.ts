/**
 * Issue 9, "AWS execution end", on the local host: an execution of the batch state machine that
 * ends abnormally goes, as its Step Functions status-change event, to the same execution-end
 * function the deployed EventBridge rule invokes. A RUNNING batch becomes FAILED with a reason
 * naming the status and the execution; a CANCELLED batch (whose cancel stops the execution, which
 * then ends ABORTED) stays CANCELLED.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../functions/core/batch.js';
import { LOCAL_STATE_MACHINE_ARN } from '../../functions/local/host.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { requestWithHeaders, type ReplyWithHeaders } from '../support/http.js';

const FN = 'execution_end_fn';
const EXECUTIONS = LOCAL_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:');

describe('an abnormal end of a local batch execution (the execution-end path)', () => {
  let t: TestHost;
  let slow: Server;
  const logged: string[] = [];
  const snapshotIds: string[] = [];

  function call<T = unknown>(method: string, path: string, body?: unknown): Promise<ReplyWithHeaders<T>> {
    return requestWithHeaders<T>(t.url, method, path, body, {});
  }

  async function waitForBatch(batchId: string, test: (b: Batch) => boolean, what: string): Promise<Batch> {
    const until = Date.now() + 30_000;
    for (;;) {
      const res = await call<Batch>('GET', `/batches/${batchId}`);
      if (test(res.body)) return res.body;
      if (Date.now() > until) throw new Error(`batch ${batchId}: ${what} not seen within 30 s: ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Starts a batch over the recorded snapshots and waits until it is under way. */
  async function runningBatch(): Promise<string> {
    const started = await call<{ batchId: string }>('POST', '/batches', { snapshotIds, mode: 'Strict', maxConcurrency: 1 });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await waitForBatch(started.body.batchId, (b) => b.completed >= 1, 'one completed item');
    return started.body.batchId;
  }

  beforeAll(async () => {
    const log = (message: string) => void logged.push(message);
    t = await startTestHost({ logger: { info: log, warn: log, error: log } });
    // A model that answers after 300 ms, so a batch is still running when its execution is stopped.
    slow = createServer((req, res) => {
      req.resume();
      req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ outputs: [{ name: 'decision', value: 'approve' }] })), 300));
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/decide`;
    expect((await call('PUT', `/functions/${FN}/executor`, { type: 'http', url })).status).toBe(200);
    for (let i = 0; i < 12; i++) {
      const res = await call<{ snapshotId: string }>('POST', '/snapshots', { functionName: FN, inputs: [{ name: 'i', value: i }], outputs: [{ name: 'decision', value: 'approve' }], executionTimeMs: 1 });
      expect(res.status).toBe(201);
      snapshotIds.push(res.body.snapshotId);
    }
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await new Promise<void>((r) => (slow ? slow.close(() => r()) : r()));
  });

  it('marks a RUNNING batch FAILED, naming ABORTED and the execution, when its execution is stopped outside the API', { timeout: 60_000 }, async () => {
    const batchId = await runningBatch();

    t.host.stateMachine.stop(batchId);

    const batch = await waitForBatch(batchId, (b) => b.status !== 'RUNNING', 'the end of the batch');
    expect(batch.status).toBe('FAILED');
    expect(batch.failureReason).toBe(`the batch execution ended ABORTED: ${EXECUTIONS}:${batchId}`);
    expect(batch.completedAt).toBeDefined();
    // Through the execution-end function: its log line and its metric.
    expect(logged.filter((m) => m === 'batch marked FAILED: its execution ended abnormally')).toHaveLength(1);
    const series = t.host.metrics.items().filter((s) => s.dimensions.service === 'decision-replay-execution-end');
    expect(series.map((s) => [s.name, s.dimensions.status, s.sum])).toEqual([['Batches', 'FAILED', 1]]);
  });

  it('leaves a CANCELLED batch CANCELLED when the stopped execution ends ABORTED', { timeout: 60_000 }, async () => {
    const batchId = await runningBatch();
    const before = logged.filter((m) => m === 'batch was no longer RUNNING when its execution ended; left as it is').length;

    const cancelled = await call<Batch>('POST', `/batches/${batchId}/cancel`);
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    await t.host.stateMachine.get(batchId)?.done;
    // The ABORTED end reached the function, which found the batch no longer RUNNING.
    await waitForBatch(batchId, () => logged.filter((m) => m === 'batch was no longer RUNNING when its execution ended; left as it is').length > before, 'the execution end handled');

    const batch = (await call<Batch>('GET', `/batches/${batchId}`)).body;
    expect(batch.status).toBe('CANCELLED');
    expect(batch.failureReason).toBeUndefined();
  });
});
