/**
 * BatchStarter and BatchStopper over Step Functions: the execution is named after the batch, so
 * starting the same batch twice (a retried request) starts one execution, and the execution to
 * stop is `execution:<state machine name>:<batch id>`.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import { ExecutionAlreadyExists, ExecutionDoesNotExist, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { BatchStarter } from '../core/batch.js';
import type { BatchStopper } from '../core/batch-control.js';

export class SfnBatchStarter implements BatchStarter, BatchStopper {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(batchId: string, input: { batchId: string }): Promise<void> {
    try {
      await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: batchId, input: JSON.stringify(input) }));
    } catch (err) {
      // Same name, same input: the execution exists already, which is what we wanted.
      if (!(err instanceof ExecutionAlreadyExists)) throw err;
    }
  }

  /** StopExecution; an execution that already ended stays as it ended (Step Functions ignores the stop). */
  async stop(batchId: string, reason: string): Promise<void> {
    const executionArn = `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${batchId}`;
    try {
      await this.client.send(new StopExecutionCommand({ executionArn, cause: reason.slice(0, 32_768) }));
    } catch (err) {
      // A batch recorded but never started (the start failed) has no execution to stop.
      if (!(err instanceof ExecutionDoesNotExist)) throw err;
    }
  }
}
