/**
 * The digester (seals each closed window) and range verification over the audit ports.
 */
import { createPublicKey } from 'node:crypto';
import type { Clock } from '../ports.js';
import { auditObjects, buildDigest, DEFAULT_SETTLE_MS, DigestSchema, keyFingerprint, lateWindows, sha256, sortManifest, windowOf, type Digest, type ManifestEntry } from './digest.js';
import { AuditObjectExistsError, SealRefusedError, type AuditRecordSource, type AuditStore, type ChainHead, type ChainHeadStore, type DigestSigner } from './ports.js';

export { DEFAULT_SETTLE_MS };

export interface DigesterDeps {
  records: AuditRecordSource;
  store: AuditStore;
  /** Where the chain has got to, kept apart from the store (see {@link ChainHead}). */
  head: ChainHeadStore;
  signer: DigestSigner;
  clock: Clock;
  intervalMs: number;
  settleMs?: number;
  log?: (message: string) => void;
  /** What must not go unnoticed (a refusal to seal, a head adopted from the store): an error log line. */
  alarm?: (message: string) => void;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A stored digest: its bytes and what they say, or why they are not a digest. */
type ReadDigest = { digest: Digest; bytes: Buffer; junk?: undefined } | { digest?: undefined; bytes: Buffer; junk: string };

async function readStored(store: AuditStore, windowStart: string): Promise<ReadDigest | undefined> {
  const bytes = await store.getObject(auditObjects.digest(windowStart));
  if (!bytes) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { bytes, junk: 'it is not JSON' };
  }
  const parsed = DigestSchema.safeParse(json);
  if (!parsed.success) return { bytes, junk: `${parsed.error.issues[0]?.path.join('.') || 'the object'}: ${parsed.error.issues[0]?.message ?? 'not a digest'}` };
  return { digest: parsed.data, bytes };
}

/**
 * A digest the chain continues from, or undefined when there is none. An object in its place that
 * is not a digest (junk copied into the store, a truncated file) stops sealing with a refusal that
 * names it: the window's digest cannot be written over it, and the chain cannot go on past it.
 */
async function readDigest(deps: DigesterDeps, windowStart: string, role: string): Promise<{ digest: Digest; bytes: Buffer } | undefined> {
  const read = await readStored(deps.store, windowStart);
  if (read?.junk !== undefined) {
    throw refuse(deps, `${auditObjects.digest(windowStart)} in the digest store, ${role}, is not a digest (${read.junk}): the digester did not write it. Remove it (or restore the digest it replaced) and sealing goes on`);
  }
  return read;
}

/**
 * The records created in the sealed windows of the late horizon before `start` that none of their
 * digests names (the on-time entries of their window and the late entries of the digests after it).
 */
async function lateRecords(deps: DigesterDeps, start: number, windowStart: string): Promise<ManifestEntry[]> {
  const sealed = await deps.store.listDigests(iso(start - lateWindows(deps.intervalMs) * deps.intervalMs), windowStart);
  if (sealed.length === 0) return [];
  const known = new Set<string>();
  for (const sealedStart of sealed) {
    // An object there that is not a digest names nothing: its window's records would be sealed again as late, never lost.
    const digest = await readStored(deps.store, sealedStart);
    const manifest = digest?.digest && (await deps.store.getObject(digest.digest.manifestObject));
    if (manifest) for (const key of manifestKeys(manifest)) known.add(key);
  }
  // Keys only (the index sort key names kind and id): the records themselves are read only for the
  // few that are late.
  const unnamed = (await deps.records.keysIn(sealed[0] as string, windowStart)).filter((r) => !known.has(`${r.kind}\u0000${r.id}`));
  const late: ManifestEntry[] = [];
  for (const locator of unnamed) {
    const record = await deps.records.get(locator);
    if (!record) continue;
    const contentHash = record.content.contentHash;
    late.push({ id: record.id, kind: record.kind, contentHash: typeof contentHash === 'string' ? contentHash : '', createdAt: record.createdAt, ...(record.functionName !== undefined && { functionName: record.functionName }), pk: locator.pk, sk: locator.sk, late: true });
  }
  return sortManifest(late);
}

/**
 * The (kind, id) of each line of a manifest this digester wrote, read with JSON.parse alone: only
 * which records it names matters here (a line that does not parse names none, so its record would be
 * sealed again as late — never lost), and a full schema check of 100,000 lines costs a second.
 */
function manifestKeys(manifest: Buffer): string[] {
  const keys: string[] = [];
  for (const line of manifest.toString('utf8').split('\n')) {
    if (line === '') continue;
    try {
      const e = JSON.parse(line) as { kind?: unknown; id?: unknown };
      if (typeof e.kind === 'string' && typeof e.id === 'string') keys.push(`${e.kind}\u0000${e.id}`);
    } catch {
      // not a manifest line: names nothing
    }
  }
  return keys;
}

/**
 * Seals every window that has closed (its end + the settle time has passed) and has no digest yet,
 * oldest first; returns the digests written. Records created in the sealed windows of the late
 * horizon ({@link lateWindows}: 15 minutes, at least one window) that no digest names yet — they
 * arrived after their window was sealed — go into the next digest, flagged `late`.
 *
 * Sealing continues from the chain head ({@link ChainHead}), never from what the store happens to
 * hold: a digest removed from the store is not written again from the table's current content
 * (which may have been edited since) — the digester refuses ({@link SealRefusedError}) until the
 * digests are restored, and verification names the gap. The first digest ever (no head, no digest)
 * starts at the window of the oldest record (or of now); a store with digests but no head (written
 * before the head was kept) has its newest digest adopted as the head, loudly.
 */
export async function sealClosedWindows(deps: DigesterDeps): Promise<Digest[]> {
  const settle = deps.settleMs ?? DEFAULT_SETTLE_MS;
  const now = deps.clock.now();
  const publicKeyPem = await deps.signer.publicKeyPem();
  const fingerprint = keyFingerprint(createPublicKey(publicKeyPem));
  await noteObjectsAhead(deps, now);
  const from = await chainPosition(deps, now);
  if (from === 'stop') return [];
  let { head, previous } = from;
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
    if (previous) entries.push(...(await lateRecords(deps, start, windowStart)));
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
      // Another digester run sealed this window first: it moves the head on; the next run continues from there.
      if (!(err instanceof AuditObjectExistsError)) throw err;
      deps.log?.(`window ${windowStart} was sealed by another digester run; continuing on the next run`);
      return written;
    }
    const next: ChainHead = { chainStart: head?.chainStart ?? windowStart, windowStart, windowEnd: iso(end), digestHash: sha256(built.bytes).toString('hex') };
    deps.log?.(`sealed window ${windowStart}: ${built.digest.recordCount} records (${built.digest.lateCount} late)`);
    written.push(built.digest);
    // The digest is stored first, then the head moves: a run that stops in between leaves a digest
    // ahead of the head, which the next run checks and adopts (never a head ahead of the digests).
    if (!(await deps.head.advance(head, next))) {
      deps.log?.(`the chain head moved while window ${windowStart} was sealed (another digester run); continuing on the next run`);
      return written;
    }
    head = next;
    previous = { digest: built.digest, bytes: built.bytes };
    start = end;
  }
  return written;
}

const digestHash = (bytes: Buffer) => sha256(bytes).toString('hex');

/**
 * Where sealing continues: the chain head's digest, checked against the store, and any digests
 * after it that a run stored but did not record in the head (they must chain on from it). Throws
 * {@link SealRefusedError} when the store no longer holds the head's digest as sealed.
 */
async function chainPosition(deps: DigesterDeps, now: number): Promise<{ head: ChainHead | undefined; previous: { digest: Digest; bytes: Buffer } | undefined } | 'stop'> {
  let head = await deps.head.get();
  if (head === undefined) {
    // Only windows that have started can have a digest: objects named after later ones are not
    // the digester's (noted by noteObjectsAhead) and must not become the head.
    const latestStart = (await deps.store.listDigests(undefined, iso(now))).at(-1);
    if (latestStart === undefined) return { head: undefined, previous: undefined };
    // Digests without a head: written before the head was kept (an upgrade). The store's newest
    // digest becomes the head; from now on a removed digest is noticed.
    const latest = await readDigest(deps, latestStart, 'the newest in the store, which would become the chain head (there is none)');
    if (!latest) throw refuse(deps, `the newest digest in the store (window ${latestStart}) cannot be read, and there is no chain head to continue from`);
    const adopted: ChainHead = { chainStart: (await deps.store.listDigests())[0] ?? latestStart, windowStart: latestStart, windowEnd: latest.digest.windowEnd, digestHash: digestHash(latest.bytes) };
    if (!(await deps.head.advance(undefined, adopted))) return 'stop';
    deps.alarm?.(`audit chain head: none was recorded; adopted the store's newest digest (window ${latestStart}) as the head. Expected once, on the first run after an upgrade; otherwise the head was deleted`);
    return { head: adopted, previous: latest };
  }
  const atHead = await readDigest(deps, head.windowStart, "at the chain head's window");
  if (!atHead) {
    throw refuse(deps, `the digest of window ${head.windowStart}, the newest the digester sealed (chain head), is missing from the digest store: digests were removed. Restore them from a copy; sealing again would sign the table's current content for windows already sealed`);
  }
  if (digestHash(atHead.bytes) !== head.digestHash) {
    throw refuse(deps, `the digest of window ${head.windowStart} in the store is not the one the digester sealed (its SHA-256 is ${digestHash(atHead.bytes)}, the chain head records ${head.digestHash}): it was replaced`);
  }
  let previous = atHead;
  // Digests after the head: stored by a run that stopped before it moved the head, or by another run.
  for (;;) {
    const next = await readDigest(deps, previous.digest.windowEnd, `where the digest after the chain head's (${previous.digest.windowStart}) goes`);
    if (!next) break;
    if (next.digest.previousWindowStart !== previous.digest.windowStart || next.digest.previousDigestHash !== digestHash(previous.bytes)) {
      throw refuse(deps, `the digest of window ${next.digest.windowStart}, after the chain head's (${previous.digest.windowStart}), does not name that digest as its previous: it was not written by this chain's digester`);
    }
    const moved: ChainHead = { chainStart: head.chainStart, windowStart: next.digest.windowStart, windowEnd: next.digest.windowEnd, digestHash: digestHash(next.bytes) };
    if (!(await deps.head.advance(head, moved))) return 'stop';
    head = moved;
    previous = next;
  }
  return { head, previous };
}

/**
 * Objects in the digest store named after windows that have not even started: no digester wrote
 * them (junk copied in, a clock far off). They are left alone and never become part of the chain;
 * each run says so at error level, naming them, so they are not silently kept.
 */
async function noteObjectsAhead(deps: DigesterDeps, now: number): Promise<void> {
  const ahead = await deps.store.listDigests(iso(windowOf(now, deps.intervalMs).end));
  if (ahead.length === 0) return;
  const named = ahead.slice(0, 5).map((w) => auditObjects.digest(w));
  deps.alarm?.(
    `audit digest store: ${ahead.length} object${ahead.length === 1 ? '' : 's'} named after windows that have not started (${named.join(', ')}${ahead.length > 5 ? ', …' : ''}): not written by the digester, ignored. Remove ${ahead.length === 1 ? 'it' : 'them'}`,
  );
}

function refuse(deps: DigesterDeps, why: string): SealRefusedError {
  const err = new SealRefusedError(`audit digester refuses to seal: ${why}`);
  deps.alarm?.(err.message);
  return err;
}

export { MAX_SYNC_VERIFY_RECORDS, VerifyRangeTooLargeError, verifyRange, type VerifyDeps, type VerifyRange } from './verify-range.js';
