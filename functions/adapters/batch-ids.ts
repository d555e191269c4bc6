import { deterministicUlid } from './ids.js';

/** The batch id of an execution started without one (a schedule): the same on every retry of Plan or MarkFailed. */
export function batchIdForExecution(executionName: string, executionStartTime: string): string {
  const t = Date.parse(executionStartTime);
  return deterministicUlid(Number.isNaN(t) ? 0 : t, `batch:${executionName}`);
}

/** The replay id of a snapshot's replay within a batch: a retried item reuses it. */
export function replayIdForBatchItem(timeMs: number, batchId: string, snapshotId: string): string {
  return deterministicUlid(timeMs, `replay:${batchId}:${snapshotId}`);
}
