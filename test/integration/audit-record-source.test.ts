/**
 * The audit records' pages against a real local DynamoDB: each record is encoded once, and that
 * encoding both measures the page (its byte bound) and is what the page answers; pages chained by
 * their cursors give every record of the window exactly once.
 */
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditRecordSource } from '../../functions/adapters/dynamodb/audit-record-source.js';
import { DynamoSnapshotStore } from '../../functions/adapters/dynamodb/snapshot-store.js';
import { auditRoutes, AuditRecordPageSchema } from '../../functions/api/audit-routes.js';
import { buildSnapshot } from '../../functions/core/snapshot.js';
import { toResult } from '../../functions/http/api.js';
import { createActiveTable } from '../../functions/local/dynalite.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo?.close();
});

const T0 = Date.parse('2026-11-20T08:00:00.000Z');
const FROM = new Date(T0).toISOString();
const TO = new Date(T0 + 3_600_000).toISOString();

async function tableWith(n: number): Promise<{ source: DynamoAuditRecordSource; ids: string[] }> {
  const tableName = `audit-records-${ulid()}`;
  await createActiveTable(dynamo.client, tableName);
  const store = new DynamoSnapshotStore(dynamo.doc, tableName);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const at = T0 + i * 60_000;
    const snapshot = buildSnapshot({ functionName: 'approve_loan', inputs: [{ name: 'i', value: i }], outputs: [{ name: 'decision', value: 'approve' }] }, ulid(at), new Date(at).toISOString());
    await store.putIfAbsent(snapshot);
    ids.push(snapshot.snapshotId);
  }
  return { source: new DynamoAuditRecordSource(dynamo.doc, tableName), ids };
}

describe('DynamoAuditRecordSource.pageIn', () => {
  it('ends a page once its encoded records reach maxBytes, and the cursors lead through every record once', async () => {
    const { source, ids } = await tableWith(7);
    const encoded: string[] = [];
    const pages: number[] = [];
    let cursor: string | undefined;
    do {
      // A bound of 1 byte: every record fills its page.
      const page = await source.pageIn(FROM, TO, { limit: 1000, cursor, maxBytes: 1 }, (record) => JSON.stringify({ id: record.id }));
      pages.push(page.items.length);
      encoded.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined);

    expect(pages.filter((n) => n > 0)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(encoded.map((text) => (JSON.parse(text) as { id: string }).id).sort()).toEqual([...ids].sort());
  });

  it('keeps to the record limit when the bytes allow more', async () => {
    const { source } = await tableWith(5);

    const page = await source.pageIn(FROM, TO, { limit: 2, maxBytes: 4 * 1024 * 1024 }, (record) => record.id);

    expect(page.items).toHaveLength(2);
    expect(page.nextCursor).toBeTypeOf('string');
  });
});

describe('GET /audit/records', () => {
  it('answers the encoded records as one JSON page of the documented shape', async () => {
    const { source, ids } = await tableWith(3);
    const routes = auditRoutes({ records: source, store: {} as never, signer: { publicKeyPem: async () => '' }, clock: { now: () => T0 + 7_200_000 }, intervalMs: 3_600_000 });
    const route = routes['GET /audit/records'];

    const result = toResult(await (route as NonNullable<typeof route>)({ query: { from: FROM, to: TO, limit: '2' } } as never));
    const body = AuditRecordPageSchema.parse(JSON.parse(String(result.body)));

    expect(result.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8' });
    expect(body.items).toHaveLength(2);
    expect(body.items.every((r) => r.kind === 'snapshot' && ids.includes(r.id) && r.indexProblems.length === 0 && r.content.contentHash !== undefined)).toBe(true);
    expect(body.nextCursor).toBeTypeOf('string');
  });
});
