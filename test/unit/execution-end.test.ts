/**
 * The execution-end function (issue 9, "AWS execution end") with a mocked DynamoDB client: the
 * Step Functions "Execution Status Change" event of an abnormal end becomes one conditional
 * UpdateItem of its batch (FAILED only while RUNNING, a reason naming the status and the
 * execution); anything else is ignored or refused.
 */
import { ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { batchIdForExecution } from '../../functions/adapters/batch-ids.js';
import { DYNAMODB_CLIENT_SETTINGS } from '../../functions/adapters/dynamodb/client.js';
import { DocumentClient } from '../../functions/adapters/dynamodb/document-client.js';
import { parseExecutionEnd } from '../../functions/api/execution-end.js';
import { BatchPayloadError, parsePlanPayload } from '../../functions/api/batch-tasks.js';
import { executionEndReason } from '../../functions/core/batch-execution-end.js';
import { compose } from '../../functions/handlers/execution-end.compose.js';
import { LocalMetricsStore, localTelemetry } from '../../functions/local/metrics.js';

const ddbMock = mockClient(DynamoDBClient);
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:BatchWorkflowBatchReplays-AbC123';
const BATCH_ID = '01JG0000000000000000000001';
const NOW = Date.parse('2026-11-30T23:00:00.000Z');

/** The event as EventBridge delivers it (the shape of the Step Functions documentation's example). */
function statusChange(detail: Record<string, unknown>, name = BATCH_ID): Record<string, unknown> {
  const executionArn = `${MACHINE.replace(':stateMachine:', ':execution:')}:${name}`;
  return {
    version: '0',
    id: '315c1398-40ff-a850-213b-158f73e60175',
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: '123456789012',
    time: '2026-11-30T22:59:59Z',
    region: 'eu-west-1',
    resources: [executionArn],
    detail: {
      executionArn,
      stateMachineArn: MACHINE,
      name,
      status: 'TIMED_OUT',
      startDate: NOW - 3_600_000,
      stopDate: NOW - 1_000,
      input: JSON.stringify({ batchId: BATCH_ID }),
      inputDetails: { included: true },
      output: null,
      outputDetails: null,
      error: null,
      cause: null,
      ...detail,
    },
  };
}

function spyLogger() {
  const lines: Array<{ level: string; message: string; extra: unknown[] }> = [];
  const at = (level: string) => (message: string, ...extra: unknown[]) => void lines.push({ level, message, extra });
  return { lines, logger: { info: at('INFO'), warn: at('WARN'), error: at('ERROR') } };
}

function handler() {
  const { lines, logger } = spyLogger();
  const metrics = new LocalMetricsStore();
  const doc = new DocumentClient(new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, ...DYNAMODB_CLIENT_SETTINGS }));
  const fn = compose({ TABLE_NAME: 'decisions', STATE_MACHINE_ARN: MACHINE }, { doc, clock: { now: () => NOW }, ids: { next: () => 'unused' } as never, logger, telemetry: localTelemetry('decision-replay-execution-end', metrics) });
  return { fn, lines, metrics };
}

describe('parseExecutionEnd', () => {
  it('reads the batch id of an API-started batch from the execution input', () => {
    expect(parseExecutionEnd(statusChange({}), MACHINE, '')).toEqual({
      batchId: BATCH_ID,
      status: 'TIMED_OUT',
      execution: `${MACHINE.replace(':stateMachine:', ':execution:')}:${BATCH_ID}`,
      endedAt: new Date(NOW - 1_000).toISOString(),
    });
  });

  it('derives a scheduled batch\'s id from the execution name and start exactly as the workflow\'s Plan step does', () => {
    const name = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
    const startDate = Date.parse('2026-11-30T03:00:00.123Z');
    const input = { trigger: 'schedule', scheduleName: 'nightly', request: { selector: { functionName: 'f', lastHours: 24 } } };
    const end = parseExecutionEnd(statusChange({ status: 'FAILED', input: JSON.stringify(input), startDate, error: 'States.Runtime', cause: 'boom' }, name), MACHINE, '');
    // Plan receives `$$.Execution.StartTime`, the same instant in ISO 8601.
    const planned = parsePlanPayload({ input, executionName: name, executionStartTime: '2026-11-30T03:00:00.123Z' });
    expect('schedule' in planned && planned.schedule.batchId).toBe(batchIdForExecution(name, '2026-11-30T03:00:00.123Z'));
    expect(end).toMatchObject({ batchId: 'schedule' in planned ? planned.schedule.batchId : '', status: 'FAILED', error: 'WORKFLOW_ERROR', cause: 'States.Runtime: boom' });
  });

  it('keeps only the message of a Lambda error cause, and a code the service gives as it is', () => {
    const cause = JSON.stringify({ errorType: 'BATCH_NOT_FOUND', errorMessage: 'batch 01J… not found', trace: ['at x', 'at y'] });
    expect(parseExecutionEnd(statusChange({ status: 'FAILED', error: 'BATCH_NOT_FOUND', cause }), MACHINE, '')).toMatchObject({ error: 'BATCH_NOT_FOUND', cause: 'batch 01J… not found' });
  });

  it("gives Step Functions' and Lambda's error names their documented codes, keeping the name before the cause", () => {
    expect(parseExecutionEnd(statusChange({ status: 'TIMED_OUT', error: 'States.Timeout', cause: null }), MACHINE, '')).toMatchObject({ error: 'TASK_TIMED_OUT', cause: 'States.Timeout' });
    const fault = JSON.stringify({ errorType: 'TypeError', errorMessage: 'x is undefined', trace: [] });
    expect(parseExecutionEnd(statusChange({ status: 'FAILED', error: 'TypeError', cause: fault }), MACHINE, '')).toMatchObject({ error: 'INTERNAL_ERROR', cause: 'TypeError: x is undefined' });
  });

  it('ignores SUCCEEDED and RUNNING, and executions of another state machine', () => {
    for (const status of ['SUCCEEDED', 'RUNNING', 'PENDING_REDRIVE']) expect(parseExecutionEnd(statusChange({ status }), MACHINE, ''), status).toHaveProperty('ignored');
    expect(parseExecutionEnd(statusChange({ status: 'FAILED', stateMachineArn: `${MACHINE}/child-map-run` }), MACHINE, '')).toHaveProperty('ignored');
  });

  it('refuses an event that is not a status change, naming what is wrong', () => {
    expect(() => parseExecutionEnd({ source: 'aws.states', 'detail-type': 'Step Functions Execution Status Change', detail: { status: 'FAILED' } }, MACHINE, '')).toThrow(BatchPayloadError);
    expect(() => parseExecutionEnd({ ...statusChange({}), source: 'aws.s3' }, MACHINE, '')).toThrow(/source/);
  });

  it('uses `now` when the event carries no stop date', () => {
    expect(parseExecutionEnd(statusChange({ stopDate: null }), MACHINE, '2026-12-01T00:00:00.000Z')).toMatchObject({ endedAt: '2026-12-01T00:00:00.000Z' });
  });
});

describe('executionEndReason', () => {
  it('names the status and the execution, then the error and a cut cause', () => {
    expect(executionEndReason({ batchId: BATCH_ID, status: 'ABORTED', execution: 'arn:x', endedAt: '' })).toBe('the batch execution ended ABORTED: arn:x');
    const reason = executionEndReason({ batchId: BATCH_ID, status: 'FAILED', execution: 'arn:x', endedAt: '', error: 'States.Runtime', cause: 'c'.repeat(2_000) });
    expect(reason.startsWith('the batch execution ended FAILED: arn:x (States.Runtime: ccc')).toBe(true);
    expect(reason.length).toBeLessThan(600);
    // A cause without an error name is quoted under UNKNOWN, as a caught error without one is.
    expect(executionEndReason({ batchId: BATCH_ID, status: 'FAILED', execution: 'arn:x', endedAt: '', cause: 'boom' })).toBe('the batch execution ended FAILED: arn:x (UNKNOWN: boom)');
  });
});

describe('the execution-end function (mocked DynamoDB)', () => {
  afterEach(() => ddbMock.reset());

  it('marks the batch FAILED with one UpdateItem conditional on RUNNING, and counts it', async () => {
    ddbMock.on(UpdateItemCommand).resolves({});
    const { fn, lines, metrics } = handler();

    const out = await fn(statusChange({}));

    const execution = `${MACHINE.replace(':stateMachine:', ':execution:')}:${BATCH_ID}`;
    expect(out).toEqual({ batchId: BATCH_ID, outcome: 'failed', reason: `the batch execution ended TIMED_OUT: ${execution}` });
    const calls = ddbMock.commandCalls(UpdateItemCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input).toMatchObject({ TableName: 'decisions', ConditionExpression: '#status = :running' });
    expect(unmarshall(input?.Key ?? {})).toEqual({ pk: `BATCH#${BATCH_ID}`, sk: 'META' });
    expect(unmarshall(input?.ExpressionAttributeValues ?? {})).toEqual({ ':s': 'FAILED', ':r': `the batch execution ended TIMED_OUT: ${execution}`, ':at': new Date(NOW - 1_000).toISOString(), ':running': 'RUNNING' });
    expect(ddbMock.calls()).toHaveLength(1); // nothing read, nothing else written
    expect(lines.filter((l) => l.level === 'ERROR').map((l) => l.message)).toEqual(['batch marked FAILED: its execution ended abnormally']);
    expect(metrics.items().map((s) => [s.name, s.dimensions.status, s.sum])).toEqual([['Batches', 'FAILED', 1]]);
  });

  it('leaves a batch that is no longer RUNNING as it is (SUCCEEDED, CANCELLED, or FAILED by the Catch)', async () => {
    ddbMock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    const { fn, lines, metrics } = handler();

    const out = await fn(statusChange({ status: 'ABORTED' }));

    expect(out).toMatchObject({ batchId: BATCH_ID, outcome: 'unchanged' });
    expect(ddbMock.commandCalls(UpdateItemCommand)).toHaveLength(1);
    expect(lines.filter((l) => l.level === 'ERROR')).toEqual([]);
    expect(metrics.items()).toEqual([]);
  });

  it('writes nothing for an ignored event', async () => {
    const { fn } = handler();
    await expect(fn(statusChange({ status: 'SUCCEEDED' }))).resolves.toHaveProperty('ignored');
    expect(ddbMock.calls()).toHaveLength(0);
  });

  it('rethrows any other DynamoDB error, so EventBridge and Lambda retry the event', async () => {
    ddbMock.on(UpdateItemCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' }));
    const { fn } = handler();
    await expect(fn(statusChange({}))).rejects.toThrow('Rate exceeded');
  });
});
