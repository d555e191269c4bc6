/**
 * ManifestStore over S3: a batch's snapshot ids as CSV (`snapshotId` header, one id a line), the
 * form the Distributed Map's ItemReader reads (`InputType: CSV`, `CSVHeaderLocation: FIRST_ROW`).
 * Written as a multipart upload in parts of {@link PART_BYTES}, so memory holds one part whatever
 * the number of ids; read back with ranged GETs for the same reason. The same code runs against
 * S3 on AWS and against the local stand-in (s3rver).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { S3ServiceException } from '@aws-sdk/client-s3';
import type { ManifestRef, ManifestStore } from '../../core/batch.js';
import { NotFoundError, PayloadTooLargeError, UnprocessableError } from '../../core/errors.js';
import { s3Uri, type S3Location } from '../../core/id-manifest.js';

/** S3's smallest part (but the last): 5 MiB ≈ 190,000 ids. */
const PART_BYTES = 5 * 1024 * 1024;
/** Bytes one ranged GET reads. */
const READ_BYTES = 1024 * 1024;
export const MANIFEST_HEADER = 'snapshotId';

export class S3ManifestStore implements ManifestStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async write(key: string, pages: AsyncIterable<readonly string[]>): Promise<ManifestRef & { count: number }> {
    let count = 0;
    let buffer = `${MANIFEST_HEADER}\n`;
    let uploadId: string | undefined;
    const parts: Array<{ PartNumber: number; ETag: string | undefined }> = [];
    const flush = async () => {
      uploadId ??= (await this.s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: 'text/csv' }))).UploadId;
      const PartNumber = parts.length + 1;
      const res = await this.s3.send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber, Body: Buffer.from(buffer) }));
      parts.push({ PartNumber, ETag: res.ETag });
      buffer = '';
    };
    try {
      for await (const page of pages) {
        for (const id of page) buffer += `${id}\n`;
        count += page.length;
        if (buffer.length >= PART_BYTES) await flush();
      }
      if (uploadId === undefined) {
        // Small manifests (most batches) are one PUT.
        await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: buffer, ContentType: 'text/csv' }));
      } else {
        if (buffer.length > 0) await flush();
        await this.s3.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
      }
    } catch (err) {
      if (uploadId !== undefined) await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
      throw err;
    }
    return { bucket: this.bucket, key, count };
  }

  async *read(ref: ManifestRef): AsyncGenerator<string[]> {
    let first = true;
    for await (const lines of this.readLines(ref.bucket, ref.key)) {
      if (first && lines[0] === MANIFEST_HEADER) lines.shift();
      first = false;
      const ids = lines.filter((l) => l !== '');
      if (ids.length > 0) yield ids;
    }
  }

  /**
   * A user's id manifest, line by line, with S3's refusals as domain errors: a missing key or bucket
   * is a 404 naming it, an object over `maxBytes` a 413 before any of it is read, any other 4xx
   * from S3 (AccessDenied: a bucket policy, a KMS key the service may not use) a 422 naming S3's code.
   */
  async *readSource(loc: S3Location, maxBytes: number): AsyncGenerator<string[]> {
    const uri = s3Uri(loc);
    try {
      yield* this.readLines(loc.bucket, loc.key, (size) => {
        if (size > maxBytes) throw new PayloadTooLargeError(`snapshotManifest ${uri} is ${size} bytes; a manifest is read up to ${maxBytes} bytes (${MAX_LISTED_IDS_TEXT})`, maxBytes, size);
      });
    } catch (err) {
      throw translateReadError(err, uri);
    }
  }

  /** Every line of an object (header included), page by page, read with ranged GETs; `check` sees its size first. */
  async *readLines(bucket: string, key: string, check?: (size: number) => void): AsyncGenerator<string[]> {
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const size = head.ContentLength ?? 0;
    check?.(size);
    // Each ranged GET names the version the HEAD saw: an object replaced mid-read fails (412) rather than mixing two.
    const ifMatch = head.ETag;
    let carry = '';
    for (let start = 0; start < size; start += READ_BYTES) {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${Math.min(size, start + READ_BYTES) - 1}`, ...(ifMatch !== undefined && { IfMatch: ifMatch }) }));
      const text = carry + (await (res.Body as { transformToString(): Promise<string> }).transformToString());
      const lines = text.split('\n');
      carry = lines.pop() ?? '';
      if (lines.length > 0) yield lines;
    }
    if (carry !== '') yield [carry];
  }
}

const MAX_LISTED_IDS_TEXT = '100,000 bare ids are about 2.7 MB';

/** S3's answer to reading a user's manifest, as the client should see it; anything unexpected is rethrown. */
function translateReadError(err: unknown, uri: string): unknown {
  if (!(err instanceof S3ServiceException) || err.$fault !== 'client') return err;
  const status = err.$metadata.httpStatusCode;
  if (err.name === 'NoSuchKey' || err.name === 'NotFound' || err.name === 'NoSuchBucket' || status === 404) {
    return new NotFoundError('manifest', uri, { code: 'MANIFEST_NOT_FOUND', message: `snapshotManifest ${uri} does not exist${err.name === 'NoSuchBucket' ? ' (no such bucket)' : ''}`, cause: err });
  }
  if (status === 412) return new UnprocessableError(`snapshotManifest ${uri} changed while it was read; send the request again`, { code: 'MANIFEST_CHANGED', cause: err });
  return new UnprocessableError(
    `snapshotManifest ${uri} cannot be read by the service (S3 answered ${err.name}${status !== undefined ? ` ${status}` : ''}). Where the service may not list the bucket, S3 answers AccessDenied for a missing key too; a bucket policy or a KMS key may also refuse it`,
    { code: 'MANIFEST_UNREADABLE', details: { s3Error: err.name }, cause: err },
  );
}
