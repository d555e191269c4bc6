/**
 * Item keys. One table holds every item type (DESIGN §3):
 *
 * | item              | pk                     | sk                                  |
 * |-------------------|------------------------|-------------------------------------|
 * | snapshot          | SNAP#<id>              | SNAP                                |
 * | replay result     | SNAP#<id>              | REPLAY#<createdAt>#<replayId>       |
 * | validation report | SNAP#<id>              | VALIDATION#<createdAt>#<reportId>   |
 * | policy            | POLICY#<name>          | V#<version, 10 digits> and LATEST   |
 * | executor config   | FN#<functionName>      | EXECUTOR                            |
 * | noise profile     | NOISE#<functionName>   | V#<version, 10 digits> and LATEST   |
 * | batch             | BATCH#<id>             | META / RESULT#<snapshotId> / CHUNK#<firstSnapshotId> |
 * | comparison        | COMPARISON#<id>        | COMPARISON                          |
 * | idempotency       | IDEMP#<key>            | IDEMP                               |
 * | audit chain head  | AUDIT#HEAD             | HEAD                                |
 * | on-write claim    | ONWRITE#<snapshotId>   | VALIDATION#<reportId>               |
 * | event published   | PUBLISHED#<snapshotId> | VALIDATION#<reportId>               |
 *
 * GSI1 (`gsi1pk`/`gsi1sk`): `FN#<functionName>` / `<createdAt>#<id>` on snapshots; sparse entries
 * list policies (`POLICIES` / name) and batches (`BATCHES` / `<createdAt>#<batchId>`).
 * GSI2 (`gsi2pk`/`gsi2sk`): `IN#<functionName>#<inputsHash>` / `<createdAt>#<id>` on snapshots.
 * GSI3 (`auditpk`/`auditsk`): `AUDIT#<shard>` / `<createdAt>#<kind>#<id>` on every immutable record
 * (snapshot, replay result, validation report, batch result, policy version — not its LATEST copy), written in the record's own put: the
 * audit digester finds a window's records with a range query per shard, adding no request to the
 * write path. The index entry itself is DynamoDB's work: asynchronous on AWS, but dynalite does it
 * inside the PutItem (~45–90 µs a write measured, whatever the key's length; see the audit section
 * of bench/README.md). The 16 shards spread a busy window's writes over 16 index partitions.
 */
import type { RecordLocator } from '../../core/audit/ports.js';
import { policyRecordId } from '../../core/records.js';

export const keys = {
  snapshot: (id: string) => ({ pk: `SNAP#${id}`, sk: 'SNAP' }),
  snapshotGsi1: (functionName: string, createdAt: string, id: string) => ({ gsi1pk: `FN#${functionName}`, gsi1sk: `${createdAt}#${id}` }),
  snapshotGsi2: (functionName: string, inputsHash: string, createdAt: string, id: string) => ({ gsi2pk: `IN#${functionName}#${inputsHash}`, gsi2sk: `${createdAt}#${id}` }),
  replay: (snapshotId: string, createdAt: string, replayId: string) => ({ pk: `SNAP#${snapshotId}`, sk: `REPLAY#${createdAt}#${replayId}` }),
  replayPrefix: 'REPLAY#',
  validationPrefix: 'VALIDATION#',
  policyVersion: (name: string, version: number) => ({ pk: `POLICY#${name}`, sk: `V#${String(version).padStart(10, '0')}` }),
  policyLatest: (name: string) => ({ pk: `POLICY#${name}`, sk: 'LATEST' }),
  executor: (functionName: string) => ({ pk: `FN#${functionName}`, sk: 'EXECUTOR' }),
  noiseProfileVersion: (functionName: string, version: number) => ({ pk: `NOISE#${functionName}`, sk: `V#${String(version).padStart(10, '0')}` }),
  noiseProfileLatest: (functionName: string) => ({ pk: `NOISE#${functionName}`, sk: 'LATEST' }),
  batchMeta: (batchId: string) => ({ pk: `BATCH#${batchId}`, sk: 'META' }),
  batchResult: (batchId: string, snapshotId: string) => ({ pk: `BATCH#${batchId}`, sk: `RESULT#${snapshotId}` }),
  batchResultPrefix: 'RESULT#',
  batchChunk: (batchId: string, chunkId: string) => ({ pk: `BATCH#${batchId}`, sk: `CHUNK#${chunkId}` }),
  batchChunkPrefix: 'CHUNK#',
  comparison: (comparisonId: string) => ({ pk: `COMPARISON#${comparisonId}`, sk: 'COMPARISON' }),
  idempotency: (key: string) => ({ pk: `IDEMP#${key}`, sk: 'IDEMP' }),
  /** The audit chain head: the newest window the digester sealed (core/audit/ports.ts ChainHead). */
  auditChainHead: () => ({ pk: 'AUDIT#HEAD', sk: 'HEAD' }),
  auditChainHeadPrefix: 'AUDIT#HEAD',
  /** Marks that a validation report's PolicyViolation event went out (kept apart: reports are never updated). */
  eventPublished: (snapshotId: string, reportId: string) => ({ pk: `PUBLISHED#${snapshotId}`, sk: `${keys.validationPrefix}${reportId}` }),
  /**
   * Claims an on-write report's id for one report (written first, conditionally): the report is
   * keyed by the time it is written, so a redelivered stream record finds the first one here.
   */
  onWriteClaim: (snapshotId: string, reportId: string) => ({ pk: `ONWRITE#${snapshotId}`, sk: `${keys.validationPrefix}${reportId}` }),
} as const;

/** Where version `version` of policy `name` is stored, as the audit record sources read it (core/audit/policy-pins.ts). */
export function policyVersionLocator(name: string, version: number): RecordLocator {
  return { kind: 'policy', id: policyRecordId(name, version), ...keys.policyVersion(name, version) };
}

/** Partitions of the audit index (GSI3). */
export const AUDIT_SHARDS = 16;

/** The audit index shard of a record id: a cheap, stable spread (FNV-1a), not a security property. */
export function auditShard(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % AUDIT_SHARDS;
}

/** The audit index keys of an immutable record (see GSI3 above). */
export function auditKeys(kind: string, id: string, createdAt: string) {
  return { auditpk: `AUDIT#${auditShard(id).toString(16)}`, auditsk: `${createdAt}#${kind}#${id}` };
}

/** Attributes of an item that are keys or bookkeeping, not part of the record's content. */
export const NON_CONTENT_ATTRIBUTES: ReadonlySet<string> = new Set(['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'auditpk', 'auditsk', 'itemType', 'expiresAt']);

/** The record an item holds: everything but its keys and bookkeeping attributes. */
export function contentOf(item: Record<string, unknown>): Record<string, unknown> {
  const content: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!NON_CONTENT_ATTRIBUTES.has(k)) content[k] = v;
  return content;
}

/** Sparse GSI1 entries that list things other than snapshots (GSI1 is projected ALL). */
export const listKeys = {
  /** On each policy's LATEST item: lists every policy by name. */
  policy: (name: string) => ({ gsi1pk: 'POLICIES', gsi1sk: name }),
  policyPartition: 'POLICIES',
  /** On each batch's META item: lists every batch, newest first (`GET /batches`). */
  batch: (createdAt: string, batchId: string) => ({ gsi1pk: 'BATCHES', gsi1sk: `${createdAt}#${batchId}` }),
  batchPartition: 'BATCHES',
} as const;
