/**
 * S3ManifestStore.readSource (a user's id manifest) against a mocked S3: what S3 answers becomes
 * the domain error the client sees, and an oversized object is refused before it is read.
 */
import { GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { S3ManifestStore } from '../../functions/adapters/s3/manifest-store.js';
import { NotFoundError, PayloadTooLargeError, UnprocessableError } from '../../functions/core/errors.js';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'us-east-1' });
const store = new S3ManifestStore(client, 'stack-manifests');
const LOC = { bucket: 'acme-ids', key: 'q4/ids.csv' };

async function lines(maxBytes = 1_000_000): Promise<string[]> {
  const out: string[] = [];
  for await (const page of store.readSource(LOC, maxBytes)) out.push(...page);
  return out;
}

const s3Error = (name: string, httpStatusCode: number) => new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode }, message: name });

describe('S3ManifestStore.readSource', () => {
  beforeEach(() => s3.reset());
  afterAll(() => client.destroy());

  it('reads the lines with ranged GETs pinned to the ETag the HEAD saw', async () => {
    const text = 'snapshotId\n01JB0000000000000000000001\n';
    s3.on(HeadObjectCommand).resolves({ ContentLength: text.length, ETag: '"abc"' });
    // The adapter only calls transformToString() on the body (a stream mixin on AWS).
    s3.on(GetObjectCommand).resolves({ Body: { transformToString: () => Promise.resolve(text) } as never });

    expect(await lines()).toEqual(['snapshotId', '01JB0000000000000000000001']);
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toMatchObject({ Bucket: 'acme-ids', Key: 'q4/ids.csv', Range: `bytes=0-${text.length - 1}`, IfMatch: '"abc"' });
  });

  it('refuses an object over the limit with 413 before reading it', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 2_000_000 });

    const err = await lines().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect((err as Error).message).toMatch(/s3:\/\/acme-ids\/q4\/ids\.csv is 2000000 bytes; a manifest is read up to 1000000 bytes/);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it.each([
    ['NotFound', 404, 'MANIFEST_NOT_FOUND', NotFoundError, /does not exist$/],
    ['NoSuchBucket', 404, 'MANIFEST_NOT_FOUND', NotFoundError, /does not exist \(no such bucket\)/],
    ['AccessDenied', 403, 'MANIFEST_UNREADABLE', UnprocessableError, /cannot be read by the service \(S3 answered AccessDenied 403\)/],
  ])('answers S3 %s (%i) as %s', async (name, status, code, type, message) => {
    s3.on(HeadObjectCommand).rejects(s3Error(name, status));

    const err = await lines().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(type);
    expect((err as { code: string }).code).toBe(code);
    expect((err as Error).message).toMatch(message);
  });

  it('answers an object replaced between the HEAD and a GET as 422 MANIFEST_CHANGED', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 10, ETag: '"abc"' });
    s3.on(GetObjectCommand).rejects(s3Error('PreconditionFailed', 412));

    const err = await lines().catch((e: unknown) => e);

    expect((err as { code: string }).code).toBe('MANIFEST_CHANGED');
  });

  it('rethrows what is not a client error (throttling, faults) for the generic 500', async () => {
    const fault = new S3ServiceException({ name: 'InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'x' });
    s3.on(HeadObjectCommand).rejects(fault);

    expect(await lines().catch((e: unknown) => e)).toBe(fault);
  });
});
