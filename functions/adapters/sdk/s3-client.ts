/**
 * The S3 client of a function that uses it on some requests only (batches: a manifest is written
 * when a batch is started from listed ids), loaded on first use; see lambda-client.ts for why each
 * client has a module of its own.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { traced } from '../aws/tracer.js';

export const createS3Client = (): S3Client => traced(new S3Client({}));
