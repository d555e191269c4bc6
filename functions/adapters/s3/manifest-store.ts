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
import type { ManifestRef, ManifestStore } from '../../core/batch.js';

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

  /** Every line of an object (header included), page by page, read with ranged GETs. */
  async *readLines(bucket: string, key: string): AsyncGenerator<string[]> {
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const size = head.ContentLength ?? 0;
    let carry = '';
    for (let start = 0; start < size; start += READ_BYTES) {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${Math.min(size, start + READ_BYTES) - 1}` }));
      const text = carry + (await (res.Body as { transformToString(): Promise<string> }).transformToString());
      const lines = text.split('\n');
      carry = lines.pop() ?? '';
      if (lines.length > 0) yield lines;
    }
    if (carry !== '') yield [carry];
  }
}
