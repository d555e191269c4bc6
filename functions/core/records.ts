/**
 * The immutable records of the system and their content hashes. Snapshots, replay results,
 * validation reports, batch results and policy versions are each written once and carry a
 * `contentHash`: SHA-256
 * hex over the RFC 8785 (JCS) canonical JSON of the record as stored and returned, minus the
 * `contentHash` field itself — the rule snapshots have always followed (DESIGN §3), so any JCS
 * implementation and `sha256sum` can check any record without this code.
 */
import { canonicalHash } from './json.js';
import { storableNumbers } from './storable.js';

/** The kinds of immutable record the audit digests cover. */
export const RECORD_KINDS = ['snapshot', 'replay', 'validation', 'batch-result', 'policy'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export function isRecordKind(value: unknown): value is RecordKind {
  return typeof value === 'string' && (RECORD_KINDS as readonly string[]).includes(value);
}

/** The content hash of a record: SHA-256 of its canonical JSON without `contentHash`. */
export function recordContentHash(content: object): string {
  const { contentHash: _ignored, ...rest } = content as Record<string, unknown>;
  return canonicalHash(rest);
}

/**
 * The record with its `contentHash` (re)computed over everything else it holds. Every number in it
 * is made storable first (storable.ts: the nearest value DynamoDB can keep), so the record answered,
 * the record stored and the hash over it agree, and no computed score can make the write fail.
 */
export function sealRecord<T extends object>(content: T): T & { contentHash: string } {
  const { contentHash: _ignored, ...rest } = storableNumbers(content) as T & { contentHash?: string };
  return { ...(rest as T), contentHash: canonicalHash(rest) };
}

/** True when a record's stored `contentHash` matches its content. */
export function hasIntactHash(content: object): boolean {
  const stored = (content as { contentHash?: unknown }).contentHash;
  return typeof stored === 'string' && stored === recordContentHash(content);
}

/**
 * A record's id within its kind, as digests name it: the snapshot id, the replay id, the report id,
 * `<batchId>/<snapshotId>` for a batch result (a batch holds one result per snapshot), or
 * `<name>/<version>` for a policy version (a policy name never holds a `/`).
 */
export function recordId(kind: RecordKind, content: Record<string, unknown>): string {
  const field = (name: string): string => {
    const v = content[name];
    return typeof v === 'string' ? v : '';
  };
  switch (kind) {
    case 'snapshot':
      return field('snapshotId');
    case 'replay':
      return field('replayId');
    case 'validation':
      return field('reportId');
    case 'batch-result':
      return `${field('batchId')}/${field('snapshotId')}`;
    case 'policy':
      return policyRecordId(field('name'), typeof content.version === 'number' ? content.version : Number.NaN);
  }
}

/**
 * The function a record belongs to, when its content says: its `functionName`, or for a batch
 * result the function of the snapshot it replayed (`original.functionName`; absent on results
 * whose snapshot could not be read, and on results written before it was kept). Digests name it
 * with each record, and `verify --function` / `export --function` select by it.
 */
export function recordFunctionName(content: Record<string, unknown>): string | undefined {
  if (typeof content.functionName === 'string') return content.functionName;
  const original = content.original;
  if (typeof original === 'object' && original !== null && !Array.isArray(original)) {
    const fn = (original as Record<string, unknown>).functionName;
    if (typeof fn === 'string') return fn;
  }
  return undefined;
}

/** The record id of version `version` of policy `name`, as digests name it. */
export function policyRecordId(name: string, version: number): string {
  return `${name}/${Number.isInteger(version) ? String(version) : ''}`;
}
