/**
 * Verification of a time range over the audit ports, window by window. The service
 * (`GET /audit/verify`), the CLI (`decision-replay verify`, over HTTP) and the offline bundle
 * verifier (`verify --bundle`, over files) all run this code, each with its own reader of digests
 * and records; none of them holds the range's records, only about one window's manifest at a time.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { DomainError } from '../errors.js';
import type { Clock } from '../ports.js';
import { auditObjects, DEFAULT_SETTLE_MS, DigestSchema, lateWindows, SEAL_GRACE_MS, sha256, windowOf, type Digest } from './digest.js';
import type { AuditRecordSource, AuditStore, ChainHeadStore, DigestSigner } from './ports.js';
import { PolicyPinCheck, type PolicyLocator } from './policy-pins.js';
import { VerificationRun, type FoundRecord, type VerificationReport } from './verify.js';

/** The most records `GET /audit/verify` checks in one request; beyond, the CLI (which streams) is the tool. */
export const MAX_SYNC_VERIFY_RECORDS = 100_000;

/** 413: the range holds more records than one request verifies. */
export class VerifyRangeTooLargeError extends DomainError {
  readonly code = 'VERIFY_RANGE_TOO_LARGE';
  constructor(records: number, limit: number) {
    super(`the range holds ${records} sealed records; GET /audit/verify checks at most ${limit} per request. Use the CLI, which streams: decision-replay verify --from <T> --to <T>`, {
      details: { records, limit, hint: 'decision-replay verify --from <T> --to <T> [--function <F>]' },
    });
    this.name = 'VerifyRangeTooLargeError';
  }
}

export interface VerifyDeps {
  /** Reads only: the window listing and the locator read. */
  records: Pick<AuditRecordSource, 'forEachIn' | 'get'>;
  store: Pick<AuditStore, 'getObject' | 'listDigests'>;
  signer: Pick<DigestSigner, 'publicKeyPem'>;
  /** "Now": windows closed by then (plus the settle time) must be sealed. A bundle passes its export time. */
  clock: Clock;
  intervalMs: number;
  settleMs?: number;
  /** Where the records are read from, for the reasons of `missing` ("in the table", "in the bundle"). */
  recordsLabel?: string;
  /**
   * The chain head (the service's own verification): the windows from its chain start on were
   * sealed, so each of them must have a digest even when the digests around them are gone too, and
   * the head's window must hold the digest it names. It can only add windows to check, never hide one.
   */
  head?: Pick<ChainHeadStore, 'get'>;
  /**
   * Verifying an export (a bundle): nothing read will gain a digest later, so a record no digest
   * names is `unexpected`, never "awaiting its seal".
   */
  offline?: boolean;
  /**
   * Where a policy version is stored: with it, the policy pins of the range's records are checked
   * against the sealed policy versions (./policy-pins.ts); without it, they are not.
   */
  policyLocator?: PolicyLocator;
}

export interface VerifyRange {
  from: string;
  to: string;
  functionName?: string | undefined;
  /** Refuse (VerifyRangeTooLargeError) when the digests name more records than this. */
  maxRecords?: number;
  /** Called after each window is verified (progress for a long range). */
  onWindow?: (windowStart: string, done: number, total: number) => void;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Verifies the records created in [from, to): every digest of the windows overlapping it
 * (signature, chain, manifest, Merkle root), every record they name (re-read and re-hashed, index
 * keys checked), and every record in those windows that no digest names. The digests after the
 * range that may seal its late records (the late horizon) are read too.
 */
export async function verifyRange(deps: VerifyDeps, range: VerifyRange): Promise<VerificationReport> {
  const settle = deps.settleMs ?? DEFAULT_SETTLE_MS;
  const interval = deps.intervalMs;
  const key = publicKey(await deps.signer.publicKeyPem());
  const run = new VerificationRun(key, range);
  const now = deps.clock.now();
  const pins =
    deps.policyLocator === undefined
      ? undefined
      : new PolicyPinCheck({ records: deps.records, store: deps.store, publicKey: key, intervalMs: interval, locate: deps.policyLocator, now, settleMs: settle, recordsLabel: deps.recordsLabel ?? 'in the table' });
  const see = (record: FoundRecord) => {
    run.seeRecord(record);
    if (pins !== undefined && run.inScope(record.functionName)) pins.note(record);
  };
  const addFinding = run.addFinding.bind(run);
  const closedUntil = windowOf(now - settle, interval).start;
  const fromWindow = windowOf(Date.parse(range.from), interval).start;
  let last = Math.max(fromWindow, Math.min(Date.parse(range.to), closedUntil));
  const stored = await deps.store.listDigests(iso(fromWindow), iso(last));
  // The windows that have not closed yet: not sealed, so not verified (more are added below).
  const markUnsealed = (until: number) => {
    const from = Math.max(until, Date.parse(range.from));
    if (from < Date.parse(range.to)) run.setUnsealed(iso(from), iso(Date.parse(range.to)));
  };
  markUnsealed(last);
  const head = await deps.head?.get();
  // The chain head's start, when it names a window: every closed window from there on was sealed.
  const headStart = head === undefined || !/^\d{4}-\d{2}-\d{2}T/.test(head.chainStart) || Number.isNaN(Date.parse(head.chainStart)) ? undefined : windowOf(Date.parse(head.chainStart), interval).start;
  const headSeals = headStart !== undefined && headStart < last;
  // Where sealing starts within the range: at the first digest if it is the first of the chain
  // (the windows before it predate the seal), else at the range's start (the windows without a
  // digest lost it). A range without any digest is sealed if the chain runs on around it, or if
  // the chain head says its windows were sealed.
  let first = fromWindow;
  // The chain's first window, when the head or a genesis digest (no previous) names it: every
  // record created before it was written behind the service (see {@link checkBeforeChain}).
  let chainStart = headStart;
  const firstStored = stored[0];
  if (firstStored === undefined) {
    const [before, after] = await Promise.all([iso(fromWindow - interval), iso(last)].map((w) => deps.store.getObject(auditObjects.digest(w))));
    const afterIsGenesis = after !== undefined && parseDigest(after)?.previousWindowStart === null;
    if (afterIsGenesis) chainStart = Math.min(chainStart ?? last, last);
    const chainRunsOn = before !== undefined || (after !== undefined && !afterIsGenesis);
    if (!chainRunsOn && !headSeals) {
      // Nothing of the range is sealed; what lies before the chain's start still must be empty.
      if (chainStart !== undefined) await checkBeforeChain(deps, run, fromWindow, Math.min(chainStart, Date.parse(range.to)), chainStart);
      return run.report();
    }
    if (!chainRunsOn) first = Math.max(fromWindow, headStart as number);
  } else {
    const bytes = await deps.store.getObject(auditObjects.digest(firstStored));
    if (bytes && parseDigest(bytes)?.previousWindowStart === null) {
      first = Date.parse(firstStored);
      chainStart = Math.min(chainStart ?? first, first);
    }
    // The head knows where the chain starts, even when its first digests are gone.
    if (headSeals) first = Math.min(first, Math.max(fromWindow, headStart as number));
  }
  if (chainStart !== undefined) await checkBeforeChain(deps, run, fromWindow, Math.min(first, chainStart), chainStart);
  const headEnd = head === undefined ? Number.NaN : Date.parse(head.windowEnd);

  // The windows that overlap the range and should be sealed by now. Their digests are small (one
  // JSON object each) and read first: the record count of a range is known before any record is.
  const present = new Set(stored);
  const loaded: Array<{ windowStart: string; bytes: Buffer | undefined; digest: Digest | undefined }> = [];
  let total = 0;
  for (let w = first; w < last; w += interval) {
    const windowStart = iso(w);
    const bytes = present.has(windowStart) ? await deps.store.getObject(auditObjects.digest(windowStart)) : undefined;
    const digest = bytes && parseDigest(bytes);
    total += digest?.recordCount ?? 0;
    loaded.push({ windowStart, bytes, digest });
  }
  if (range.maxRecords !== undefined && total > range.maxRecords) throw new VerifyRangeTooLargeError(total, range.maxRecords);
  // The last windows of the range that closed only a short while ago ({@link SEAL_GRACE_MS}) and
  // have no digest, after the newest window the chain is known to have sealed: the digester has not
  // come to them yet. Not verified and not a finding: the range is only partly verified.
  const sealedEnd = Math.max(Number.isNaN(headEnd) ? -Infinity : headEnd, ...stored.map((w) => Date.parse(w) + interval));
  for (let l = loaded.at(-1); l !== undefined && l.bytes === undefined; l = loaded.at(-1)) {
    const start = Date.parse(l.windowStart);
    if (start < sealedEnd || start + interval + settle + SEAL_GRACE_MS <= now) break;
    loaded.pop();
    last = start;
  }
  markUnsealed(last);

  const firstDigest = loaded[0]?.digest;
  if (firstDigest?.previousWindowStart) {
    const predecessor = await deps.store.getObject(auditObjects.digest(firstDigest.previousWindowStart));
    if (predecessor) run.setPredecessor(firstDigest.previousWindowStart, predecessor);
  }
  // Window by window: its digest (the records it expects), then its records.
  for (const [i, l] of loaded.entries()) {
    const windowEnd = iso(Date.parse(l.windowStart) + interval);
    if (l.bytes === undefined) run.digestMissing(l.windowStart, windowEnd, head === undefined ? undefined : { window: head.windowStart, sealed: Date.parse(l.windowStart) < headEnd });
    else {
      if (head !== undefined && l.windowStart === head.windowStart && sha256(l.bytes).toString('hex') !== head.digestHash) {
        run.chainBreak(l.windowStart, `is not the digest the digester sealed for this window: its SHA-256 is ${sha256(l.bytes).toString('hex')}, the chain head records ${head.digestHash} (the digest was replaced, or the head edited)`);
      }
      const [signature, manifest] = await Promise.all([deps.store.getObject(auditObjects.signature(l.windowStart)), l.digest ? deps.store.getObject(l.digest.manifestObject) : Promise.resolve(undefined)]);
      run.addDigest(l.windowStart, l.bytes, signature, manifest);
    }
    run.startWindow();
    await deps.records.forEachIn(l.windowStart, windowEnd, see);
    await pins?.settle(addFinding);
    range.onWindow?.(l.windowStart, i + 1, loaded.length);
  }
  const scanned = { from: iso(first), to: iso(last) };
  // The digests after the range that may seal its late records; the first one missing ends them.
  let sealedUntil = last;
  if (loaded.length > 0) {
    for (let k = 0, w = last; k < lateWindows(interval); k++, w += interval) {
      const windowStart = iso(w);
      const bytes = await deps.store.getObject(auditObjects.digest(windowStart));
      if (!bytes) break;
      const digest = parseDigest(bytes);
      const [signature, manifest] = await Promise.all([deps.store.getObject(auditObjects.signature(windowStart)), digest ? deps.store.getObject(digest.manifestObject) : Promise.resolve(undefined)]);
      run.addFollower(windowStart, bytes, signature, manifest, scanned);
      sealedUntil = w + interval;
    }
    run.expectSealedUntil(iso(last));
  }
  // Named records not found in their windows: gone, or moved out of the index. A late entry for a
  // window before the range was never scanned for: read where it is and checked like any other.
  run.startWindow();
  for (const entry of run.unseen()) {
    const found = await deps.records.get(entry);
    if (!found) {
      run.recordMissing(entry, deps.recordsLabel ?? 'in the table');
      continue;
    }
    // (A record now naming another function was seen in its window and judged there, or is
    // another function's record named by an old manifest entry without a function.)
    if (entry.createdAt >= scanned.from && entry.createdAt < scanned.to && run.inScope(found.functionName)) {
      run.recordMisindexed(entry, notListedReason(entry.createdAt));
    }
    see(found);
  }
  if (pins !== undefined) {
    await pins.settle(addFinding);
    // A version created in the scanned windows is verified by the run itself (unless the run is one function's).
    await pins.finish(addFinding, (id, createdAt) => run.hasFindingFor('policy', id) || (range.functionName === undefined && createdAt !== undefined && createdAt >= scanned.from && createdAt < scanned.to));
  }
  // Seen, named by no digest: late records a digest not written yet will seal (a window of the late
  // horizon after theirs is not sealed yet, and not closed either), or inserted behind the service.
  const horizon = lateWindows(interval) * interval;
  if (deps.offline === true) {
    run.settlePending(() => false, 'offline');
    return run.report();
  }
  run.settlePending((createdAt) => {
    const window = windowOf(Date.parse(createdAt), interval).start;
    return window + horizon >= sealedUntil && sealedUntil + interval + settle > now;
  });
  return run.report();
}

/**
 * The records created in [from, to), all before the chain's first window: no digest seals them or
 * ever will (the chain began at the oldest record there was), so each in scope is `unexpected`.
 */
async function checkBeforeChain(deps: VerifyDeps, run: VerificationRun, from: number, to: number, chainStart: number): Promise<void> {
  if (from >= to) return;
  await deps.records.forEachIn(iso(from), iso(to), (record) => run.seeBeforeChain(record, iso(chainStart)));
}

/** The index mismatch of a sealed record that its window's listing (the audit index) does not list. */
export function notListedReason(createdAt: string): string {
  return `not listed in the audit index for its window (created at ${createdAt}): its index keys were changed`;
}

/** The key as a KeyObject (parsed once); a PEM that is not a key stays a string, and no signature verifies with it. */
function publicKey(pem: string): KeyObject | string {
  try {
    return createPublicKey(pem);
  } catch {
    return pem;
  }
}

function parseDigest(bytes: Buffer): Digest | undefined {
  try {
    const parsed = DigestSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
