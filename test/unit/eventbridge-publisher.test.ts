/** The EventBridge publisher with a mocked client: one PutEvents entry per violation, refusals thrown. */
import { EventBridgeClient, PutEventsCommand, ResourceNotFoundException } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher, EventPublishError } from '../../functions/adapters/eventbridge-publisher.js';
import type { PolicyViolationEvent } from '../../functions/core/events.js';

const ebMock = mockClient(EventBridgeClient);
const BUS = 'decision-replay-violations';

const EVENT: PolicyViolationEvent = {
  snapshotId: '01JBZ0000000000000000000A2',
  functionName: 'approve_loan',
  policy: { name: 'score-drift', version: 3 },
  reportId: '01JBZ0000000000000000000R1',
  baselineId: '01JBZ0000000000000000000A1',
  violations: [{ ruleName: 'drop', field: 'outputs.score', expected: 'decrease <= 10%', actual: '-39.02% (0.82 → 0.5)', message: 'outputs.score changed by -39.02% (0.82 → 0.5), a decrease of more than 10%' }],
  snapshotCreatedAt: '2026-11-01T10:00:00.000Z',
};

describe('EventBridgePublisher', () => {
  afterEach(() => ebMock.reset());

  it("puts one entry on the bus with Source 'decision-replay', DetailType 'PolicyViolation' and the event as JSON detail", async () => {
    // Arrange
    ebMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    const publisher = new EventBridgePublisher(new EventBridgeClient({ region: 'eu-west-1' }), BUS);

    // Act
    await publisher.publishPolicyViolation(EVENT);

    // Assert
    const calls = ebMock.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(1);
    const entries = calls[0]?.args[0].input.Entries ?? [];
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ EventBusName: BUS, Source: 'decision-replay', DetailType: 'PolicyViolation' });
    expect(JSON.parse(entries[0]?.Detail ?? 'null')).toEqual(EVENT);
  });

  it('keeps a null baseline in the detail (the policy had only absolute rules, or there was no baseline)', async () => {
    ebMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    const publisher = new EventBridgePublisher(new EventBridgeClient({ region: 'eu-west-1' }), BUS);

    await publisher.publishPolicyViolation({ ...EVENT, baselineId: null });

    const detail = JSON.parse(ebMock.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.Detail ?? '{}') as Record<string, unknown>;
    expect(detail).toHaveProperty('baselineId', null);
  });

  it('throws EventPublishError with the entry error code when PutEvents answers with FailedEntryCount > 0', async () => {
    ebMock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }] });
    const publisher = new EventBridgePublisher(new EventBridgeClient({ region: 'eu-west-1' }), BUS);

    const attempt = publisher.publishPolicyViolation(EVENT);

    await expect(attempt).rejects.toBeInstanceOf(EventPublishError);
    await expect(attempt).rejects.toThrow(/ThrottlingException Rate exceeded/);
  });

  it('throws EventPublishError even when the refused entry carries no error code', async () => {
    ebMock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{}] });
    const publisher = new EventBridgePublisher(new EventBridgeClient({ region: 'eu-west-1' }), BUS);

    await expect(publisher.publishPolicyViolation(EVENT)).rejects.toMatchObject({ name: 'EventPublishError', message: expect.stringContaining('unknown') });
  });

  it('lets an SDK error through unchanged', async () => {
    const missing = new ResourceNotFoundException({ message: `Event bus ${BUS} does not exist.`, $metadata: {} });
    ebMock.on(PutEventsCommand).rejects(missing);
    const publisher = new EventBridgePublisher(new EventBridgeClient({ region: 'eu-west-1' }), BUS);

    await expect(publisher.publishPolicyViolation(EVENT)).rejects.toBe(missing);
  });
});
