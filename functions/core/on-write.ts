/**
 * What happens when a snapshot is written (the stream consumer, DESIGN §7): evaluate every policy
 * attached to its function (baseline by inputsHash), store one report per policy, and publish a
 * PolicyViolation event for each violated one.
 *
 * Redelivery of the same record stores nothing twice (report ids are derived from snapshot and
 * policy version; the store writes one report per id) and publishes nothing twice: a report
 * remembers that its event went out. Each report is dated when it is written (`now`), so it is
 * sealed in the audit window it lands in, however late the stream delivers. A crash
 * between publishing and remembering can repeat that one event (at-least-once, never lost).
 */
import { boundedViolationEvent, type EventPublisher } from './events.js';
import type { StoredPolicy } from './policy.js';
import type { SnapshotStore } from './ports.js';
import type { SimilarityProvider } from './similarity.js';
import type { Snapshot } from './snapshot.js';
import { validateOnWrite, type ValidationReport, type ValidationReportStore } from './validation.js';
import type { PolicyStore } from './policy.js';

/** Report storage as the stream consumer needs it: reports that remember their event. */
export interface OnWriteReportStore extends ValidationReportStore {
  /** True when the report's event was marked as published. */
  isEventPublished(report: ValidationReport): Promise<boolean>;
  markEventPublished(report: ValidationReport, at: string): Promise<void>;
}

export interface OnWriteDeps {
  snapshots: SnapshotStore;
  policies: PolicyStore;
  reports: OnWriteReportStore;
  similarity: SimilarityProvider;
  events: EventPublisher;
  reportId: (snapshot: Snapshot, policy: StoredPolicy) => string;
  now: () => string;
}

export interface OnWriteSummary {
  snapshotId: string;
  reports: number;
  violatedPolicies: string[];
  eventsPublished: number;
}

export async function handleSnapshotWritten(deps: OnWriteDeps, snapshot: Snapshot): Promise<OnWriteSummary> {
  const outcomes = await validateOnWrite(deps, snapshot);
  let eventsPublished = 0;
  const violatedPolicies: string[] = [];
  for (const { report, stored } of outcomes) {
    if (report.status !== 'violated') continue;
    violatedPolicies.push(report.policy.name);
    if (!stored && (await deps.reports.isEventPublished(report))) continue;
    await deps.events.publishPolicyViolation(
      boundedViolationEvent({
        snapshotId: snapshot.snapshotId,
        functionName: snapshot.functionName,
        policy: report.policy,
        reportId: report.reportId,
        baselineId: report.baselineId,
        violations: report.violations,
        snapshotCreatedAt: snapshot.createdAt,
      }),
    );
    await deps.reports.markEventPublished(report, deps.now());
    eventsPublished += 1;
  }
  return { snapshotId: snapshot.snapshotId, reports: outcomes.length, violatedPolicies, eventsPublished };
}
