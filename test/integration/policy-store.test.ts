import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditKeys, contentOf, keys, policyVersionLocator } from '../../functions/adapters/dynamodb/keys.js';
import { DynamoAuditRecordSource } from '../../functions/adapters/dynamodb/audit-record-source.js';
import { recordContentHash } from '../../functions/core/records.js';
import { DynamoPolicyStore } from '../../functions/adapters/dynamodb/policy-store.js';
import type { DocumentClient } from '../../functions/adapters/dynamodb/document-client.js';
import { ServiceBusyError, ValidationError } from '../../functions/core/errors.js';
import { buildStoredPolicy, type PolicyBody, type StoredPolicy } from '../../functions/core/policy.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';

function body(name: string, min: number, functionNames?: string[]): PolicyBody & { name: string } {
  return {
    name,
    description: `score at least ${min}`,
    ...(functionNames !== undefined && { functionNames }),
    rules: [{ name: 'score-range', field: 'outputs.score', comparator: 'WithinRange', min, max: 1 }],
  };
}

describe('DynamoPolicyStore (dynalite)', () => {
  let dynamo: TestDynamo;
  let store: DynamoPolicyStore;

  beforeAll(async () => {
    dynamo = await startTestDynamo();
    store = new DynamoPolicyStore(dynamo.doc, dynamo.tableName);
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('stores versions 1, 2, 3, moves LATEST to the newest and keeps every version readable', async () => {
    const v1 = await store.putNextVersion(body('loan-regression', 0.1, ['approve_loan']), '2026-11-01T00:00:00.000Z');
    const v2 = await store.putNextVersion(body('loan-regression', 0.2, ['approve_loan']), '2026-11-01T00:01:00.000Z');
    const v3 = await store.putNextVersion(body('loan-regression', 0.3), '2026-11-01T00:02:00.000Z');

    expect([v1.version, v2.version, v3.version]).toEqual([1, 2, 3]);
    const content = { name: 'loan-regression', version: 3, description: 'score at least 0.3', functionNames: [], rules: body('x', 0.3).rules, createdAt: '2026-11-01T00:02:00.000Z' };
    expect(v3).toEqual({ ...content, contentHash: recordContentHash(content) });
    expect(await store.getLatest('loan-regression')).toEqual(v3);
    expect(await store.getVersion('loan-regression', 1)).toEqual(v1);
    expect(await store.getVersion('loan-regression', 2)).toEqual(v2);
    expect(await store.getVersion('loan-regression', 4)).toBeUndefined();
  });

  it('stores each version at V#<10-digit version> and LATEST, keys stripped when read', async () => {
    const raw = await dynamo.doc.get({ TableName: dynamo.tableName, Key: { pk: 'POLICY#loan-regression', sk: 'V#0000000002' } });
    expect(raw.Item).toMatchObject({ itemType: 'policy', name: 'loan-regression', version: 2 });
    const latest = await store.getLatest('loan-regression');
    expect(Object.keys(latest ?? {}).sort()).toEqual(['contentHash', 'createdAt', 'description', 'functionNames', 'name', 'rules', 'version']);
  });

  it('seals each version like the other immutable records: a contentHash, and audit index keys on the version (not on LATEST)', async () => {
    const key = { pk: 'POLICY#loan-regression', sk: 'V#0000000002' };
    const raw = (await dynamo.doc.get({ TableName: dynamo.tableName, Key: key })).Item ?? {};
    const v2 = await store.getVersion('loan-regression', 2);
    expect(v2?.contentHash).toBe(recordContentHash(contentOf(raw)));
    expect(raw).toMatchObject(auditKeys('policy', 'loan-regression/2', '2026-11-01T00:01:00.000Z'));
    const latest = (await dynamo.doc.get({ TableName: dynamo.tableName, Key: { pk: 'POLICY#loan-regression', sk: 'LATEST' } })).Item ?? {};
    expect(latest.auditpk).toBeUndefined();
    expect(latest.contentHash).toBe((await store.getVersion('loan-regression', 3))?.contentHash);
    // The audit reader sees the version as a record, its index keys matching its content.
    const found = await new DynamoAuditRecordSource(dynamo.doc, dynamo.tableName).get(policyVersionLocator('loan-regression', 2));
    expect(found).toMatchObject({ kind: 'policy', id: 'loan-regression/2', createdAt: '2026-11-01T00:01:00.000Z', indexProblems: [] });
    expect(found?.functionName).toBeUndefined();
  });

  it('returns undefined for a policy that does not exist', async () => {
    expect(await store.getLatest('nope')).toBeUndefined();
    expect(await store.getVersion('nope', 1)).toBeUndefined();
  });

  it('de-duplicates functionNames', async () => {
    const stored = await store.putNextVersion(body('dedup', 0.5, ['a_fn', 'a_fn', 'b_fn']), '2026-11-01T00:00:00.000Z');
    expect(stored.functionNames).toEqual(['a_fn', 'b_fn']);
  });

  it('does not let a writer that died after V#n but before LATEST block version n+1', async () => {
    await store.putNextVersion(body('crashy', 0.1), '2026-11-01T00:00:00.000Z');
    // A writer stored V#2 and died before moving LATEST.
    const orphan: StoredPolicy = buildStoredPolicy(body('crashy', 0.2), 2, '2026-11-01T00:01:00.000Z');
    await dynamo.doc.put({ TableName: dynamo.tableName, Item: { ...keys.policyVersion('crashy', 2), itemType: 'policy', ...orphan } });
    expect((await store.getLatest('crashy'))?.version).toBe(1);

    const next = await store.putNextVersion(body('crashy', 0.3), '2026-11-01T00:02:00.000Z');

    expect(next.version).toBe(3);
    expect(await store.getLatest('crashy')).toEqual(next);
    expect(await store.getVersion('crashy', 2)).toEqual(orphan);
  });

  it('gives concurrent writers distinct versions', async () => {
    const stored = await Promise.all([1, 2, 3, 4].map((i) => store.putNextVersion(body('racy', i / 10), `2026-11-01T00:0${i}:00.000Z`)));
    expect(stored.map((p) => p.version).sort()).toEqual([1, 2, 3, 4]);
    expect((await store.getLatest('racy'))?.version).toBe(4);
  });

  it('gives 20 concurrent writers of one name each its own version, 1..20, none refused (s12 D14)', async () => {
    // Before: 5 attempts without a pause, so about half of 12 concurrent PUTs failed with 409.
    const stored = await Promise.all(Array.from({ length: 20 }, (_, i) => store.putNextVersion(body('crowd', i / 100), '2026-11-01T00:00:00.000Z')));
    expect(stored.map((p) => p.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (const p of stored) expect(await store.getVersion('crowd', p.version)).toEqual(p);
    expect((await store.getLatest('crowd'))?.version).toBe(20);
  });

  it('answers 503 POLICY_BUSY, storing nothing of its own, when another writer takes every version it tries', async () => {
    // A rival stores the next version between each read of the highest and the put that follows.
    let rivals = 0;
    const rival = async () => {
      rivals += 1;
      await dynamo.doc.put({ TableName: dynamo.tableName, Item: { ...keys.policyVersion('contested', rivals), itemType: 'policy', ...buildStoredPolicy(body('contested', 0.5), rivals, '2026-11-01T00:00:00.000Z') } });
    };
    const doc = new Proxy(dynamo.doc, {
      get(target, prop) {
        if (prop === 'query') {
          return async (input: Parameters<DocumentClient['query']>[0]) => {
            const res = await target.query(input);
            await rival();
            return res;
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const pauses: number[] = [];
    const contested = new DynamoPolicyStore(doc, dynamo.tableName, { versionAttempts: 3, pause: async (retry) => void pauses.push(retry) });

    const err = await contested.putNextVersion(body('contested', 0.9), '2026-11-01T00:01:00.000Z').then(() => undefined, (e: unknown) => e);

    expect(err).toBeInstanceOf(ServiceBusyError);
    expect(err).toMatchObject({ code: 'POLICY_BUSY', retryAfterSeconds: 1 });
    expect((err as Error).message).toContain('nothing was stored, send the same request again');
    expect(pauses).toEqual([1, 2]);
    // Only the rival's three versions exist; none of them is the refused body.
    expect(rivals).toBe(3);
    expect((await store.getVersion('contested', 4))).toBeUndefined();
    for (const v of [1, 2, 3]) expect((await store.getVersion('contested', v))?.description).toBe('score at least 0.5');
  });

  describe('list', () => {
    let fresh: DynamoPolicyStore;
    let other: TestDynamo;

    beforeAll(async () => {
      other = await startTestDynamo();
      fresh = new DynamoPolicyStore(other.doc, other.tableName);
      for (const name of ['p-a', 'p-b', 'p-c', 'p-d', 'p-e']) await fresh.putNextVersion(body(name, 0.1), '2026-11-01T00:00:00.000Z');
      await fresh.putNextVersion(body('p-c', 0.9), '2026-11-01T00:01:00.000Z');
    });
    afterAll(async () => {
      await other.close();
    });

    it('lists the latest version of each policy, by name, in pages', async () => {
      const first = await fresh.list(2);
      expect(first.items.map((p) => p.name)).toEqual(['p-a', 'p-b']);
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = await fresh.list(2, first.nextCursor);
      expect(second.items.map((p) => [p.name, p.version])).toEqual([
        ['p-c', 2],
        ['p-d', 1],
      ]);
      const third = await fresh.list(2, second.nextCursor);
      expect(third.items.map((p) => p.name)).toEqual(['p-e']);
      expect(third.nextCursor).toBeUndefined();
    });

    it('lists everything in one page when the limit allows', async () => {
      const all = await fresh.list(50);
      expect(all.items).toHaveLength(5);
      expect(all.nextCursor).toBeUndefined();
    });

    it('refuses a cursor it did not issue', async () => {
      await expect(fresh.list(2, 'bm90LWEtY3Vyc29y')).rejects.toBeInstanceOf(ValidationError);
    });
  });

  it('lists the latest versions attached to a function, and only those', async () => {
    await store.putNextVersion(body('attach-1', 0.1, ['score_claim']), '2026-11-01T00:00:00.000Z');
    await store.putNextVersion(body('attach-2', 0.1, ['score_claim', 'approve_loan']), '2026-11-01T00:00:00.000Z');
    await store.putNextVersion(body('attach-3', 0.1, ['approve_loan']), '2026-11-01T00:00:00.000Z');
    // attach-1 v2 detaches from score_claim: only the latest version counts.
    await store.putNextVersion(body('attach-1', 0.2, ['other_fn']), '2026-11-01T00:01:00.000Z');

    const attached = await store.listAttachedTo('score_claim');
    expect(attached.map((p) => [p.name, p.version])).toEqual([['attach-2', 1]]);
    expect((await store.listAttachedTo('approve_loan')).map((p) => p.name).sort()).toEqual(['attach-2', 'attach-3']);
    // loan-regression v1/v2 named approve_loan but v3 (LATEST) names none.
    expect((await store.listAttachedTo('approve_loan')).some((p) => p.name === 'loan-regression')).toBe(false);
    expect(await store.listAttachedTo('nobody')).toEqual([]);
  });

  it('does not match a function whose name only contains another one', async () => {
    await store.putNextVersion(body('substring', 0.1, ['approve_loan_v2']), '2026-11-01T00:00:00.000Z');
    expect((await store.listAttachedTo('approve_loan')).some((p) => p.name === 'substring')).toBe(false);
  });
});
