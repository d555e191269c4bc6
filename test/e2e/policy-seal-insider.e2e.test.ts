/**
 * Sealed policy versions against an insider with table write access, end to end on the local host
 * (probe s12 D4): policy `loanpol` v1 (score in [0.62, 1]) is loosened behind the service through
 * the DynamoDB API (PutItem on `POLICY#loanpol / LATEST` and `/ V#0000000001`, min 0), a
 * violating decision is recorded, the rule is restored. Before, the on-write report said `passed`
 * against "loanpol v1" and every verification stayed CLEAN.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentOf } from '../../functions/adapters/dynamodb/keys.js';
import type { VerificationReport } from '../../functions/core/audit/verify.js';
import type { StoredPolicy } from '../../functions/core/policy.js';
import { recordContentHash } from '../../functions/core/records.js';
import type { ValidationReport } from '../../functions/core/validation.js';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import { cli } from '../support/cli.js';
import { tempDir } from '../support/temp-dirs.js';
import { eventually, requestJson } from '../support/http.js';
import { startTestHost, type TestHost } from '../support/host.js';

const T0 = Date.parse('2026-11-30T10:00:10.000Z');
const MINUTE = 60_000;
const FN = 'approve_loan_ps';
const KEYS = [
  { pk: 'POLICY#loanpol', sk: 'LATEST' },
  { pk: 'POLICY#loanpol', sk: 'V#0000000001' },
];

const decision = (score: number) => ({ functionName: FN, inputs: [{ name: 'applicant', value: { income: 52000, score } }], outputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: score }] });

describe('a policy version loosened behind the service (probe s12 D4)', () => {
  let t: TestHost;
  let db: DynamoDBClient;
  const clock = { now: T0 };
  let sealedV1: StoredPolicy;
  let work: string;

  const raw = async (key: { pk: string; sk: string }) => unmarshall((await db.send(new GetItemCommand({ TableName: t.host.tableName, Key: marshall(key) }))).Item ?? {});
  const put = (item: Record<string, unknown>) => db.send(new PutItemCommand({ TableName: t.host.tableName, Item: marshall(item, { removeUndefinedValues: true }) }));
  /** The insider's PutItem on LATEST and V#1: score-range's min set to `min`, the contentHash recomputed or left as it was. */
  async function setFloor(min: number, rehash: boolean): Promise<Array<Record<string, unknown>>> {
    const originals: Array<Record<string, unknown>> = [];
    for (const key of KEYS) {
      const item = await raw(key);
      originals.push(item);
      const rules = (item.rules as Array<Record<string, unknown>>).map((r) => ({ ...r, min }));
      const edited = { ...item, rules };
      await put(rehash ? { ...edited, contentHash: recordContentHash(contentOf(edited)) } : edited);
    }
    return originals;
  }
  const restore = async (items: Array<Record<string, unknown>>) => {
    for (const item of items) await put(item);
  };
  async function record(score: number): Promise<string> {
    const res = await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', decision(score));
    expect(res.status).toBe(201);
    return res.body.snapshotId;
  }
  const onWriteReport = (snapshotId: string) =>
    eventually('the on-write report', async () => (await requestJson<{ items: ValidationReport[] }>(t.url, 'GET', `/snapshots/${snapshotId}/validations`)).body.items.find((r) => r.trigger === 'on-write'));
  async function verify(query: string): Promise<VerificationReport> {
    const res = await requestJson<VerificationReport>(t.url, 'GET', `/audit/verify?${query}`);
    expect(res.status).toBe(200);
    return res.body;
  }

  /** loanpol v1 at 10:00, an honest decision (0.9) at 10:00; windows 10:00 and 10:01 sealed at 10:02. */
  beforeAll(async () => {
    t = await startTestHost({ clock: { now: () => clock.now }, digestIntervalMinutes: 1 });
    db = new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint });
    work = tempDir('policy-seal-');
    clock.now = T0 + 1000;
    const v1 = await requestJson<StoredPolicy>(t.url, 'PUT', '/policies/loanpol', { functionNames: [FN], rules: [{ name: 'score-range', field: 'outputs.score', comparator: 'WithinRange', min: 0.62, max: 1 }] });
    expect(v1.status).toBe(200);
    sealedV1 = v1.body;
    expect(sealedV1.contentHash).toBe(recordContentHash(sealedV1));
    clock.now = T0 + 2000;
    const honest = await record(0.9);
    expect((await onWriteReport(honest)).policy).toEqual({ name: 'loanpol', version: 1, contentHash: sealedV1.contentHash });
    clock.now = T0 + 2 * MINUTE;
    const run = await requestJson<{ sealed: Array<{ windowStart: string }> }>(t.url, 'POST', '/_local/digest');
    expect(run.body.sealed.map((s) => s.windowStart)).toEqual(['2026-11-30T10:00:00.000Z', '2026-11-30T10:01:00.000Z']);
    const manifest = (await requestJson<string>(t.url, 'GET', '/audit/manifests/2026-11-30T10:00:00.000Z')).body;
    expect(manifest).toContain(`"contentHash":"${sealedV1.contentHash}","createdAt":"2026-11-30T10:00:11.000Z","id":"loanpol/1","kind":"policy"`);
  });
  afterAll(async () => {
    db.destroy();
    await t.close();
  });

  it('a loosened version (hash left as it was) is refused on demand (409 POLICY_TAMPERED) and flagged on write, and verify names it', async () => {
    clock.now = T0 + 2 * MINUTE + 1000;
    const originals = await setFloor(0, false);
    try {
      const id = await record(0.05);
      const report = await onWriteReport(id);
      expect(report).toMatchObject({ status: 'violated', policyIntegrity: 'tampered', policy: { name: 'loanpol', version: 1, contentHash: sealedV1.contentHash } });
      expect(report.violations[0]).toMatchObject({ ruleName: 'integrity', field: 'policy.contentHash', message: expect.stringContaining("policy 'loanpol' version 1 no longer matches its contentHash") });

      const refused = await requestJson<{ error: { code: string; message: string } }>(t.url, 'POST', `/snapshots/${id}/validate`, { policyName: 'loanpol' });
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('POLICY_TAMPERED');
      const batch = await requestJson<{ error: { code: string } }>(t.url, 'POST', '/batches', { snapshotIds: [id], mode: 'ValidationOnly', policyName: 'loanpol' });
      expect(batch.status).toBe(409);
      expect(batch.body.error.code).toBe('POLICY_TAMPERED');

      const sealed = await verify('from=2026-11-30T10:00:00Z&to=2026-11-30T10:02:00Z');
      expect(sealed.altered).toEqual([expect.objectContaining({ id: 'loanpol/1', kind: 'policy', reason: expect.stringContaining('no longer matches its contentHash') })]);
    } finally {
      await restore(originals);
    }
  });

  it('a loosened-and-restored version (hash recomputed) leaves a `passed` report whose pin verify names, online, by function, in the CLI and offline', async () => {
    clock.now = T0 + 2 * MINUTE + 10_000;
    const originals = await setFloor(0, true);
    let id: string;
    let report: ValidationReport;
    try {
      id = await record(0.05);
      report = await onWriteReport(id);
      // The rewritten version is intact on its own: the report passes, pinning the rewritten hash.
      expect(report).toMatchObject({ status: 'passed', policyIntegrity: 'verified' });
      expect(report.policy.contentHash).not.toBe(sealedV1.contentHash);
    } finally {
      await restore(originals);
    }
    expect((await requestJson<StoredPolicy>(t.url, 'GET', '/policies/loanpol?version=1')).body).toEqual(sealedV1);
    // A later validation says violated; the sealed on-write report still says passed. Which is true?
    expect((await requestJson<ValidationReport>(t.url, 'POST', `/snapshots/${id}/validate`, { policyName: 'loanpol' })).body.status).toBe('violated');
    clock.now = T0 + 3 * MINUTE;
    await requestJson(t.url, 'POST', '/_local/digest');

    const pinFinding = expect.objectContaining({ id: report.reportId, kind: 'validation', reason: expect.stringContaining(`pins policy 'loanpol' version 1 with contentHash ${report.policy.contentHash ?? ''}, but that version is sealed with ${sealedV1.contentHash ?? ''}`) });
    // Only the report's window: the policy version's own window (10:00) is not in the range.
    for (const query of ['from=2026-11-30T10:02:00Z&to=2026-11-30T10:03:00Z', `from=2026-11-30T10:02:00Z&to=2026-11-30T10:03:00Z&functionName=${FN}`]) {
      const found = await verify(query);
      expect(found.clean, query).toBe(false);
      expect(found.altered, query).toEqual([pinFinding]);
    }
    const range = ['--from', '2026-11-30T10:02:00Z', '--to', '2026-11-30T10:03:00Z'];
    const online = await cli(['verify', ...range, '--function', FN, '--output', 'json'], { env: { DECISION_REPLAY_URL: t.url } });
    expect(online.code, online.stderr).toBe(1);
    expect((JSON.parse(online.stdout) as VerificationReport).altered).toEqual([pinFinding]);

    const dir = join(work, 'bundle');
    const exported = await cli(['export', '--function', FN, ...range, '-o', dir, '--output', 'json'], { env: { DECISION_REPLAY_URL: t.url } });
    expect(exported.code, exported.stderr).toBe(0);
    // The pinned version travels with the bundle, with the digest that seals it (window 10:00, before the range).
    expect(readFileSync(join(dir, 'records/policies.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as StoredPolicy)).toEqual([sealedV1]);
    expect(readFileSync(join(dir, 'manifests/2026-11-30T10:00:00.000Z.jsonl'), 'utf8')).toContain('"id":"loanpol/1"');
    const offline = await cli(['verify', '--bundle', dir, '--output', 'json'], { env: { DECISION_REPLAY_URL: 'http://127.0.0.1:9' } });
    expect(offline.code, offline.stdout).toBe(1);
    expect((JSON.parse(offline.stdout) as VerificationReport).altered).toEqual([pinFinding]);
  });

  it('a version rewritten (hash recomputed) and left so is named against its seal even when only a report window is verified', async () => {
    clock.now = T0 + 3 * MINUTE + 1000;
    const originals = await setFloor(0.1, true);
    try {
      const id = await record(0.95);
      const report = await onWriteReport(id);
      clock.now = T0 + 4 * MINUTE;
      await requestJson(t.url, 'POST', '/_local/digest');
      const found = await verify(`from=2026-11-30T10:03:00Z&to=2026-11-30T10:04:00Z&functionName=${FN}`);
      expect(found.altered).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ id: report.reportId, kind: 'validation', reason: expect.stringContaining('pins policy') }),
          expect.objectContaining({ id: 'loanpol/1', kind: 'policy', reason: expect.stringContaining('content and hash were both rewritten') }),
        ]),
      );
    } finally {
      await restore(originals);
    }
  });
});

describe('a batch pins the sealed policy version it judges under', () => {
  let t: TestHost;
  afterAll(async () => t.close());

  it('records policyContentHash next to policyVersion, and each replay result pins the same hash', async () => {
    t = await startTestHost();
    const policy = await requestJson<StoredPolicy>(t.url, 'PUT', '/policies/batchpol', { rules: [{ name: 'score-range', field: 'outputs.score', comparator: 'WithinRange', min: 0.62, max: 1 }] });
    const ids: string[] = [];
    for (const score of [0.5, 0.9]) ids.push((await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', decision(score))).body.snapshotId);
    const started = await requestJson<{ batchId: string }>(t.url, 'POST', '/batches', { snapshotIds: ids, mode: 'ValidationOnly', policyName: 'batchpol' });
    expect(started.status).toBe(202);
    const batch = await eventually('the batch to succeed', async () => {
      const b = await requestJson<{ status: string; policyVersion?: number; policyContentHash?: string; stats?: { matches: number; policyViolations: Record<string, number> } }>(t.url, 'GET', `/batches/${started.body.batchId}`);
      return b.body.status === 'SUCCEEDED' ? b.body : undefined;
    });
    expect(batch).toMatchObject({ policyVersion: 1, policyContentHash: policy.body.contentHash, stats: { policyViolations: { 'score-range': 1 } } });
    for (const id of ids) {
      const history = await requestJson<{ items: Array<{ policy: { name: string; version: number; contentHash?: string } | null }> }>(t.url, 'GET', `/snapshots/${id}/replays`);
      expect(history.body.items[0]?.policy).toMatchObject({ name: 'batchpol', version: 1, contentHash: policy.body.contentHash });
    }
  });
});

describe('batch statistics rewritten behind the service (probe s12 D4, batch stats)', () => {
  let t: TestHost;
  let db: DynamoDBClient;
  afterAll(async () => {
    db.destroy();
    await t.close();
  });

  it('the batch report checks the stored statistics against the sealed results and names each figure that disagrees', async () => {
    t = await startTestHost();
    db = new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint });
    const ids: string[] = [];
    for (const score of [0.7, 0.8]) ids.push((await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', decision(score))).body.snapshotId);
    const started = await requestJson<{ batchId: string }>(t.url, 'POST', '/batches', { snapshotIds: ids, mode: 'ValidationOnly' });
    expect(started.status).toBe(202);
    const batchId = started.body.batchId;
    const done = await eventually('the batch to succeed', async () => {
      const b = await requestJson<{ status: string; stats?: Record<string, unknown> }>(t.url, 'GET', `/batches/${batchId}`);
      return b.body.status === 'SUCCEEDED' ? b.body : undefined;
    });
    expect(done.stats).toMatchObject({ matches: 2, mismatches: 0, matchRate: 1 });
    const honest = await requestJson<string>(t.url, 'GET', `/batches/${batchId}/report`);
    expect(honest.body).toContain('Figures are the batch statistics.');
    expect(honest.body).not.toContain('stats-disagree');

    // The insider rewrites the bookkeeping: 0 matches, 2 mismatches, match rate 0 (arithmetically consistent).
    const key = marshall({ pk: `BATCH#${batchId}`, sk: 'META' });
    const meta = unmarshall((await db.send(new GetItemCommand({ TableName: t.host.tableName, Key: key }))).Item ?? {});
    await db.send(new PutItemCommand({ TableName: t.host.tableName, Item: marshall({ ...meta, stats: { ...(meta.stats as object), matches: 0, mismatches: 2, matchRate: 0 } }, { removeUndefinedValues: true }) }));
    expect((await requestJson<{ stats: { matchRate: number } }>(t.url, 'GET', `/batches/${batchId}`)).body.stats.matchRate).toBe(0);

    const report = await requestJson<string>(t.url, 'GET', `/batches/${batchId}/report`);
    expect(report.status).toBe(200);
    expect(report.body).toContain('The statistics stored with the batch do not agree with its sealed results</strong> (matches: the batch says 0, its results 2; mismatches: the batch says 2, its results 0; matchRate: the batch says 0, its results 1)');
    expect(report.body).toContain('data-testid="match-rate">100.0 %<');
  });
});
