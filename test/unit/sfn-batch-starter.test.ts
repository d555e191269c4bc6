/** The Step Functions batch starter with a mocked SFN client: one execution per batch, named after it. */
import { ExecutionAlreadyExists, ExecutionDoesNotExist, InvalidArn, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SfnBatchStarter } from '../../functions/adapters/sfn-batch-starter.js';

const sfnMock = mockClient(SFNClient);
const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:decision-replay-batch';
const BATCH_ID = '01JG0000000000000000000001';

describe('SfnBatchStarter', () => {
  afterEach(() => sfnMock.reset());

  it('starts an execution named after the batch with input {batchId}', async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:${BATCH_ID}`, startDate: new Date() });
    const starter = new SfnBatchStarter(new SFNClient({ region: 'eu-west-1' }), ARN);

    await starter.start(BATCH_ID, { batchId: BATCH_ID });

    const calls = sfnMock.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({ stateMachineArn: ARN, name: BATCH_ID, input: JSON.stringify({ batchId: BATCH_ID }) });
    expect(JSON.parse(calls[0]?.args[0].input.input ?? '')).toEqual({ batchId: BATCH_ID });
  });

  it('treats ExecutionAlreadyExists as started (a retried request starts nothing twice)', async () => {
    sfnMock.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: `Execution Already Exists: '${ARN}:${BATCH_ID}'`, $metadata: {} }));
    const starter = new SfnBatchStarter(new SFNClient({ region: 'eu-west-1' }), ARN);

    await expect(starter.start(BATCH_ID, { batchId: BATCH_ID })).resolves.toBeUndefined();
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('rethrows any other error', async () => {
    const invalid = new InvalidArn({ message: 'Invalid Arn', $metadata: {} });
    sfnMock.on(StartExecutionCommand).rejects(invalid);
    const starter = new SfnBatchStarter(new SFNClient({ region: 'eu-west-1' }), ARN);

    await expect(starter.start(BATCH_ID, { batchId: BATCH_ID })).rejects.toBe(invalid);
  });

  it('rethrows a throttling error so the API answers a fault instead of a batch that never runs', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    sfnMock.on(StartExecutionCommand).rejects(throttled);
    const starter = new SfnBatchStarter(new SFNClient({ region: 'eu-west-1' }), ARN);

    await expect(starter.start(BATCH_ID, { batchId: BATCH_ID })).rejects.toThrow('Rate exceeded');
  });

  it('stops the execution named after the batch (StopExecution on execution:<machine>:<batch id>)', async () => {
    sfnMock.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    const starter = new SfnBatchStarter(new SFNClient({ region: 'eu-west-1' }), ARN);

    await starter.stop(BATCH_ID, 'cancelled through the API');

    const calls = sfnMock.commandCalls(StopExecutionCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([{ executionArn: `arn:aws:states:eu-west-1:123456789012:execution:decision-replay-batch:${BATCH_ID}`, cause: 'cancelled through the API' }]);
  });

  it('treats a missing execution as nothing to stop, and rethrows any other error', async () => {
    const starter = new SfnBatchStarter(new SFNClient({ region: 'eu-west-1' }), ARN);
    sfnMock.on(StopExecutionCommand).rejectsOnce(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));
    await expect(starter.stop(BATCH_ID, 'x')).resolves.toBeUndefined();
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    sfnMock.on(StopExecutionCommand).rejects(throttled);
    await expect(starter.stop(BATCH_ID, 'x')).rejects.toThrow('Rate exceeded');
  });
});
