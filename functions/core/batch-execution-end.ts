/**
 * A batch whose execution ended abnormally (FAILED, TIMED_OUT or ABORTED, outside the workflow's
 * own Catch: a timeout, a StopExecution from outside, a failure in a state without a Catch, a
 * Lambda that could not be invoked) would otherwise stay RUNNING forever. This marks it FAILED,
 * naming the status and the execution, only while it is still RUNNING: a batch the workflow already
 * finished (SUCCEEDED, or FAILED by its Catch with its own reason) or that was CANCELLED through
 * the API (whose StopExecution ends the execution ABORTED) keeps its status and statistics.
 */
import type { BatchStore } from './batch.js';

/** The execution statuses that end a batch without the workflow having recorded how. */
export const ABNORMAL_EXECUTION_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export type AbnormalExecutionStatus = (typeof ABNORMAL_EXECUTION_STATUSES)[number];

/** One abnormal end of a batch's execution. */
export interface BatchExecutionEnd {
  batchId: string;
  status: AbnormalExecutionStatus;
  /** The execution, as an operator finds it (its ARN on AWS). */
  execution: string;
  /** When it ended (ISO 8601). */
  endedAt: string;
  /** The execution's error name and cause, when it has them (FAILED). */
  error?: string | undefined;
  cause?: string | undefined;
}

export interface BatchExecutionEndDeps {
  batches: Pick<BatchStore, 'failIfRunning'>;
}

/** What handling the end did: `failed` when this call marked the batch FAILED, `unchanged` when it was no longer RUNNING. */
export interface BatchExecutionEndOutcome {
  batchId: string;
  outcome: 'failed' | 'unchanged';
  reason: string;
}

/** The longest cause quoted in a failure reason (a Lambda error's cause can hold a whole stack trace). */
const MAX_CAUSE_CHARS = 500;

/** The reason stored on the batch: the status, the execution, and the error when there is one. */
export function executionEndReason(end: BatchExecutionEnd): string {
  const base = `the batch execution ended ${end.status}: ${end.execution}`;
  if (end.error === undefined && end.cause === undefined) return base;
  const cause = end.cause === undefined ? '' : `: ${end.cause.length > MAX_CAUSE_CHARS ? `${end.cause.slice(0, MAX_CAUSE_CHARS)}…` : end.cause}`;
  return `${base} (${end.error ?? 'UNKNOWN'}${cause})`;
}

/** Marks the batch FAILED if (and only if) it is still RUNNING. */
export async function failBatchOnExecutionEnd(deps: BatchExecutionEndDeps, end: BatchExecutionEnd): Promise<BatchExecutionEndOutcome> {
  const reason = executionEndReason(end);
  const changed = await deps.batches.failIfRunning(end.batchId, reason, end.endedAt);
  return { batchId: end.batchId, outcome: changed ? 'failed' : 'unchanged', reason };
}
