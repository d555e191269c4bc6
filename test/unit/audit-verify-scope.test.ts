/**
 * Function-scoped verification (`verify --function F`) over manifests sealed before batch results
 * were named with their function: such an entry is in scope when its record turns out to be F's,
 * out of scope otherwise, and never a false `missing` when a bundle holds only F's records.
 */
import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LocalDigestSigner } from '../../functions/adapters/audit/local-signer.js';
import { buildDigest, keyFingerprint, sortManifest, type ManifestEntry } from '../../functions/core/audit/digest.js';
import { VerificationRun, type FoundRecord } from '../../functions/core/audit/verify.js';
import { recordFunctionName, sealRecord, type RecordKind } from '../../functions/core/records.js';

const W = '2026-11-30T10:00:00.000Z';
const FN = 'approve_loan';

const snapshot = sealRecord({ snapshotId: '01KD00000000000000000000S1', functionName: FN, createdAt: '2026-11-30T10:00:01.000Z', outputs: [{ name: 'score', value: 0.5 }] });
const result = (snapshotId: string, functionName: string, createdAt: string) =>
  sealRecord({ batchId: '01KD00000000000000000000B1', snapshotId, replayId: null, status: 'Success', outputsMatch: true, executionTimeMs: 1, mismatchedPaths: [], violatedRules: [], original: { functionName }, createdAt });
const mine = result(snapshot.snapshotId, FN, '2026-11-30T10:00:02.000Z');
const theirs = result('01KD00000000000000000000S2', 'other_fn', '2026-11-30T10:00:03.000Z');

const found = (kind: RecordKind, id: string, content: Record<string, unknown>): FoundRecord => ({ kind, id, createdAt: String(content.createdAt), functionName: recordFunctionName(content), content });
const records = {
  snapshot: found('snapshot', snapshot.snapshotId, snapshot),
  mine: found('batch-result', `${mine.batchId}/${mine.snapshotId}`, mine),
  theirs: found('batch-result', `${theirs.batchId}/${theirs.snapshotId}`, theirs),
};

/** A signed digest of the window whose manifest names the batch results without a function, as digests did before. */
async function oldDigest() {
  const signer = LocalDigestSigner.inMemory();
  const entry = (r: FoundRecord, withFunction: boolean): ManifestEntry => ({ id: r.id, kind: r.kind, contentHash: String(r.content.contentHash), createdAt: r.createdAt, ...(withFunction && r.functionName !== undefined && { functionName: r.functionName }), pk: 'pk', sk: 'sk' });
  const entries = sortManifest([entry(records.snapshot, true), entry(records.mine, false), entry(records.theirs, false)]);
  const pem = await signer.publicKeyPem();
  const built = buildDigest({ windowStart: W, windowEnd: '2026-11-30T10:01:00.000Z', entries, manifestObject: `manifests/${W}.jsonl`, previous: undefined, createdAt: W, keyFingerprint: keyFingerprint(createPublicKey(pem)) });
  return { pem, bytes: built.bytes, signature: await signer.sign(built.bytes), manifest: built.manifest };
}

describe('verify --function over manifests without batch results’ function', () => {
  it('checks the function’s batch results and leaves the others out: clean, no false finding', async () => {
    const d = await oldDigest();
    const run = new VerificationRun(d.pem, { from: W, to: '2026-11-30T10:01:00.000Z', functionName: FN });
    run.addDigest(W, d.bytes, d.signature, d.manifest);
    for (const r of Object.values(records)) run.seeRecord(r);

    const report = run.report();
    expect(report.clean).toBe(true);
    expect(report.counts.records).toBe(2);
  });

  it('does not call another function’s batch result missing when it is not there (a bundle of one function)', async () => {
    const d = await oldDigest();
    const run = new VerificationRun(d.pem, { from: W, to: '2026-11-30T10:01:00.000Z', functionName: FN });
    run.addDigest(W, d.bytes, d.signature, d.manifest);
    run.seeRecord(records.snapshot);
    run.seeRecord(records.mine);
    for (const entry of run.unseen()) run.recordMissing(entry, 'in the bundle');

    expect(run.report()).toMatchObject({ clean: true, missing: [] });
  });

  it('names the function’s batch result rewritten with its hash recomputed', async () => {
    const d = await oldDigest();
    const run = new VerificationRun(d.pem, { from: W, to: '2026-11-30T10:01:00.000Z', functionName: FN });
    run.addDigest(W, d.bytes, d.signature, d.manifest);
    const forged = sealRecord({ ...mine, status: 'Error', outputsMatch: false });
    run.seeRecord(records.snapshot);
    run.seeRecord(found('batch-result', records.mine.id, forged));
    run.seeRecord(records.theirs);

    expect(run.report().altered).toEqual([expect.objectContaining({ id: records.mine.id, kind: 'batch-result', reason: expect.stringContaining('both rewritten') })]);
  });

  it('without --function, still names any batch result that is gone', async () => {
    const d = await oldDigest();
    const run = new VerificationRun(d.pem, { from: W, to: '2026-11-30T10:01:00.000Z' });
    run.addDigest(W, d.bytes, d.signature, d.manifest);
    run.seeRecord(records.snapshot);
    run.seeRecord(records.mine);

    expect(run.report().missing).toEqual([expect.objectContaining({ id: records.theirs.id, kind: 'batch-result' })]);
  });

  it('reads a batch result’s function from the snapshot it replayed', () => {
    expect(recordFunctionName(mine)).toBe(FN);
    expect(recordFunctionName({ batchId: 'b', snapshotId: 's' })).toBeUndefined();
  });
});
