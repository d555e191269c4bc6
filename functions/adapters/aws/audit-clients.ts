/** The AWS side of the audit seal: digests in S3, signatures by KMS. */
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import type { AuditClients } from '../../handlers/clients.js';
import { KmsDigestSigner } from '../audit/kms-signer.js';
import { S3AuditStore } from '../audit/s3-audit-store.js';
import { awsTableClients } from './table-clients.js';
import { traced } from './tracer.js';

export function awsAuditClients(): AuditClients {
  const s3 = traced(new S3Client({}));
  const kms = traced(new KMSClient({}));
  return { ...awsTableClients(), auditStore: (bucket) => new S3AuditStore(s3, bucket), digestSigner: (keyId) => new KmsDigestSigner(kms, keyId) };
}
