/**
 * The local state machine's abnormal execution ends, as the event Step Functions puts on
 * EventBridge for them ("Execution Status Change"), so that the local host hands them to the same
 * execution-end function the deployed rule invokes: one path for both.
 */
import { EXECUTION_STATUS_CHANGE, type ExecutionStatusChange } from '../api/execution-end.js';
import type { LocalExecution, LocalExecutionOutcome } from './step-functions.js';

/** The execution ARN Step Functions would give `name` under `stateMachineArn`. */
export function localExecutionArn(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** The status-change event of an execution that ended FAILED or ABORTED (undefined for SUCCEEDED). */
export function localExecutionStatusChange(
  stateMachineArn: string,
  execution: LocalExecution,
  input: object,
  outcome: LocalExecutionOutcome,
  stopDate: number,
): ExecutionStatusChange | undefined {
  if (outcome.status === 'SUCCEEDED') return undefined;
  return {
    source: EXECUTION_STATUS_CHANGE.source,
    'detail-type': EXECUTION_STATUS_CHANGE.detailType,
    detail: {
      executionArn: localExecutionArn(stateMachineArn, execution.executionName),
      stateMachineArn,
      name: execution.executionName,
      status: outcome.status,
      startDate: execution.startDate,
      stopDate,
      input: JSON.stringify(input),
      ...(outcome.status === 'FAILED' && { error: outcome.error.Error, cause: outcome.error.Cause }),
    },
  };
}
