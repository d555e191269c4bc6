/** EventPublisher over Amazon EventBridge: `PolicyViolation` events on the project's bus. */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, POLICY_VIOLATION, type EventPublisher, type PolicyViolationEvent } from '../core/events.js';

/** PutEvents answered but refused the entry (it reports per entry, not by throwing). */
export class EventPublishError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventPublishError';
  }
}

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publishPolicyViolation(event: PolicyViolationEvent): Promise<void> {
    const res = await this.client.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: this.busName, Source: EVENT_SOURCE, DetailType: POLICY_VIOLATION, Detail: JSON.stringify(event), Resources: [] }],
      }),
    );
    if ((res.FailedEntryCount ?? 0) > 0) {
      const entry = res.Entries?.[0];
      throw new EventPublishError(`EventBridge refused the PolicyViolation event: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim());
    }
  }
}
