/**
 * The batch Lambdas' edge: Step Functions payloads become the core's typed commands; the execution
 * name, the Catch's {Error, Cause} and Lambda's error JSON stay here.
 */
import { describe, expect, it } from 'vitest';
import { batchIdForExecution } from '../../functions/adapters/batch-ids.js';
import { asWorkflowError, BatchPayloadError, causeMessage, parsePlanPayload, parseReplayItemPayload, parseStatsPayload, workflowTask } from '../../functions/api/batch-tasks.js';
import { thrownFailure, workflowErrorCode } from '../../functions/api/error-codes.js';
import { MalformedStreamRecordError } from '../../functions/api/stream-consumer.js';
import { SimilarityProviderError } from '../../functions/core/similarity.js';
import { NotFoundError, PayloadTooLargeError } from '../../functions/core/errors.js';

const BATCH = '01JE0000000000000000000001';
const SNAP = '01JD0000000000000000000001';

describe('parsePlanPayload', () => {
  it('passes an API-started batch through by id', () => {
    expect(parsePlanPayload({ input: { batchId: BATCH }, executionName: BATCH, executionStartTime: '2026-11-02T02:00:00Z' })).toEqual({ batchId: BATCH });
  });

  it('gives a scheduled execution the batch id derived from its name and start time, the same on every retry', () => {
    const payload = { input: { trigger: 'schedule', scheduleName: 'nightly', request: { selector: { functionName: 'f', lastHours: 1 } } }, executionName: 'nightly-1', executionStartTime: '2026-11-02T02:00:00.000Z' };
    const command = parsePlanPayload(payload);
    expect(command).toEqual({ schedule: { batchId: batchIdForExecution('nightly-1', '2026-11-02T02:00:00.000Z'), scheduleName: 'nightly', request: payload.input.request, startedAt: '2026-11-02T02:00:00.000Z' } });
    expect(parsePlanPayload(payload)).toEqual(command);
  });

  it('throws BatchPayloadError (by name, for the workflow) on anything else', () => {
    expect(() => parsePlanPayload({ input: { batchId: 'not-a-ulid' }, executionName: 'x', executionStartTime: 'y' })).toThrow(BatchPayloadError);
    expect(() => parsePlanPayload({})).toThrow(/^plan payload: /);
  });
});

describe('parseReplayItemPayload', () => {
  it('turns a caught fault into the failure to record: INTERNAL_ERROR, its name and errorMessage (from the JSON Cause) as the message', () => {
    const cause = JSON.stringify({ errorType: 'TypeError', errorMessage: 'boom', trace: [] });
    expect(parseReplayItemPayload({ batchId: BATCH, snapshotId: SNAP, recordError: true, error: { Error: 'TypeError', Cause: cause } })).toEqual({ batchId: BATCH, snapshotId: SNAP, failure: { code: 'INTERNAL_ERROR', message: 'TypeError: boom' } });
  });

  it('keeps the code of a domain error thrown under it, and its message as it is', () => {
    const cause = JSON.stringify({ errorType: 'PAYLOAD_TOO_LARGE', errorMessage: 'replay result is 500000 bytes even compacted', trace: [] });
    expect(parseReplayItemPayload({ batchId: BATCH, snapshotId: SNAP, recordError: true, error: { Error: 'PAYLOAD_TOO_LARGE', Cause: cause } }).failure).toEqual({ code: 'PAYLOAD_TOO_LARGE', message: 'replay result is 500000 bytes even compacted' });
  });

  it('records a Step Functions error under its documented code, with its name before a plain-text Cause, and names an absent error UNKNOWN', () => {
    expect(parseReplayItemPayload({ batchId: BATCH, snapshotId: SNAP, recordError: true, error: { Error: 'States.Timeout', Cause: 'timed out' } }).failure).toEqual({ code: 'TASK_TIMED_OUT', message: 'States.Timeout: timed out' });
    expect(parseReplayItemPayload({ batchId: BATCH, snapshotId: SNAP, recordError: true }).failure).toEqual({ code: 'UNKNOWN', message: 'the replay failed after its retries' });
  });

  it('is a plain replay command without recordError', () => {
    expect(parseReplayItemPayload({ batchId: BATCH, snapshotId: SNAP })).toEqual({ batchId: BATCH, snapshotId: SNAP });
  });
});

describe('parseStatsPayload', () => {
  it('names the batch of a failed execution from its input, else from its name and start time', () => {
    expect(parseStatsPayload({ failed: true, input: { batchId: BATCH }, executionName: BATCH, executionStartTime: 't', error: { Error: 'States.Runtime', Cause: 'bad path' } })).toEqual({ batchId: BATCH, failed: { reason: 'WORKFLOW_ERROR: States.Runtime: bad path' } });
    expect(parseStatsPayload({ failed: true, input: {}, executionName: 'x', executionStartTime: '2026-11-02T02:00:00Z' })).toEqual({ batchId: batchIdForExecution('x', '2026-11-02T02:00:00Z'), failed: { reason: 'UNKNOWN: the replay failed after its retries' } });
  });

  it('is a fold command with a batch id', () => {
    expect(parseStatsPayload({ batchId: BATCH })).toEqual({ batchId: BATCH });
  });
});

describe('causeMessage', () => {
  it('cuts a long cause to 1,000 characters', () => {
    expect(causeMessage('x'.repeat(5000))).toHaveLength(1000);
  });
});

describe('workflowErrorCode', () => {
  it('gives every error name Step Functions, Lambda or a fault uses a documented SCREAMING_CASE code', () => {
    const codes = Object.fromEntries(
      [
        'States.Timeout',
        'States.HeartbeatTimeout',
        'Sandbox.Timedout',
        'Lambda.TooManyRequestsException',
        'Lambda.ServiceException',
        'Lambda.Unknown',
        'Runtime.ExitError',
        'States.TaskFailed',
        'States.DataLimitExceeded',
        'States.Runtime',
        'States.Aborted',
        'TypeError',
        'PayloadTooLargeError',
        'ProvisionedThroughputExceededException',
        'BatchPayloadError',
      ].map((name) => [name, workflowErrorCode(name)]),
    );
    expect(codes).toEqual({
      'States.Timeout': 'TASK_TIMED_OUT',
      'States.HeartbeatTimeout': 'TASK_TIMED_OUT',
      'Sandbox.Timedout': 'TASK_TIMED_OUT',
      'Lambda.TooManyRequestsException': 'TASK_THROTTLED',
      'Lambda.ServiceException': 'TASK_FAILED',
      'Lambda.Unknown': 'TASK_FAILED',
      'Runtime.ExitError': 'TASK_FAILED',
      'States.TaskFailed': 'TASK_FAILED',
      'States.DataLimitExceeded': 'STATE_DATA_TOO_LARGE',
      'States.Runtime': 'WORKFLOW_ERROR',
      'States.Aborted': 'WORKFLOW_ERROR',
      TypeError: 'INTERNAL_ERROR',
      PayloadTooLargeError: 'INTERNAL_ERROR',
      ProvisionedThroughputExceededException: 'INTERNAL_ERROR',
      BatchPayloadError: 'INTERNAL_ERROR',
    });
  });

  it('keeps a code the service gives as it is', () => {
    for (const code of ['PAYLOAD_TOO_LARGE', 'POLICY_TAMPERED', 'BATCH_NOT_FOUND', 'EXECUTOR_TIMEOUT', 'BATCH_REPLAY_FAILED']) expect(workflowErrorCode(code)).toBe(code);
  });
});

describe('thrownFailure', () => {
  it('reports a domain error and a similarity provider error under their codes, and a fault as INTERNAL_ERROR naming it', () => {
    expect(thrownFailure(new PayloadTooLargeError("validation report exceeds DynamoDB's 409600-byte (400 KB) item limit", 409_600, 409_601))).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      message: "validation report exceeds DynamoDB's 409600-byte (400 KB) item limit",
    });
    expect(thrownFailure(new MalformedStreamRecordError('record 1: not a snapshot'))).toEqual({ code: 'MALFORMED_STREAM_RECORD', message: 'record 1: not a snapshot' });
    expect(thrownFailure(new SimilarityProviderError('bedrock', 'Titan embedding failed', { code: 'BEDROCK_ERROR' }))).toEqual({ code: 'BEDROCK_ERROR', message: 'Titan embedding failed' });
    expect(thrownFailure(new TypeError('x is undefined'))).toEqual({ code: 'INTERNAL_ERROR', message: 'TypeError: x is undefined' });
    expect(thrownFailure('a string')).toEqual({ code: 'INTERNAL_ERROR', message: 'Error: a string' });
  });
});

describe('asWorkflowError and workflowTask', () => {
  it("throws a domain error under its code as its name (what crosses a Lambda invocation), keeping its message and the error as cause", async () => {
    const domain = new PayloadTooLargeError('replay result is 500000 bytes even compacted', 409_600, 500_000);
    const thrown = await workflowTask(() => Promise.reject(domain))(undefined).catch((e: unknown) => e);
    expect(thrown).toMatchObject({ name: 'PAYLOAD_TOO_LARGE', message: 'replay result is 500000 bytes even compacted', cause: domain });
    expect(asWorkflowError(new NotFoundError('batch', BATCH))).toMatchObject({ name: 'BATCH_NOT_FOUND' });
  });

  it('throws a fault as it is, and passes a result through', async () => {
    const fault = new TypeError('x is undefined');
    expect(asWorkflowError(fault)).toBe(fault);
    await expect(workflowTask(() => Promise.resolve(42))(undefined)).resolves.toBe(42);
  });
});
