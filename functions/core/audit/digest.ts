/**
 * Audit digests (CloudTrail-style): each window of `digestIntervalMinutes` gets one digest that
 * seals every immutable record created in it. Pure: no I/O, only node:crypto hashing and ECDSA
 * verification, so the offline verifier (the CLI's `verify --bundle`) runs the very same code.
 *
 * - Manifest: one line per record, `{id, kind, contentHash, createdAt, ...}` as canonical JSON,
 *   in a deterministic order (createdAt, kind, id; records that arrived late after the others).
 * - Merkle root over the manifest's (id, kind, contentHash), RFC 6962: leaf = SHA-256(0x00 ‖ leaf
 *   bytes), node = SHA-256(0x01 ‖ left ‖ right), the empty tree = SHA-256 of nothing.
 * - Digest: canonical JSON naming the window, the record count, the manifest's hash and object,
 *   the Merkle root, and the SHA-256 of the previous digest's bytes (the chain). The bytes of that
 *   JSON are what is signed: ECDSA P-256 over SHA-256 of the bytes, DER encoded — the format both
 *   AWS KMS (ECDSA_SHA_256) and `openssl dgst -sha256 -sign` produce, so one verifier serves both.
 */
import { createHash, verify as verifySignature, type KeyObject } from 'node:crypto';
import * as z from 'zod/mini';
import { canonicalJson } from '../json.js';
import { RECORD_KINDS, type RecordKind } from '../records.js';

export const DIGEST_FORMAT = 'decision-replay-digest/1';
export const SIGNING_ALGORITHM = 'ECDSA_SHA_256';

/** One record named by a digest. `pk`/`sk` locate it in the table; `late` marks a record that arrived after its window was sealed. */
export const ManifestEntrySchema = z.strictObject({
  id: z.string(),
  kind: z.enum(RECORD_KINDS),
  contentHash: z.string(),
  createdAt: z.string(),
  functionName: z.optional(z.string()),
  pk: z.string(),
  sk: z.string(),
  late: z.optional(z.literal(true)),
});
export type ManifestEntry = z.infer<typeof ManifestEntrySchema>;

export const DigestSchema = z.strictObject({
  format: z.literal(DIGEST_FORMAT),
  /** Inclusive start and exclusive end, ISO-8601 UTC. */
  windowStart: z.string(),
  windowEnd: z.string(),
  /** Entries in the manifest, late ones included. */
  recordCount: z.number(),
  lateCount: z.number(),
  merkleRoot: z.string(),
  manifestHash: z.string(),
  /** Where the manifest is stored, relative to the audit store's root. */
  manifestObject: z.string(),
  /** SHA-256 hex of the previous digest's exact bytes; null for the first digest. */
  previousDigestHash: z.nullable(z.string()),
  previousWindowStart: z.nullable(z.string()),
  createdAt: z.string(),
  signingAlgorithm: z.literal(SIGNING_ALGORITHM),
  /** SHA-256 hex of the signing public key's DER (SPKI) form. */
  keyFingerprint: z.string(),
});
export type Digest = z.infer<typeof DigestSchema>;

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export function sha256(data: Buffer | string): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The Merkle leaf of one manifest entry: what is hashed is (id, kind, contentHash) as canonical JSON. */
export function leafHash(entry: Pick<ManifestEntry, 'id' | 'kind' | 'contentHash'>): Buffer {
  return createHash('sha256').update(LEAF).update(canonicalJson({ contentHash: entry.contentHash, id: entry.id, kind: entry.kind }), 'utf8').digest();
}

/** RFC 6962 Merkle Tree Hash over leaf hashes (already 0x00-prefixed hashes), hex. */
export function merkleRoot(leaves: readonly Buffer[]): string {
  if (leaves.length === 0) return sha256(Buffer.alloc(0)).toString('hex');
  return mth(leaves, 0, leaves.length).toString('hex');
}

function mth(leaves: readonly Buffer[], from: number, to: number): Buffer {
  const n = to - from;
  if (n === 1) return leaves[from] as Buffer;
  let k = 1;
  while (k * 2 < n) k *= 2;
  return createHash('sha256').update(NODE).update(mth(leaves, from, from + k)).update(mth(leaves, from + k, to)).digest();
}

function compareEntries(a: ManifestEntry, b: ManifestEntry): number {
  if ((a.late === true) !== (b.late === true)) return a.late === true ? 1 : -1;
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The manifest's deterministic order. */
export function sortManifest(entries: ManifestEntry[]): ManifestEntry[] {
  return entries.sort(compareEntries);
}

/** The manifest's bytes: one canonical JSON line per entry, each ending in a newline. */
export function manifestBytes(entries: readonly ManifestEntry[]): Buffer {
  return Buffer.from(entries.map((e) => canonicalJson(e) + '\n').join(''), 'utf8');
}

/** A manifest that cannot be read back: which line, and why. */
export class ManifestFormatError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'ManifestFormatError';
  }
}

/** Parses manifest bytes; throws ManifestFormatError naming the line. */
export function parseManifest(bytes: Buffer): ManifestEntry[] {
  const text = bytes.toString('utf8');
  if (text === '') return [];
  if (!text.endsWith('\n')) throw new ManifestFormatError('the manifest does not end with a newline', text.split('\n').length);
  const lines = text.slice(0, -1).split('\n');
  return lines.map((line, i) => {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new ManifestFormatError(`line ${i + 1} is not JSON`, i + 1);
    }
    const parsed = ManifestEntrySchema.safeParse(json);
    if (!parsed.success) throw new ManifestFormatError(`line ${i + 1} is not a manifest entry: ${parsed.error.issues[0]?.message ?? ''}`, i + 1);
    return parsed.data;
  });
}

/** Everything a new digest states, before it is signed. */
export interface DigestInput {
  windowStart: string;
  windowEnd: string;
  entries: ManifestEntry[];
  manifestObject: string;
  previous: { windowStart: string; bytes: Buffer } | undefined;
  createdAt: string;
  keyFingerprint: string;
}

/** Builds a digest and its manifest bytes. `entries` must already be in manifest order. */
export function buildDigest(input: DigestInput): { digest: Digest; bytes: Buffer; manifest: Buffer } {
  const manifest = manifestBytes(input.entries);
  const digest: Digest = {
    format: DIGEST_FORMAT,
    windowStart: input.windowStart,
    windowEnd: input.windowEnd,
    recordCount: input.entries.length,
    lateCount: input.entries.filter((e) => e.late === true).length,
    merkleRoot: merkleRoot(input.entries.map(leafHash)),
    manifestHash: sha256(manifest).toString('hex'),
    manifestObject: input.manifestObject,
    previousDigestHash: input.previous ? sha256(input.previous.bytes).toString('hex') : null,
    previousWindowStart: input.previous?.windowStart ?? null,
    createdAt: input.createdAt,
    signingAlgorithm: SIGNING_ALGORITHM,
    keyFingerprint: input.keyFingerprint,
  };
  return { digest, bytes: Buffer.from(canonicalJson(digest), 'utf8'), manifest };
}

/** SHA-256 hex of a public key's DER (SPKI) encoding: how a digest names its signing key. */
export function keyFingerprint(publicKey: KeyObject): string {
  return sha256(publicKey.export({ type: 'spki', format: 'der' })).toString('hex');
}

/** True when `signature` (DER ECDSA) is the key's signature of SHA-256(`bytes`). */
export function verifyDigestSignature(bytes: Buffer, signature: Buffer, publicKey: KeyObject | string): boolean {
  try {
    return verifySignature('sha256', bytes, publicKey, signature);
  } catch {
    return false;
  }
}

/** How long after a window's end the digester waits before sealing it (writes in flight land first). */
export const DEFAULT_SETTLE_MS = 5_000;

/**
 * How long after a window has closed (and settled) a verifier waits for its digest before naming
 * it missing. The deployed digester runs every 5 minutes at most (every window, if shorter), and a
 * failed or throttled run is retried a minute or two later: a window closed a few minutes ago and
 * not sealed yet is the digester's ordinary lag, not a deleted digest.
 */
export const SEAL_GRACE_MS = 10 * 60_000;

/**
 * The longest a writer can hold a record's createdAt before its put lands: a Lambda runs at most
 * 15 minutes. A record that lands after its window was sealed is sealed, flagged `late`, by a later
 * digest; the digester looks back far enough to cover this horizon whatever the window length.
 */
export const LATE_HORIZON_MS = 15 * 60_000;

/**
 * How many windows back a digest looks for late records, and so how many digests after a window
 * may seal its late records: the horizon in windows, at least one.
 */
export function lateWindows(intervalMs: number): number {
  return Math.max(1, Math.ceil(LATE_HORIZON_MS / intervalMs));
}

/** The window [start, end) holding an instant, windows aligned to the epoch. */
export function windowOf(instantMs: number, intervalMs: number): { start: number; end: number } {
  const start = Math.floor(instantMs / intervalMs) * intervalMs;
  return { start, end: start + intervalMs };
}

/** Object names in the audit store, by window start (ISO strings sort chronologically). */
export const auditObjects = {
  digest: (windowStart: string) => `digests/${windowStart}.json`,
  signature: (windowStart: string) => `digests/${windowStart}.sig`,
  manifest: (windowStart: string) => `manifests/${windowStart}.jsonl`,
} as const;

export type { RecordKind };
