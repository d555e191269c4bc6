/**
 * The edge of the execution-end Lambda: the Step Functions "Execution Status Change" event that
 * EventBridge delivers when a batch execution ends, parsed once here into the core's
 * {@link BatchExecutionEnd}. Which batch an execution runs is the same rule the workflow's own
 * tasks use: `{batchId}` in the input (an API-started batch), else the batch id of the execution's
 * name and start time (a scheduled one, {@link batchIdForExecution}).
 */
import * as z from 'zod/mini';
import { batchIdForExecution } from '../adapters/batch-ids.js';
import { ABNORMAL_EXECUTION_STATUSES, type BatchExecutionEnd } from '../core/batch-execution-end.js';
import { ULID } from '../core/ulid.js';
import { BatchPayloadError, causeMessage } from './batch-tasks.js';
import { workflowErrorCode } from './error-codes.js';

/** The `source` and `detail-type` of the event (the rule's pattern matches on both). */
export const EXECUTION_STATUS_CHANGE = { source: 'aws.states', detailType: 'Step Functions Execution Status Change' } as const;

/** The fields of the event's `detail` this function reads (EventBridge sends more). */
export const ExecutionStatusChangeSchema = z.object({
  source: z.literal(EXECUTION_STATUS_CHANGE.source),
  'detail-type': z.literal(EXECUTION_STATUS_CHANGE.detailType),
  detail: z.object({
    executionArn: z.string().check(z.minLength(1)),
    stateMachineArn: z.string().check(z.minLength(1)),
    name: z.string().check(z.minLength(1)),
    status: z.string(),
    /** Epoch milliseconds, as `$$.Execution.StartTime` is the same instant in ISO 8601. */
    startDate: z.number(),
    stopDate: z.nullish(z.number()),
    /** The execution input as JSON text (null when it was not included). */
    input: z.nullish(z.string()),
    error: z.nullish(z.string()),
    cause: z.nullish(z.string()),
  }),
});
export type ExecutionStatusChange = z.infer<typeof ExecutionStatusChangeSchema>;

/** Why an event is not an abnormal end of one of this stack's batch executions (logged, not failed). */
export interface IgnoredExecutionEvent {
  ignored: string;
}

const BatchInputSchema = z.object({ batchId: z.string().check(z.regex(ULID)) });

/** The batch an execution runs: `{batchId}` in its input, else the scheduled batch of its name and start. */
function batchIdOf(detail: ExecutionStatusChange['detail']): string {
  if (detail.input !== undefined && detail.input !== null) {
    let input: unknown;
    try {
      input = JSON.parse(detail.input);
    } catch {
      input = undefined;
    }
    const parsed = BatchInputSchema.safeParse(input);
    if (parsed.success) return parsed.data.batchId;
  }
  return batchIdForExecution(detail.name, new Date(detail.startDate).toISOString());
}

/**
 * The abnormal end an event reports, or why it is ignored: another state machine's execution
 * (the rule matches this one only; this guard keeps it so), or a status that is not an abnormal
 * end. `now` stands in for a missing stop date. Throws {@link BatchPayloadError} for an event that is not a status change at all.
 */
export function parseExecutionEnd(event: unknown, stateMachineArn: string, now: string): BatchExecutionEnd | IgnoredExecutionEvent {
  const parsed = ExecutionStatusChangeSchema.safeParse(event);
  if (!parsed.success) throw new BatchPayloadError(`execution status change: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const { detail } = parsed.data;
  if (detail.stateMachineArn !== stateMachineArn) return { ignored: `execution ${detail.executionArn} is not of the batch state machine ${stateMachineArn}` };
  const status = ABNORMAL_EXECUTION_STATUSES.find((s) => s === detail.status);
  if (status === undefined) return { ignored: `execution ${detail.executionArn} is ${detail.status}, not an abnormal end` };
  const end: BatchExecutionEnd = {
    batchId: batchIdOf(detail),
    status,
    execution: detail.executionArn,
    endedAt: detail.stopDate === undefined || detail.stopDate === null ? now : new Date(detail.stopDate).toISOString(),
  };
  const cause = detail.cause !== undefined && detail.cause !== null && detail.cause !== '' ? causeMessage(detail.cause) : undefined;
  if (detail.error !== undefined && detail.error !== null && detail.error !== '') {
    // The documented code; Step Functions' or Lambda's own name stays at the head of the cause.
    end.error = workflowErrorCode(detail.error);
    const named = end.error === detail.error ? cause : cause === undefined ? detail.error : `${detail.error}: ${cause}`;
    if (named !== undefined) end.cause = named;
  } else if (cause !== undefined) {
    end.cause = cause;
  }
  return end;
}
