/**
 * The digester (seals each closed window) and range verification over the audit ports.
 */
import { createPublicKey } from 'node:crypto';
import { DomainError } from '../errors.js';
import type { Clock } from '../ports.js';
import { auditObjects, buildDigest, DigestSchema, keyFingerprint, parseManifest, sortManifest, windowOf, type Digest, type ManifestEntry } from './digest.js';
import { AuditObjectExistsError, type AuditRecordSource, type AuditStore, type DigestSigner } from './ports.js';
import { VerificationRun, type VerificationReport } from './verify.js';

/** How long after a window's end the digester waits before sealing it (writes in flight land first). */
export const DEFAULT_SETTLE_MS = 5_000;

/** The most records `GET /audit/verify` checks in one request; beyond, the CLI (which streams) is the tool. */
export const MAX_SYNC_VERIFY_RECORDS = 100_000;

export interface DigesterDeps {
  records: AuditRecordSource;
  store: AuditStore;
  signer: DigestSigner;
  clock: Clock;
  intervalMs: number;
  settleMs?: number;
  log?: (message: string) => void;
}

const iso = (ms: number) => new Date(ms).toISOString();

async function readDigest(store: AuditStore, windowStart: string): Promise<{ digest: Digest; bytes: Buffer } | undefined> {
  const bytes = await store.getObject(auditObjects.digest(windowStart));
  if (!bytes) return undefined;
  return { digest: DigestSchema.parse(JSON.parse(bytes.toString('utf8'))), bytes };
}

/**
 * Seals every window that has closed (its end + the settle time has passed) and has no digest yet,
 * oldest first; returns the digests written. The first digest ever starts at the window of the
 * oldest record (or of now). Records created in the window just sealed before but missing from its
 * manifest (they arrived after it was sealed) go into the next digest, flagged `late`.
 */
export async function sealClosedWindows(deps: DigesterDeps): Promise<Digest[]> {
  const settle = deps.settleMs ?? DEFAULT_SETTLE_MS;
  const now = deps.clock.now();
  const publicKeyPem = await deps.signer.publicKeyPem();
  const fingerprint = keyFingerprint(createPublicKey(publicKeyPem));
  const latestStart = await deps.store.latestDigest();
  let previous = latestStart === undefined ? undefined : await readDigest(deps.store, latestStart);
  let start: number;
  if (previous) start = Date.parse(previous.digest.windowEnd);
  else {
    const earliest = await deps.records.earliestCreatedAt();
    start = windowOf(Math.min(now, earliest === undefined ? now : Date.parse(earliest)), deps.intervalMs).start;
  }
  const written: Digest[] = [];
  while (start + deps.intervalMs + settle <= now) {
    const end = start + deps.intervalMs;
    const windowStart = iso(start);
    const entries: ManifestEntry[] = sortManifest(await deps.records.listIn(windowStart, iso(end)));
    if (previous) {
      const sealedBefore = await deps.store.getObject(previous.digest.manifestObject);
      const known = new Set((sealedBefore ? parseManifest(sealedBefore) : []).filter((e) => e.late !== true).map((e) => `${e.kind}\u0000${e.id}`));
      const late = (await deps.records.listIn(previous.digest.windowStart, previous.digest.windowEnd)).filter((r) => !known.has(`${r.kind}\u0000${r.id}`));
      entries.push(...sortManifest(late.map((r) => ({ ...r, late: true as const }))));
    }
    const manifestObject = auditObjects.manifest(windowStart);
    const built = buildDigest({
      windowStart,
      windowEnd: iso(end),
      entries,
      manifestObject,
      previous: previous && { windowStart: previous.digest.windowStart, bytes: previous.bytes },
      createdAt: iso(deps.clock.now()),
      keyFingerprint: fingerprint,
    });
    const signature = await deps.signer.sign(built.bytes);
    try {
      await deps.store.putDigest(windowStart, { digest: built.bytes, signature, manifest: built.manifest, manifestObject });
    } catch (err) {
      // Another digester run sealed this window first: continue from what it wrote.
      if (!(err instanceof AuditObjectExistsError)) throw err;
      previous = await readDigest(deps.store, windowStart);
      start = end;
      continue;
    }
    deps.log?.(`sealed window ${windowStart}: ${built.digest.recordCount} records (${built.digest.lateCount} late)`);
    written.push(built.digest);
    previous = { digest: built.digest, bytes: built.bytes };
    start = end;
  }
  return written;
}

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
  records: AuditRecordSource;
  store: AuditStore;
  signer: Pick<DigestSigner, 'publicKeyPem'>;
  clock: Clock;
  intervalMs: number;
  settleMs?: number;
}

export interface VerifyRange {
  from: string;
  to: string;
  functionName?: string | undefined;
  /** Refuse (VerifyRangeTooLargeError) when the digests name more records than this. */
  maxRecords?: number;
}

/**
 * Verifies the records created in [from, to): every digest of the windows overlapping it
 * (signature, chain, manifest, Merkle root), every record they name (re-read and re-hashed, index
 * keys checked), and every record in those windows that no digest names.
 */
export async function verifyRange(deps: VerifyDeps, range: VerifyRange): Promise<VerificationReport> {
  const settle = deps.settleMs ?? DEFAULT_SETTLE_MS;
  const run = new VerificationRun(createPublicKey(await deps.signer.publicKeyPem()), range);
  const fromMs = Date.parse(range.from);
  const toMs = Date.parse(range.to);
  const genesis = (await deps.store.listDigests())[0];
  const closedUntil = windowOf(deps.clock.now() - settle, deps.intervalMs).start;
  if (genesis === undefined) return run.report();

  // The windows that overlap the range and should be sealed by now.
  const first = Math.max(windowOf(fromMs, deps.intervalMs).start, Date.parse(genesis));
  const last = Math.min(toMs, closedUntil);
  const stored = new Set(await deps.store.listDigests(iso(first), iso(last)));
  const loaded: Array<{ windowStart: string; bytes: Buffer; digest: Digest | undefined }> = [];
  let total = 0;
  for (let w = first; w < last; w += deps.intervalMs) {
    const windowStart = iso(w);
    const bytes = stored.has(windowStart) ? await deps.store.getObject(auditObjects.digest(windowStart)) : undefined;
    let digest: Digest | undefined;
    if (bytes) {
      const parsed = DigestSchema.safeParse(safeJson(bytes));
      digest = parsed.success ? parsed.data : undefined;
      total += digest?.recordCount ?? 0;
    }
    loaded.push({ windowStart, bytes: bytes ?? Buffer.alloc(0), digest });
  }
  if (range.maxRecords !== undefined && total > range.maxRecords) throw new VerifyRangeTooLargeError(total, range.maxRecords);

  const firstDigest = loaded.find((l) => l.digest)?.digest;
  if (firstDigest?.previousWindowStart && loaded[0]?.digest === firstDigest) {
    const predecessor = await deps.store.getObject(auditObjects.digest(firstDigest.previousWindowStart));
    if (predecessor) run.setPredecessor(firstDigest.previousWindowStart, predecessor);
  }
  for (const l of loaded) {
    if (l.bytes.length === 0) {
      run.digestMissing(l.windowStart, iso(Date.parse(l.windowStart) + deps.intervalMs));
      continue;
    }
    const digest = l.digest;
    const [signature, manifest] = await Promise.all([deps.store.getObject(auditObjects.signature(l.windowStart)), digest ? deps.store.getObject(digest.manifestObject) : Promise.resolve(undefined)]);
    run.addDigest(l.windowStart, l.bytes, signature, manifest);
  }
  if (loaded.length > 0) {
    const followerStart = iso(first + loaded.length * deps.intervalMs);
    const follower = await deps.store.getObject(auditObjects.digest(followerStart));
    if (follower) {
      const digest = DigestSchema.safeParse(safeJson(follower));
      const [signature, manifest] = await Promise.all([deps.store.getObject(auditObjects.signature(followerStart)), digest.success ? deps.store.getObject(digest.data.manifestObject) : Promise.resolve(undefined)]);
      run.addFollower(followerStart, follower, signature, manifest);
    }
    run.expectSealedUntil(iso(last));
    // Every record in the sealed windows, named or not.
    await deps.records.forEachIn(iso(first), iso(first + loaded.length * deps.intervalMs), (record) => run.seeRecord(record));
  }
  // Named records not found in their windows: gone, or moved out of the index.
  for (const entry of run.unseen()) {
    const found = await deps.records.get(entry.kind, entry.pk, entry.sk);
    if (!found) {
      run.recordMissing(entry, 'in the table');
      continue;
    }
    run.recordMisindexed(entry, `not listed in the audit index for its window (created at ${entry.createdAt}): its index keys were changed`);
    run.seeRecord(found);
  }
  return run.report();
}

function safeJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
