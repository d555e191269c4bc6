/** The digest signer over KMS, with its client: loaded on first use by the audit API (see ../aws/audit-clients-on-first-use.ts). */
import { KMSClient } from '@aws-sdk/client-kms';
import { KmsDigestSigner } from '../audit/kms-signer.js';
import { traced } from '../aws/tracer.js';

export const createKmsDigestSigner = (keyId: string): KmsDigestSigner => new KmsDigestSigner(traced(new KMSClient({})), keyId);
