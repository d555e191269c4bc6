/**
 * Numbers the service computes outside DynamoDB's range, over HTTP on the local host: a percent
 * change of +9e16 % (a probability going from 1e-15 to 0.9) is reported, stored and published as
 * the violation it is, on demand and on write; an `alpha` DynamoDB cannot store is a 400 naming it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidationReport } from '../../functions/core/validation.js';
import type { LocalEvent } from '../../functions/local/event-sink.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { eventually, requestJson } from '../support/http.js';

const RULE = { field: 'outputs.pFraud', comparator: 'MaxIncreasePercent', threshold: 50 };
const decision = (pFraud: number) => ({ functionName: 'prob', inputs: [{ name: 'i', value: 1 }], outputs: [{ name: 'pFraud', value: pFraud }] });

describe('computed numbers outside DynamoDB range (local host over HTTP)', () => {
  let t: TestHost;
  let baselineId: string;
  let candidateId: string;

  beforeAll(async () => {
    t = await startTestHost();
    expect((await requestJson(t.url, 'PUT', '/policies/prob-guard', { functionNames: ['prob'], rules: [RULE] })).status).toBe(200);
    baselineId = (await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', decision(1e-15))).body.snapshotId;
    candidateId = (await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', decision(0.9))).body.snapshotId;
  });
  afterAll(async () => {
    await t.close();
  });

  it('validates on demand: violated, the score stored as 2^53 - 1, the exact change in the message', async () => {
    const res = await requestJson<ValidationReport>(t.url, 'POST', `/snapshots/${candidateId}/validate`, { baselineId, policy: { rules: [RULE] } });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'violated', rules: [{ status: 'violated', score: 9007199254740991 }] });
    // The real change, to 12 significant digits (+89999999999999900 %), not the stored score's 2^53 - 1.
    expect(res.body.violations[0]?.message).toContain('+90000000000000000%');
    const stored = await requestJson<{ items: ValidationReport[] }>(t.url, 'GET', `/snapshots/${candidateId}/validations`);
    expect(stored.body.items).toContainEqual(res.body);
  });

  it('validates on write: stores the violated report and publishes its PolicyViolation event, with no stream failure', async () => {
    const report = await eventually('the on-write report', async () => {
      const res = await requestJson<{ items: ValidationReport[] }>(t.url, 'GET', `/snapshots/${candidateId}/validations`);
      return res.body.items.find((r) => r.trigger === 'on-write');
    });
    expect(report).toMatchObject({ status: 'violated', baselineId, rules: [{ score: 9007199254740991 }] });
    const event = await eventually('the PolicyViolation event', async () => {
      const res = await requestJson<{ items: LocalEvent[] }>(t.url, 'GET', '/_local/events');
      return res.body.items.find((e) => e.detail.snapshotId === candidateId);
    });
    expect(event['detail-type']).toBe('PolicyViolation');
    expect((await requestJson<{ items: unknown[] }>(t.url, 'GET', '/_local/stream-failures')).body.items).toEqual([]);
  });

  it('refuses an alpha below 1e-130 with a 400 naming alpha', async () => {
    const res = await requestJson<{ error: { code: string; message: string; details: { issues: { path: string }[] } } }>(t.url, 'POST', '/comparisons', {
      baselineBatchId: '01JBZ0000000000000000000B1',
      candidateBatchId: '01JBZ0000000000000000000B2',
      alpha: 1e-300,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/alpha.*1e-130/);
    expect(res.body.error.details.issues.map((i) => i.path)).toEqual(['alpha']);
  });
});
