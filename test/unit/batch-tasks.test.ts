/**
 * The batch Lambdas' edge: Step Functions payloads become the core's typed commands; the execution
 * name, the Catch's {Error, Cause} and Lambda's error JSON stay here.
 */
import { describe, expect, it } from 'vitest';
import { batchIdForExecution } from '../../functions/adapters/batch-ids.js';
import { BatchPayloadError, causeMessage, parsePlanPayload, parseReplayItemPayload, parseStatsPayload } from '../../functions/api/batch-tasks.js';

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
  it('turns a caught Lambda function error into the failure to record, with errorMessage from its JSON Cause', () => {
    const cause = JSON.stringify({ errorType: 'TypeError', errorMessage: 'boom', trace: [] });
    expect(parseReplayItemPayload({ batchId: BATCH, snapshotId: SNAP, recordError: true, error: { Error: 'TypeError', Cause: cause } })).toEqual({ batchId: BATCH, snapshotId: SNAP, failure: { code: 'TypeError', message: 'boom' } });
  });

  it('keeps a plain-text Cause and names an absent error UNKNOWN', () => {
    expect(parseReplayItemPayload({ batchId: BATCH, snapshotId: SNAP, recordError: true, error: { Error: 'States.Timeout', Cause: 'timed out' } }).failure).toEqual({ code: 'States.Timeout', message: 'timed out' });
    expect(parseReplayItemPayload({ batchId: BATCH, snapshotId: SNAP, recordError: true }).failure).toEqual({ code: 'UNKNOWN', message: 'the replay failed after its retries' });
  });

  it('is a plain replay command without recordError', () => {
    expect(parseReplayItemPayload({ batchId: BATCH, snapshotId: SNAP })).toEqual({ batchId: BATCH, snapshotId: SNAP });
  });
});

describe('parseStatsPayload', () => {
  it('names the batch of a failed execution from its input, else from its name and start time', () => {
    expect(parseStatsPayload({ failed: true, input: { batchId: BATCH }, executionName: BATCH, executionStartTime: 't', error: { Error: 'States.Runtime', Cause: 'bad path' } })).toEqual({ batchId: BATCH, failed: { reason: 'States.Runtime: bad path' } });
    expect(parseStatsPayload({ failed: true, input: {}, executionName: 'x', executionStartTime: '2026-11-02T02:00:00Z' })).toEqual({ batchId: batchIdForExecution('x', '2026-11-02T02:00:00Z'), failed: { reason: 'Error: the replay failed after its retries' } });
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
