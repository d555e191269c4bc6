/**
 * Validation on write over the real DynamoDB stores (dynalite): the report store remembers which
 * reports' events went out, and handleSnapshotWritten finds attached policies, the same-inputs
 * baseline (GSI2), stores one report per attached policy and survives redelivery.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoPolicyStore } from '../../functions/adapters/dynamodb/policy-store.js';
import { DynamoSnapshotStore } from '../../functions/adapters/dynamodb/snapshot-store.js';
import { DynamoValidationReportStore, validationReportKey } from '../../functions/adapters/dynamodb/validation-report-store.js';
import { onWriteReportId } from '../../functions/adapters/ids.js';
import type { PolicyViolationEvent } from '../../functions/core/events.js';
import { handleSnapshotWritten, type OnWriteDeps } from '../../functions/core/on-write.js';
import { LexicalSimilarity } from '../../functions/core/similarity.js';
import { buildSnapshot, type RecordSnapshot, type Snapshot } from '../../functions/core/snapshot.js';
import { validateOnWrite, type ValidationReport } from '../../functions/core/validation.js';
import { recordContentHash, sealRecord } from '../../functions/core/records.js';
import { keys } from '../../functions/adapters/dynamodb/keys.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';

/** The on-write function's dependencies over the stores of `dynamo`, its events into `events`. */
function onWriteDeps(dynamo: TestDynamo, snapshots: DynamoSnapshotStore, reports: DynamoValidationReportStore, events: PolicyViolationEvent[], now: () => string): OnWriteDeps {
  return {
    snapshots,
    policies: new DynamoPolicyStore(dynamo.doc, dynamo.tableName),
    reports,
    similarity: new LexicalSimilarity(),
    events: { publishPolicyViolation: (e) => Promise.resolve(void events.push(e)) },
    reportId: onWriteReportId,
    now,
  };
}

function report(snapshotId: string, n: number, status: ValidationReport['status'] = 'violated'): ValidationReport {
  return {
    reportId: `01JBZ00000000000000000V${String(n).padStart(3, '0')}`,
    integrity: 'verified',
    snapshotId,
    functionName: 'approve_loan',
    baselineId: null,
    policy: { name: 'score-floor', version: 1 },
    trigger: 'on-write',
    status,
    rules: [{ ruleName: 'floor', field: 'outputs.score', comparator: 'WithinRange', status }],
    violations: status === 'violated' ? [{ ruleName: 'floor', field: 'outputs.score', expected: 'within [0.6, 1]', actual: '0.5', message: 'outputs.score is 0.5, below the minimum of 0.6' }] : [],
    createdAt: `2026-11-02T10:${String(n).padStart(2, '0')}:00.000Z`,
  };
}

describe('DynamoValidationReportStore: event bookkeeping (dynalite)', () => {
  let dynamo: TestDynamo;
  let store: DynamoValidationReportStore;

  beforeAll(async () => {
    dynamo = await startTestDynamo();
    store = new DynamoValidationReportStore(dynamo.doc, dynamo.tableName);
  });
  afterAll(async () => {
    await dynamo.close();
  });

  const rawItem = async (r: ValidationReport) => (await dynamo.doc.get({ TableName: dynamo.tableName, Key: validationReportKey(r) })).Item;
  const rawMarker = async (r: ValidationReport) => (await dynamo.doc.get({ TableName: dynamo.tableName, Key: keys.eventPublished(r.snapshotId, r.reportId) })).Item;

  it('says a stored report has no published event until it is marked, then that it has', async () => {
    const r = report('01JBZ0000000000000000000A1', 1);
    await store.putIfAbsent(r);

    expect(await store.isEventPublished(r)).toBe(false);
    await store.markEventPublished(r, '2026-11-02T12:00:00.000Z');
    expect(await store.isEventPublished(r)).toBe(true);
    expect((await rawMarker(r))?.publishedAt).toBe('2026-11-02T12:00:00.000Z');
  });

  it('keeps the first publication time when marked again', async () => {
    const r = report('01JBZ0000000000000000000A1', 2);
    await store.putIfAbsent(r);

    await store.markEventPublished(r, '2026-11-02T12:00:00.000Z');
    await store.markEventPublished(r, '2026-11-02T12:05:00.000Z');

    expect((await rawMarker(r))?.publishedAt).toBe('2026-11-02T12:00:00.000Z');
  });

  it('answers false for a report that was never stored', async () => {
    expect(await store.isEventPublished(report('01JBZ0000000000000000000A9', 3))).toBe(false);
  });

  it('never updates the sealed report itself: the mark is an item of its own', async () => {
    const r = report('01JBZ0000000000000000000A9', 4);
    await store.putIfAbsent(r);
    const before = await rawItem(r);

    await store.markEventPublished(r, '2026-11-02T12:00:00.000Z');

    expect(await rawItem(r)).toEqual(before);
    expect(before?.contentHash).toBe(recordContentHash(r));
  });

  it('lists a marked report exactly as it was stored: the bookkeeping field is not part of the report', async () => {
    const snapshotId = '01JBZ0000000000000000000B1';
    const r = report(snapshotId, 5);
    await store.putIfAbsent(r);
    await store.markEventPublished(r, '2026-11-02T12:00:00.000Z');

    expect(await store.listForSnapshot(snapshotId, 10)).toEqual({ items: [sealRecord(r)] });
  });

  it('keeps the mark when the same report is put again (a redelivery writes nothing)', async () => {
    const r = report('01JBZ0000000000000000000B2', 6);
    await store.putIfAbsent(r);
    await store.markEventPublished(r, '2026-11-02T12:00:00.000Z');

    expect(await store.putIfAbsent(r)).toBe(false);
    expect(await store.isEventPublished(r)).toBe(true);
  });
});

describe('validation on write over the DynamoDB stores (dynalite)', () => {
  let dynamo: TestDynamo;
  let snapshots: DynamoSnapshotStore;
  let reports: DynamoValidationReportStore;
  let deps: OnWriteDeps;
  const events: PolicyViolationEvent[] = [];
  const FN = 'approve_loan';

  function recorded(score: number, income = 52000): RecordSnapshot {
    return {
      functionName: FN,
      inputs: [{ name: 'applicant', value: { income, age: 41 } }],
      outputs: [
        { name: 'decision', value: 'approve' },
        { name: 'score', value: score },
      ],
      modelParameters: { modelName: 'credit-llm' },
    };
  }

  async function write(data: RecordSnapshot, id: string, createdAt: string): Promise<Snapshot> {
    const s = buildSnapshot(data, id, createdAt);
    expect(await snapshots.putIfAbsent(s)).toBe(true);
    return s;
  }

  beforeAll(async () => {
    dynamo = await startTestDynamo();
    snapshots = new DynamoSnapshotStore(dynamo.doc, dynamo.tableName);
    reports = new DynamoValidationReportStore(dynamo.doc, dynamo.tableName);
    const policies = new DynamoPolicyStore(dynamo.doc, dynamo.tableName);
    await policies.putNextVersion({ name: 'score-floor', functionNames: [FN, 'other_fn'], rules: [{ name: 'floor', field: 'outputs.score', comparator: 'WithinRange', min: 0.6, max: 1 }] }, '2026-10-01T00:00:00.000Z');
    await policies.putNextVersion(
      {
        name: 'score-drift',
        functionNames: [FN],
        rules: [
          { name: 'same-decision', field: 'outputs.decision', comparator: 'ExactMatch' },
          { name: 'drop', field: 'outputs.score', comparator: 'MaxDecreasePercent', threshold: 10 },
        ],
      },
      '2026-10-01T00:00:00.000Z',
    );
    await policies.putNextVersion({ name: 'unattached', rules: [{ name: 'impossible', field: 'outputs.score', comparator: 'WithinRange', min: 0.99, max: 1 }] }, '2026-10-01T00:00:00.000Z');
    deps = {
      snapshots,
      policies,
      reports,
      similarity: new LexicalSimilarity(),
      events: { publishPolicyViolation: (e) => Promise.resolve(void events.push(e)) },
      reportId: onWriteReportId,
      now: () => '2026-11-02T12:00:00.000Z',
    };
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('validateOnWrite evaluates the two attached policies (not the unattached one), without a baseline for a first decision', async () => {
    const first = await write(recorded(0.82), '01JBZ0000000000000000000A1', '2026-11-01T09:00:00.000Z');

    const outcomes = await validateOnWrite(deps, first);

    expect(outcomes.map((o) => [o.report.policy.name, o.report.status, o.stored]).sort()).toEqual([
      ['score-drift', 'passed', true],
      ['score-floor', 'passed', true],
    ]);
    const drift = outcomes.find((o) => o.report.policy.name === 'score-drift')?.report;
    expect(drift?.baselineId).toBeNull();
    expect(drift?.rules.map((r) => r.status)).toEqual(['skipped', 'skipped']);
    expect((await reports.listForSnapshot(first.snapshotId, 10)).items).toHaveLength(2);
  });

  it('handleSnapshotWritten finds the same-inputs baseline through the index, stores two reports and publishes one event per violated policy, once', async () => {
    // Arrange: a decision with other inputs in between must not become the baseline.
    await write(recorded(0.95, 99000), '01JBZ0000000000000000000B1', '2026-11-01T09:30:00.000Z');
    const candidate = await write(recorded(0.5), '01JBZ0000000000000000000A2', '2026-11-01T10:00:00.000Z');

    // Act: the record, then its redelivery.
    const summary = await handleSnapshotWritten(deps, candidate);
    const redelivered = await handleSnapshotWritten(deps, candidate);

    // Assert
    expect(summary).toEqual({ snapshotId: candidate.snapshotId, reports: 2, violatedPolicies: expect.arrayContaining(['score-floor', 'score-drift']), eventsPublished: 2 });
    expect(redelivered.eventsPublished).toBe(0);
    const stored = (await reports.listForSnapshot(candidate.snapshotId, 10)).items;
    expect(stored).toHaveLength(2);
    expect(stored.every((r) => r.baselineId === '01JBZ0000000000000000000A1' && r.trigger === 'on-write' && r.status === 'violated')).toBe(true);
    expect(stored.find((r) => r.policy.name === 'score-drift')?.rules.map((r) => [r.ruleName, r.status])).toEqual([
      ['same-decision', 'passed'],
      ['drop', 'violated'],
    ]);
    const forCandidate = events.filter((e) => e.snapshotId === candidate.snapshotId);
    expect(forCandidate.map((e) => e.policy.name).sort()).toEqual(['score-drift', 'score-floor']);
    expect(forCandidate.map((e) => e.reportId).sort()).toEqual(stored.map((r) => r.reportId).sort());
    for (const r of stored) expect(await reports.isEventPublished(r)).toBe(true);
  });

  it('publishes nothing for a snapshot of a function no policy is attached to', async () => {
    const before = events.length;
    const other = await write({ ...recorded(0.1), functionName: 'score_claim' }, '01JBZ0000000000000000000C1', '2026-11-01T11:00:00.000Z');

    expect(await handleSnapshotWritten(deps, other)).toEqual({ snapshotId: other.snapshotId, reports: 0, violatedPolicies: [], eventsPublished: 0 });
    expect((await reports.listForSnapshot(other.snapshotId, 10)).items).toEqual([]);
    expect(events).toHaveLength(before);
  });
});

describe('on-write reports dated when written, once per (snapshot, policy version) (dynalite)', () => {
  let dynamo: TestDynamo;
  let snapshots: DynamoSnapshotStore;
  let reports: DynamoValidationReportStore;
  const events: PolicyViolationEvent[] = [];
  let clock = Date.parse('2026-11-03T10:00:00.000Z');
  const FN = 'approve_loan';

  beforeAll(async () => {
    dynamo = await startTestDynamo();
    snapshots = new DynamoSnapshotStore(dynamo.doc, dynamo.tableName);
    reports = new DynamoValidationReportStore(dynamo.doc, dynamo.tableName);
    await new DynamoPolicyStore(dynamo.doc, dynamo.tableName).putNextVersion({ name: 'score-floor', functionNames: [FN], rules: [{ name: 'floor', field: 'outputs.score', comparator: 'WithinRange', min: 0.6, max: 1 }] }, '2026-10-01T00:00:00.000Z');
  });
  afterAll(async () => {
    await dynamo.close();
  });

  const deps = (): OnWriteDeps => onWriteDeps(dynamo, snapshots, reports, events, () => new Date(clock).toISOString());

  async function write(id: string, createdAt: string): Promise<Snapshot> {
    const s = buildSnapshot({ functionName: FN, inputs: [{ name: 'applicant', value: { income: 1, id } }], outputs: [{ name: 'score', value: 0.5 }] }, id, createdAt);
    expect(await snapshots.putIfAbsent(s)).toBe(true);
    return s;
  }

  it('a consumer lagging 40 minutes dates the report when it writes it; a redelivery an hour later finds it and writes and publishes nothing', async () => {
    const snapshot = await write('01JBZ0000000000000000000D1', '2026-11-03T09:20:00.000Z');
    clock = Date.parse('2026-11-03T10:00:00.000Z');

    const first = await handleSnapshotWritten(deps(), snapshot);
    clock += 3_600_000;
    const again = await handleSnapshotWritten(deps(), snapshot);

    expect(first.eventsPublished).toBe(1);
    expect(again.eventsPublished).toBe(0);
    const stored = (await reports.listForSnapshot(snapshot.snapshotId, 10)).items;
    expect(stored.map((r) => r.createdAt)).toEqual(['2026-11-03T10:00:00.000Z']);
    expect(events.filter((e) => e.snapshotId === snapshot.snapshotId)).toHaveLength(1);
    // The audit index lists it in the window it was written in.
    const item = (await dynamo.doc.get({ TableName: dynamo.tableName, Key: validationReportKey(stored[0] as ValidationReport) })).Item;
    expect(item?.auditsk).toBe(`2026-11-03T10:00:00.000Z#validation#${stored[0]?.reportId ?? ''}`);
  });

  it('writes the report of a claim whose report is not there (a run stopped between the two puts), once', async () => {
    const snapshot = await write('01JBZ0000000000000000000D2', '2026-11-03T11:00:00.000Z');
    const reportId = onWriteReportId(snapshot, { name: 'score-floor', version: 1 });
    await dynamo.doc.put({ TableName: dynamo.tableName, Item: { ...keys.onWriteClaim(snapshot.snapshotId, reportId), itemType: 'on-write-claim', reportSk: `VALIDATION#2026-11-03T11:00:01.000Z#${reportId}` } });
    clock = Date.parse('2026-11-03T11:30:00.000Z');

    await handleSnapshotWritten(deps(), snapshot);
    clock += 60_000;
    await handleSnapshotWritten(deps(), snapshot);

    expect((await reports.listForSnapshot(snapshot.snapshotId, 10)).items.map((r) => [r.reportId, r.createdAt])).toEqual([[reportId, '2026-11-03T11:30:00.000Z']]);
  });
});

describe('an attached policy written behind the service too large to report on (dynalite)', () => {
  // A policy of thousands of rules stored straight into the table made every on-write report
  // PAYLOAD_TOO_LARGE: the stream failed the snapshot's record on every delivery until it gave up.
  let dynamo: TestDynamo;
  let snapshots: DynamoSnapshotStore;
  let reports: DynamoValidationReportStore;
  const events: PolicyViolationEvent[] = [];
  const FN = 'approve_loan';

  beforeAll(async () => {
    dynamo = await startTestDynamo();
    snapshots = new DynamoSnapshotStore(dynamo.doc, dynamo.tableName);
    reports = new DynamoValidationReportStore(dynamo.doc, dynamo.tableName);
  });
  afterAll(async () => {
    await dynamo.close();
  });

  const deps = (): OnWriteDeps => onWriteDeps(dynamo, snapshots, reports, events, () => '2026-11-04T10:00:00.000Z');

  /** Stores version 1 of `name` through the service, then replaces its rules in the table, sealed again as a writer with table access could. */
  async function behindTheService(name: string, rules: object[]): Promise<void> {
    const policies = new DynamoPolicyStore(dynamo.doc, dynamo.tableName);
    await policies.putNextVersion({ name, functionNames: [FN], rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] }, '2026-10-01T00:00:00.000Z');
    for (const key of [keys.policyVersion(name, 1), keys.policyLatest(name)]) {
      const item = (await dynamo.doc.get({ TableName: dynamo.tableName, Key: key })).Item as Record<string, unknown>;
      const { pk, sk, gsi1pk, gsi1sk, auditpk, auditsk, itemType, ...content } = item;
      const sealed = sealRecord({ ...content, rules });
      await dynamo.doc.put({ TableName: dynamo.tableName, Item: { pk, sk, ...(gsi1pk !== undefined && { gsi1pk, gsi1sk }), ...(auditpk !== undefined && { auditpk, auditsk }), itemType, ...sealed } });
    }
  }

  async function write(id: string): Promise<Snapshot> {
    const s = buildSnapshot({ functionName: FN, inputs: [{ name: 'applicant', value: { id } }], outputs: [{ name: 'score', value: 0.5 }] }, id, '2026-11-04T09:00:00.000Z');
    expect(await snapshots.putIfAbsent(s)).toBe(true);
    return s;
  }

  it('a policy of 4,500 rules is violated as a whole (a policy holds at most 100), once, and a redelivery writes and publishes nothing', async () => {
    await behindTheService('many-rules', Array.from({ length: 4500 }, (_, i) => ({ name: `floor-${i}`, field: 'outputs.score', comparator: 'WithinRange', min: 0.6, max: 1 })));
    const snapshot = await write('01JBZ0000000000000000000E1');

    const first = await handleSnapshotWritten(deps(), snapshot);
    const again = await handleSnapshotWritten(deps(), snapshot);

    expect(first).toEqual({ snapshotId: snapshot.snapshotId, reports: 1, violatedPolicies: ['many-rules'], eventsPublished: 1 });
    expect(again.eventsPublished).toBe(0);
    const stored = (await reports.listForSnapshot(snapshot.snapshotId, 10)).items;
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ status: 'violated', policyIntegrity: 'verified', rules: [] });
    expect(stored[0]?.violations).toEqual([
      { ruleName: 'policy.rules', field: 'policy.rules', expected: 'at most 100 rules', actual: '(not evaluated)', message: "policy 'many-rules' version 1 cannot be applied: it holds 4500 rules, more than the 100 a policy may hold; store a corrected version of the policy" },
    ]);
    await expect(new DynamoPolicyStore(dynamo.doc, dynamo.tableName).listAttachedTo(FN)).resolves.toHaveLength(1);
  });

  it('a report too large to store for any other reason (three rules with 120,000-character fields) is stored as violated, saying so, once', async () => {
    const policies = new DynamoPolicyStore(dynamo.doc, dynamo.tableName);
    // The other policy of this function is the 4,500-rule one above: it is reported as before.
    await behindTheService('long-fields', [0, 1, 2].map((i) => ({ name: `long-${i}`, field: `outputs.${String(i).repeat(120_000)}`, comparator: 'ExactMatch' })));
    const snapshot = await write('01JBZ0000000000000000000E2');

    const first = await handleSnapshotWritten(deps(), snapshot);
    const again = await handleSnapshotWritten(deps(), snapshot);

    expect(first.violatedPolicies.sort()).toEqual(['long-fields', 'many-rules']);
    expect(again.eventsPublished).toBe(0);
    const stored = (await reports.listForSnapshot(snapshot.snapshotId, 10)).items.find((r) => r.policy.name === 'long-fields');
    expect(stored).toMatchObject({ status: 'violated', rules: [] });
    expect(stored?.violations).toHaveLength(1);
    expect(stored?.violations[0]).toMatchObject({ ruleName: 'report', field: 'policy.rules', expected: 'a report of at most 409600 bytes' });
    expect(stored?.violations[0]?.message).toMatch(/^the report of policy 'long-fields' version 1 on this decision is \d+ bytes, more than one stored record holds \(409600\): its 3 rule results \(3 violated\) are not kept, so the decision is not judged to pass; store a smaller version of the policy/);
    expect(events.filter((e) => e.snapshotId === snapshot.snapshotId).map((e) => e.policy.name).sort()).toEqual(['long-fields', 'many-rules']);
    expect(await policies.listAttachedTo(FN)).toHaveLength(2);
  });
});
