import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { localS3ClientConfig, startLocalS3, type LocalS3 } from '../../functions/local/s3.js';

describe('the local S3 stand-in (s3rver)', () => {
  const open: LocalS3[] = [];
  const blockers: Server[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
    await Promise.all(blockers.splice(0).map((b) => new Promise((resolve) => b.close(resolve))));
  });

  it('rejects with EADDRINUSE when its port is taken, instead of crashing the process', async () => {
    const blocker = createServer();
    blockers.push(blocker);
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as AddressInfo).port;
    await expect(startLocalS3({ port: taken, bucket: 'b' })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('serves the configured bucket on a free port and closes', async () => {
    const s3 = await startLocalS3({ port: 0, bucket: 'manifests' });
    open.push(s3);
    expect(s3.port).toBeGreaterThan(0);
    const client = new S3Client(localS3ClientConfig(s3.endpoint));
    await client.send(new PutObjectCommand({ Bucket: 'manifests', Key: 'a.csv', Body: 'snapshotId\n' }));
    const got = await client.send(new GetObjectCommand({ Bucket: 'manifests', Key: 'a.csv' }));
    expect(await got.Body?.transformToString()).toBe('snapshotId\n');
    client.destroy();
  });
});
