/**
 * Which table stream records the on-write consumer handles: INSERTs of snapshot items. Defined once
 * for the three places that decide it — the CDK event source filter (lib/triggers.ts), the
 * consumer's own guard (api/stream-consumer.ts) and the local host's stream tap (local/stream.ts).
 */
import { keys } from './keys.js';
import { TABLE_KEYS } from './table-definition.js';

/** The stream event name, and the sort-key attribute and value, of a snapshot insert. */
export const SNAPSHOT_INSERT = {
  eventName: 'INSERT',
  sortKeyAttribute: TABLE_KEYS.sortKey,
  sortKey: keys.snapshot('-').sk,
} as const;

/** True for a marshalled item that is a snapshot. */
export function isSnapshotItem(item: unknown): boolean {
  if (typeof item !== 'object' || item === null) return false;
  const sortKey = (item as Record<string, { S?: unknown } | undefined>)[SNAPSHOT_INSERT.sortKeyAttribute];
  return sortKey?.S === SNAPSHOT_INSERT.sortKey;
}

/** True for a stream record that inserts a snapshot. */
export function isSnapshotInsert(record: { eventName?: string | undefined; dynamodb?: { NewImage?: unknown } | undefined }): boolean {
  return record.eventName === SNAPSHOT_INSERT.eventName && isSnapshotItem(record.dynamodb?.NewImage);
}
