import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { BATCH_FAILED_ERROR, LAMBDA_RETRY, renderBatchAsl } from '../../lib/batch-definition.js';
import { ExecutionAlreadyExistsError, LocalStateMachine, type BatchHandlers, type LocalObjectReader } from '../../functions/local/step-functions.js';

const asl = renderBatchAsl();

/** An error whose name the Retry/Catch rules see, as a Lambda function would throw it. */
function named(name: string, message = name): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

interface Recorded {
  status: 'Success' | 'Error';
  error?: { Error: string; Cause: string };
}

/**
 * Fake batch functions over an in-memory "table": plan returns the given ids, replay records a
 * result per snapshot (or an error result when called with recordError), stats counts results.
 */
function fakeBatch(ids: string[], maxConcurrency: number, behaviour: { replay?: (snapshotId: string, attempt: number) => Promise<void> | void; plan?: () => void; recordError?: () => void; itemsPerChunk?: number } = {}) {
  const results = new Map<string, Recorded>();
  const attempts = new Map<string, number>();
  const received: unknown[] = [];
  const statsCalls: unknown[] = [];
  const planCalls: { executionName: string; executionStartTime: string }[] = [];
  let inFlight = 0;
  let peak = 0;
  const handlers: BatchHandlers = {
    plan(payload) {
      behaviour.plan?.();
      const { input, executionName, executionStartTime } = payload as { input: { batchId: string }; executionName: string; executionStartTime: string };
      planCalls.push({ executionName, executionStartTime });
      const { batchId } = input;
      return { batchId, manifest: { bucket: MANIFEST.bucket, key: MANIFEST.key }, itemsPerChunk: behaviour.itemsPerChunk ?? 1, maxConcurrency, ignoredExtra: 'dropped by ResultSelector' };
    },
    async replay(payload) {
      received.push(payload);
      const p = payload as { batchId: string; items: Array<{ snapshotId: string }>; recordError?: boolean; error?: { Error: string; Cause: string } };
      // A chunk: its items one after another.
      for (const { snapshotId } of p.items) {
        inFlight++;
        peak = Math.max(peak, inFlight);
        try {
          await sleep(1 + (snapshotId.length % 3));
          if (p.recordError) {
            behaviour.recordError?.();
            if (p.error === undefined) throw new Error('recordError without error');
            results.set(snapshotId, { status: 'Error', error: p.error });
            continue;
          }
          const attempt = (attempts.get(snapshotId) ?? 0) + 1;
          attempts.set(snapshotId, attempt);
          await behaviour.replay?.(snapshotId, attempt);
          results.set(snapshotId, { status: 'Success' });
        } finally {
          inFlight--;
        }
      }
      return { status: 'done' };
    },
    stats(payload) {
      statsCalls.push(payload);
      if ((payload as { failed?: boolean }).failed) return null;
      return { batchId: (payload as { batchId: string }).batchId, totalReplays: results.size };
    },
  };
  // The manifest Plan "wrote": the ids as CSV, served to the local ItemReader.
  const objects: LocalObjectReader = {
    async *readLines(bucket, key) {
      if (bucket !== MANIFEST.bucket || key !== MANIFEST.key) throw new Error(`no object ${bucket}/${key}`);
      await Promise.resolve();
      yield ['snapshotId', ...ids];
    },
  };
  return { handlers, objects, results, attempts, received, statsCalls, planCalls, peak: () => peak };
}

const MANIFEST = { bucket: 'manifests', key: 'batches/B/snapshot-ids.csv' };

/** The deployed ASL over a fake batch, reading the fake's manifest. */
function machineFor(fake: ReturnType<typeof fakeBatch>, options: { retryIntervalScale?: number } = {}): LocalStateMachine {
  return new LocalStateMachine(asl, fake.handlers, { ...options, objects: fake.objects });
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `SNAP${String(i).padStart(4, '0')}`);

describe('LocalStateMachine running the deployed batch ASL', () => {
  it('replays 200 snapshots with exactly 7 in flight at the peak, recording an error result for each that throws', async () => {
    // Arrange: every 10th snapshot throws an error no Retry matches.
    const all = ids(200);
    const failing = new Set(all.filter((_, i) => i % 10 === 0));
    const fake = fakeBatch(all, 7, {
      replay: (id) => {
        if (failing.has(id)) throw named('ExecutorUnavailableError', `executor down for ${id}`);
      },
    });
    const machine = machineFor(fake, { retryIntervalScale: 0.01 });

    // Act
    const outcome = await machine.start('batch-200', { batchId: 'B200' }).done;

    // Assert
    expect(outcome).toEqual({ status: 'SUCCEEDED', output: { batchId: 'B200', totalReplays: 200 } });
    expect(fake.peak()).toBe(7);
    expect(fake.results.size).toBe(200);
    const errors = [...fake.results].filter(([, r]) => r.status === 'Error');
    expect(errors.map(([id]) => id).sort()).toEqual([...failing].sort());
    for (const [id, r] of errors) {
      expect(r.error?.Error).toBe('ExecutorUnavailableError');
      expect(JSON.parse(r.error?.Cause ?? '')).toMatchObject({ errorType: 'ExecutorUnavailableError', errorMessage: `executor down for ${id}` });
    }
    // No retry for an error outside the Retry list: one attempt each.
    expect(Math.max(...fake.attempts.values())).toBe(1);
    expect(fake.statsCalls).toEqual([{ batchId: 'B200' }]);
    expect(fake.planCalls).toEqual([{ executionName: 'batch-200', executionStartTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) }]);
  });

  it('hands the replay function exactly {batchId, items} per chunk of Plan\'s size', async () => {
    const fake = fakeBatch(['A', 'B', 'C'], 1, { itemsPerChunk: 2 });
    const machine = machineFor(fake);

    await machine.start('shape', { batchId: 'B1' }).done;

    expect(fake.received).toEqual([
      { batchId: 'B1', items: [{ snapshotId: 'A' }, { snapshotId: 'B' }] },
      { batchId: 'B1', items: [{ snapshotId: 'C' }] },
    ]);
  });

  it('keeps exactly maxConcurrency items in flight with chunks of several items each', async () => {
    const fake = fakeBatch(ids(120), 5, { itemsPerChunk: 4 });

    const outcome = await machineFor(fake).start('chunked', { batchId: 'B7' }).done;

    expect(outcome.status).toBe('SUCCEEDED');
    expect(fake.peak()).toBe(5);
    expect(fake.results.size).toBe(120);
    expect(fake.received).toHaveLength(30);
  });

  it('retries a replay throttled once and then stores its success', async () => {
    const fake = fakeBatch(['S1', 'S2', 'S3'], 2, {
      replay: (id, attempt) => {
        if (id === 'S2' && attempt === 1) throw named('Lambda.TooManyRequestsException', 'Rate exceeded');
      },
    });
    const machine = machineFor(fake, { retryIntervalScale: 0.01 });

    const outcome = await machine.start('throttled', { batchId: 'B2' }).done;

    expect(outcome.status).toBe('SUCCEEDED');
    expect(fake.attempts.get('S2')).toBe(2);
    expect(fake.results.get('S2')).toEqual({ status: 'Success' });
    expect([...fake.results.values()].every((r) => r.status === 'Success')).toBe(true);
  });

  it('records an error result once throttling outlasts every retry', async () => {
    const fake = fakeBatch(['S1'], 1, {
      replay: () => {
        throw named('Lambda.TooManyRequestsException', 'Rate exceeded');
      },
    });
    const machine = machineFor(fake, { retryIntervalScale: 0.001 });

    const outcome = await machine.start('always-throttled', { batchId: 'B3' }).done;

    expect(outcome.status).toBe('SUCCEEDED');
    expect(fake.attempts.get('S1')).toBe(1 + (LAMBDA_RETRY.maxAttempts ?? 0));
    // A Lambda service error's Cause is its bare message, as on AWS.
    expect(fake.results.get('S1')).toEqual({ status: 'Error', error: { Error: 'Lambda.TooManyRequestsException', Cause: 'Rate exceeded' } });
  });

  it('marks the batch failed and fails the execution when plan throws', async () => {
    const fake = fakeBatch(['S1'], 1, {
      plan: () => {
        throw named('SelectorInvalidError', 'no such function');
      },
    });
    const machine = machineFor(fake);

    const outcome = await machine.start('plan-fails', { batchId: 'B4' }).done;

    expect(outcome.status).toBe('FAILED');
    expect(fake.received).toEqual([]);
    expect(fake.statsCalls).toHaveLength(1);
    const call = fake.statsCalls[0] as { failed: boolean; input: { batchId: string }; executionName: string; error: { Error: string; Cause: string } };
    expect(call).toMatchObject({ failed: true, input: { batchId: 'B4' }, executionName: 'plan-fails', error: { Error: 'SelectorInvalidError' } });
    expect(outcome).toEqual({ status: 'FAILED', error: { Error: BATCH_FAILED_ERROR, Cause: call.error.Cause } });
    expect(JSON.parse(call.error.Cause)).toMatchObject({ errorType: 'SelectorInvalidError', errorMessage: 'no such function' });
  });

  it('marks the batch failed when even recording an error result fails', async () => {
    const fake = fakeBatch(['S1', 'S2'], 1, {
      replay: () => {
        throw named('ExecutorUnavailableError');
      },
      recordError: () => {
        throw named('TableUnavailableError', 'cannot write');
      },
    });
    const machine = machineFor(fake);

    const outcome = await machine.start('record-fails', { batchId: 'B5' }).done;

    expect(outcome).toMatchObject({ status: 'FAILED', error: { Error: BATCH_FAILED_ERROR } });
    expect(fake.statsCalls).toEqual([expect.objectContaining({ failed: true, input: expect.objectContaining({ batchId: 'B5' }), error: expect.objectContaining({ Error: 'TableUnavailableError' }) })]);
  });

  it('does not start an execution twice under one name', async () => {
    const fake = fakeBatch(['S1'], 1);
    let plans = 0;
    const plan = fake.handlers.plan.bind(fake.handlers);
    fake.handlers.plan = (p) => {
      plans++;
      return plan(p);
    };
    const machine = machineFor(fake);

    const first = machine.start('once', { batchId: 'B6' });
    const second = machine.start('once', { batchId: 'B6' });
    await first.done;

    expect(second).toBe(first);
    expect(machine.get('once')).toBe(first);
    expect(plans).toBe(1);
    expect(() => machine.start('once', { batchId: 'other' })).toThrow(ExecutionAlreadyExistsError);
  });

  it('refuses a definition whose task calls a function it has no handler for', () => {
    const foreign = { definition: asl.definition, functionArns: { ...asl.functionArns, stats: 'arn:aws:lambda:us-east-1:000000000000:function:elsewhere' } };

    const fake = fakeBatch([], 1);
    expect(() => new LocalStateMachine(foreign, fake.handlers, { objects: fake.objects })).toThrow(/none of the batch functions/);
  });
});
