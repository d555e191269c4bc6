/** The S3 client of the functions that write and read batch manifests (traced like every SDK client). */
import { S3Client } from '@aws-sdk/client-s3';
import type { ManifestClients } from '../../handlers/clients.js';
import { traced } from './tracer.js';

/** The S3 client of a function that writes or reads a manifest on every invocation (batch-plan). */
export function awsManifestClients(): ManifestClients {
  // A bucket named in idManifestBuckets may live in another region: follow S3's redirect to it.
  return { s3: traced(new S3Client({ followRegionRedirects: true })) };
}
