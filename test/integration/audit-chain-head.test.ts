/**
 * The digester's chain head against dynalite: the table item that says how far the chain of digests
 * has got, moved only conditionally, so that a digest removed from the store is never sealed again
 * from the table's current (possibly forged) content, and verification names every window the
 * digester sealed even when all the digests are gone.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryAuditStore } from '../../functions/adapters/audit/file-audit-store.js';
import { LocalDigestSigner } from '../../functions/adapters/audit/local-signer.js';
import { DynamoChainHead } from '../../functions/adapters/dynamodb/audit-chain-head.js';
import { DynamoAuditRecordSource } from '../../functions/adapters/dynamodb/audit-record-source.js';
import { keys } from '../../functions/adapters/dynamodb/keys.js';
import { DynamoSnapshotStore } from '../../functions/adapters/dynamodb/snapshot-store.js';
import { auditObjects, sha256 } from '../../functions/core/audit/digest.js';
import { SealRefusedError, type ChainHead, type ChainHeadStore } from '../../functions/core/audit/ports.js';
import { sealClosedWindows, verifyRange, type DigesterDeps } from '../../functions/core/audit/service.js';
import { recordContentHash } from '../../functions/core/records.js';
import { buildSnapshot } from '../../functions/core/snapshot.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';

const MINUTE = 60_000;
const T = (hhmmss: string) => Date.parse(`2026-11-30T${hhmmss}.000Z`);
const W = (hhmm: string) => `2026-11-30T${hhmm}:00.000Z`;

let db: TestDynamo;
beforeAll(async () => {
  db = await startTestDynamo();
});
afterAll(async () => {
  await db?.close();
});

let n = 0;
function headFor(doc: TestDynamo['doc'], tableName: string): DynamoChainHead {
  return new DynamoChainHead(doc, tableName);
}

async function clearHead(): Promise<void> {
  await db.doc.delete({ TableName: db.tableName, Key: keys.auditChainHead() });
}

async function putSnapshot(createdAt: string, score: number): Promise<string> {
  const snapshot = buildSnapshot(
    { functionName: 'approve_loan', inputs: [{ name: 'applicant', value: { income: 50_000 + score } }], outputs: [{ name: 'score', value: score }] },
    `01KC${String(++n).padStart(22, '0')}`,
    createdAt,
  );
  await db.doc.put({ TableName: db.tableName, Item: DynamoSnapshotStore.toItem(snapshot) });
  return snapshot.snapshotId;
}

/** Rewrites a snapshot's score and recomputes its contentHash, as an insider with table access would. */
async function forge(snapshotId: string, score: number): Promise<void> {
  const item = (await db.doc.get({ TableName: db.tableName, Key: keys.snapshot(snapshotId) })).Item as Record<string, unknown>;
  const outputs = [{ ...(item.outputs as Array<Record<string, unknown>>)[0], value: score }];
  const forged = { ...item, outputs };
  const content = Object.fromEntries(Object.entries(forged).filter(([k]) => !['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'auditpk', 'auditsk', 'itemType'].includes(k)));
  await db.doc.put({ TableName: db.tableName, Item: { ...forged, contentHash: recordContentHash(content) } });
}

function removeDigest(store: MemoryAuditStore, windowStart: string): void {
  for (const name of [auditObjects.digest(windowStart), auditObjects.signature(windowStart), auditObjects.manifest(windowStart)]) store.objects.delete(name);
}

interface Setup {
  store: MemoryAuditStore;
  head: ChainHeadStore;
  alarms: string[];
  deps(now: number): DigesterDeps;
  verify(from: string, to: string, now: number, withHead?: boolean): ReturnType<typeof verifyRange>;
}

const signer = LocalDigestSigner.inMemory();

function setup(head: ChainHeadStore = headFor(db.doc, db.tableName)): Setup {
  const store = new MemoryAuditStore();
  const alarms: string[] = [];
  const records = new DynamoAuditRecordSource(db.doc, db.tableName);
  return {
    store,
    head,
    alarms,
    deps: (now) => ({ records, store, head, signer, clock: { now: () => now }, intervalMs: MINUTE, alarm: (m) => alarms.push(m) }),
    verify: (from, to, now, withHead = true) => verifyRange({ records, store, signer, clock: { now: () => now }, intervalMs: MINUTE, ...(withHead && { head }) }, { from, to }),
  };
}

describe('the audit chain head (dynalite)', () => {
  // Every test seals the same table's records from 10:00; the head item is per table, so each starts without one.
  beforeEach(clearHead);

  it('is created only once and then moves only from the digest hash it holds', async () => {
    const head = headFor(db.doc, db.tableName);
    const h = (w: string, hash: string): ChainHead => ({ chainStart: W('10:00'), windowStart: W(w), windowEnd: W(w).replace(/:00\.000Z$/, ':59.000Z'), digestHash: hash });
    expect(await head.get()).toBeUndefined();
    expect(await head.advance(undefined, h('10:00', 'a'))).toBe(true);
    expect(await head.advance(undefined, h('10:00', 'b'))).toBe(false);
    expect(await head.advance(h('10:00', 'a'), h('10:01', 'c'))).toBe(true);
    // A second digester that still thinks the head is at 'a' cannot move it.
    expect(await head.advance(h('10:00', 'a'), h('10:01', 'd'))).toBe(false);
    expect(await head.get()).toEqual(h('10:01', 'c'));
  });

  describe('sealing', () => {
    let ids: string[];
    beforeAll(async () => {
      ids = [await putSnapshot('2026-11-30T10:00:05.000Z', 0.5), await putSnapshot('2026-11-30T10:01:05.000Z', 0.6)];
    });

    it('records the first digest ever as the chain start and moves the head with each window', async () => {
      const s = setup();
      const sealed = await sealClosedWindows(s.deps(T('10:02:10')));
      expect(sealed.map((d) => d.windowStart)).toEqual([W('10:00'), W('10:01')]);
      const digest = s.store.objects.get(auditObjects.digest(W('10:01'))) as Buffer;
      expect(await s.head.get()).toEqual({ chainStart: W('10:00'), windowStart: W('10:01'), windowEnd: W('10:02'), digestHash: sha256(digest).toString('hex') });
    });

    it('refuses to seal again a window whose newest digest was removed (the table may have been edited since), and verify names it', async () => {
      const s = setup();
      await sealClosedWindows(s.deps(T('10:02:10')));
      await forge(ids[1] as string, 0.99);
      removeDigest(s.store, W('10:01'));

      await expect(sealClosedWindows(s.deps(T('10:02:20')))).rejects.toThrow(SealRefusedError);
      await expect(sealClosedWindows(s.deps(T('10:03:10')))).rejects.toThrow(/digest of window 2026-11-30T10:01:00.000Z, the newest the digester sealed \(chain head\), is missing/);
      expect(s.alarms[0]).toContain('refuses to seal');
      // Nothing was signed over the forged record.
      expect(await s.store.listDigests()).toEqual([W('10:00')]);

      const report = await s.verify('2026-11-30T10:00:00Z', '2026-11-30T10:02:00Z', T('10:03:10'));
      expect(report.clean).toBe(false);
      expect(report.chainBreaks).toEqual([expect.objectContaining({ id: W('10:01'), reason: expect.stringContaining('it was deleted: the digester sealed the windows up to 2026-11-30T10:01:00.000Z (chain head)') })]);
      await forge(ids[1] as string, 0.6);
    });

    it('refuses to start a new chain when every digest was removed, and verify names each sealed window where the store alone would show nothing', async () => {
      const s = setup();
      await sealClosedWindows(s.deps(T('10:02:10')));
      s.store.objects.clear();

      await expect(sealClosedWindows(s.deps(T('10:03:10')))).rejects.toThrow(SealRefusedError);
      expect(await s.store.listDigests()).toEqual([]);

      const withHead = await s.verify('2026-11-30T10:00:00Z', '2026-11-30T10:02:00Z', T('10:03:10'));
      expect(withHead.chainBreaks.map((f) => f.id)).toEqual([W('10:00'), W('10:01')]);
      expect(withHead.clean).toBe(false);
      // Without the head, an empty store looks like a range that was never sealed.
      const storeOnly = await s.verify('2026-11-30T10:00:00Z', '2026-11-30T10:02:00Z', T('10:03:10'), false);
      expect(storeOnly.counts.digests).toBe(0);
      expect(storeOnly.chainBreaks).toEqual([]);
    });

    it("names a digest at the head's window that is not the one the digester sealed", async () => {
      const s = setup();
      await sealClosedWindows(s.deps(T('10:02:10')));
      const name = auditObjects.digest(W('10:01'));
      s.store.objects.set(name, Buffer.from((s.store.objects.get(name) as Buffer).toString('utf8').replace('"lateCount":0', '"lateCount":0 ')));

      const report = await s.verify('2026-11-30T10:01:00Z', '2026-11-30T10:02:00Z', T('10:02:20'));
      expect(report.chainBreaks).toEqual([expect.objectContaining({ id: W('10:01'), reason: expect.stringContaining('is not the digest the digester sealed') })]);
      await expect(sealClosedWindows(s.deps(T('10:03:10')))).rejects.toThrow(/it was replaced/);
    });

    it('continues from a digest a run stored but did not record in the head (it chains on), and seals on', async () => {
      // The first run stores 10:00 and 10:01 but "dies" before the head records 10:01.
      let refusals = 0;
      const inner = headFor(db.doc, db.tableName);
      const flaky: ChainHeadStore = { get: () => inner.get(), advance: async (from, to) => (to.windowStart === W('10:01') && refusals++ === 0 ? false : inner.advance(from, to)) };
      const s = setup(flaky);
      expect((await sealClosedWindows(s.deps(T('10:02:10')))).map((d) => d.windowStart)).toEqual([W('10:00'), W('10:01')]);
      expect((await inner.get())?.windowStart).toBe(W('10:00'));

      const next = await sealClosedWindows(s.deps(T('10:03:10')));
      expect(next.map((d) => d.windowStart)).toEqual([W('10:02')]);
      expect((await inner.get())?.windowStart).toBe(W('10:02'));
      expect((await s.verify('2026-11-30T10:00:00Z', '2026-11-30T10:03:00Z', T('10:03:20'))).clean).toBe(true);
    });

    it('refuses when a digest after the head does not chain on from it', async () => {
      const s = setup();
      await sealClosedWindows(s.deps(T('10:01:10')));
      // A digest stored for 10:01 that does not name 10:00's as its previous (here: a copy of 10:00's).
      s.store.objects.set(auditObjects.digest(W('10:01')), s.store.objects.get(auditObjects.digest(W('10:00'))) as Buffer);

      await expect(sealClosedWindows(s.deps(T('10:03:10')))).rejects.toThrow(/does not name that digest as its previous/);
    });

    it('adopts the newest digest of a store sealed before the head was kept (an upgrade), loudly, and seals on', async () => {
      const s = setup();
      await sealClosedWindows(s.deps(T('10:01:10')));
      await clearHead();

      const sealed = await sealClosedWindows(s.deps(T('10:02:10')));
      expect(sealed.map((d) => d.windowStart)).toEqual([W('10:01')]);
      expect(s.alarms).toEqual([expect.stringContaining("adopted the store's newest digest (window 2026-11-30T10:00:00.000Z)")]);
      expect(await s.head.get()).toMatchObject({ chainStart: W('10:00'), windowStart: W('10:01') });
      expect((await s.verify('2026-11-30T10:00:00Z', '2026-11-30T10:02:00Z', T('10:02:20'))).clean).toBe(true);
    });
  });
});
