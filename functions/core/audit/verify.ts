/**
 * Verification of sealed records: pure, so the service (`GET /audit/verify`), the CLI and the
 * offline bundle verifier all run this same code. A run is fed the digests of a range in window
 * order, then every record it can find; it answers what no longer matches the seal.
 *
 * Findings (each with the record or window it concerns and the reason):
 * - `altered`: a record whose content no longer matches its contentHash, or whose contentHash is
 *   not the one its digest sealed, or that is listed twice (a second copy beside the sealed one);
 *   a manifest or digest that no longer matches what was signed.
 * - `missing`: a record a digest names that is gone.
 * - `unexpected`: a record in a sealed window that no digest names (e.g. a back-dated insert).
 * - `chainBreaks`: a digest missing from the chain, or one whose previous-digest hash is wrong.
 * - `badSignatures`: a digest whose signature does not verify with the public key.
 * - `indexMismatches`: a record whose index keys no longer match its content.
 * - policy pins (./policy-pins.ts, run by verify-range.ts): a record pinning a policy version's
 *   contentHash that is not the one sealed for that version is `altered`, and so is the version.
 * `late` lists records sealed in the digest after their window (clock skew, a slow writer): a fact
 * about how they were sealed, not a finding — a range with late records can still be clean.
 *
 * Memory: a run holds the manifest entries it still expects to see and the records it saw before
 * any digest named them, not the records: fed window by window (a window's digest, then that
 * window's records), it holds about one manifest at a time, whatever the length of the range.
 */
import type { KeyObject } from 'node:crypto';
import * as z from 'zod/mini';
import { RECORD_KINDS, recordContentHash, type RecordKind } from '../records.js';
import { DigestSchema, leafHash, ManifestFormatError, merkleRoot, parseManifest, sha256, verifyDigestSignature, type Digest, type ManifestEntry } from './digest.js';

const FindingListSchema = () => z.array(FindingSchema);

/** One finding: the record's id (or a digest's window start), what it is, and why it is reported. */
export const FindingSchema = z.strictObject({
  id: z.string(),
  kind: z.optional(z.enum([...RECORD_KINDS, 'digest', 'manifest', 'bundle-file'])),
  /** The window whose digest the finding concerns. */
  window: z.optional(z.string()),
  reason: z.string(),
});
export type Finding = z.infer<typeof FindingSchema>;

/** The answer of `GET /audit/verify` and of the CLI's `verify`. */
export const VerificationReportSchema = z.strictObject({
  /** True when there is no finding (late records are not findings). */
  clean: z.boolean(),
  from: z.string(),
  to: z.string(),
  functionName: z.optional(z.string()),
  /** The part of the range that is sealed: first window start, last window end; null when nothing is. */
  sealed: z.nullable(z.strictObject({ from: z.string(), to: z.string() })),
  /**
   * The end of the range that is not sealed yet (its windows have not closed, or closed so recently
   * that the digester has not sealed them yet), so was not verified; null when the whole range was.
   * A range with no finding but an unsealed part is only partly verified (the CLI exits 5).
   */
  unsealed: z.nullable(z.strictObject({ from: z.string(), to: z.string() })),
  counts: z.strictObject({
    digests: z.int(),
    records: z.int(),
    late: z.int(),
    altered: z.int(),
    missing: z.int(),
    unexpected: z.int(),
    chainBreaks: z.int(),
    badSignatures: z.int(),
    indexMismatches: z.int(),
  }),
  altered: FindingListSchema(),
  missing: FindingListSchema(),
  unexpected: FindingListSchema(),
  late: FindingListSchema(),
  chainBreaks: FindingListSchema(),
  badSignatures: FindingListSchema(),
  indexMismatches: FindingListSchema(),
});
export type VerificationReport = z.infer<typeof VerificationReportSchema>;

/** A record as found by whoever re-reads it (the table or a bundle). */
export interface FoundRecord {
  kind: RecordKind;
  id: string;
  createdAt: string;
  functionName?: string | undefined;
  content: Record<string, unknown>;
  /** Index keys that do not match the content (table reads only), each a reason. */
  indexProblems?: readonly string[];
}

/** A record as `GET /audit/records` answers it: its content exactly as stored, and what is wrong with its index keys. */
export const AuditRecordSchema = z.strictObject({
  kind: z.enum(RECORD_KINDS),
  id: z.string(),
  createdAt: z.string(),
  functionName: z.optional(z.string()),
  /** The record as stored (its contentHash included), without the table's key attributes. */
  content: z.record(z.string(), z.unknown()),
  /** Each index key that does not match the content, as a reason; empty when all match. */
  indexProblems: z.array(z.string()),
});
export type AuditRecord = z.infer<typeof AuditRecordSchema>;

interface Expected {
  entry: ManifestEntry;
  window: string;
  /**
   * Named without a function under a function filter (a batch result sealed before digests named
   * its function): in scope only if its record turns out to be the function's.
   */
  scopeUnknown?: true;
}

/** A record seen before any digest named it: it may still be a late entry of a later digest. */
interface Pending {
  id: string;
  kind: RecordKind;
  createdAt: string;
  stored: unknown;
  recomputed: string;
  /** Seen in a window with no digest (a chain break): its record was never sealed by that window's digest. */
  windowWithoutDigest?: string;
}

const entryKey = (kind: string, id: string) => `${kind}\u0000${id}`;

export class VerificationRun {
  /** Named by a digest, not seen yet. */
  private readonly expected = new Map<string, Expected>();
  /** Seen, not named by any digest read so far. */
  private readonly pending = new Map<string, Pending>();
  private readonly findings = { altered: [] as Finding[], missing: [] as Finding[], unexpected: [] as Finding[], late: [] as Finding[], chainBreaks: [] as Finding[], badSignatures: [] as Finding[], indexMismatches: [] as Finding[] };
  private previous: { windowStart: string; windowEnd: string; bytes: Buffer } | undefined;
  private first: Digest | undefined;
  private lastEnd: string | undefined;
  private digests = 0;
  private records = 0;
  /** Set once a digest of the range was missing or unreadable: the chain there is already reported. */
  private gap = false;
  /** See {@link VerificationReport}'s `unsealed`. */
  private unsealed: { from: string; to: string } | undefined;
  /** The window being read has no digest (its records are not sealed by one). */
  private windowWithoutDigest: string | undefined;
  /** The records seen in the current window (a record's copies share its createdAt, so its window): a second copy is a finding. */
  private windowSeen = new Set<string>();

  constructor(
    private readonly publicKey: KeyObject | string,
    private readonly range: { from: string; to: string; functionName?: string | undefined },
  ) {}

  /** Whether a record (by its function) is in scope of this run. */
  inScope(functionName: string | undefined): boolean {
    return this.range.functionName === undefined || functionName === this.range.functionName;
  }

  /**
   * Whether a manifest entry is in scope: by the function it names; 'unknown' for an entry that
   * names none under a function filter (batch results sealed before their function was named).
   */
  private entryScope(entry: ManifestEntry): boolean | 'unknown' {
    if (this.range.functionName === undefined) return true;
    if (entry.functionName === undefined) return 'unknown';
    return entry.functionName === this.range.functionName;
  }

  /** The records of a new window follow (see {@link seeRecord}'s check for a record listed twice). */
  startWindow(): void {
    this.windowSeen.clear();
  }

  /** The end of the range that is not sealed yet, so not verified. */
  setUnsealed(from: string, to: string): void {
    this.unsealed = { from, to };
  }

  /**
   * The digest just before the range, when there is one: only its bytes matter (the first digest
   * of the range must name their hash). Call before the first {@link addDigest}.
   */
  setPredecessor(windowStart: string, bytes: Buffer): void {
    const parsed = this.parse(windowStart, bytes);
    this.previous = { windowStart, windowEnd: parsed?.windowEnd ?? windowStart, bytes };
  }

  /** A window of the range whose digest is gone. */
  digestMissing(windowStart: string, windowEnd: string, head?: { window: string; sealed: boolean }): void {
    const why =
      head === undefined
        ? 'it was deleted or never written'
        : head.sealed
          ? `it was deleted: the digester sealed the windows up to ${head.window} (chain head)`
          : `the digester has not sealed it (the chain head is at ${head.window}) although it closed long ago: the digester is behind, refusing or not running (see its log)`;
    this.findings.chainBreaks.push({ id: windowStart, kind: 'digest', window: windowStart, reason: `no digest for window ${windowStart} – ${windowEnd}: ${why}` });
    this.previous = undefined;
    this.gap = true;
    this.lastEnd = windowEnd;
    this.windowWithoutDigest = windowStart;
  }

  /**
   * One digest of the range, in window order, with its signature and manifest (undefined when that
   * object is gone). Checks signature, chain, manifest hash and Merkle root; the entries it names
   * become the records this run expects to find. Returns the digest when it could be read.
   */
  addDigest(windowStart: string, bytes: Buffer, signature: Buffer | undefined, manifest: Buffer | undefined): Digest | undefined {
    this.digests += 1;
    this.windowWithoutDigest = undefined;
    const digest = this.parse(windowStart, bytes);
    if (signature === undefined) this.findings.badSignatures.push({ id: windowStart, kind: 'digest', window: windowStart, reason: 'the signature of this digest is missing' });
    else if (!verifyDigestSignature(bytes, signature, this.publicKey)) {
      // A key that is no public key (missing, empty, damaged) verifies nothing: that is the finding,
      // not a change to every digest.
      const reason =
        typeof this.publicKey === 'string'
          ? `the signature cannot be checked: the public key it is checked with is ${this.publicKey.trim() === '' ? 'missing or empty' : 'not a readable public key (SPKI PEM)'}`
          : 'the signature does not verify with the public key: the digest or its signature was changed';
      this.findings.badSignatures.push({ id: windowStart, kind: 'digest', window: windowStart, reason });
    }
    if (!digest) {
      this.previous = undefined;
      this.gap = true;
      return undefined;
    }
    this.first ??= digest;
    this.checkChain(windowStart, digest);
    this.previous = { windowStart, windowEnd: digest.windowEnd, bytes };
    this.lastEnd = digest.windowEnd;
    const entries = this.readManifest(windowStart, digest, manifest);
    for (const entry of entries) {
      const scope = this.entryScope(entry);
      if (scope === false) continue;
      if (entry.late === true && scope === true) this.noteLate(entry, windowStart);
      this.expect(entry, windowStart, scope === 'unknown');
    }
    return digest;
  }

  /** A break in the chain found by whoever reads the digests (e.g. against the chain head). */
  chainBreak(windowStart: string, reason: string): void {
    this.findings.chainBreaks.push({ id: windowStart, kind: 'digest', window: windowStart, reason });
  }

  /**
   * A digest after the range, in window order (up to {@link lateWindows} of them): records created
   * late in the range's windows [`scannedFrom`, `scannedTo`) are sealed there. Its signature, chain
   * and manifest are checked; only its late entries for those windows become expected.
   */
  addFollower(windowStart: string, bytes: Buffer, signature: Buffer | undefined, manifest: Buffer | undefined, scanned: { from: string; to: string }): void {
    const digest = this.parse(windowStart, bytes);
    if (!digest) return;
    if (signature === undefined || !verifyDigestSignature(bytes, signature, this.publicKey)) {
      this.findings.badSignatures.push({ id: windowStart, kind: 'digest', window: windowStart, reason: 'the signature of a digest after the range does not verify (it seals late records of the range)' });
    }
    if (this.previous && digest.previousDigestHash !== sha256(this.previous.bytes).toString('hex')) {
      this.findings.chainBreaks.push({ id: windowStart, kind: 'digest', window: windowStart, reason: `the digest after the range does not name the hash of the digest of ${this.previous.windowStart}` });
    }
    this.previous = { windowStart, windowEnd: digest.windowEnd, bytes };
    for (const entry of this.readManifest(windowStart, digest, manifest)) {
      const scope = this.entryScope(entry);
      if (scope === false) continue;
      if (entry.late !== true || entry.createdAt < scanned.from || entry.createdAt >= scanned.to) {
        // Not a late record of the range; but one of the range's records that this digest seals
        // (with another createdAt) was moved into the range: judged against that seal, at once.
        if (this.pending.has(entryKey(entry.kind, entry.id))) this.expect(entry, windowStart, scope === 'unknown');
        continue;
      }
      if (scope === true) this.noteLate(entry, windowStart);
      this.expect(entry, windowStart, scope === 'unknown');
    }
  }

  /** The digests of the range should reach `expectedEnd` (all windows closed by then); say so when they stop short. */
  expectSealedUntil(expectedEnd: string): void {
    if (this.lastEnd !== undefined && this.lastEnd < expectedEnd) {
      this.findings.chainBreaks.push({ id: this.lastEnd, kind: 'digest', window: this.lastEnd, reason: `no digest for the windows from ${this.lastEnd} to ${expectedEnd}, which are closed: digests were deleted or the digester is not running` });
    }
  }

  /** A record found in a sealed window (or by a digest's locator). */
  seeRecord(record: FoundRecord): void {
    const key = entryKey(record.kind, record.id);
    if (!this.inScope(record.functionName)) {
      const named = this.expected.get(key);
      // Another function's record. A digest entry naming no function (sealed before batch results
      // were named with theirs) is dropped; one naming this function is judged below: the record's
      // content no longer says what was sealed.
      if (named?.scopeUnknown === true) this.expected.delete(key);
      if (named === undefined || named.scopeUnknown === true) return;
    }
    if (this.windowSeen.has(key)) {
      this.findings.altered.push({
        id: record.id,
        kind: record.kind,
        reason: `listed twice: a second copy of this ${record.kind}, created at ${record.createdAt}, was found in its window; one of the two was added behind the service (the first copy found is the one checked against its seal)`,
      });
      return;
    }
    this.windowSeen.add(key);
    this.records += 1;
    for (const problem of record.indexProblems ?? []) this.findings.indexMismatches.push({ id: record.id, kind: record.kind, reason: problem });
    const seen: Pending = {
      id: record.id,
      kind: record.kind,
      createdAt: record.createdAt,
      stored: record.content.contentHash,
      recomputed: recordContentHash(record.content),
      ...(this.windowWithoutDigest !== undefined && { windowWithoutDigest: this.windowWithoutDigest }),
    };
    const expected = this.expected.get(key);
    if (!expected) {
      // A later digest may still name it (late); judged when one does, or when the run ends.
      this.pending.set(key, seen);
      return;
    }
    this.expected.delete(key);
    this.judge(seen, expected);
  }

  /**
   * A record created before the chain's first digest (window `chainStart`). The digester starts the
   * chain at the window of the oldest record there is, and no later digest seals an earlier window,
   * so such a record was written after the chain began, back-dated, behind the service.
   */
  seeBeforeChain(record: FoundRecord, chainStart: string): void {
    if (!this.inScope(record.functionName)) return;
    this.records += 1;
    this.findings.unexpected.push({
      id: record.id,
      kind: record.kind,
      reason: `created at ${record.createdAt}, before the chain's first digest (window ${chainStart}): the chain began at the oldest record there was and no digest seals an earlier window, so this one was written afterwards behind the service (back-dated)`,
    });
  }

  /** Expected records not seen so far (to be looked up by their locator, then reported). */
  unseen(): ManifestEntry[] {
    return [...this.expected.values()].map((e) => e.entry);
  }

  /**
   * Records seen that no digest read names. Those a digest not written yet may still seal late
   * (`awaitingSeal(createdAt)`: a window of the late horizon after theirs is not sealed yet) are
   * listed as late; the others are `unexpected`.
   */
  settlePending(awaitingSeal: (createdAt: string) => boolean, where: 'service' | 'offline' = 'service'): void {
    for (const p of this.pending.values()) {
      if (where === 'offline') {
        this.findings.unexpected.push({
          id: p.id,
          kind: p.kind,
          reason: `created at ${p.createdAt}, but no digest of the bundle names it: the bundle cannot vouch for it (added to the bundle, or written late and sealed by a digest written after the export)`,
        });
      } else if (p.windowWithoutDigest !== undefined) {
        // Its window has no digest (named as a chain break): it is not late, it was never sealed.
        const list = awaitingSeal(p.createdAt) ? this.findings.late : this.findings.unexpected;
        list.push({ id: p.id, kind: p.kind, window: p.windowWithoutDigest, reason: `created at ${p.createdAt} in window ${p.windowWithoutDigest}, which has no digest (see the chain break): no digest vouches for it` });
      } else if (awaitingSeal(p.createdAt)) {
        this.findings.late.push({ id: p.id, kind: p.kind, reason: `created at ${p.createdAt}, after its window was sealed; not sealed yet: a digest still to be written seals it as late` });
      } else {
        this.findings.unexpected.push({ id: p.id, kind: p.kind, reason: `created at ${p.createdAt} in a sealed window, but no digest names it (inserted behind the service, e.g. back-dated)` });
      }
    }
    this.pending.clear();
  }

  private expect(entry: ManifestEntry, window: string, scopeUnknown = false): void {
    const key = entryKey(entry.kind, entry.id);
    const seen = this.pending.get(key);
    if (seen) {
      this.pending.delete(key);
      this.judge(seen, { entry, window });
    } else this.expected.set(key, { entry, window, ...(scopeUnknown && { scopeUnknown: true as const }) });
  }

  private judge(seen: Pending, expected: Expected): void {
    if (seen.createdAt !== expected.entry.createdAt) {
      // The digest that sealed it knows another time (the content's hash covers createdAt, so the
      // content changed too): the record was moved, and the index lists it where it was moved to.
      this.findings.altered.push({
        id: seen.id,
        kind: seen.kind,
        window: expected.window,
        reason: `its createdAt ${seen.createdAt} is not the ${expected.entry.createdAt} sealed in the digest of ${expected.window}: the record was moved to another window (its createdAt and index keys were rewritten${seen.stored === seen.recomputed ? ', its contentHash recomputed' : ''})`,
      });
    } else if (seen.stored !== seen.recomputed) {
      this.findings.altered.push({ id: seen.id, kind: seen.kind, window: expected.window, reason: `its content no longer matches its contentHash (recomputed ${seen.recomputed})` });
    } else if (seen.stored !== expected.entry.contentHash) {
      this.findings.altered.push({ id: seen.id, kind: seen.kind, window: expected.window, reason: `its contentHash ${String(seen.stored)} is not the ${expected.entry.contentHash} sealed in the digest of ${expected.window}: content and hash were both rewritten` });
    }
  }

  private noteLate(entry: ManifestEntry, window: string): void {
    this.findings.late.push({ id: entry.id, kind: entry.kind, window, reason: `created at ${entry.createdAt}, after its window was sealed; sealed in the digest of ${window}` });
  }

  /** A named record that could not be found at all. */
  recordMissing(entry: ManifestEntry, where: string): void {
    const e = this.expected.get(entryKey(entry.kind, entry.id));
    this.expected.delete(entryKey(entry.kind, entry.id));
    // Named without a function and not found: whose it was cannot be told (a bundle holds only its
    // function's records); a verification without --function names it if it is gone.
    if (e?.scopeUnknown === true) return;
    this.findings.missing.push({ id: entry.id, kind: entry.kind, ...(e && { window: e.window }), reason: `named by the digest of ${e?.window ?? '?'} but not found ${where}: deleted` });
  }

  /** A finding made outside the run (the policy pins: ./policy-pins.ts). */
  addFinding(list: 'altered' | 'missing' | 'unexpected' | 'badSignatures', finding: Finding): void {
    this.findings[list].push(finding);
  }

  /** Whether the run already reported something about this record (so another check need not repeat it). */
  hasFindingFor(kind: RecordKind, id: string): boolean {
    const f = this.findings;
    return [f.altered, f.missing, f.unexpected, f.indexMismatches].some((list) => list.some((x) => x.kind === kind && x.id === id));
  }

  /** A named record found only by its locator, not where its index keys should list it. */
  recordMisindexed(entry: ManifestEntry, reason: string): void {
    this.findings.indexMismatches.push({ id: entry.id, kind: entry.kind, reason });
  }

  report(): VerificationReport {
    const f = this.findings;
    for (const e of [...this.expected.values()]) this.recordMissing(e.entry, 'where the digest says it is');
    this.settlePending(() => false);
    const findingCount = f.altered.length + f.missing.length + f.unexpected.length + f.chainBreaks.length + f.badSignatures.length + f.indexMismatches.length;
    return {
      clean: findingCount === 0,
      from: this.range.from,
      to: this.range.to,
      ...(this.range.functionName !== undefined && { functionName: this.range.functionName }),
      sealed: this.first && this.lastEnd ? { from: this.first.windowStart, to: this.lastEnd } : null,
      unsealed: this.unsealed ?? null,
      counts: {
        digests: this.digests,
        records: this.records,
        late: f.late.length,
        altered: f.altered.length,
        missing: f.missing.length,
        unexpected: f.unexpected.length,
        chainBreaks: f.chainBreaks.length,
        badSignatures: f.badSignatures.length,
        indexMismatches: f.indexMismatches.length,
      },
      ...f,
    };
  }

  private parse(windowStart: string, bytes: Buffer): Digest | undefined {
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      this.findings.altered.push({ id: windowStart, kind: 'digest', window: windowStart, reason: 'the digest is not JSON' });
      return undefined;
    }
    const parsed = DigestSchema.safeParse(json);
    if (!parsed.success) {
      this.findings.altered.push({ id: windowStart, kind: 'digest', window: windowStart, reason: `the digest is not a digest: ${parsed.error.issues[0]?.message ?? ''}` });
      return undefined;
    }
    if (parsed.data.windowStart !== windowStart) {
      this.findings.altered.push({ id: windowStart, kind: 'digest', window: windowStart, reason: `the digest stored for ${windowStart} states window ${parsed.data.windowStart}` });
    }
    return parsed.data;
  }

  private checkChain(windowStart: string, digest: Digest): void {
    const prev = this.previous;
    if (prev === undefined) {
      if (digest.previousWindowStart !== null && !this.gap) {
        this.findings.chainBreaks.push({ id: windowStart, kind: 'digest', window: windowStart, reason: `names the digest of ${digest.previousWindowStart} as its previous, which is missing` });
      }
      return;
    }
    if (digest.previousWindowStart !== prev.windowStart || digest.previousDigestHash !== sha256(prev.bytes).toString('hex')) {
      this.findings.chainBreaks.push({
        id: windowStart,
        kind: 'digest',
        window: windowStart,
        reason: `does not name the digest of ${prev.windowStart} as its previous (names ${digest.previousWindowStart ?? 'none'}${digest.previousWindowStart === prev.windowStart ? ' with another hash: that digest was changed' : ''})`,
      });
    } else if (digest.windowStart !== prev.windowEnd) {
      this.findings.chainBreaks.push({ id: windowStart, kind: 'digest', window: windowStart, reason: `starts at ${digest.windowStart}, not where the previous window ended (${prev.windowEnd})` });
    }
  }

  private readManifest(windowStart: string, digest: Digest, manifest: Buffer | undefined): ManifestEntry[] {
    if (manifest === undefined) {
      this.findings.missing.push({ id: `manifest:${windowStart}`, kind: 'manifest', window: windowStart, reason: 'the manifest of this digest is missing' });
      return [];
    }
    if (sha256(manifest).toString('hex') !== digest.manifestHash) {
      this.findings.altered.push({ id: `manifest:${windowStart}`, kind: 'manifest', window: windowStart, reason: 'the manifest does not match the manifestHash its digest signed' });
    }
    let entries: ManifestEntry[];
    try {
      entries = parseManifest(manifest);
    } catch (err) {
      if (!(err instanceof ManifestFormatError)) throw err;
      this.findings.altered.push({ id: `manifest:${windowStart}`, kind: 'manifest', window: windowStart, reason: err.message });
      return [];
    }
    if (entries.length !== digest.recordCount) {
      this.findings.altered.push({ id: `manifest:${windowStart}`, kind: 'manifest', window: windowStart, reason: `the manifest names ${entries.length} records, the digest ${digest.recordCount}` });
    }
    if (merkleRoot(entries.map(leafHash)) !== digest.merkleRoot) {
      this.findings.altered.push({ id: `digest:${windowStart}`, kind: 'digest', window: windowStart, reason: 'the Merkle root of the manifest is not the one the digest signed' });
    }
    return entries;
  }
}
