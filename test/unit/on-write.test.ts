/**
 * handleSnapshotWritten (DESIGN §7) with in-memory ports: one report per attached policy, the
 * same-inputs baseline, events only for violated policies, and what redelivery and a crash between
 * publishing and remembering do.
 */
import { describe, expect, it } from 'vitest';
import { onWriteReportId } from '../../functions/adapters/ids.js';
import { MAX_EVENT_DETAIL_BYTES, type EventPublisher, type PolicyViolationEvent } from '../../functions/core/events.js';
import { handleSnapshotWritten, type OnWriteDeps } from '../../functions/core/on-write.js';
import type { PolicyBody, StoredPolicy } from '../../functions/core/policy.js';
import { LexicalSimilarity } from '../../functions/core/similarity.js';
import { buildSnapshot, type RecordSnapshot, type Snapshot } from '../../functions/core/snapshot.js';
import type { ValidationReport } from '../../functions/core/validation.js';
import { MemoryPolicyStore, MemorySnapshotStore, MemoryValidationReportStore } from '../support/memory-ports.js';

// In-memory ports (no module mocking): the shared fakes, plus a publisher only this file needs.

class RecordingPublisher implements EventPublisher {
  readonly events: PolicyViolationEvent[] = [];
  /** Makes the next publishes throw (EventBridge unavailable). */
  failures = 0;
  publishPolicyViolation(event: PolicyViolationEvent): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      return Promise.reject(new Error('EventBridge unavailable'));
    }
    this.events.push(structuredClone(event));
    return Promise.resolve();
  }
}

const FN = 'approve_loan';
const POLICY_TIME = '2026-10-01T00:00:00.000Z';
const NOW = '2026-11-02T12:00:00.000Z';

function recorded(score: number, income = 52000, functionName = FN): RecordSnapshot {
  return {
    functionName,
    inputs: [{ name: 'applicant', value: { income, age: 41 } }],
    outputs: [
      { name: 'decision', value: 'approve' },
      { name: 'score', value: score },
    ],
    modelParameters: { modelName: 'credit-llm' },
  };
}

/** Absolute: always evaluated. */
const RANGE: PolicyBody & { name: string } = { name: 'score-range', functionNames: [FN], rules: [{ name: 'range', field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] };
/** Absolute, strict: a score under 0.6 violates it. */
const FLOOR: PolicyBody & { name: string } = { name: 'score-floor', functionNames: [FN, 'other_fn'], rules: [{ name: 'floor', field: 'outputs.score', comparator: 'WithinRange', min: 0.6, max: 1 }] };
/** Relative: skipped without a baseline, a drop of more than 10 % violates it. */
const DRIFT: PolicyBody & { name: string } = {
  name: 'score-drift',
  functionNames: [FN],
  rules: [
    { name: 'same-decision', field: 'outputs.decision', comparator: 'ExactMatch' },
    { name: 'drop', field: 'outputs.score', comparator: 'MaxDecreasePercent', threshold: 10 },
  ],
};
/** Would be violated by everything, but attached to no function. */
const UNATTACHED: PolicyBody & { name: string } = { name: 'unattached', rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0.99, max: 1 }] };

interface World {
  deps: OnWriteDeps;
  snapshots: MemorySnapshotStore;
  policies: MemoryPolicyStore;
  reports: MemoryValidationReportStore;
  events: RecordingPublisher;
}

async function world(bodies: readonly (PolicyBody & { name: string })[] = [RANGE, FLOOR, DRIFT, UNATTACHED]): Promise<World> {
  const snapshots = new MemorySnapshotStore();
  const policies = new MemoryPolicyStore();
  const reports = new MemoryValidationReportStore();
  const events = new RecordingPublisher();
  for (const body of bodies) await policies.putNextVersion(body, POLICY_TIME);
  const deps: OnWriteDeps = { snapshots, policies, reports, similarity: new LexicalSimilarity(), events, reportId: onWriteReportId, now: () => NOW };
  return { deps, snapshots, policies, reports, events };
}

/** Stores a snapshot as the write that triggers the stream record would. */
async function write(w: World, data: RecordSnapshot, id: string, createdAt: string): Promise<Snapshot> {
  const snapshot = buildSnapshot(data, id, createdAt);
  await w.snapshots.putIfAbsent(snapshot);
  return snapshot;
}

const byPolicy = (reports: Iterable<ValidationReport>) => Object.fromEntries([...reports].map((r) => [r.policy.name, r]));

describe('handleSnapshotWritten', () => {
  it('stores one on-write report per attached policy: passed, violated, and passed with relative rules skipped when there is no baseline', async () => {
    // Arrange
    const w = await world();
    const snapshot = await write(w, recorded(0.5), '01JBZ0000000000000000000A1', '2026-11-01T09:00:00.000Z');

    // Act
    const summary = await handleSnapshotWritten(w.deps, snapshot);

    // Assert
    expect(summary).toEqual({ snapshotId: snapshot.snapshotId, reports: 3, violatedPolicies: ['score-floor'], eventsPublished: 1 });
    const reports = byPolicy(w.reports.items.values());
    expect(Object.keys(reports).sort()).toEqual(['score-drift', 'score-floor', 'score-range']);
    for (const r of Object.values(reports)) {
      expect(r).toMatchObject({ snapshotId: snapshot.snapshotId, baselineId: null, trigger: 'on-write', createdAt: NOW, policy: { version: 1 } });
    }
    expect(reports['score-range']).toMatchObject({ status: 'passed', violations: [], rules: [{ ruleName: 'range', status: 'passed' }] });
    expect(reports['score-floor']).toMatchObject({ status: 'violated', rules: [{ ruleName: 'floor', status: 'violated' }], violations: [{ ruleName: 'floor', field: 'outputs.score' }] });
    expect(reports['score-drift']?.status).toBe('passed');
    expect(reports['score-drift']?.rules.map((r) => [r.ruleName, r.status, r.reason])).toEqual([
      ['same-decision', 'skipped', 'no baseline'],
      ['drop', 'skipped', 'no baseline'],
    ]);
  });

  it('derives report ids from snapshot and policy version, so a redelivered record finds them', async () => {
    const w = await world([FLOOR]);
    const snapshot = await write(w, recorded(0.5), '01JBZ0000000000000000000A1', '2026-11-01T09:00:00.000Z');

    await handleSnapshotWritten(w.deps, snapshot);

    const [report] = w.reports.items.values();
    const policy = (await w.policies.getLatest('score-floor')) as StoredPolicy;
    expect(report?.reportId).toBe(onWriteReportId(snapshot, policy));
    expect(report?.reportId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it('takes the latest earlier snapshot with the same inputs as baseline, so relative rules are evaluated', async () => {
    // Arrange: an older same-inputs decision, a newer one with other inputs (not a baseline), then the new one.
    const w = await world();
    const older = await write(w, recorded(0.9), '01JBZ0000000000000000000A1', '2026-11-01T08:00:00.000Z');
    const previous = await write(w, recorded(0.82), '01JBZ0000000000000000000A2', '2026-11-01T09:00:00.000Z');
    await write(w, recorded(0.95, 99000), '01JBZ0000000000000000000B1', '2026-11-01T09:30:00.000Z');
    const snapshot = await write(w, recorded(0.65), '01JBZ0000000000000000000A3', '2026-11-01T10:00:00.000Z');

    // Act
    const summary = await handleSnapshotWritten(w.deps, snapshot);

    // Assert: 0.82 → 0.65 is a 20.7 % drop; the floor of 0.6 holds.
    expect(summary.violatedPolicies).toEqual(['score-drift']);
    const reports = byPolicy(w.reports.items.values());
    expect(Object.values(reports).map((r) => r.baselineId)).toEqual([previous.snapshotId, previous.snapshotId, previous.snapshotId]);
    expect(reports['score-drift']?.rules.map((r) => [r.ruleName, r.status])).toEqual([
      ['same-decision', 'passed'],
      ['drop', 'violated'],
    ]);
    expect(reports['score-drift']?.rules.find((r) => r.ruleName === 'drop')?.score).toBeCloseTo(((0.65 - 0.82) * 100) / 0.82, 6);
    expect(reports['score-floor']?.status).toBe('passed');
    expect(older.snapshotId).not.toBe(reports['score-drift']?.baselineId);
  });

  it('publishes a PolicyViolation event for each violated policy only, carrying the report, baseline and violations', async () => {
    const w = await world();
    await write(w, recorded(0.82), '01JBZ0000000000000000000A1', '2026-11-01T09:00:00.000Z');
    // Below the floor and a 39 % drop: two policies violated, score-range passes.
    const snapshot = await write(w, recorded(0.5), '01JBZ0000000000000000000A2', '2026-11-01T10:00:00.000Z');

    const summary = await handleSnapshotWritten(w.deps, snapshot);

    expect(summary.eventsPublished).toBe(2);
    const reports = byPolicy(w.reports.items.values());
    expect(w.events.events.map((e) => e.policy.name).sort()).toEqual(['score-drift', 'score-floor']);
    const drift = w.events.events.find((e) => e.policy.name === 'score-drift');
    expect(drift).toEqual({
      snapshotId: snapshot.snapshotId,
      functionName: FN,
      policy: { name: 'score-drift', version: 1, contentHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
      reportId: reports['score-drift']?.reportId,
      baselineId: '01JBZ0000000000000000000A1',
      violations: [expect.objectContaining({ ruleName: 'drop', field: 'outputs.score' })],
      snapshotCreatedAt: snapshot.createdAt,
    });
    expect(w.reports.items.get(`${snapshot.snapshotId}#${NOW}#${reports['score-drift']?.reportId ?? ''}`)?.eventPublishedAt).toBe(NOW);
    expect(w.reports.items.get(`${snapshot.snapshotId}#${NOW}#${reports['score-range']?.reportId ?? ''}`)?.eventPublishedAt).toBeUndefined();
  });

  it('publishes nothing and marks nothing when every attached policy passes', async () => {
    const w = await world();
    const snapshot = await write(w, recorded(0.9), '01JBZ0000000000000000000A1', '2026-11-01T09:00:00.000Z');

    const summary = await handleSnapshotWritten(w.deps, snapshot);

    expect(summary).toEqual({ snapshotId: snapshot.snapshotId, reports: 3, violatedPolicies: [], eventsPublished: 0 });
    expect(w.events.events).toEqual([]);
    expect(w.reports.markCalls).toBe(0);
  });

  it('stores no report and publishes nothing for a function no policy is attached to', async () => {
    const w = await world();
    const snapshot = await write(w, recorded(0.1, 52000, 'score_claim'), '01JBZ0000000000000000000C1', '2026-11-01T09:00:00.000Z');

    const summary = await handleSnapshotWritten(w.deps, snapshot);

    expect(summary).toEqual({ snapshotId: snapshot.snapshotId, reports: 0, violatedPolicies: [], eventsPublished: 0 });
    expect(w.reports.items.size).toBe(0);
    expect(w.events.events).toEqual([]);
  });

  it('under redelivery stores each report once and publishes each event once', async () => {
    const w = await world();
    const snapshot = await write(w, recorded(0.5), '01JBZ0000000000000000000A1', '2026-11-01T09:00:00.000Z');

    const first = await handleSnapshotWritten(w.deps, snapshot);
    const second = await handleSnapshotWritten(w.deps, snapshot);

    expect(first.eventsPublished).toBe(1);
    expect(second).toEqual({ ...first, eventsPublished: 0 });
    expect(w.reports.items.size).toBe(3);
    expect(w.events.events).toHaveLength(1);
  });

  it('after a crash between publishing and remembering, publishes the event again on redelivery (at-least-once) without a second report', async () => {
    // Arrange
    const w = await world([FLOOR]);
    const snapshot = await write(w, recorded(0.5), '01JBZ0000000000000000000A1', '2026-11-01T09:00:00.000Z');
    w.reports.failMarks = 1;

    // Act + Assert: the first delivery publishes, then dies before the mark.
    await expect(handleSnapshotWritten(w.deps, snapshot)).rejects.toThrow('process died');
    expect(w.events.events).toHaveLength(1);
    expect(w.reports.items.size).toBe(1);

    // The redelivery cannot know the event went out: it publishes it again, and this time remembers.
    const again = await handleSnapshotWritten(w.deps, snapshot);
    expect(again.eventsPublished).toBe(1);
    expect(w.events.events).toHaveLength(2);
    expect(w.events.events[1]).toEqual(w.events.events[0]);
    expect(w.reports.items.size).toBe(1);

    // A third delivery finds the mark.
    expect((await handleSnapshotWritten(w.deps, snapshot)).eventsPublished).toBe(0);
    expect(w.events.events).toHaveLength(2);
  });

  it('does not lose the event when publishing fails after the report was stored: the redelivery publishes it', async () => {
    const w = await world([FLOOR]);
    const snapshot = await write(w, recorded(0.5), '01JBZ0000000000000000000A1', '2026-11-01T09:00:00.000Z');
    w.events.failures = 1;

    await expect(handleSnapshotWritten(w.deps, snapshot)).rejects.toThrow('EventBridge unavailable');
    expect(w.reports.items.size).toBe(1);
    expect(w.events.events).toHaveLength(0);

    const again = await handleSnapshotWritten(w.deps, snapshot);
    expect(again.eventsPublished).toBe(1);
    expect(w.events.events).toHaveLength(1);
    expect(w.reports.items.size).toBe(1);
  });

  it('writes a new report (and event) for a new version of a policy, keeping the old one', async () => {
    const w = await world([FLOOR]);
    const snapshot = await write(w, recorded(0.5), '01JBZ0000000000000000000A1', '2026-11-01T09:00:00.000Z');
    await handleSnapshotWritten(w.deps, snapshot);
    await w.policies.putNextVersion({ ...FLOOR, rules: [{ name: 'floor', field: 'outputs.score', comparator: 'WithinRange', min: 0.55, max: 1 }] }, POLICY_TIME);

    await handleSnapshotWritten(w.deps, snapshot);

    expect([...w.reports.items.values()].map((r) => r.policy.version).sort()).toEqual([1, 2]);
    expect(w.events.events.map((e) => e.policy.version)).toEqual([1, 2]);
  });
});

describe('the PolicyViolation event stays within what EventBridge accepts', () => {
  it('lists as many violations as fit in one event and counts the rest, while the report keeps them all', async () => {
    // 100 rules (a policy's most) with 128-character names on ~1,000-character fields, each a
    // Contains that quotes both texts and fails: ~290 KB of violations, over EventBridge's 256 KB
    // an entry, all through the API's own limits; before, PutEvents refused it on every delivery.
    const key = (i: number) => `k${String(i).padStart(3, '0')}${'x'.repeat(1000)}`;
    const rules = Array.from({ length: 100 }, (_, i) => ({ name: `${String(i).padStart(3, '0')}${'r'.repeat(125)}`, field: `outputs.text.${key(i)}`, comparator: 'Contains' as const, value: 'z'.repeat(300) }));
    const w = await world([{ name: 'wide', functionNames: [FN], rules }]);
    const text = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [key(i), 'y'.repeat(300)]));
    const snapshot = await write(w, { ...recorded(0.5), outputs: [{ name: 'text', value: text }] }, '01JBZ0000000000000000000A1', '2026-11-01T09:00:00.000Z');

    const summary = await handleSnapshotWritten(w.deps, snapshot);

    expect(summary.eventsPublished).toBe(1);
    const [event] = w.events.events;
    const [report] = w.reports.items.values();
    expect(report?.violations).toHaveLength(100);
    expect(Buffer.byteLength(JSON.stringify(report?.violations))).toBeGreaterThan(MAX_EVENT_DETAIL_BYTES);
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(MAX_EVENT_DETAIL_BYTES);
    expect(event?.violations.length).toBeGreaterThan(0);
    expect(event?.violations.length).toBeLessThan(100);
    expect((event?.violations.length ?? 0) + (event?.violationsOmitted ?? 0)).toBe(100);
    // The ones listed are the report's first, unchanged; the event names the report that has them all.
    expect(event?.violations).toEqual(report?.violations.slice(0, event?.violations.length));
    expect(event?.reportId).toBe(report?.reportId);
  });

  it('leaves an event that fits as it is, without violationsOmitted', async () => {
    const w = await world([FLOOR]);
    await handleSnapshotWritten(w.deps, await write(w, recorded(0.5), '01JBZ0000000000000000000A1', '2026-11-01T09:00:00.000Z'));
    expect(w.events.events[0]).not.toHaveProperty('violationsOmitted');
  });
});
