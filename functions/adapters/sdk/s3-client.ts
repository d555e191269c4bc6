/**
 * The S3 client of batch manifests. Its own module so a function that uses it on some requests
 * only (batches: a manifest is written when a batch is started, read when it names a
 * `snapshotManifest`) loads it on first use; see lambda-client.ts for why each client has a module
 * of its own. batch-plan imports it statically: every invocation writes a manifest.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { traced } from '../aws/tracer.js';

// A bucket named in idManifestBuckets may live in another region: follow S3's redirect to it.
export const createS3Client = (): S3Client => traced(new S3Client({ followRegionRedirects: true }));
