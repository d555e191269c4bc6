/**
 * Local stand-in for the EventBridge bus: each PolicyViolation event is logged, kept in memory
 * (`GET /_local/events`) and, when the host persists data, appended to `<DATA_DIR>/events.jsonl`.
 */
import { appendFileSync } from 'node:fs';
import { EVENT_SOURCE, POLICY_VIOLATION, type EventPublisher, type PolicyViolationEvent } from '../core/events.js';

export interface LocalEvent {
  time: string;
  source: string;
  'detail-type': string;
  detail: PolicyViolationEvent;
}

export class LocalEventSink implements EventPublisher {
  readonly events: LocalEvent[] = [];

  constructor(
    private readonly file: string | undefined,
    private readonly log: (line: string) => void,
    private readonly max = 10_000,
  ) {}

  async publishPolicyViolation(detail: PolicyViolationEvent): Promise<void> {
    const event: LocalEvent = { time: new Date().toISOString(), source: EVENT_SOURCE, 'detail-type': POLICY_VIOLATION, detail };
    this.events.push(event);
    if (this.events.length > this.max) this.events.shift();
    if (this.file) appendFileSync(this.file, JSON.stringify(event) + '\n');
    this.log(`PolicyViolation: snapshot ${detail.snapshotId} (${detail.functionName}) broke policy ${detail.policy.name} v${detail.policy.version}: ${detail.violations.map((v) => v.ruleName).join(', ')}`);
  }
}
