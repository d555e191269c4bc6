/**
 * The local stand-in for S3: s3rver (npm), on 127.0.0.1, holding the manifest bucket. Data lives
 * under a folder (DATA_DIR/s3 with `npm start`); "in memory" is a temporary folder removed on close
 * (s3rver keeps objects on disk only). Clients reach it through the same @aws-sdk/client-s3 adapter
 * as on AWS, with path-style addressing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface LocalS3 {
  endpoint: string;
  port: number;
  bucket: string;
  close(): Promise<void>;
}

export interface LocalS3Options {
  /** 0 picks a free port. */
  port: number;
  bucket: string;
  /** More buckets to create (cdk.json `idManifestBuckets`: where users' id manifests may be). */
  extraBuckets?: readonly string[];
  /** A folder to persist to; a temporary one, removed on close, when absent. */
  path?: string;
}

/** Client settings for the local S3 (spread into `new S3Client({...localS3ClientConfig(endpoint)})`). */
export function localS3ClientConfig(endpoint: string) {
  return { region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } } as const;
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const temporary = options.path === undefined ? mkdtempSync(join(tmpdir(), 'decision-replay-s3-')) : undefined;
  const server = new S3rver({ port: options.port, address: '127.0.0.1', silent: true, directory: options.path ?? (temporary as string), configureBuckets: [options.bucket, ...(options.extraBuckets ?? [])].map((name) => ({ name })) });
  // s3rver's own run() passes a callback to listen() expecting an error argument Node never gives:
  // a port in use becomes an unhandled 'error' event that kills the process. Listen here instead,
  // with s3rver's request handler (it is a Koa application), so the failure rejects like any other.
  // Both are public (S3rver extends Koa; configureBuckets is what run() calls first) but untyped.
  const app = server as unknown as { configureBuckets(): Promise<void>; callback(): RequestListener };
  await app.configureBuckets();
  const httpServer = createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, '127.0.0.1', () => {
      httpServer.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    if (temporary !== undefined) rmSync(temporary, { recursive: true, force: true });
    throw err;
  });
  const port = (httpServer.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    bucket: options.bucket,
    async close() {
      await new Promise<void>((resolve, reject) => httpServer.close((err) => (err ? reject(err) : resolve())));
      if (temporary !== undefined) rmSync(temporary, { recursive: true, force: true });
    },
  };
}
