/**
 * Ports of the audit seal: where digests are kept, who signs them, and how the records of a window
 * are found and re-read.
 */
import type { Page } from '../ports.js';
import type { RecordKind } from '../records.js';
import type { ManifestEntry } from './digest.js';
import type { FoundRecord } from './verify.js';

/** Write-once storage of digests, their signatures and manifests (S3 Object Lock on AWS, files locally). */
export interface AuditStore {
  /**
   * Stores one window's manifest, signature and digest, the digest last (a digest present means the
   * window is complete). Throws {@link AuditObjectExistsError} if that window's digest exists.
   */
  putDigest(windowStart: string, parts: { digest: Buffer; signature: Buffer; manifest: Buffer; manifestObject: string }): Promise<void>;
  /** An object's bytes, or undefined when it is not there. */
  getObject(name: string): Promise<Buffer | undefined>;
  /**
   * Bytes `start` to `end` (inclusive) of an object, fewer where it ends, and its whole size; none
   * when `start` is at or past its end. Undefined when it is not there. How a manifest larger than
   * one answer can hold is served in pieces, without reading the whole object for each.
   */
  getObjectRange(name: string, start: number, end: number): Promise<{ bytes: Buffer; size: number } | undefined>;
  /** Window starts of the stored digests with `from <= start < to` (either bound optional), ascending. */
  listDigests(from?: string, to?: string): Promise<string[]>;
  /** The window start of the newest digest. */
  latestDigest(): Promise<string | undefined>;
}

/** Signs digests: DER-encoded ECDSA P-256 over SHA-256 of the bytes. */
export interface DigestSigner {
  sign(bytes: Buffer): Promise<Buffer>;
  /** The public key, PEM (SPKI). */
  publicKeyPem(): Promise<string>;
}

/** Where a manifest entry says its record is. */
export interface RecordLocator {
  kind: RecordKind;
  id: string;
  pk: string;
  sk: string;
}

/** A record as the digester lists it. */
export type ListedRecord = Omit<ManifestEntry, 'late'>;

/** Finds and re-reads the immutable records of a window. Reads only: nothing on the write path. */
export interface AuditRecordSource {
  /** Every record created in [start, end), for a manifest (stored contentHash, no re-hashing). */
  listIn(start: string, end: string): Promise<ListedRecord[]>;
  /** The kind, id and locator of every record created in [start, end): the late check's cheap listing. */
  keysIn(start: string, end: string): Promise<RecordLocator[]>;
  /** Visits every record created in [start, end) with its content, for verification. Returns the count. */
  forEachIn(start: string, end: string, visit: (record: FoundRecord) => void): Promise<number>;
  /**
   * One page of the records created in [start, end) with their content, for a verifier that pages
   * (the CLI over HTTP), each already encoded by `encode` (its wire JSON): at most `limit` records
   * and about `maxBytes` of encoded text (UTF-8), in no particular order. Encoding here, once, both
   * measures the page and gives its body, so a record is never serialised twice.
   */
  pageIn(start: string, end: string, page: { limit: number; cursor?: string | undefined; maxBytes: number }, encode: (record: FoundRecord) => string): Promise<Page<string>>;
  /** Re-reads one record at its locator (a manifest entry's pk and sk; a bundle finds it by id); undefined when nothing is there. */
  get(locator: RecordLocator): Promise<FoundRecord | undefined>;
  /** The createdAt of the oldest record, if any. */
  earliestCreatedAt(): Promise<string | undefined>;
}

/**
 * Where the chain of digests has got to: the newest window the digester sealed and the SHA-256 of
 * that digest's exact bytes, and the first window of the chain. Kept apart from the digest store
 * (a table item on AWS and locally), so a digest removed from the store is noticed: the digester
 * never seals a window again that some run already sealed, and verification knows which windows
 * must have a digest even when every digest is gone.
 */
export interface ChainHead {
  /** The window of the first digest ever (the chain's anchor). */
  chainStart: string;
  /** The newest sealed window. */
  windowStart: string;
  windowEnd: string;
  /** SHA-256 hex of that window's digest bytes. */
  digestHash: string;
}

/** The chain head's record. Moves only forward, one sealed window at a time, conditionally. */
export interface ChainHeadStore {
  get(): Promise<ChainHead | undefined>;
  /**
   * Moves the head from `from` (undefined: there is none yet) to `to`, only if it is still at
   * `from`; false when it is not (another digester run moved it first).
   */
  advance(from: ChainHead | undefined, to: ChainHead): Promise<boolean>;
}

/**
 * The digester refuses to seal: the digest store no longer holds what the chain head says was
 * sealed (digests were removed or replaced). Sealing on would sign the table's current content,
 * which may be forged, for windows already sealed; an operator must restore the digests.
 */
export class SealRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealRefusedError';
  }
}

export class AuditObjectExistsError extends Error {
  constructor(readonly objectName: string) {
    super(`audit object ${objectName} already exists (audit objects are written once)`);
    this.name = 'AuditObjectExistsError';
  }
}
