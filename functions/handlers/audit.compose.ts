/** The audit Lambda: the public key, the digests and manifests, and verification of a range. */
import { DynamoChainHead } from '../adapters/dynamodb/audit-chain-head.js';
import { DynamoAuditRecordSource } from '../adapters/dynamodb/audit-record-source.js';
import { policyVersionLocator } from '../adapters/dynamodb/keys.js';
import { auditRoutes } from '../api/audit-routes.js';
import type { LambdaConfig } from '../config.js';
import { makeHttpHandler } from '../http/api.js';
import { withMetricsPublished, type AuditClients } from './clients.js';

export function compose(config: LambdaConfig<'audit'>, clients: AuditClients) {
  return withMetricsPublished(clients.telemetry, makeHttpHandler(
    auditRoutes({
      records: new DynamoAuditRecordSource(clients.doc, config.TABLE_NAME),
      store: clients.auditStore(config.AUDIT_BUCKET),
      head: new DynamoChainHead(clients.doc, config.TABLE_NAME),
      signer: clients.digestSigner(config.AUDIT_KEY_ID),
      clock: clients.clock,
      intervalMs: config.DIGEST_INTERVAL_MINUTES * 60_000,
      policyLocator: policyVersionLocator,
    }),
    clients.logger,
  ));
}
