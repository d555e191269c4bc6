/**
 * The audit API's digest store (S3) and signer (KMS), each loaded with the first request that needs
 * it: GET /audit/public-key needs KMS only, the digest and manifest reads S3 only, a verification
 * both. Most of a cold start's bytes would otherwise be clients a request may not use. The
 * digester, which seals with both on every run, takes the eager ./audit-clients.ts. No static
 * import of either client here: a module that imports one keeps it in what a cold start loads.
 */
import type { AuditClients } from '../../handlers/clients.js';
import { onFirstUse } from '../../core/on-first-use.js';
import { awsTableClients } from './table-clients.js';

export function awsAuditClientsOnFirstUse(): AuditClients {
  return {
    ...awsTableClients(),
    auditStore: (bucket) => {
      const store = onFirstUse(async () => (await import('../sdk/audit-s3-store.js')).createS3AuditStore(bucket));
      return {
        putDigest: async (windowStart, parts) => (await store()).putDigest(windowStart, parts),
        getObject: async (name) => (await store()).getObject(name),
        getObjectRange: async (name, start, end) => (await store()).getObjectRange(name, start, end),
        listDigests: async (from, to) => (await store()).listDigests(from, to),
        latestDigest: async () => (await store()).latestDigest(),
      };
    },
    digestSigner: (keyId) => {
      const signer = onFirstUse(async () => (await import('../sdk/audit-kms-signer.js')).createKmsDigestSigner(keyId));
      return {
        sign: async (bytes) => (await signer()).sign(bytes),
        publicKeyPem: async () => (await signer()).publicKeyPem(),
      };
    },
  };
}
