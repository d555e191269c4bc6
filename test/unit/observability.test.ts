/**
 * The decisions that matter are logged (ids, statuses, codes; never payloads or secrets) and
 * counted in EMF, read back here through the local metrics store from Powertools' own EMF lines
 * (published by `flush`, as at the end of an invocation).
 */
import { describe, expect, it } from 'vitest';
import { observeBatchCancels, observeExecutors, observeReplayResults, observeViolations } from '../../functions/adapters/observability.js';
import { ExecutorTimeoutError, type Executor } from '../../functions/core/executor.js';
import type { ReplayResult } from '../../functions/core/replay.js';
import type { ReplayStats } from '../../functions/core/stats.js';
import type { BatchControlStore } from '../../functions/core/batch-control.js';
import { LocalMetricsStore, localTelemetry } from '../../functions/local/metrics.js';
import { MemoryReplayResultStore } from '../support/memory-ports.js';

function spyLogger() {
  const lines: Array<{ level: string; message: string; extra: unknown[] }> = [];
  const at = (level: string) => (message: string, ...extra: unknown[]) => void lines.push({ level, message, extra });
  return { lines, logger: { info: at('INFO'), warn: at('WARN'), error: at('ERROR') } };
}

function result(overrides: Partial<ReplayResult> = {}): ReplayResult {
  return {
    replayId: '01JC0000000000000000000R01',
    snapshotId: '01JC0000000000000000000S01',
    functionName: 'approve_loan',
    mode: 'Tolerant',
    tolerance: 0.8,
    status: 'Failed',
    outputsMatch: false,
    replayOutputs: [{ name: 'rationale', value: 'SECRET-PAYLOAD' }],
    fieldComparisons: [],
    diff: { changes: [], inputsChanged: false, outputsChanged: true, modelParamsChanged: false, executionTimeDeltaMs: 0 },
    policy: null,
    policyViolations: [{ ruleName: 'r', field: 'outputs.score', expected: 'x', actual: 'y', message: 'm' }],
    integrity: 'verified',
    executionTimeMs: 5,
    executor: 'http POST https://models.example.com/x',
    overrides: null,
    createdAt: '2026-11-02T10:00:00.000Z',
    ...overrides,
  } as ReplayResult;
}

describe('observeReplayResults', () => {
  it('logs the outcome without the payload and counts replays by status and mode, and violations', async () => {
    const metrics = new LocalMetricsStore();
    const { lines, logger } = spyLogger();
    const telemetry = localTelemetry('decision-replay-replay', metrics);
    const store = observeReplayResults(new MemoryReplayResultStore(), { logger, telemetry });

    await store.put(result());
    telemetry.flush();

    expect(lines).toEqual([{ level: 'INFO', message: 'replay outcome', extra: [expect.objectContaining({ status: 'Failed', mode: 'Tolerant', policyViolations: 1 })] }]);
    expect(JSON.stringify(lines)).not.toContain('SECRET-PAYLOAD');
    expect(metrics.items().map((s) => [s.name, s.dimensions, s.sum])).toEqual([
      ['PolicyViolations', { service: 'decision-replay-replay', source: 'replay' }, 1],
      ['Replays', { service: 'decision-replay-replay', status: 'Failed', mode: 'Tolerant' }, 1],
    ]);
  });

  it('reports a tampered snapshot as an integrity failure and counts it; a repeated put counts nothing', async () => {
    const metrics = new LocalMetricsStore();
    const { lines, logger } = spyLogger();
    const telemetry = localTelemetry('svc', metrics);
    const store = observeReplayResults(new MemoryReplayResultStore(), { logger, telemetry });

    await store.put(result({ integrity: 'tampered', policyViolations: [] }));
    await store.put(result({ integrity: 'tampered', policyViolations: [] }));
    telemetry.flush();

    expect(lines.filter((l) => l.level === 'ERROR').map((l) => l.message)).toEqual(['integrity failure: the stored snapshot does not match its contentHash']);
    expect(metrics.items().find((s) => s.name === 'TamperedSnapshots')?.sum).toBe(1);
  });
});

describe('observeExecutors', () => {
  it('measures each call and logs an executor error by code and target, not by message', async () => {
    const metrics = new LocalMetricsStore();
    const { lines, logger } = spyLogger();
    let t = 1000;
    const failing: Executor = {
      description: 'http POST https://models.example.com/x',
      timeoutMs: 50,
      supportsModel: () => true,
      execute: () => {
        t += 50;
        return Promise.reject(new ExecutorTimeoutError(50, 'SECRET-ANSWER'));
      },
    };
    const telemetry = localTelemetry('svc', metrics);
    const create = observeExecutors(() => failing, { logger, telemetry }, { now: () => t });

    await expect(create({ type: 'http', url: 'https://models.example.com/x' }).execute({ functionName: 'f', inputs: [] }, { timeoutMs: 50 })).rejects.toBeInstanceOf(ExecutorTimeoutError);
    telemetry.flush();

    expect(lines).toEqual([{ level: 'WARN', message: 'executor error', extra: [{ code: 'EXECUTOR_TIMEOUT', executor: failing.description, functionName: 'f' }] }]);
    expect(JSON.stringify(lines)).not.toContain('SECRET-ANSWER');
    expect(metrics.items().map((s) => [s.name, s.dimensions, s.sum])).toEqual([
      ['ExecutorErrors', { service: 'svc', code: 'EXECUTOR_TIMEOUT' }, 1],
      ['ExecutorLatency', { service: 'svc', executorType: 'http', outcome: 'error' }, 50],
    ]);
  });
});

describe('observeViolations', () => {
  it('logs each on-write violation by rule name and counts the violated rules', async () => {
    const metrics = new LocalMetricsStore();
    const { lines, logger } = spyLogger();
    const published: unknown[] = [];
    const telemetry = localTelemetry('svc', metrics);
    const events = observeViolations({ publishPolicyViolation: (e) => Promise.resolve(void published.push(e)) }, { logger, telemetry });

    await events.publishPolicyViolation({ snapshotId: 's', functionName: 'f', policy: { name: 'p', version: 1 }, reportId: 'r', baselineId: null, snapshotCreatedAt: 't', violations: [{ ruleName: 'a', field: 'x', expected: '1', actual: '2', message: 'm' }, { ruleName: 'b', field: 'y', expected: '1', actual: '2', message: 'm' }] });
    telemetry.flush();

    expect(published).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'WARN', message: 'on-write violation', extra: [{ snapshotId: 's', rules: ['a', 'b'] }] });
    expect(metrics.items()).toMatchObject([{ name: 'PolicyViolations', dimensions: { service: 'svc', source: 'on-write' }, sum: 2 }]);
  });
});

describe('observeBatchCancels', () => {
  // Only the counts the log line carries matter here.
  const stats = { totalReplays: 4, failedReplays: 1, matches: 2 } as unknown as ReplayStats;

  it('logs and counts a cancel that was written, once, and leaves the other methods of the store as they are', async () => {
    const metrics = new LocalMetricsStore();
    const { lines, logger } = spyLogger();
    const telemetry = localTelemetry('decision-replay-batches', metrics);
    const calls: string[] = [];
    const store = {
      label: 'the store',
      async cancel(...args: Parameters<BatchControlStore['cancel']>) {
        calls.push(args[0]);
        return calls.length === 1;
      },
      describe(this: { label: string }) {
        return this.label;
      },
    };
    const observed = observeBatchCancels(store, { logger, telemetry });

    expect(await observed.cancel('01JC0000000000000000000B01', stats, 3, '2026-12-02T10:00:00.000Z')).toBe(true);
    // Refused: the batch was no longer RUNNING. Nothing is logged or counted.
    expect(await observed.cancel('01JC0000000000000000000B01', stats, 3, '2026-12-02T10:00:01.000Z')).toBe(false);
    telemetry.flush();

    expect(calls).toEqual(['01JC0000000000000000000B01', '01JC0000000000000000000B01']);
    expect(observed.describe()).toBe('the store');
    expect(lines).toEqual([{ level: 'INFO', message: 'batch outcome', extra: [{ batchId: '01JC0000000000000000000B01', status: 'CANCELLED', completed: 3, totalReplays: 4, failedReplays: 1, matches: 2 }] }]);
    expect(metrics.items().map((s) => [s.name, s.dimensions, s.sum])).toEqual([['Batches', { service: 'decision-replay-batches', status: 'CANCELLED' }, 1]]);
  });
});

describe('LocalMetricsStore', () => {
  it('aggregates EMF lines per metric and dimension set, a value array as its data points, and ignores lines that are not EMF', () => {
    const store = new LocalMetricsStore();
    const telemetry = localTelemetry('svc', store);
    telemetry.record('OnWriteLag', 'Milliseconds', 10);
    telemetry.record('OnWriteLag', 'Milliseconds', 30);
    telemetry.flush();
    store.ingest('not json');
    store.ingest('{"level":"INFO"}');

    // One line: `"OnWriteLag": [10, 30]`.
    expect(store.lines).toBe(1);
    expect(store.items()).toMatchObject([{ namespace: 'DecisionReplay', name: 'OnWriteLag', unit: 'Milliseconds', dimensions: { service: 'svc' }, count: 2, sum: 40, min: 10, max: 30, last: 30 }]);
  });
});
