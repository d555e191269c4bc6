/**
 * Decorators that log and measure the decisions that matter, around the ports the core already
 * uses, so the core stays free of I/O: a replay's outcome (and an integrity failure), each executor
 * call (latency, and its error code), an on-write violation, a batch item's failure, a batch's
 * outcome. Log lines carry ids, names, statuses and codes — never snapshot payloads, executor
 * configurations or secrets.
 */
import type { BatchControlStore } from '../core/batch-control.js';
import type { EventPublisher } from '../core/events.js';
import { ExecutorError, type ExecutionRequest, type ExecutionResult, type Executor, type ExecutorConfig } from '../core/executor.js';
import type { Clock } from '../core/ports.js';
import type { ReplayResult, ReplayResultStore } from '../core/replay.js';
import type { AppLogger } from '../handlers/clients.js';
import { METRIC, type Telemetry } from './telemetry.js';

export interface Observers {
  logger: AppLogger;
  telemetry: Telemetry;
}

/** Logs and counts every replay result as it is stored (API replays and batch items alike). */
export function observeReplayResults(store: ReplayResultStore, { logger, telemetry }: Observers): ReplayResultStore {
  return {
    listForSnapshot: (snapshotId, limit, cursor) => store.listForSnapshot(snapshotId, limit, cursor),
    async put(result: ReplayResult, options?: { sortAt?: string }): Promise<boolean> {
      const written = await store.put(result, options);
      if (!written) return written;
      const outcome = {
        replayId: result.replayId,
        snapshotId: result.snapshotId,
        functionName: result.functionName,
        mode: result.mode,
        status: result.status,
        outputsMatch: result.outputsMatch,
        integrity: result.integrity,
        policyViolations: result.policyViolations.length,
        executionTimeMs: result.executionTimeMs,
        ...(result.error && { errorCode: result.error.code }),
      };
      logger.info('replay outcome', outcome);
      telemetry.record(METRIC.replays, 'Count', 1, { status: result.status, mode: result.mode });
      if (result.policyViolations.length > 0) telemetry.record(METRIC.policyViolations, 'Count', result.policyViolations.length, { source: 'replay' });
      if (result.integrity === 'tampered') {
        logger.error('integrity failure: the stored snapshot does not match its contentHash', { snapshotId: result.snapshotId, replayId: result.replayId, functionName: result.functionName });
        telemetry.record(METRIC.tamperedSnapshots, 'Count', 1);
      }
      return written;
    },
  };
}

/** Measures each executor call and logs an executor error with its code. */
export function observeExecutors(create: (config: ExecutorConfig) => Executor, { logger, telemetry }: Observers, clock: Clock): (config: ExecutorConfig) => Executor {
  return (config) => {
    const executor = create(config);
    const observed: Executor = {
      description: executor.description,
      timeoutMs: executor.timeoutMs,
      supportsModel: (modelName) => executor.supportsModel(modelName),
      async execute(req: ExecutionRequest, options: { timeoutMs: number }): Promise<ExecutionResult> {
        const started = clock.now();
        try {
          const result = await executor.execute(req, options);
          telemetry.record(METRIC.executorLatency, 'Milliseconds', clock.now() - started, { executorType: config.type, outcome: 'ok' });
          return result;
        } catch (err) {
          telemetry.record(METRIC.executorLatency, 'Milliseconds', clock.now() - started, { executorType: config.type, outcome: 'error' });
          const code = err instanceof ExecutorError ? err.code : 'EXECUTOR_FAULT';
          telemetry.record(METRIC.executorErrors, 'Count', 1, { code });
          // Code and target only: the message may quote the executor's answer.
          logger.warn('executor error', { code, executor: executor.description, functionName: req.functionName });
          throw err;
        }
      },
    };
    return observed;
  };
}

/** Logs and counts each PolicyViolation event on-write publishes. */
export function observeViolations(events: EventPublisher, { logger, telemetry }: Observers): EventPublisher {
  return {
    async publishPolicyViolation(event) {
      await events.publishPolicyViolation(event);
      logger.warn('on-write violation', {
        snapshotId: event.snapshotId,
        functionName: event.functionName,
        policy: event.policy,
        reportId: event.reportId,
        rules: event.violations.map((v) => v.ruleName),
      });
      telemetry.record(METRIC.policyViolations, 'Count', event.violations.length, { source: 'on-write' });
    },
  };
}

/**
 * Logs and counts a batch cancelled by `POST /batches/{id}/cancel` as batch-stats does a batch that
 * ended (`batch outcome`, `Batches` by status): a cancelled batch never reaches batch-stats, and
 * without this the `Batches` metric had no CANCELLED. Counted once, when the RUNNING → CANCELLED
 * write succeeds; a cancel refused (the batch had ended) counts nothing. The store is otherwise
 * the same object (its other methods are inherited).
 */
export function observeBatchCancels<S extends Pick<BatchControlStore, 'cancel'>>(store: S, { logger, telemetry }: Observers): S {
  return Object.assign(Object.create(store) as S, {
    async cancel(...args: Parameters<BatchControlStore['cancel']>): Promise<boolean> {
      const written = await store.cancel(...args);
      if (!written) return written;
      const [batchId, stats, completed] = args;
      logger.info('batch outcome', { batchId, status: 'CANCELLED', completed, totalReplays: stats.totalReplays, failedReplays: stats.failedReplays, matches: stats.matches });
      telemetry.record(METRIC.batches, 'Count', 1, { status: 'CANCELLED' });
      return written;
    },
  });
}
