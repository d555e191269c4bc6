/**
 * The digester (seals each closed window) and range verification over the audit ports.
 */
import { createPublicKey } from 'node:crypto';
import type { Clock } from '../ports.js';
import { auditObjects, buildDigest, DEFAULT_SETTLE_MS, DigestSchema, keyFingerprint, lateWindows, parseManifest, sortManifest, windowOf, type Digest, type ManifestEntry } from './digest.js';
import { AuditObjectExistsError, type AuditRecordSource, type AuditStore, type DigestSigner } from './ports.js';

export { DEFAULT_SETTLE_MS };

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
 * The records created in the sealed windows of the late horizon before `start` that none of their
 * digests names (the on-time entries of their window and the late entries of the digests after it).
 */
async function lateRecords(deps: DigesterDeps, start: number, windowStart: string): Promise<ManifestEntry[]> {
  const sealed = await deps.store.listDigests(iso(start - lateWindows(deps.intervalMs) * deps.intervalMs), windowStart);
  if (sealed.length === 0) return [];
  const known = new Set<string>();
  for (const sealedStart of sealed) {
    const digest = await readDigest(deps.store, sealedStart);
    const manifest = digest && (await deps.store.getObject(digest.digest.manifestObject));
    for (const e of manifest ? parseManifest(manifest) : []) known.add(`${e.kind}\u0000${e.id}`);
  }
  const late = (await deps.records.listIn(sealed[0] as string, windowStart)).filter((r) => !known.has(`${r.kind}\u0000${r.id}`));
  return sortManifest(late.map((r) => ({ ...r, late: true as const })));
}

/**
 * Seals every window that has closed (its end + the settle time has passed) and has no digest yet,
 * oldest first; returns the digests written. The first digest ever starts at the window of the
 * oldest record (or of now). Records created in the sealed windows of the late horizon
 * ({@link lateWindows}: 15 minutes, at least one window) that no digest names yet — they arrived
 * after their window was sealed — go into the next digest, flagged `late`.
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

export { MAX_SYNC_VERIFY_RECORDS, VerifyRangeTooLargeError, verifyRange, type VerifyDeps, type VerifyRange } from './verify-range.js';
