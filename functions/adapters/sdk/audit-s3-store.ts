/** The audit digest store over S3, with its client: loaded on first use by the audit API (see ../aws/audit-clients-on-first-use.ts). */
import { S3Client } from '@aws-sdk/client-s3';
import { S3AuditStore } from '../audit/s3-audit-store.js';
import { traced } from '../aws/tracer.js';

export const createS3AuditStore = (bucket: string): S3AuditStore => new S3AuditStore(traced(new S3Client({})), bucket);
