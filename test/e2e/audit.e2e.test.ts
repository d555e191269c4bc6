/**
 * The audit seal end to end (local host over HTTP): records are sealed in signed digests, and each
 * attack an insider with write access to the table (or to the digest store) could try is named by
 * `GET /audit/verify`.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoSnapshotStore } from '../../functions/adapters/dynamodb/snapshot-store.js';
import { auditObjects } from '../../functions/core/audit/digest.js';
import type { VerificationReport } from '../../functions/core/audit/verify.js';
import { canonicalHash } from '../../functions/core/json.js';
import { buildSnapshot } from '../../functions/core/snapshot.js';
import type { MemoryAuditStore } from '../../functions/adapters/audit/file-audit-store.js';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import { requestJson, requestWithHeaders } from '../support/http.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { tempDir } from '../support/temp-dirs.js';

const T0 = Date.parse('2026-11-30T10:00:10.000Z');
const MINUTE = 60_000;
const FN = 'approve_loan';

interface Sealed {
  t: TestHost;
  db: DynamoDBClient;
  store: MemoryAuditStore;
  clock: { now: number };
  snapshotIds: string[];
  reportKey: { pk: string; sk: string };
  verify(query?: string): Promise<VerificationReport>;
}

const decision = (score: number) => ({ functionName: FN, inputs: [{ name: 'applicant', value: { income: 52000 + score } }], outputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: score }] });

let open: Sealed | undefined;
afterEach(async () => {
  open?.db.destroy();
  await open?.t.close();
  open = undefined;
});

/**
 * A host on a one-minute digest interval with a controlled clock: three snapshots, a replay and a
 * validation report at 10:00, nothing at 10:01 and 10:02, one snapshot at 10:03; then the clock is
 * moved past 10:04 and the digester seals windows 10:00 to 10:03.
 */
async function sealedHost(): Promise<Sealed> {
  const clock = { now: T0 };
  const t = await startTestHost({ clock: { now: () => clock.now }, digestIntervalMinutes: 1 });
  const db = new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint });
  const snapshotIds: string[] = [];
  for (const score of [0.5, 0.6, 0.7]) {
    clock.now += 1000;
    const res = await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', decision(score));
    snapshotIds.push(res.body.snapshotId);
  }
  const replay = await requestJson<{ status: string }>(t.url, 'POST', `/snapshots/${snapshotIds[0]}/replay`, { mode: 'ValidationOnly' });
  expect(replay.status).toBe(200);
  const report = await requestJson<{ reportId: string; status: string; createdAt: string; snapshotId: string }>(t.url, 'POST', `/snapshots/${snapshotIds[0]}/validate`, {
    policy: { rules: [{ name: 'floor', field: 'outputs.score', comparator: 'WithinRange', min: 0.55, max: 1 }] },
  });
  expect(report.body.status).toBe('violated');
  clock.now = T0 + 3 * MINUTE;
  snapshotIds.push((await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', decision(0.9))).body.snapshotId);
  clock.now = T0 + 4 * MINUTE;
  await t.host.audit.timer.runNow();
  const sealed: Sealed = {
    t,
    db,
    store: t.host.audit.store as MemoryAuditStore,
    clock,
    snapshotIds,
    reportKey: { pk: `SNAP#${report.body.snapshotId}`, sk: `VALIDATION#${report.body.createdAt}#${report.body.reportId}` },
    async verify(query = 'from=2026-11-30T10:00:00Z&to=2026-11-30T10:04:00Z') {
      const res = await requestJson<VerificationReport>(t.url, 'GET', `/audit/verify?${query}`);
      expect(res.status).toBe(200);
      return res.body;
    },
  };
  open = sealed;
  return sealed;
}

async function rawItem(s: Sealed, key: { pk: string; sk: string }): Promise<Record<string, unknown>> {
  const res = await s.db.send(new GetItemCommand({ TableName: s.t.host.tableName, Key: marshall(key) }));
  return unmarshall(res.Item ?? {});
}

async function putRaw(s: Sealed, item: Record<string, unknown>): Promise<void> {
  await s.db.send(new PutItemCommand({ TableName: s.t.host.tableName, Item: marshall(item, { removeUndefinedValues: true }) }));
}

/** Rewrites a record's content and recomputes its contentHash, as an insider covering tracks would. */
function rehash(item: Record<string, unknown>): Record<string, unknown> {
  const keyNames = new Set(['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'auditpk', 'auditsk', 'itemType', 'contentHash']);
  const content = Object.fromEntries(Object.entries(item).filter(([k]) => !keyNames.has(k)));
  return { ...item, contentHash: canonicalHash(content) };
}

describe('audit seal over HTTP (local host)', () => {
  it('seals every window, empty ones too, and verifies a clean range with zero findings and its counts', async () => {
    const s = await sealedHost();
    expect(await s.store.listDigests()).toEqual(['2026-11-30T10:00:00.000Z', '2026-11-30T10:01:00.000Z', '2026-11-30T10:02:00.000Z', '2026-11-30T10:03:00.000Z']);

    const report = await s.verify();

    expect(report.clean).toBe(true);
    // 4 snapshots, 1 replay result, 1 validation report.
    expect(report.counts).toEqual({ digests: 4, records: 6, late: 0, altered: 0, missing: 0, unexpected: 0, chainBreaks: 0, badSignatures: 0, indexMismatches: 0 });
    expect(report.sealed).toEqual({ from: '2026-11-30T10:00:00.000Z', to: '2026-11-30T10:04:00.000Z' });
  });

  it('serves the public key as PEM, and the exact openssl command of the README verifies a digest with it', async () => {
    const s = await sealedHost();
    const res = await requestWithHeaders<string>(s.t.url, 'GET', '/audit/public-key');
    expect(res.headers.get('content-type')).toBe('application/x-pem-file');
    const dir = tempDir('audit-openssl-');
    writeFileSync(join(dir, 'public-key.pem'), res.body);
    const digests = await requestJson<{ items: Array<{ windowStart: string; digest: string; signature: string }> }>(s.t.url, 'GET', '/audit/digests?from=2026-11-30T10:00:00Z&to=2026-11-30T10:01:00Z');
    const first = digests.body.items[0];
    expect(first?.windowStart).toBe('2026-11-30T10:00:00.000Z');
    writeFileSync(join(dir, 'digest.json'), first?.digest ?? '');
    writeFileSync(join(dir, 'digest.sig'), Buffer.from(first?.signature ?? '', 'base64'));

    const out = execFileSync('openssl', ['dgst', '-sha256', '-verify', 'public-key.pem', '-signature', 'digest.sig', 'digest.json'], { cwd: dir }).toString();
    expect(out.trim()).toBe('Verified OK');

    writeFileSync(join(dir, 'digest.json'), (first?.digest ?? '').replace('"recordCount":5', '"recordCount":4'));
    expect(() => execFileSync('openssl', ['dgst', '-sha256', '-verify', 'public-key.pem', '-signature', 'digest.sig', 'digest.json'], { cwd: dir, stdio: 'pipe' })).toThrow();
  });

  it('names a snapshot edited behind the service with its hash recomputed: altered', async () => {
    const s = await sealedHost();
    const id = s.snapshotIds[1] as string;
    const item = await rawItem(s, { pk: `SNAP#${id}`, sk: 'SNAP' });
    (item.outputs as Array<{ value: unknown }>)[1] = { ...(item.outputs as Array<{ name: string }>)[1], value: 0.99 } as { value: unknown };
    await putRaw(s, rehash(item));

    const report = await s.verify();

    expect(report.clean).toBe(false);
    expect(report.altered).toEqual([expect.objectContaining({ id, kind: 'snapshot', window: '2026-11-30T10:00:00.000Z', reason: expect.stringContaining('both rewritten') })]);
  });

  it('names a deleted snapshot: missing', async () => {
    const s = await sealedHost();
    const id = s.snapshotIds[2] as string;
    await s.db.send(new DeleteItemCommand({ TableName: s.t.host.tableName, Key: marshall({ pk: `SNAP#${id}`, sk: 'SNAP' }) }));

    const report = await s.verify();

    expect(report.missing).toEqual([expect.objectContaining({ id, kind: 'snapshot', reason: expect.stringContaining('deleted') })]);
    expect(report.counts.missing).toBe(1);
  });

  it('names a back-dated insert into a sealed window, older than any writer can be late: unexpected', async () => {
    const s = await sealedHost();
    // 20 minutes on: beyond the 15-minute late horizon, no writer of the service can still be
    // putting a record created at 10:00, so the digests after it do not seal it as late.
    s.clock.now = T0 + 20 * MINUTE;
    await s.t.host.audit.timer.runNow();
    const forged = buildSnapshot(decision(0.95), '01KB0000000000000000000000', '2026-11-30T10:00:30.000Z');
    await putRaw(s, DynamoSnapshotStore.toItem(forged));
    s.clock.now = T0 + 21 * MINUTE;
    await s.t.host.audit.timer.runNow();

    const report = await s.verify();

    expect(report.unexpected).toEqual([expect.objectContaining({ id: forged.snapshotId, kind: 'snapshot', reason: expect.stringContaining('no digest names it') })]);
    expect(report.late).toEqual([]);
    expect(report.clean).toBe(false);
  });

  it('names a snapshot whose index keys were changed (it vanishes from its function list): indexMismatches', async () => {
    const s = await sealedHost();
    const id = s.snapshotIds[0] as string;
    await s.db.send(
      new UpdateItemCommand({ TableName: s.t.host.tableName, Key: marshall({ pk: `SNAP#${id}`, sk: 'SNAP' }), UpdateExpression: 'SET gsi1pk = :v', ExpressionAttributeValues: marshall({ ':v': 'FN#hidden' }) }),
    );
    const listed = await requestJson<{ items: Array<{ snapshotId: string }> }>(s.t.url, 'GET', `/snapshots?functionName=${FN}`);
    expect(listed.body.items.map((i) => i.snapshotId)).not.toContain(id);

    const report = await s.verify();

    expect(report.indexMismatches).toEqual([expect.objectContaining({ id, kind: 'snapshot', reason: expect.stringContaining("gsi1pk is 'FN#hidden'") })]);
    expect(report.altered).toEqual([]);
  });

  it('names a validation report rewritten from violated to passed with its hash recomputed: altered', async () => {
    const s = await sealedHost();
    const item = await rawItem(s, s.reportKey);
    expect(item.status).toBe('violated');
    await putRaw(s, rehash({ ...item, status: 'passed', violations: [] }));

    const report = await s.verify();

    expect(report.altered).toEqual([expect.objectContaining({ id: item.reportId, kind: 'validation' })]);
  });

  it('names a deleted digest: chainBreaks', async () => {
    const s = await sealedHost();
    s.store.objects.delete(auditObjects.digest('2026-11-30T10:01:00.000Z'));

    const report = await s.verify();

    expect(report.chainBreaks).toEqual([expect.objectContaining({ id: '2026-11-30T10:01:00.000Z', reason: expect.stringContaining('no digest for window') })]);
    expect(report.clean).toBe(false);
  });

  it('names an edited digest: badSignatures, and the next digest no longer chains to it', async () => {
    const s = await sealedHost();
    const name = auditObjects.digest('2026-11-30T10:02:00.000Z');
    const bytes = s.store.objects.get(name) as Buffer;
    s.store.objects.set(name, Buffer.from(bytes.toString('utf8').replace('"lateCount":0', '"lateCount":1')));

    const report = await s.verify();

    expect(report.badSignatures).toEqual([expect.objectContaining({ id: '2026-11-30T10:02:00.000Z', kind: 'digest' })]);
    expect(report.chainBreaks).toEqual([expect.objectContaining({ id: '2026-11-30T10:03:00.000Z', reason: expect.stringContaining('another hash') })]);
  });

  it('names a digest whose signature was swapped for another digest’s: badSignatures', async () => {
    const s = await sealedHost();
    s.store.objects.set(auditObjects.signature('2026-11-30T10:01:00.000Z'), s.store.objects.get(auditObjects.signature('2026-11-30T10:02:00.000Z')) as Buffer);

    const report = await s.verify();

    expect(report.badSignatures).toEqual([expect.objectContaining({ id: '2026-11-30T10:01:00.000Z', reason: expect.stringContaining('does not verify') })]);
  });

  it('seals a record that arrives after its window was sealed into the next digest, flagged late, and stays clean', async () => {
    const s = await sealedHost();
    s.clock.now = Date.parse('2026-11-30T10:03:59.000Z');
    const late = (await requestJson<{ snapshotId: string }>(s.t.url, 'POST', '/snapshots', decision(0.8))).body.snapshotId;
    s.clock.now = T0 + 5 * MINUTE;
    await s.t.host.audit.timer.runNow();

    const report = await s.verify('from=2026-11-30T10:00:00Z&to=2026-11-30T10:05:00Z');

    expect(report.late).toEqual([expect.objectContaining({ id: late, kind: 'snapshot', window: '2026-11-30T10:04:00.000Z' })]);
    expect(report.clean).toBe(true);
  });

  it('seals a record that lands several windows after its own (within the 15-minute horizon) into the next digest, flagged late, not lost', async () => {
    const s = await sealedHost();
    // Created at 10:01:30 (its window sealed at 10:04), put when the digester next runs at 10:07.
    s.clock.now = Date.parse('2026-11-30T10:01:30.000Z');
    const snapshot = buildSnapshot(decision(0.85), '01KB0000000000000000000001', new Date(s.clock.now).toISOString());
    s.clock.now = T0 + 7 * MINUTE;
    await putRaw(s, DynamoSnapshotStore.toItem(snapshot));
    await s.t.host.audit.timer.runNow();

    const report = await s.verify('from=2026-11-30T10:00:00Z&to=2026-11-30T10:04:00Z');

    // Sealed by the first digest written after the put (window 10:04), three windows after its own.
    expect(report.late).toEqual([expect.objectContaining({ id: snapshot.snapshotId, kind: 'snapshot', window: '2026-11-30T10:04:00.000Z' })]);
    expect(report.unexpected).toEqual([]);
    expect(report.clean).toBe(true);
    // A later range that starts with that digest checks it too, without claiming its index moved.
    const later = await s.verify('from=2026-11-30T10:04:00Z&to=2026-11-30T10:06:00Z');
    expect(later.late).toEqual([expect.objectContaining({ id: snapshot.snapshotId })]);
    expect(later.clean).toBe(true);
  });

  it("verifies one function's records only, and answers 400 naming a missing or bad range", async () => {
    const s = await sealedHost();
    expect((await s.verify('from=2026-11-30T10:00:00Z&to=2026-11-30T10:04:00Z&functionName=other_fn')).counts.records).toBe(0);
    expect((await s.verify(`from=2026-11-30T10:00:00Z&to=2026-11-30T10:04:00Z&functionName=${FN}`)).counts.records).toBe(6);

    const missing = await requestJson<{ error: { code: string; message: string } }>(s.t.url, 'GET', '/audit/verify?from=2026-11-30T10:00:00Z');
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain('to is required');
    const reversed = await requestJson(s.t.url, 'GET', '/audit/verify?from=2026-11-30T11:00:00Z&to=2026-11-30T10:00:00Z');
    expect(reversed.status).toBe(400);
  });
});
