/**
 * Edges of the audit seal against dynalite: records back-dated to before the chain's first digest,
 * a record moved into an earlier sealed window, ranges only partly sealed, and what is not a digest
 * in the digest store. Each test has its own table, digest store and chain head.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileAuditStore, MemoryAuditStore } from '../../functions/adapters/audit/file-audit-store.js';
import { LocalDigestSigner } from '../../functions/adapters/audit/local-signer.js';
import { DynamoChainHead } from '../../functions/adapters/dynamodb/audit-chain-head.js';
import { DynamoAuditRecordSource } from '../../functions/adapters/dynamodb/audit-record-source.js';
import { DynamoSnapshotStore } from '../../functions/adapters/dynamodb/snapshot-store.js';
import { SealRefusedError, type AuditStore } from '../../functions/core/audit/ports.js';
import { sealClosedWindows, verifyRange, type DigesterDeps } from '../../functions/core/audit/service.js';
import { buildSnapshot } from '../../functions/core/snapshot.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';
import { tempDir } from '../support/temp-dirs.js';

const MINUTE = 60_000;
const T = (hhmmss: string) => Date.parse(`2026-11-30T${hhmmss}.000Z`);
const W = (hhmm: string) => `2026-11-30T${hhmm}:00.000Z`;
const signer = LocalDigestSigner.inMemory();

let db: TestDynamo;
beforeEach(async () => {
  db = await startTestDynamo();
});
afterEach(async () => {
  await db?.close();
});

let n = 0;
async function putSnapshot(createdAt: string, score: number, options: { id?: string; functionName?: string } = {}): Promise<string> {
  const snapshot = buildSnapshot(
    { functionName: options.functionName ?? 'approve_loan', inputs: [{ name: 'applicant', value: { income: 50_000 + score } }], outputs: [{ name: 'score', value: score }] },
    options.id ?? `01KE${String(++n).padStart(22, '0')}`,
    createdAt,
  );
  await db.doc.put({ TableName: db.tableName, Item: DynamoSnapshotStore.toItem(snapshot) });
  return snapshot.snapshotId;
}

function setup(store: AuditStore = new MemoryAuditStore()) {
  const head = new DynamoChainHead(db.doc, db.tableName);
  const records = new DynamoAuditRecordSource(db.doc, db.tableName);
  const alarms: string[] = [];
  return {
    store,
    head,
    alarms,
    seal: (now: number, extra: Partial<DigesterDeps> = {}) => sealClosedWindows({ records, store, head, signer, clock: { now: () => now }, intervalMs: MINUTE, alarm: (m) => alarms.push(m), ...extra }),
    verify: (from: string, to: string, now: number, options: { withHead?: boolean; functionName?: string } = {}) =>
      verifyRange({ records, store, signer, clock: { now: () => now }, intervalMs: MINUTE, ...(options.withHead !== false && { head }) }, { from, to, functionName: options.functionName }),
  };
}

describe('records back-dated to before the chain’s first digest', () => {
  it('are unexpected in a range that starts before the genesis window, and in one that lies wholly before it', async () => {
    const s = setup();
    await putSnapshot('2026-11-30T10:00:05.000Z', 0.5);
    await putSnapshot('2026-11-30T10:01:05.000Z', 0.6);
    expect((await s.seal(T('10:02:10'))).map((d) => d.windowStart)).toEqual([W('10:00'), W('10:01')]);
    // Written behind the service, with correct keys and a valid contentHash, 5 minutes before the genesis.
    const backdated = await putSnapshot('2026-11-30T09:55:00.000Z', 0.99);
    const other = await putSnapshot('2026-11-30T09:56:00.000Z', 0.1, { functionName: 'other_fn' });

    const across = await s.verify('2026-11-30T09:50:00Z', '2026-11-30T10:02:00Z', T('10:02:20'));
    expect(across.clean).toBe(false);
    expect(across.unexpected.map((f) => f.id).sort()).toEqual([backdated, other].sort());
    expect(across.unexpected[0]?.reason).toContain(`before the chain's first digest (window ${W('10:00')})`);

    const before = await s.verify('2026-11-30T09:50:00Z', '2026-11-30T10:00:00Z', T('10:02:20'));
    expect(before.clean).toBe(false);
    expect(before.unexpected.map((f) => f.id).sort()).toEqual([backdated, other].sort());

    // Scoped to a function: only its records.
    const scoped = await s.verify('2026-11-30T09:50:00Z', '2026-11-30T10:00:00Z', T('10:02:20'), { functionName: 'approve_loan' });
    expect(scoped.unexpected.map((f) => f.id)).toEqual([backdated]);

    // Without the chain head (the store alone): the genesis digest says where the chain starts.
    const storeOnly = await s.verify('2026-11-30T09:50:00Z', '2026-11-30T10:02:00Z', T('10:02:20'), { withHead: false });
    expect(storeOnly.unexpected.map((f) => f.id).sort()).toEqual([backdated, other].sort());
    const storeOnlyBefore = await s.verify('2026-11-30T09:50:00Z', '2026-11-30T10:00:00Z', T('10:02:20'), { withHead: false });
    expect(storeOnlyBefore.unexpected.map((f) => f.id).sort()).toEqual([backdated, other].sort());

    // The sealed windows themselves stay clean.
    expect((await s.verify('2026-11-30T10:00:00Z', '2026-11-30T10:02:00Z', T('10:02:20'))).clean).toBe(true);
  });

  it('leave a range before the genesis with no record "nothing verified", not a finding', async () => {
    const s = setup();
    await putSnapshot('2026-11-30T10:00:05.000Z', 0.5);
    await s.seal(T('10:01:10'));
    const report = await s.verify('2026-11-30T09:50:00Z', '2026-11-30T10:00:00Z', T('10:01:20'));
    expect(report).toMatchObject({ clean: true, sealed: null });
  });
});

describe('a record moved into an earlier sealed window', () => {
  it('is altered at once (the digest of its own window sealed it), not "late, not sealed yet"', async () => {
    const s = setup();
    await putSnapshot('2026-11-30T10:00:05.000Z', 0.5);
    const moved = await putSnapshot('2026-11-30T10:03:05.000Z', 0.7);
    await s.seal(T('10:04:10'));
    // An insider moves it to 10:01:30 (keys and contentHash recomputed to match).
    await putSnapshot('2026-11-30T10:01:30.000Z', 0.7, { id: moved });

    const report = await s.verify('2026-11-30T10:01:00Z', '2026-11-30T10:02:00Z', T('10:04:20'));
    expect(report.late).toEqual([]);
    expect(report.clean).toBe(false);
    expect(report.altered).toEqual([
      expect.objectContaining({ id: moved, kind: 'snapshot', window: W('10:03'), reason: expect.stringContaining(`its createdAt 2026-11-30T10:01:30.000Z is not the 2026-11-30T10:03:05.000Z sealed in the digest of ${W('10:03')}`) }),
    ]);

    // Over both windows: the same finding.
    const both = await s.verify('2026-11-30T10:00:00Z', '2026-11-30T10:04:00Z', T('10:04:20'));
    expect(both.altered).toEqual([expect.objectContaining({ id: moved, reason: expect.stringContaining('was moved to another window') })]);
  });
});

describe('a range only partly sealed', () => {
  it('names the part not sealed yet (windows not closed, or closed moments ago and not sealed by the digester yet), as no finding', async () => {
    const s = setup();
    await putSnapshot('2026-11-30T10:00:05.000Z', 0.5);
    await putSnapshot('2026-11-30T10:02:05.000Z', 0.6);
    await s.seal(T('10:02:10'));

    const open = await s.verify('2026-11-30T10:00:00Z', '2026-11-30T10:05:00Z', T('10:02:20'));
    expect(open).toMatchObject({ clean: true, sealed: { from: W('10:00'), to: W('10:02') }, unsealed: { from: W('10:02'), to: W('10:05') } });

    // 10:02 and 10:03 closed; the digester (every 5 minutes on AWS) has not run since 10:02:10.
    const lagging = await s.verify('2026-11-30T10:00:00Z', '2026-11-30T10:04:00Z', T('10:04:30'));
    expect(lagging).toMatchObject({ clean: true, chainBreaks: [], unsealed: { from: W('10:02'), to: W('10:04') } });
    expect(lagging.late).toEqual([]);

    // A whole range sealed: nothing unsealed.
    expect(await s.verify('2026-11-30T10:00:00Z', '2026-11-30T10:02:00Z', T('10:04:30'))).toMatchObject({ clean: true, unsealed: null });
  });

  it('names windows the digester left unsealed long after they closed as chain breaks, and their records without calling them late', async () => {
    const s = setup();
    await putSnapshot('2026-11-30T10:00:05.000Z', 0.5);
    const unsealedRecord = await putSnapshot('2026-11-30T10:02:05.000Z', 0.6);
    await s.seal(T('10:02:10'));

    const stalled = await s.verify('2026-11-30T10:00:00Z', '2026-11-30T10:04:00Z', T('10:20:00'));
    expect(stalled.clean).toBe(false);
    expect(stalled.unsealed).toBeNull();
    expect(stalled.chainBreaks.map((f) => f.id)).toEqual([W('10:02'), W('10:03')]);
    expect(stalled.chainBreaks[0]?.reason).toContain('the digester has not sealed it (the chain head is at 2026-11-30T10:01:00.000Z)');
    const named = [...stalled.late, ...stalled.unexpected].find((f) => f.id === unsealedRecord);
    expect(named?.reason).toContain(`in window ${W('10:02')}, which has no digest`);
    expect(named?.reason).not.toContain('after its window was sealed');
  });
});

describe('an object in the local digest store that is not a digest', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('audit-junk-');
  });
  const junk = (windowStart: string) => {
    mkdirSync(join(dir, 'digests'), { recursive: true });
    writeFileSync(join(dir, 'digests', `${windowStart}.json`), '{}\n');
  };
  const digestFiles = () => readdirSync(join(dir, 'digests')).filter((f) => f.endsWith('.json')).sort();

  it('named after a window far ahead: sealing goes on (a first chain, and one with a head), each run naming the object', async () => {
    const s = setup(new FileAuditStore(dir));
    await putSnapshot('2026-11-30T10:00:05.000Z', 0.5);
    junk('2099-01-01T00:00:00.000Z');

    // No chain head yet: the junk is not adopted as one, the chain starts at the oldest record.
    expect((await s.seal(T('10:01:10'))).map((d) => d.windowStart)).toEqual([W('10:00')]);
    expect(s.alarms).toEqual([expect.stringContaining('digests/2099-01-01T00:00:00.000Z.json): not written by the digester, ignored')]);
    // With a head: the next window is sealed too.
    expect((await s.seal(T('10:02:10'))).map((d) => d.windowStart)).toEqual([W('10:01')]);
    expect(s.alarms).toHaveLength(2);
    expect(digestFiles()).toEqual([`${W('10:00')}.json`, `${W('10:01')}.json`, '2099-01-01T00:00:00.000Z.json']);
    expect((await s.verify('2026-11-30T10:00:00Z', '2026-11-30T10:02:00Z', T('10:02:20'))).clean).toBe(true);
  });

  it('where the next digest goes: the digester refuses, naming the file (not an internal error), and verify names it', async () => {
    const s = setup(new FileAuditStore(dir));
    await putSnapshot('2026-11-30T10:00:05.000Z', 0.5);
    await s.seal(T('10:01:10'));
    junk(W('10:01'));

    const refused = s.seal(T('10:03:10'));
    await expect(refused).rejects.toBeInstanceOf(SealRefusedError);
    await expect(refused).rejects.toThrow(`digests/${W('10:01')}.json in the digest store, where the digest after the chain head's (${W('10:00')}) goes, is not a digest (format: `);
    expect(s.alarms.at(-1)).toContain('refuses to seal');

    const report = await s.verify('2026-11-30T10:00:00Z', '2026-11-30T10:02:00Z', T('10:03:20'));
    expect(report.clean).toBe(false);
    expect(report.altered).toEqual(expect.arrayContaining([expect.objectContaining({ id: W('10:01'), kind: 'digest', reason: expect.stringContaining('the digest is not a digest') })]));
  });
});

describe('a local signing key file that is not a key', () => {
  it('is named at start, and left in place (the digests sealed so far were signed with it)', () => {
    const dir = tempDir('decision-replay-keys-');
    LocalDigestSigner.inDirectory(dir);
    const keyFile = join(dir, 'signing-key.pem');
    writeFileSync(keyFile, 'not a key\n');
    expect(() => LocalDigestSigner.inDirectory(dir)).toThrow(`${keyFile} does not hold the audit signing key (a PEM private key): `);
    expect(readFileSync(keyFile, 'utf8')).toBe('not a key\n');
  });
});
