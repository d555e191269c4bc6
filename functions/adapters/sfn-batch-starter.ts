/**
 * BatchStarter over Step Functions: the execution is named after the batch, so starting the same
 * batch twice (a retried request) starts one execution.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { BatchStarter } from '../core/batch.js';

export class SfnBatchStarter implements BatchStarter {
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
}
