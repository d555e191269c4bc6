/** The S3 client of a function that writes or reads a manifest on every invocation (batch-plan). */
import type { ManifestClients } from '../../handlers/clients.js';
import { createS3Client } from '../sdk/s3-client.js';

export function awsManifestClients(): ManifestClients {
  return { s3: createS3Client() };
}
