/**
 * Policies and on-demand validation over HTTP on the one-machine host (DESIGN §4). The policies
 * here attach to no function, so no on-write report can appear beside the on-demand ones.
 */
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredPolicy } from '../../functions/core/policy.js';
import { recordContentHash } from '../../functions/core/records.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import type { ValidationReport } from '../../functions/core/validation.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import { eventually, requestJson, type Reply } from '../support/http.js';

interface ErrorBody {
  error: { code: string; message: string; details?: { issues?: { path: string; message: string }[] } };
}

describe('policies and validation over HTTP (local host)', () => {
  let t: TestHost;

  function call<T = unknown>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
    return requestJson<T>(t.url, method, path, body);
  }

  async function record(functionName: string, income: number, outputs: Record<string, string | number>): Promise<Snapshot> {
    const res = await call<Snapshot>('POST', '/snapshots', {
      functionName,
      inputs: [{ name: 'applicant', value: { income, age: 41 } }],
      outputs: Object.entries(outputs).map(([name, value]) => ({ name, value })),
      modelParameters: { modelName: 'credit-llm' },
    });
    expect(res.status).toBe(201);
    return res.body;
  }

  async function validate(id: string, body: unknown): Promise<ValidationReport> {
    const res = await call<ValidationReport>('POST', `/snapshots/${id}/validate`, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t.close();
  });

  describe('versioned policies', () => {
    const v1 = { description: 'first cut', rules: [{ name: 'score-range', field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] };
    const v2 = { description: 'tighter', rules: [{ name: 'score-range', field: 'outputs.score', comparator: 'WithinRange', min: 0.5, max: 1 }, { field: 'outputs.decision', comparator: 'ExactMatch' }] };

    it('stores each PUT as the next version and GETs the latest or a given version', async () => {
      const first = await call<StoredPolicy>('PUT', '/policies/loan-regression', v1);
      const second = await call<StoredPolicy>('PUT', '/policies/loan-regression', { ...v2, name: 'loan-regression' });
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ name: 'loan-regression', version: 1, ...v1, functionNames: [], createdAt: expect.any(String), contentHash: recordContentHash(first.body) });
      expect(second.body).toMatchObject({ name: 'loan-regression', version: 2, description: 'tighter' });

      expect(await call('GET', '/policies/loan-regression')).toEqual({ status: 200, body: second.body });
      expect(await call('GET', '/policies/loan-regression?version=1')).toEqual({ status: 200, body: first.body });
      expect((await call('GET', '/policies/loan-regression?version=3')).status).toBe(404);
      // A version that is not a positive integer is a 400, as on every route with a version parameter.
      expect((await call('GET', '/policies/loan-regression?version=abc')).status).toBe(400);
      expect((await call('GET', '/policies/no-such-policy')).status).toBe(404);
    });

    it('lists the latest version of each policy, in pages', async () => {
      await call('PUT', '/policies/other-policy', v1);
      const all = await call<{ items: StoredPolicy[]; nextCursor?: string }>('GET', '/policies');
      expect(all.status).toBe(200);
      expect(all.body.items.map((p) => [p.name, p.version])).toEqual([
        ['loan-regression', 2],
        ['other-policy', 1],
      ]);
      const page = await call<{ items: StoredPolicy[]; nextCursor?: string }>('GET', '/policies?limit=1');
      expect(page.body.items.map((p) => p.name)).toEqual(['loan-regression']);
      const next = await call<{ items: StoredPolicy[]; nextCursor?: string }>('GET', `/policies?limit=1&cursor=${encodeURIComponent(page.body.nextCursor ?? '')}`);
      expect(next.body.items.map((p) => p.name)).toEqual(['other-policy']);
    });

    it('stores 20 concurrent PUTs of one name, each as its own version 1..20, none refused (s12 D14)', async () => {
      // Before: 12 concurrent PUTs gave 7 × 200 and 5 × 409 POLICY_VERSION_CONFLICT, a status the
      // API did not declare and the SDK did not retry; the caller had done nothing wrong.
      const bodies = Array.from({ length: 20 }, (_, i) => ({ description: `cut ${i}`, rules: [{ name: 'score-range', field: 'outputs.score', comparator: 'WithinRange', min: i / 100, max: 1 }] }));
      const answers = await Promise.all(bodies.map((b) => call<StoredPolicy>('PUT', '/policies/race', b)));
      expect(answers.map((a) => a.status)).toEqual(bodies.map(() => 200));
      expect(answers.map((a) => a.body.version).sort((a, b) => a - b)).toEqual(bodies.map((_, i) => i + 1));
      // Each version holds the body of the PUT that was answered with it.
      for (const [i, a] of answers.entries()) {
        expect(a.body.description).toBe(`cut ${i}`);
        expect(await call('GET', `/policies/race?version=${a.body.version}`)).toEqual({ status: 200, body: a.body });
      }
      expect((await call<StoredPolicy>('GET', '/policies/race')).body.version).toBe(20);
    });

    it('answers 400 when the body names another policy than the path', async () => {
      const res = await call<ErrorBody>('PUT', '/policies/loan-regression', { ...v1, name: 'something-else' });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain("'something-else'");
    });

    it.each([
      ['an unknown comparator', { name: 'fuzzy', field: 'outputs.decision', comparator: 'Fuzzy' }, 'rules[0].comparator', /rules\[0\] \(fuzzy\).*unknown comparator "Fuzzy"/],
      ['a threshold out of range', { name: 'similar', field: 'outputs.rationale', comparator: 'SemanticSimilarity', threshold: 1.5 }, 'rules[0].threshold', /rules\[0\] \(similar\) threshold:.*between 0 and 1/],
      ['a bad field path', { name: 'bad-path', field: 'decision', comparator: 'ExactMatch' }, 'rules[0].field', /rules\[0\] \(bad-path\) field:.*must start with one of/],
      ['a malformed field path', { name: 'bad-syntax', field: 'outputs..x', comparator: 'ExactMatch' }, 'rules[0].field', /rules\[0\] \(bad-syntax\) field/],
      ['min greater than max', { name: 'range', field: 'outputs.score', comparator: 'WithinRange', min: 2, max: 1 }, 'rules[0].min', /rules\[0\] \(range\) min:.*greater than max/],
      ['a missing threshold', { field: 'outputs.score', comparator: 'MaxIncreasePercent' }, 'rules[0].threshold', /rules\[0\] \(MaxIncreasePercent\(outputs.score\)\) threshold:.*needs 'threshold'/],
      // s12 D10, D17: schemas that are not JSON Schema were stored, then failed or passed everything.
      ['a schema with an unknown type', { name: 'a', field: 'outputs.y', comparator: 'JsonSchema', schema: { type: 'nonsense' } }, 'rules[0].schema', /rules\[0\] \(a\) schema: not a valid JSON Schema \(draft 2020-12 meta-schema\): 'type' at #\/type must be one of array/],
      ['a schema keyword with a value of the wrong type', { name: 'c', field: 'outputs.y', comparator: 'JsonSchema', schema: { minLength: 'five' } }, 'rules[0].schema', /rules\[0\] \(c\) schema: .*'minLength' at #\/minLength must be a non-negative integer, got string "five"/],
      ['a negative maxLength', { name: 'e', field: 'outputs.y', comparator: 'JsonSchema', schema: { type: 'string', maxLength: -3 } }, 'rules[0].schema', /'maxLength' at #\/maxLength must be a non-negative integer, got number -3/],
      ['an enum that is not an array', { name: 'n', field: 'outputs.y', comparator: 'JsonSchema', schema: { enum: 'notarray' } }, 'rules[0].schema', /^invalid policy: rules\[0\] \(n\) schema: not a valid JSON Schema \(draft 2020-12 meta-schema\): 'enum' at #\/enum must be an array, got string "notarray"$/],
    ])('answers 400 naming the rule and field for %s, storing nothing', async (_label, rule, path, message) => {
      const res = await call<ErrorBody>('PUT', '/policies/invalid-policy', { rules: [rule] });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_POLICY');
      expect(res.body.error.message).toMatch(message);
      expect(res.body.error.details?.issues?.map((i) => i.path)).toContain(path);
      expect((await call('GET', '/policies/invalid-policy')).status).toBe(404);
    });
  });

  describe('validating snapshots', () => {
    let older: Snapshot;
    let newer: Snapshot;
    let lone: Snapshot;

    beforeAll(async () => {
      await call('PUT', '/policies/score-guard', { rules: [{ name: 'floor', field: 'outputs.score', comparator: 'WithinRange', min: 0.6, max: 1 }, { name: 'drop', field: 'outputs.score', comparator: 'MaxDecreasePercent', threshold: 10 }] });
      older = await record('approve_loan', 52000, { decision: 'approve', score: 0.82, rationale: 'Income is well above the threshold.' });
      newer = await record('approve_loan', 52000, { decision: 'approve', score: 0.55, rationale: 'Weather patterns suggest caution today.' });
      lone = await record('approve_loan', 99000, { decision: 'approve', score: 0.9, rationale: 'Plenty of income.' });
    });

    it('validates with policyName against the previous decision with the same inputs', async () => {
      const report = await validate(newer.snapshotId, { policyName: 'score-guard' });
      expect(report).toMatchObject({ snapshotId: newer.snapshotId, baselineId: older.snapshotId, policy: { name: 'score-guard', version: 1 }, status: 'violated', trigger: 'on-demand' });
      expect(report.rules.map((r) => [r.ruleName, r.status])).toEqual([
        ['floor', 'violated'],
        ['drop', 'violated'],
      ]);
      expect(report.violations.map((v) => Object.keys(v).sort())).toEqual([
        ['actual', 'expected', 'field', 'message', 'ruleName'],
        ['actual', 'expected', 'field', 'message', 'ruleName'],
      ]);
    });

    it('skips relative rules with a reason when there is no baseline', async () => {
      const report = await validate(lone.snapshotId, { policyName: 'score-guard' });
      expect(report.baselineId).toBeNull();
      expect(report.rules).toEqual([
        expect.objectContaining({ ruleName: 'floor', status: 'passed' }),
        expect.objectContaining({ ruleName: 'drop', status: 'skipped', reason: expect.stringMatching(/baseline/) }),
      ]);
      expect(report.status).toBe('passed');
    });

    it('uses an explicit baselineId, even one with other inputs', async () => {
      const report = await validate(newer.snapshotId, { policyName: 'score-guard', baselineId: lone.snapshotId });
      expect(report.baselineId).toBe(lone.snapshotId);
      expect(report.rules.find((r) => r.ruleName === 'drop')?.status).toBe('violated');
    });

    it('a low-similarity output violates a 0.9 SemanticSimilarity threshold, with score and provider', async () => {
      const report = await validate(newer.snapshotId, { policy: { name: 'rationale-stable', rules: [{ field: 'outputs.rationale', comparator: 'SemanticSimilarity', threshold: 0.9 }] } });
      expect(report.policy).toEqual({ name: 'rationale-stable', version: null });
      expect(report.status).toBe('violated');
      expect(report.rules[0]).toMatchObject({ ruleName: 'SemanticSimilarity(outputs.rationale)', status: 'violated', provider: 'lexical' });
      expect(report.rules[0]?.score).toBeLessThan(0.9);
      expect(report.violations[0]).toMatchObject({ ruleName: 'SemanticSimilarity(outputs.rationale)', field: 'outputs.rationale' });
    });

    it('equal outputs pass ExactMatch', async () => {
      const report = await validate(newer.snapshotId, { policy: { rules: [{ field: 'outputs.decision', comparator: 'ExactMatch' }] } });
      expect(report.status).toBe('passed');
      expect(report.rules).toEqual([expect.objectContaining({ status: 'passed', score: 1 })]);
    });

    it('a changed output violates ExactMatch', async () => {
      const report = await validate(newer.snapshotId, { policy: { rules: [{ field: 'outputs.score', comparator: 'ExactMatch' }] } });
      expect(report.status).toBe('violated');
      expect(report.violations[0]).toMatchObject({ field: 'outputs.score', expected: expect.stringContaining('0.82'), actual: expect.stringContaining('0.55') });
    });

    it.each([
      ['an unknown policyName', 404, 'POLICY_NOT_FOUND', { policyName: 'nope' }],
      ['a policyName that can never exist (a bad field, not an unknown policy)', 400, 'INVALID_REQUEST', { policyName: 'no such policy!' }],
      ['an unknown baselineId', 404, 'SNAPSHOT_NOT_FOUND', { policyName: 'score-guard', baselineId: '01JBZ0000000000000000000ZZ' }],
      ['a baselineId that can never be a snapshot id (a bad field, not an unknown snapshot)', 400, 'INVALID_REQUEST', { policyName: 'score-guard', baselineId: 'not-a-snapshot' }],
      ['both policy and policyName', 400, 'INVALID_REQUEST', { policyName: 'score-guard', policy: { rules: [{ field: 'outputs.score', comparator: 'ExactMatch' }] } }],
      ['neither policy nor policyName', 400, 'INVALID_REQUEST', {}],
      ['an invalid inline policy', 400, 'INVALID_POLICY', { policy: { rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 3, max: 1 }] } }],
      ['an inline JsonSchema rule whose schema is not JSON Schema', 400, 'INVALID_POLICY', { policy: { rules: [{ field: 'outputs.score', comparator: 'JsonSchema', schema: { minLength: 'five' } }] } }],
    ])('answers %s with %i %s', async (_label, status, code, body) => {
      const res = await call<ErrorBody>('POST', `/snapshots/${lone.snapshotId}/validate`, body);
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(code);
    });

    it('answers 404 for validating a snapshot that does not exist', async () => {
      expect((await call('POST', '/snapshots/01JBZ0000000000000000000ZZ/validate', { policyName: 'score-guard' })).status).toBe(404);
    });

    it('lists a snapshot’s stored reports newest first, in pages', async () => {
      const s = await record('score_claim', 1000, { decision: 'approve', score: 0.7 });
      const made: string[] = [];
      for (const min of [0, 0.8, 0.5]) {
        made.push((await validate(s.snapshotId, { policy: { name: `min-${min * 10}`, rules: [{ field: 'outputs.score', comparator: 'WithinRange', min, max: 1 }] } })).reportId);
      }
      const all = await call<{ items: ValidationReport[]; nextCursor?: string }>('GET', `/snapshots/${s.snapshotId}/validations`);
      expect(all.status).toBe(200);
      expect(all.body.items.map((r) => r.reportId)).toEqual([...made].reverse());
      expect(all.body.items.map((r) => [r.policy.name, r.status])).toEqual([
        ['min-5', 'passed'],
        ['min-8', 'violated'],
        ['min-0', 'passed'],
      ]);
      const first = await call<{ items: ValidationReport[]; nextCursor?: string }>('GET', `/snapshots/${s.snapshotId}/validations?limit=2`);
      const second = await call<{ items: ValidationReport[]; nextCursor?: string }>('GET', `/snapshots/${s.snapshotId}/validations?limit=2&cursor=${encodeURIComponent(first.body.nextCursor ?? '')}`);
      expect([...first.body.items, ...second.body.items].map((r) => r.reportId)).toEqual([...made].reverse());
      expect(second.body.nextCursor).toBeUndefined();
    });

    it('answers 404 for the reports of a snapshot that does not exist', async () => {
      expect((await call('GET', '/snapshots/01JBZ0000000000000000000ZZ/validations')).status).toBe(404);
    });

    it('refuses an inline replay policy whose JsonSchema is not JSON Schema, naming rules[0].schema', async () => {
      const res = await call<ErrorBody>('POST', `/snapshots/${lone.snapshotId}/replay`, { mode: 'ValidationOnly', policy: { rules: [{ name: 'kind', field: 'outputs.decision', comparator: 'JsonSchema', schema: { enum: 'notarray' } }] } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_POLICY');
      expect(res.body.error.details?.issues).toEqual([{ path: 'rules[0].schema', message: 'rules[0] (kind) schema: not a valid JSON Schema (draft 2020-12 meta-schema): \'enum\' at #/enum must be an array, got string "notarray"' }]);
    });

    it('evaluates a stored policy whose schema a later check refuses as a violation naming the problem, on write and on demand', async () => {
      // A policy stored before the meta-schema check: written valid, then given the schema the
      // probe stored (`minLength: "five"`, which used to pass every value) in the table itself, with
      // its contentHash sealing that content (as the service would have sealed it then).
      const put = await call<StoredPolicy>('PUT', '/policies/legacy-schema', { functionNames: ['legacy_fn'], rules: [{ name: 'shape', field: 'outputs.decision', comparator: 'JsonSchema', schema: { type: 'string' } }, { name: 'range', field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] });
      expect(put.status).toBe(200);
      const db = new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint });
      try {
        for (const sk of ['V#0000000001', 'LATEST']) {
          await db.send(
            new UpdateItemCommand({
              TableName: t.host.tableName,
              Key: { pk: { S: 'POLICY#legacy-schema' }, sk: { S: sk } },
              UpdateExpression: 'SET #rules[0].#schema = :schema, contentHash = :hash',
              ExpressionAttributeNames: { '#rules': 'rules', '#schema': 'schema' },
              ExpressionAttributeValues: { ':schema': { M: { minLength: { S: 'five' } } }, ':hash': { S: recordContentHash({ ...put.body, rules: [{ ...put.body.rules[0], schema: { minLength: 'five' } }, put.body.rules[1]] }) } },
            }),
          );
        }
      } finally {
        db.destroy();
      }
      const message = 'outputs.decision could not be checked: the rule\'s schema cannot be applied (not a valid JSON Schema (draft 2020-12 meta-schema): \'minLength\' at #/minLength must be a non-negative integer, got string "five")';
      const s = await record('legacy_fn', 1000, { decision: 'approve', score: 0.7 });
      const onWrite = await eventually('the on-write report', async () => {
        const page = await call<{ items: ValidationReport[] }>('GET', `/snapshots/${s.snapshotId}/validations`);
        return page.body.items.find((r) => r.trigger === 'on-write');
      });
      const onDemand = await validate(s.snapshotId, { policyName: 'legacy-schema' });
      for (const report of [onWrite, onDemand]) {
        expect(report.status).toBe('violated');
        expect(report.rules.map((r) => [r.ruleName, r.status])).toEqual([['shape', 'violated'], ['range', 'passed']]);
        expect(report.violations).toEqual([{ ruleName: 'shape', field: 'outputs.decision', expected: 'valid against the rule schema', actual: '"approve"', message }]);
      }
    });
  });
});
