/**
 * The digester: on each scheduled run, seals every closed window of records in a signed digest.
 * Runs that overlap are harmless: a window's digest is written only if absent, and the chain head
 * (a table item) moves only conditionally. A run that finds digests removed from the store fails,
 * logging why at error level, and keeps failing until they are restored.
 */
import { DynamoChainHead } from '../adapters/dynamodb/audit-chain-head.js';
import { DynamoAuditRecordSource } from '../adapters/dynamodb/audit-record-source.js';
import type { LambdaConfig } from '../config.js';
import { sealClosedWindows } from '../core/audit/service.js';
import { withMetricsPublished, type AuditClients } from './clients.js';

export function compose(config: LambdaConfig<'digester'>, clients: AuditClients) {
  const deps = {
    records: new DynamoAuditRecordSource(clients.doc, config.TABLE_NAME),
    store: clients.auditStore(config.AUDIT_BUCKET),
    head: new DynamoChainHead(clients.doc, config.TABLE_NAME),
    signer: clients.digestSigner(config.AUDIT_KEY_ID),
    clock: clients.clock,
    intervalMs: config.DIGEST_INTERVAL_MINUTES * 60_000,
    log: (message: string) => clients.logger.info(message),
    alarm: (message: string) => clients.logger.error(message),
  };
  return withMetricsPublished(clients.telemetry, async (): Promise<{ sealed: Array<{ windowStart: string; recordCount: number; lateCount: number }> }> => {
    const digests = await sealClosedWindows(deps);
    return { sealed: digests.map((d) => ({ windowStart: d.windowStart, recordCount: d.recordCount, lateCount: d.lateCount })) };
  });
}
