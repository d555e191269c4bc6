import { describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../../functions/core/errors.js';
import { recordContentHash } from '../../functions/core/records.js';
import type { PolicyBody, StoredPolicy } from '../../functions/core/policy.js';
import { LexicalSimilarity } from '../../functions/core/similarity.js';
import { buildSnapshot, type RecordSnapshot, type Snapshot } from '../../functions/core/snapshot.js';
import { validateOnDemand, validateOnWrite, type ValidationDeps } from '../../functions/core/validation.js';
import { fixedClock, MemoryPolicyStore, MemorySnapshotStore, MemoryValidationReportStore, sequentialIds } from '../support/memory-ports.js';

function recorded(score: number, rationale = 'Income is well above the threshold.', income = 52000): RecordSnapshot {
  return {
    functionName: 'approve_loan',
    inputs: [{ name: 'applicant', value: { income, age: 41 } }],
    outputs: [
      { name: 'decision', value: 'approve' },
      { name: 'score', value: score },
      { name: 'rationale', value: rationale },
    ],
    modelParameters: { modelName: 'credit-llm' },
  };
}

const ID = {
  first: '01JBZ0000000000000000000A1',
  second: '01JBZ0000000000000000000A2',
  third: '01JBZ0000000000000000000A3',
  otherInputs: '01JBZ0000000000000000000B1',
};

/** Loose enough to see a 20 % score drop, strict about the decision. */
const REGRESSION: PolicyBody & { name: string } = {
  name: 'loan-regression',
  functionNames: ['approve_loan'],
  rules: [
    { name: 'same-decision', field: 'outputs.decision', comparator: 'ExactMatch' },
    { name: 'score-drop', field: 'outputs.score', comparator: 'MaxDecreasePercent', threshold: 10 },
    { name: 'score-range', field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 },
  ],
};

async function world(): Promise<{ deps: ValidationDeps; snapshots: MemorySnapshotStore; policies: MemoryPolicyStore; reports: MemoryValidationReportStore }> {
  const snapshots = new MemorySnapshotStore();
  const policies = new MemoryPolicyStore();
  const reports = new MemoryValidationReportStore();
  const ids = sequentialIds('01JBZ00000000000000000V');
  const clock = fixedClock('2026-11-02T12:00:00.000Z');
  await snapshots.putIfAbsent(buildSnapshot(recorded(0.82), ID.first, '2026-11-01T09:00:00.000Z'));
  await snapshots.putIfAbsent(buildSnapshot(recorded(0.7), ID.second, '2026-11-01T10:00:00.000Z'));
  await snapshots.putIfAbsent(buildSnapshot(recorded(0.5), ID.third, '2026-11-01T11:00:00.000Z'));
  await snapshots.putIfAbsent(buildSnapshot(recorded(0.9, 'x', 99000), ID.otherInputs, '2026-11-01T12:00:00.000Z'));
  await policies.putNextVersion(REGRESSION, '2026-10-01T00:00:00.000Z');
  return { deps: { snapshots, policies, reports, similarity: new LexicalSimilarity(), clock, ids }, snapshots, policies, reports };
}

describe('validateOnDemand: baseline', () => {
  it('uses the explicit baselineId', async () => {
    const { deps } = await world();
    const report = await validateOnDemand(deps, ID.third, { policyName: 'loan-regression', baselineId: ID.first });
    expect(report.baselineId).toBe(ID.first);
    // 0.82 → 0.5 is a 39 % drop.
    expect(report.rules.find((r) => r.ruleName === 'score-drop')).toMatchObject({ status: 'violated' });
    expect(report.status).toBe('violated');
  });

  it('defaults to the most recent earlier snapshot with the same inputs', async () => {
    const { deps } = await world();
    const report = await validateOnDemand(deps, ID.third, { policyName: 'loan-regression' });
    expect(report.baselineId).toBe(ID.second);
    // 0.7 → 0.5 is a 28.6 % drop.
    expect(report.violations).toEqual([expect.objectContaining({ ruleName: 'score-drop', field: 'outputs.score' })]);
  });

  it('passes when the decision agrees with the previous same-inputs decision', async () => {
    const { deps, snapshots } = await world();
    await snapshots.putIfAbsent(buildSnapshot(recorded(0.68), '01JBZ0000000000000000000A4', '2026-11-01T11:30:00.000Z'));
    const report = await validateOnDemand(deps, '01JBZ0000000000000000000A4', { policyName: 'loan-regression' });
    expect(report.baselineId).toBe(ID.third);
    // 0.5 → 0.68 is an increase, the decision is the same: every rule passes.
    expect(report.rules.map((r) => r.status)).toEqual(['passed', 'passed', 'passed']);
    expect(report.status).toBe('passed');
  });

  it('skips relative rules with a reason when there is no baseline, and still checks absolute ones', async () => {
    const { deps } = await world();
    const report = await validateOnDemand(deps, ID.first, { policyName: 'loan-regression' });
    expect(report.baselineId).toBeNull();
    expect(report.rules).toEqual([
      expect.objectContaining({ ruleName: 'same-decision', status: 'skipped', reason: expect.stringMatching(/baseline/) }),
      expect.objectContaining({ ruleName: 'score-drop', status: 'skipped', reason: expect.stringMatching(/baseline/) }),
      expect.objectContaining({ ruleName: 'score-range', status: 'passed' }),
    ]);
    expect(report.status).toBe('passed');
    expect(report.violations).toEqual([]);
  });

  it('does not take a snapshot with other inputs as the baseline', async () => {
    const { deps } = await world();
    const report = await validateOnDemand(deps, ID.otherInputs, { policyName: 'loan-regression' });
    expect(report.baselineId).toBeNull();
  });

  it('answers 404 naming an unknown baselineId, storing nothing', async () => {
    const { deps, reports } = await world();
    const err = await validateOnDemand(deps, ID.third, { policyName: 'loan-regression', baselineId: '01JBZ0000000000000000000ZZ' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toContain('01JBZ0000000000000000000ZZ');
    expect(reports.items.size).toBe(0);
  });

  it('answers 400 naming baselineId when it is the snapshot being validated (every relative rule would pass against itself), storing nothing', async () => {
    const { deps, reports } = await world();
    const err = await validateOnDemand(deps, ID.third, { policyName: 'loan-regression', baselineId: ID.third.toLowerCase() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ details: { issues: [{ path: 'baselineId', message: 'is the snapshot being validated' }] } });
    expect((err as Error).message).toBe(`baselineId ${ID.third} is the snapshot being validated: compared with itself, every rule that compares with a baseline would pass; name an earlier decision, or leave baselineId out for the latest earlier one with the same inputs`);
    expect(reports.items.size).toBe(0);
  });
});

describe('validateOnDemand: request and report', () => {
  it('stores the report with the policy name and version, trigger on-demand, and returns it', async () => {
    const { deps, reports, policies } = await world();
    await policies.putNextVersion({ ...REGRESSION, rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0.6, max: 1 }] }, '2026-10-02T00:00:00.000Z');
    const report = await validateOnDemand(deps, ID.third, { policyName: 'loan-regression' });
    expect(report).toMatchObject({ snapshotId: ID.third, policy: { name: 'loan-regression', version: 2 }, trigger: 'on-demand', status: 'violated', createdAt: '2026-11-02T12:00:00.000Z' });
    expect(report.violations).toEqual([{ ruleName: 'WithinRange(outputs.score)', field: 'outputs.score', expected: expect.any(String), actual: expect.any(String), message: expect.any(String) }]);
    expect([...reports.items.values()]).toEqual([report]);
  });

  it('marks a snapshot altered behind the service as tampered: violated, with an integrity violation first', async () => {
    const { deps, snapshots } = await world();
    const stored = snapshots.items.get(ID.first) as Snapshot;
    snapshots.items.set(ID.first, { ...stored, outputs: stored.outputs.map((o) => (o.name === 'score' ? { ...o, value: 0.99 } : o)) });

    const report = await validateOnDemand(deps, ID.first, { policy: { rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] } });

    expect(report).toMatchObject({ integrity: 'tampered', status: 'violated' });
    expect(report.rules).toEqual([expect.objectContaining({ status: 'passed' })]);
    expect(report.violations[0]).toMatchObject({ ruleName: 'integrity', field: 'contentHash', expected: stored.contentHash });
    expect((await validateOnDemand(deps, ID.second, { policy: { rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] } })).integrity).toBe('verified');
  });

  it('marks a baseline altered behind the service: violated, baselineIntegrity tampered, an integrity violation on baseline.contentHash first', async () => {
    const { deps, snapshots } = await world();
    const stored = snapshots.items.get(ID.first) as Snapshot;
    // Someone lowers the baseline's score so that a real drop (0.82 → 0.5) reads as a small one.
    snapshots.items.set(ID.first, { ...stored, outputs: stored.outputs.map((o) => (o.name === 'score' ? { ...o, value: 0.52 } : o)) });

    const report = await validateOnDemand(deps, ID.third, { policyName: 'loan-regression', baselineId: ID.first });

    expect(report).toMatchObject({ integrity: 'verified', baselineIntegrity: 'tampered', status: 'violated', baselineId: ID.first });
    // The rule compared with what is stored now: it passes, which is exactly why the report must not.
    expect(report.rules.find((r) => r.ruleName === 'score-drop')).toMatchObject({ status: 'passed' });
    expect(report.violations).toEqual([
      {
        ruleName: 'integrity',
        field: 'baseline.contentHash',
        expected: stored.contentHash,
        actual: expect.stringMatching(/^[0-9a-f]{64}$/),
        message: `baseline snapshot ${ID.first} no longer matches its contentHash: it was altered after it was recorded; the rules that compare with it compared with what is stored now`,
      },
    ]);
  });

  it('states baselineIntegrity verified for an intact baseline, and leaves it out when there is none', async () => {
    const { deps } = await world();
    const withBaseline = await validateOnDemand(deps, ID.third, { policyName: 'loan-regression', baselineId: ID.second });
    expect(withBaseline.baselineIntegrity).toBe('verified');
    expect(withBaseline.violations.some((v) => v.ruleName === 'integrity')).toBe(false);
    const none = await validateOnDemand(deps, ID.otherInputs, { policyName: 'loan-regression' });
    expect(none.baselineId).toBeNull();
    expect('baselineIntegrity' in none).toBe(false);
  });

  it('names both sides when the snapshot and its baseline were both altered, the snapshot first', async () => {
    const { deps, snapshots } = await world();
    for (const id of [ID.first, ID.third]) {
      const stored = snapshots.items.get(id) as Snapshot;
      snapshots.items.set(id, { ...stored, outputs: stored.outputs.filter((o) => o.name !== 'rationale') });
    }
    const report = await validateOnDemand(deps, ID.third, { policyName: 'loan-regression', baselineId: ID.first });
    expect(report).toMatchObject({ integrity: 'tampered', baselineIntegrity: 'tampered', status: 'violated' });
    expect(report.violations.slice(0, 2).map((v) => [v.ruleName, v.field])).toEqual([
      ['integrity', 'contentHash'],
      ['integrity', 'baseline.contentHash'],
    ]);
  });

  it('evaluates an inline policy with version null', async () => {
    const { deps } = await world();
    const report = await validateOnDemand(deps, ID.first, { policy: { name: 'adhoc', rules: [{ field: 'outputs.decision', comparator: 'Contains', value: 'appr' }] } });
    expect(report).toMatchObject({ policy: { name: 'adhoc', version: null }, status: 'passed' });
  });

  it('scores a SemanticSimilarity rule with its provider', async () => {
    const { deps, snapshots } = await world();
    await snapshots.putIfAbsent(buildSnapshot(recorded(0.82, 'Denied because of an unrelated reason.'), '01JBZ0000000000000000000A5', '2026-11-01T11:45:00.000Z'));
    const report = await validateOnDemand(deps, '01JBZ0000000000000000000A5', { policy: { rules: [{ field: 'outputs.rationale', comparator: 'SemanticSimilarity', threshold: 0.9 }] } });
    expect(report.rules[0]).toMatchObject({ status: 'violated', provider: 'lexical' });
    expect(report.rules[0]?.score).toBeLessThan(0.9);
  });

  it.each([
    ['neither policy nor policyName', {}],
    ['both policy and policyName', { policyName: 'loan-regression', policy: REGRESSION }],
    ['an invalid inline policy', { policy: { rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 2, max: 1 }] } }],
    ['an unknown field', { policyName: 'loan-regression', extra: 1 }],
  ])('answers 400 for %s', async (_label, body) => {
    const { deps, reports } = await world();
    await expect(validateOnDemand(deps, ID.first, body)).rejects.toBeInstanceOf(ValidationError);
    expect(reports.items.size).toBe(0);
  });

  it('answers 404 for an unknown policyName and for an unknown snapshot', async () => {
    const { deps } = await world();
    await expect(validateOnDemand(deps, ID.first, { policyName: 'nope' })).rejects.toMatchObject({ code: 'POLICY_NOT_FOUND' });
    await expect(validateOnDemand(deps, '01JBZ0000000000000000000ZZ', { policyName: 'loan-regression' })).rejects.toMatchObject({ code: 'SNAPSHOT_NOT_FOUND' });
  });
});

describe('a stored policy whose rules today\'s checks refuse', () => {
  // Stored before a check existed (or behind the service): a Regex that RE2 cannot run used to make
  // validate-by-name a 400 INVALID_POLICY and every on-write record of the function fail.
  const OLD = { name: 'old-regex', functionNames: ['approve_loan'], rules: [{ name: 'decision-word', field: 'outputs.decision', comparator: 'Regex' as const, pattern: '(a)\\1' }, { name: 'score', field: 'outputs.score', comparator: 'WithinRange' as const, min: 0, max: 1 }] };

  it('is evaluated on demand: a stored report, violated on that rule, the others as usual', async () => {
    const { deps, policies, reports } = await world();
    await policies.putNextVersion(OLD, '2026-10-01T00:00:00.000Z');

    const report = await validateOnDemand(deps, ID.first, { policyName: 'old-regex' });

    expect(report.rules.map((r) => [r.ruleName, r.status])).toEqual([
      ['decision-word', 'violated'],
      ['score', 'passed'],
    ]);
    expect(report.violations[0]?.message).toMatch(/^outputs\.decision could not be checked: the rule cannot be applied \(rules\[0\] \(decision-word\) pattern: /);
    expect([...reports.items.values()].some((r) => r.reportId === report.reportId)).toBe(true);
  });

  it('is evaluated on write: its report is stored beside the others', async () => {
    const { deps, policies } = await world();
    await policies.putNextVersion(OLD, '2026-10-01T00:00:00.000Z');
    const third = (await deps.snapshots.get(ID.third)) as Snapshot;

    const outcomes = await validateOnWrite({ ...deps, reportId: (s, p) => `${s.snapshotId}:${p.name}:${p.version}`, now: () => '2026-11-02T12:00:00.000Z' }, third);

    expect(outcomes.map((o) => [o.report.policy.name, o.report.status, o.stored])).toEqual([
      ['loan-regression', 'violated', true],
      ['old-regex', 'violated', true],
    ]);
  });
});

describe('a stored policy whose rules are not a list of rules (written behind the service)', () => {
  // Such a version made evaluatePolicy throw a TypeError: every on-write record of the function
  // failed (so the policies beside it reported nothing either) and went to the failure sink, and
  // validate, replay with policyName and a batch's items answered 500 / INTERNAL_ERROR.
  const broken = (rules: unknown) => ({ name: 'broken', functionNames: ['approve_loan'], rules }) as unknown as PolicyBody & { name: string };
  const reportId = (snapshot: Snapshot, policy: StoredPolicy) => `${snapshot.snapshotId}:${policy.name}:${policy.version}`;

  it.each([
    ['not a list', 'notalist', "policy 'broken' version 1 cannot be applied: its rules are a string, not a list of rules; store a corrected version of the policy"],
    ['missing', undefined, "policy 'broken' version 1 cannot be applied: its rules are missing, not a list of rules; store a corrected version of the policy"],
    ['a list with a null entry', [{ field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }, null], "policy 'broken' version 1 cannot be applied: rules[1] is null, not a rule; store a corrected version of the policy"],
    ['a list with an array entry', [[{ field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }]], "policy 'broken' version 1 cannot be applied: rules[0] is an array, not a rule; store a corrected version of the policy"],
  ])('rules %s: violated on write as a whole, beside the other policies\' reports', async (_what, rules, message) => {
    const { deps, policies } = await world();
    await policies.putNextVersion(broken(rules), '2026-10-01T00:00:00.000Z');
    const third = (await deps.snapshots.get(ID.third)) as Snapshot;

    const outcomes = await validateOnWrite({ ...deps, reportId, now: () => '2026-11-02T12:00:00.000Z' }, third);

    expect(outcomes.map((o) => [o.report.policy.name, o.report.status, o.stored])).toEqual([
      ['loan-regression', 'violated', true],
      ['broken', 'violated', true],
    ]);
    const report = outcomes[1]?.report;
    expect(report?.rules).toEqual([]);
    expect(report?.violations).toEqual([{ ruleName: 'policy.rules', field: 'policy.rules', expected: 'a list of rules', actual: '(not evaluated)', message }]);
  });

  it('more rules than a policy may hold (101): violated as a whole, on demand too, naming the count', async () => {
    const { deps, policies } = await world();
    await policies.putNextVersion(broken(Array.from({ length: 101 }, () => ({ field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }))), '2026-10-01T00:00:00.000Z');

    const report = await validateOnDemand(deps, ID.third, { policyName: 'broken' });

    expect(report).toMatchObject({ status: 'violated', rules: [] });
    expect(report.violations).toEqual([{ ruleName: 'policy.rules', field: 'policy.rules', expected: 'at most 100 rules', actual: '(not evaluated)', message: "policy 'broken' cannot be applied: it holds 101 rules, more than the 100 a policy may hold; store a corrected version of the policy" }]);
  });

  it('is a violated report on demand, not a 500', async () => {
    const { deps, policies } = await world();
    await policies.putNextVersion(broken({ rule: 1 }), '2026-10-01T00:00:00.000Z');

    const report = await validateOnDemand(deps, ID.third, { policyName: 'broken' });

    expect(report.status).toBe('violated');
    expect(report.violations.map((v) => v.message)).toEqual(["policy 'broken' cannot be applied: its rules are an object, not a list of rules; store a corrected version of the policy"]);
  });
});

describe('validateOnWrite', () => {
  const reportId = (snapshot: Snapshot, policy: StoredPolicy) => `${snapshot.snapshotId}:${policy.name}:${policy.version}`;
  const WRITTEN = '2026-11-02T12:00:00.000Z';
  const now = () => WRITTEN;

  it('validates against every attached policy with the same-inputs baseline, and a second call stores nothing', async () => {
    const { deps, policies, reports } = await world();
    await policies.putNextVersion({ name: 'score-range', functionNames: ['approve_loan', 'other_fn'], rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0.6, max: 1 }] }, '2026-10-01T00:00:00.000Z');
    await policies.putNextVersion({ name: 'unattached', rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0.99, max: 1 }] }, '2026-10-01T00:00:00.000Z');
    const third = (await deps.snapshots.get(ID.third)) as Snapshot;

    const first = await validateOnWrite({ ...deps, reportId, now }, third);
    expect(first.map((o) => [o.report.policy.name, o.report.status, o.stored])).toEqual([
      ['loan-regression', 'violated', true],
      ['score-range', 'violated', true],
    ]);
    expect(first.every((o) => o.report.baselineId === ID.second && o.report.trigger === 'on-write' && o.report.createdAt === WRITTEN)).toBe(true);
    expect(first.map((o) => o.report.reportId)).toEqual([`${ID.third}:loan-regression:1`, `${ID.third}:score-range:1`]);

    const again = await validateOnWrite({ ...deps, reportId, now }, third);
    expect(again.map((o) => o.stored)).toEqual([false, false]);
    expect(again.map((o) => o.report)).toEqual(first.map((o) => o.report));
    expect(reports.items.size).toBe(2);
  });

  it('dates each report when it is written, not when its snapshot was (a lagging consumer must not back-date into a sealed window); a late redelivery stores nothing', async () => {
    const { deps, policies, reports } = await world();
    const third = (await deps.snapshots.get(ID.third)) as Snapshot;
    const lagged = new Date(Date.parse(third.createdAt) + 40 * 60_000).toISOString();

    const first = await validateOnWrite({ ...deps, reportId, now: () => lagged }, third);
    expect(first.map((o) => [o.report.createdAt, o.stored])).toEqual([[lagged, true]]);

    // Redelivered an hour later: the first report stands.
    const again = await validateOnWrite({ ...deps, reportId, now: () => new Date(Date.parse(lagged) + 3_600_000).toISOString() }, third);
    expect(again.map((o) => o.stored)).toEqual([false]);
    expect([...reports.items.values()].map((r) => r.createdAt)).toEqual([lagged]);
    expect(policies).toBeDefined();
  });

  it('reports an altered same-inputs baseline on write: violated, baselineIntegrity tampered', async () => {
    const { deps, snapshots } = await world();
    const baseline = snapshots.items.get(ID.second) as Snapshot;
    snapshots.items.set(ID.second, { ...baseline, outputs: baseline.outputs.map((o) => (o.name === 'decision' ? { ...o, value: 'deny' } : o)) });
    const third = (await deps.snapshots.get(ID.third)) as Snapshot;

    const [outcome] = await validateOnWrite({ ...deps, reportId, now }, third);

    expect(outcome?.report).toMatchObject({ baselineId: ID.second, integrity: 'verified', baselineIntegrity: 'tampered', status: 'violated' });
    expect(outcome?.report.violations[0]).toMatchObject({ ruleName: 'integrity', field: 'baseline.contentHash', expected: baseline.contentHash });
  });

  it('does nothing for a function no policy attaches to', async () => {
    const { deps, reports } = await world();
    const snapshot = buildSnapshot({ ...recorded(0.1), functionName: 'score_claim' }, '01JBZ0000000000000000000C1', '2026-11-01T09:00:00.000Z');
    expect(await validateOnWrite({ ...deps, reportId, now }, snapshot)).toEqual([]);
    expect(reports.items.size).toBe(0);
  });
});

/** Probe s12 D4: a policy version loosened behind the service (PutItem on V#n / LATEST) is never applied silently. */
describe('policy versions are sealed: a report pins the version it was judged under', () => {
  const reportId = (snapshot: Snapshot, policy: StoredPolicy) => `${snapshot.snapshotId}:${policy.name}:${policy.version}`;
  /** The insider's edit: the floor of score-range lowered to 0, with or without the hash recomputed. */
  function loosen(policies: MemoryPolicyStore, rehash: boolean): StoredPolicy {
    const [v1] = policies.versions.get('floor') as StoredPolicy[];
    const loosened = { ...(v1 as StoredPolicy), rules: [{ name: 'score-range', field: 'outputs.score', comparator: 'WithinRange' as const, min: 0, max: 1 }] };
    const stored = rehash ? { ...loosened, contentHash: recordContentHash(loosened) } : loosened;
    policies.versions.set('floor', [stored]);
    return v1 as StoredPolicy;
  }
  async function floorWorld() {
    const w = await world();
    await w.policies.putNextVersion({ name: 'floor', functionNames: ['approve_loan'], rules: [{ name: 'score-range', field: 'outputs.score', comparator: 'WithinRange', min: 0.62, max: 1 }] }, '2026-10-01T00:00:00.000Z');
    return w;
  }

  it('pins the policy version\'s contentHash in on-demand and on-write reports', async () => {
    const { deps, policies } = await floorWorld();
    const sealed = (await policies.getVersion('floor', 1)) as StoredPolicy;
    expect(sealed.contentHash).toBe(recordContentHash(sealed));
    const onDemand = await validateOnDemand(deps, ID.third, { policyName: 'floor' });
    expect(onDemand.policy).toEqual({ name: 'floor', version: 1, contentHash: sealed.contentHash });
    expect(onDemand.policyIntegrity).toBe('verified');
    const onWrite = await validateOnWrite({ ...deps, reportId, now: () => '2026-11-02T12:00:00.000Z' }, (await deps.snapshots.get(ID.third)) as Snapshot);
    expect(onWrite.find((o) => o.report.policy.name === 'floor')?.report).toMatchObject({ policy: { name: 'floor', version: 1, contentHash: sealed.contentHash }, policyIntegrity: 'verified' });
    // An inline policy has no stored version to pin.
    const inline = await validateOnDemand(deps, ID.third, { policy: { rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] } });
    expect(inline.policy).toEqual({ name: 'inline', version: null });
    expect(inline.policyIntegrity).toBeUndefined();
  });

  it('refuses on demand (409 POLICY_TAMPERED) a version whose content no longer matches its contentHash, storing nothing', async () => {
    const { deps, policies, reports } = await floorWorld();
    loosen(policies, false);
    const err = await validateOnDemand(deps, ID.third, { policyName: 'floor' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ code: 'POLICY_TAMPERED', details: { name: 'floor', version: 1 } });
    expect((err as Error).message).toContain("policy 'floor' version 1 no longer matches its contentHash");
    expect(reports.items.size).toBe(0);
  });

  it('refuses a version that carries no contentHash (stored before versions were sealed, or the hash removed)', async () => {
    const { deps, policies } = await floorWorld();
    const [v1] = policies.versions.get('floor') as StoredPolicy[];
    const { contentHash: _dropped, ...unsealed } = v1 as StoredPolicy;
    policies.versions.set('floor', [unsealed]);
    await expect(validateOnDemand(deps, ID.third, { policyName: 'floor' })).rejects.toMatchObject({ code: 'POLICY_TAMPERED', message: expect.stringContaining('carries no contentHash') });
  });

  it('on write, judges a decision under a tampered attached version as violated, with an integrity violation on policy.contentHash first', async () => {
    const { deps, policies } = await floorWorld();
    const sealed = loosen(policies, false);
    // 0.5 < 0.62 would violate the sealed rule; the loosened rule lets it pass.
    const outcomes = await validateOnWrite({ ...deps, reportId, now: () => '2026-11-02T12:00:00.000Z' }, (await deps.snapshots.get(ID.third)) as Snapshot);
    const report = outcomes.find((o) => o.report.policy.name === 'floor')?.report;
    expect(report).toMatchObject({ status: 'violated', policyIntegrity: 'tampered', policy: { name: 'floor', version: 1, contentHash: sealed.contentHash } });
    expect(report?.rules).toEqual([expect.objectContaining({ ruleName: 'score-range', status: 'passed' })]);
    expect(report?.violations[0]).toMatchObject({ ruleName: 'integrity', field: 'policy.contentHash', expected: sealed.contentHash, message: expect.stringContaining('POLICY_TAMPERED') });
  });

  it('on write, a version rewritten with its hash recomputed passes but pins the rewritten hash (audit verification names it)', async () => {
    const { deps, policies } = await floorWorld();
    const sealed = loosen(policies, true);
    const outcomes = await validateOnWrite({ ...deps, reportId, now: () => '2026-11-02T12:00:00.000Z' }, (await deps.snapshots.get(ID.third)) as Snapshot);
    const report = outcomes.find((o) => o.report.policy.name === 'floor')?.report;
    expect(report?.status).toBe('passed');
    expect(report?.policy.contentHash).not.toBe(sealed.contentHash);
    expect(report?.policy.contentHash).toBe((await policies.getVersion('floor', 1))?.contentHash);
  });
});
