/**
 * Events the system publishes. A `PolicyViolation` is published when a newly written snapshot
 * breaks a policy attached to its function (DESIGN §7).
 */
import type { Violation } from './policy.js';

/** The `detail` of a `PolicyViolation` event (source `decision-replay`). */
export interface PolicyViolationEvent {
  snapshotId: string;
  functionName: string;
  /** `contentHash`: the sealed policy version the report pins (see ValidationReport.policy). */
  policy: { name: string; version: number | null; contentHash?: string };
  reportId: string;
  baselineId: string | null;
  violations: Violation[];
  /**
   * Violations left out of `violations` (the last ones) so that the event fits in what EventBridge
   * accepts ({@link MAX_EVENT_DETAIL_BYTES}); the report (`reportId`) has them all. Absent when
   * every violation is listed.
   */
  violationsOmitted?: number;
  snapshotCreatedAt: string;
}

/**
 * Most bytes of JSON an event's `detail` may weigh: EventBridge accepts an entry of at most 256 KB
 * (detail, source, detail type, bus name and resources together), less a margin for the rest.
 */
export const MAX_EVENT_DETAIL_BYTES = 250 * 1024;

/**
 * `event` as published: whole when it fits in {@link MAX_EVENT_DETAIL_BYTES}, else with as many of
 * its violations as fit, in order, and how many were left out (`violationsOmitted`). A policy has
 * at most 100 rules, but rules with field paths of ~1,000 characters, all violated, make ~330 KB.
 */
export function boundedViolationEvent(event: PolicyViolationEvent): PolicyViolationEvent {
  const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
  if (size(event) <= MAX_EVENT_DETAIL_BYTES) return event;
  const total = event.violations.length;
  // The envelope with no violations listed and the largest count, then each violation and its comma.
  let bytes = size({ ...event, violations: [], violationsOmitted: total });
  let kept = 0;
  for (const v of event.violations) {
    const more = size(v) + (kept > 0 ? 1 : 0);
    if (bytes + more > MAX_EVENT_DETAIL_BYTES) break;
    bytes += more;
    kept += 1;
  }
  return { ...event, violations: event.violations.slice(0, kept), violationsOmitted: total - kept };
}

export const EVENT_SOURCE = 'decision-replay';
export const POLICY_VIOLATION = 'PolicyViolation';

/** Port: publishes events (EventBridge on AWS; a log and an inspectable sink locally). */
export interface EventPublisher {
  publishPolicyViolation(event: PolicyViolationEvent): Promise<void>;
}
