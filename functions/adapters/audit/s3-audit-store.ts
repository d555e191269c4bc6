/**
 * The audit store on AWS: an S3 bucket with Object Lock (COMPLIANCE) and versioning. A digest is
 * written with `If-None-Match: *`, so a window is sealed once; nothing here deletes.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { auditObjects } from '../../core/audit/digest.js';
import { AuditObjectExistsError, type AuditStore } from '../../core/audit/ports.js';

const DIGEST_SUFFIX = '.json';

export class S3AuditStore implements AuditStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async putDigest(windowStart: string, parts: { digest: Buffer; signature: Buffer; manifest: Buffer; manifestObject: string }): Promise<void> {
    // A leftover manifest or signature of an attempt that died before its digest only gains a new
    // version; the digest is the object that seals the window, written if absent.
    await this.put(parts.manifestObject, parts.manifest, 'application/x-ndjson');
    await this.put(auditObjects.signature(windowStart), parts.signature, 'application/octet-stream');
    try {
      await this.put(auditObjects.digest(windowStart), parts.digest, 'application/json', true);
    } catch (err) {
      if (err instanceof S3ServiceException && (err.$metadata.httpStatusCode === 412 || err.name === 'PreconditionFailed')) throw new AuditObjectExistsError(auditObjects.digest(windowStart));
      throw err;
    }
  }

  async getObject(name: string): Promise<Buffer | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: name }));
      return res.Body ? Buffer.from(await res.Body.transformToByteArray()) : Buffer.alloc(0);
    } catch (err) {
      if (err instanceof NoSuchKey) return undefined;
      throw err;
    }
  }

  async getObjectRange(name: string, start: number, end: number): Promise<{ bytes: Buffer; size: number } | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: name, Range: `bytes=${start}-${end}` }));
      const bytes = res.Body ? Buffer.from(await res.Body.transformToByteArray()) : Buffer.alloc(0);
      // `bytes 0-99/1234`: the object's whole size after the slash. S3 answers 200 with the whole
      // object when it is empty (a range of nothing), with no Content-Range.
      const size = Number(/\/(\d+)$/.exec(res.ContentRange ?? '')?.[1] ?? bytes.length);
      return { bytes, size };
    } catch (err) {
      if (err instanceof NoSuchKey) return undefined;
      // A start at or past the end: S3's 416 InvalidRange. The size then comes from a HEAD.
      if (err instanceof S3ServiceException && (err.$metadata.httpStatusCode === 416 || err.name === 'InvalidRange')) {
        const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: name }));
        return { bytes: Buffer.alloc(0), size: head.ContentLength ?? 0 };
      }
      throw err;
    }
  }

  async listDigests(from?: string, to?: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: 'digests/', ContinuationToken: token, ...(from !== undefined && token === undefined && { StartAfter: `digests/${from.slice(0, -1)}` }) }),
      );
      for (const o of res.Contents ?? []) {
        const key = o.Key ?? '';
        if (!key.endsWith(DIGEST_SUFFIX)) continue;
        const start = key.slice('digests/'.length, -DIGEST_SUFFIX.length);
        if (to !== undefined && start >= to) return out;
        if (from === undefined || start >= from) out.push(start);
      }
      token = res.NextContinuationToken;
    } while (token);
    return out;
  }

  async latestDigest(): Promise<string | undefined> {
    // Look back a year first (one page or two), then everything.
    const recent = await this.listDigests(new Date(Date.now() - 366 * 86_400_000).toISOString());
    return recent.at(-1) ?? (await this.listDigests()).at(-1);
  }

  private async put(key: string, body: Buffer, contentType: string, ifAbsent = false): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, ChecksumAlgorithm: 'SHA256', ...(ifAbsent && { IfNoneMatch: '*' }) }));
  }
}
