/**
 * The audit seal against an insider, end to end on the local host (probe s12, D1 and D3): a digest
 * removed from the audit store is not sealed again over forged records, and a batch result is
 * verified and exported with the function of the snapshot it replayed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryAuditStore } from '../../functions/adapters/audit/file-audit-store.js';
import { auditObjects } from '../../functions/core/audit/digest.js';
import type { VerificationReport } from '../../functions/core/audit/verify.js';
import type { Batch } from '../../functions/core/batch.js';
import { recordContentHash } from '../../functions/core/records.js';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import { cli } from '../support/cli.js';
import { requestJson } from '../support/http.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { tempDir } from '../support/temp-dirs.js';

const T0 = Date.parse('2026-11-30T10:00:10.000Z');
const MINUTE = 60_000;
const FN = 'insider_loan';

const decision = (score: number, functionName = FN) => ({ functionName, inputs: [{ name: 'applicant', value: { income: 52000 + score } }], outputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: score }] });

interface Host {
  t: TestHost;
  db: DynamoDBClient;
  clock: { now: number };
  store: MemoryAuditStore;
  /** What the host logged at error level. */
  errors: string[];
}

async function host(): Promise<Host> {
  const clock = { now: T0 };
  const errors: string[] = [];
  const logger = { info: () => undefined, warn: () => undefined, error: (message: string) => errors.push(message) };
  const t = await startTestHost({ clock: { now: () => clock.now }, digestIntervalMinutes: 1, logger });
  return { t, db: new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint }), clock, store: t.host.audit.store as MemoryAuditStore, errors };
}

async function close(h: Host | undefined): Promise<void> {
  h?.db.destroy();
  await h?.t.close();
}

async function rawItem(h: Host, key: { pk: string; sk: string }): Promise<Record<string, unknown>> {
  return unmarshall((await h.db.send(new GetItemCommand({ TableName: h.t.host.tableName, Key: marshall(key) }))).Item ?? {});
}

/** Puts an item back with its contentHash recomputed over its content, as an insider covering tracks would. */
async function putRehashed(h: Host, item: Record<string, unknown>): Promise<void> {
  const keyNames = new Set(['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'auditpk', 'auditsk', 'itemType']);
  const content = Object.fromEntries(Object.entries(item).filter(([k]) => !keyNames.has(k)));
  await h.db.send(new PutItemCommand({ TableName: h.t.host.tableName, Item: marshall({ ...item, contentHash: recordContentHash(content) }, { removeUndefinedValues: true }) }));
}

async function verify(h: Host, query: string): Promise<VerificationReport> {
  const res = await requestJson<VerificationReport>(h.t.url, 'GET', `/audit/verify?${query}`);
  expect(res.status).toBe(200);
  return res.body;
}

describe('a digest removed from the audit store (probe D1)', () => {
  let h: Host | undefined;
  afterEach(async () => {
    await close(h);
    h = undefined;
  });

  /** Snapshots at 10:00 and 10:01; windows 10:00 and 10:01 sealed at 10:02. */
  async function sealed(): Promise<{ h: Host; ids: string[] }> {
    h = await host();
    const ids: string[] = [];
    h.clock.now = T0 + 1000;
    ids.push((await requestJson<{ snapshotId: string }>(h.t.url, 'POST', '/snapshots', decision(0.5))).body.snapshotId);
    h.clock.now = T0 + MINUTE;
    ids.push((await requestJson<{ snapshotId: string }>(h.t.url, 'POST', '/snapshots', decision(0.6))).body.snapshotId);
    h.clock.now = T0 + 2 * MINUTE;
    const run = await requestJson<{ sealed: Array<{ windowStart: string }> }>(h.t.url, 'POST', '/_local/digest');
    expect(run.body.sealed.map((s) => s.windowStart)).toEqual(['2026-11-30T10:00:00.000Z', '2026-11-30T10:01:00.000Z']);
    return { h, ids };
  }

  it('is not sealed again over a record forged since: the digester refuses (409 on /_local/digest) and verify names the window', async () => {
    const { h, ids } = await sealed();
    const key = { pk: `SNAP#${ids[1] as string}`, sk: 'SNAP' };
    const item = await rawItem(h, key);
    await putRehashed(h, { ...item, outputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: 0.99 }] });
    const window = '2026-11-30T10:01:00.000Z';
    for (const name of [auditObjects.digest(window), auditObjects.signature(window), auditObjects.manifest(window)]) h.store.objects.delete(name);

    h.clock.now = T0 + 2 * MINUTE + 5000;
    const run = await requestJson<{ error: { code: string; message: string } }>(h.t.url, 'POST', '/_local/digest');
    expect(run.status).toBe(409);
    expect(run.body.error.code).toBe('AUDIT_SEAL_REFUSED');
    expect(run.body.error.message).toContain(`the digest of window ${window}, the newest the digester sealed (chain head), is missing from the digest store`);
    // The scheduled runs refuse too: still no digest for the window.
    h.clock.now = T0 + 3 * MINUTE;
    await expect(h.t.host.audit.timer.runNow()).rejects.toThrow(/refuses to seal/);
    expect(await h.store.listDigests()).toEqual(['2026-11-30T10:00:00.000Z']);
    // Each refusal is logged at error level, naming the window.
    expect(h.errors.filter((e) => e.includes(`refuses to seal: the digest of window ${window}`)).length).toBeGreaterThanOrEqual(2);

    const report = await verify(h, 'from=2026-11-30T10:00:00Z&to=2026-11-30T10:02:00Z');
    expect(report.clean).toBe(false);
    expect(report.chainBreaks).toEqual([expect.objectContaining({ id: window, reason: expect.stringContaining('it was deleted: the digester sealed the windows up to') })]);
  });

  it('an object that is not a digest where the next digest goes: 409 naming the file (not 500); one named after a far window: sealing goes on, logged (probe D17)', async () => {
    const { h } = await sealed();
    h.store.objects.set(auditObjects.digest('2099-01-01T00:00:00.000Z'), Buffer.from('{}\n'));
    h.clock.now = T0 + 3 * MINUTE + 5000;
    const on = await requestJson<{ sealed: Array<{ windowStart: string }> }>(h.t.url, 'POST', '/_local/digest');
    expect(on.status).toBe(200);
    expect(on.body.sealed.map((s) => s.windowStart)).toEqual(['2026-11-30T10:02:00.000Z']);
    expect(h.errors.some((e) => e.includes('digests/2099-01-01T00:00:00.000Z.json): not written by the digester, ignored'))).toBe(true);

    h.store.objects.set(auditObjects.digest('2026-11-30T10:03:00.000Z'), Buffer.from('{}\n'));
    h.clock.now = T0 + 4 * MINUTE + 5000;
    const run = await requestJson<{ error: { code: string; message: string } }>(h.t.url, 'POST', '/_local/digest');
    expect(run.status).toBe(409);
    expect(run.body.error.code).toBe('AUDIT_SEAL_REFUSED');
    expect(run.body.error.message).toContain('digests/2026-11-30T10:03:00.000Z.json in the digest store, where the digest after the chain head');
    expect(run.body.error.message).toContain('is not a digest');
  });

  it('deleting every digest starts no new chain from the oldest record: verify names each sealed window', async () => {
    const { h } = await sealed();
    h.store.objects.clear();

    h.clock.now = T0 + 3 * MINUTE;
    expect((await requestJson(h.t.url, 'POST', '/_local/digest')).status).toBe(409);
    expect(await h.store.listDigests()).toEqual([]);

    const report = await verify(h, 'from=2026-11-30T10:00:00Z&to=2026-11-30T10:02:00Z');
    expect(report.clean).toBe(false);
    expect(report.chainBreaks.map((f) => f.id)).toEqual(['2026-11-30T10:00:00.000Z', '2026-11-30T10:01:00.000Z']);
    // The CLI reads the chain head from GET /audit/digests: findings (exit 1), not "nothing verified" (exit 4).
    const run = await cli(['verify', '--from', '2026-11-30T10:00:00Z', '--to', '2026-11-30T10:02:00Z', '--output', 'json'], { env: { DECISION_REPLAY_URL: h.t.url } });
    expect(run.code).toBe(1);
    expect((JSON.parse(run.stdout) as VerificationReport).chainBreaks.map((f) => f.id)).toEqual(['2026-11-30T10:00:00.000Z', '2026-11-30T10:01:00.000Z']);
  });
});

describe('batch results by function (probe D3)', () => {
  let h: Host;
  let batchId: string;
  let snapshotIds: string[];
  let work: string;
  const RANGE = ['--from', '2026-11-30T10:00:00Z', '--to', '2026-11-30T10:02:00Z'];

  /** Two snapshots of FN and one of another function, a batch replaying the two (ValidationOnly), sealed. */
  beforeAll(async () => {
    h = await host();
    work = tempDir('audit-insider-');
    snapshotIds = [];
    for (const score of [0.5, 0.6]) {
      h.clock.now += 1000;
      snapshotIds.push((await requestJson<{ snapshotId: string }>(h.t.url, 'POST', '/snapshots', decision(score))).body.snapshotId);
    }
    await requestJson(h.t.url, 'POST', '/snapshots', decision(0.4, 'other_fn'));
    const started = await requestJson<{ batchId: string }>(h.t.url, 'POST', '/batches', { snapshotIds, mode: 'ValidationOnly' });
    expect(started.status).toBe(202);
    batchId = started.body.batchId;
    for (let i = 0; ; i++) {
      const batch = await requestJson<Batch>(h.t.url, 'GET', `/batches/${batchId}`);
      if (batch.body.status !== 'RUNNING') break;
      if (i > 600) throw new Error('batch still RUNNING');
      await new Promise((r) => setTimeout(r, 50));
    }
    h.clock.now = T0 + 2 * MINUTE;
    await h.t.host.audit.timer.runNow();
  });
  afterAll(async () => {
    await close(h);
  });

  it('verifies and exports them under --function: batch results of the function are sealed with it', async () => {
    const manifest = (await h.store.getObject(auditObjects.manifest('2026-11-30T10:00:00.000Z')))?.toString('utf8') ?? '';
    const entries = manifest.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; functionName?: string });
    expect(entries.filter((e) => e.kind === 'batch-result').map((e) => e.functionName)).toEqual([FN, FN]);

    // 2 snapshots, 2 replay results (the batch's), 2 batch results.
    const report = await verify(h, `from=2026-11-30T10:00:00Z&to=2026-11-30T10:02:00Z&functionName=${FN}`);
    expect(report.clean).toBe(true);
    expect(report.counts.records).toBe(6);
    expect((await verify(h, 'from=2026-11-30T10:00:00Z&to=2026-11-30T10:02:00Z&functionName=other_fn')).counts.records).toBe(1);

    const dir = join(work, 'bundle');
    const exported = await cli(['export', '--function', FN, ...RANGE, '-o', dir, '--output', 'json'], { env: { DECISION_REPLAY_URL: h.t.url } });
    expect(exported.code, exported.stderr).toBe(0);
    const lines = readFileSync(join(dir, 'records/batch-results.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { batchId: string }).batchId)).toEqual([batchId, batchId]);
    const offline = await cli(['verify', '--bundle', dir, '--output', 'json'], { env: { DECISION_REPLAY_URL: 'http://127.0.0.1:9' } });
    expect(offline.code, offline.stdout).toBe(0);
  });

  it('names a second copy of a sealed record put in the table under another key: altered "listed twice" (probe D2, online)', async () => {
    // A replay result's sort key carries a time the index check cannot pin down: a copy under
    // another time is a second item with the same id, kind and audit index keys.
    const replays = await requestJson<{ items: Array<{ replayId: string; createdAt: string }> }>(h.t.url, 'GET', `/snapshots/${snapshotIds[1] as string}/replays`);
    const replay = replays.body.items[0] as { replayId: string; createdAt: string };
    const item = await rawItem(h, { pk: `SNAP#${snapshotIds[1] as string}`, sk: `REPLAY#${replay.createdAt}#${replay.replayId}` });
    expect(item.replayId).toBe(replay.replayId);
    const copyKey = { pk: item.pk as string, sk: `REPLAY#2026-11-30T10:00:00.000Z#${replay.replayId}` };
    try {
      await h.db.send(new PutItemCommand({ TableName: h.t.host.tableName, Item: marshall({ ...item, ...copyKey }, { removeUndefinedValues: true }) }));

      const report = await verify(h, `from=2026-11-30T10:00:00Z&to=2026-11-30T10:02:00Z&functionName=${FN}`);
      expect(report.clean).toBe(false);
      expect(report.altered).toEqual([expect.objectContaining({ id: replay.replayId, kind: 'replay', reason: expect.stringContaining('listed twice') })]);
      expect(report.late).toEqual([]);
    } finally {
      await h.db.send(new DeleteItemCommand({ TableName: h.t.host.tableName, Key: marshall(copyKey) }));
    }
  });

  it('names a batch result rewritten behind the service under --function (API and CLI): altered', async () => {
    const key = { pk: `BATCH#${batchId}`, sk: `RESULT#${snapshotIds[0] as string}` };
    const original = await rawItem(h, key);
    try {
      await putRehashed(h, { ...original, status: 'Error', outputsMatch: false, error: { code: 'EXECUTOR_FAILED', message: 'rewritten' } });

      const report = await verify(h, `from=2026-11-30T10:00:00Z&to=2026-11-30T10:02:00Z&functionName=${FN}`);
      expect(report.altered).toEqual([expect.objectContaining({ id: `${batchId}/${snapshotIds[0] as string}`, kind: 'batch-result', reason: expect.stringContaining('both rewritten') })]);
      const run = await cli(['verify', ...RANGE, '--function', FN, '--output', 'json'], { env: { DECISION_REPLAY_URL: h.t.url } });
      expect(run.code).toBe(1);
      expect((JSON.parse(run.stdout) as VerificationReport).altered).toEqual([expect.objectContaining({ id: `${batchId}/${snapshotIds[0] as string}`, kind: 'batch-result' })]);
      // Moving it to another function (original.functionName rewritten) does not take it out of the seal.
      await putRehashed(h, { ...original, original: { ...(original.original as object), functionName: 'other_fn' } });
      const moved = await verify(h, `from=2026-11-30T10:00:00Z&to=2026-11-30T10:02:00Z&functionName=${FN}`);
      expect(moved.altered).toEqual([expect.objectContaining({ id: `${batchId}/${snapshotIds[0] as string}`, kind: 'batch-result' })]);
      expect(moved.missing).toEqual([]);
    } finally {
      await h.db.send(new PutItemCommand({ TableName: h.t.host.tableName, Item: marshall(original, { removeUndefinedValues: true }) }));
    }
  });
});

describe('GET /audit/manifests/{windowStart}', () => {
  let h: Host | undefined;
  afterAll(async () => close(h));

  it('takes any ISO-8601 spelling of the window start, as the other audit routes do', async () => {
    h = await host();
    h.clock.now = T0 + 1000;
    await requestJson(h.t.url, 'POST', '/snapshots', decision(0.7));
    h.clock.now = T0 + 2 * MINUTE;
    expect((await requestJson(h.t.url, 'POST', '/_local/digest')).status).toBe(200);
    const canonical = await requestJson<string>(h.t.url, 'GET', '/audit/manifests/2026-11-30T10:00:00.000Z');
    expect(canonical.status).toBe(200);
    for (const spelling of ['2026-11-30T10:00:00Z', '2026-11-30T10:00Z', '2026-11-30T11:00:00%2B01:00']) {
      const res = await requestJson<string>(h.t.url, 'GET', `/audit/manifests/${spelling}`);
      expect(res.status, spelling).toBe(200);
      expect(res.body, spelling).toEqual(canonical.body);
    }
    const bad = await requestJson<{ error: { code: string } }>(h.t.url, 'GET', '/audit/manifests/2026-11-30T25:00Z');
    expect(bad.status).toBe(400);
  });
});
