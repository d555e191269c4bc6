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
  snapshotCreatedAt: string;
}

export const EVENT_SOURCE = 'decision-replay';
export const POLICY_VIOLATION = 'PolicyViolation';

/** Port: publishes events (EventBridge on AWS; a log and an inspectable sink locally). */
export interface EventPublisher {
  publishPolicyViolation(event: PolicyViolationEvent): Promise<void>;
}
