/**
 * A snapshot's replay history: `SNAP#<id>` / `REPLAY#<createdAt>#<replayId>`, newest first.
 */
import type { Page } from '../../core/ports.js';
import { PayloadTooLargeError } from '../../core/errors.js';
import { COMPACT_LIST_LIMIT, compactReplayResult, type ReplayResult, type ReplayResultStore } from '../../core/replay.js';
import { itemSize, MAX_ITEM_BYTES } from './item-size.js';
import { DynamoStore, type TableItem } from './base-store.js';
import { sealRecord } from '../../core/records.js';
import { auditKeys, keys } from './keys.js';
import { queryUnderSnapshot } from './validation-report-store.js';

export class DynamoReplayResultStore extends DynamoStore implements ReplayResultStore {
  /**
   * Stores the result, sealed with the contentHash of exactly what is stored; one too large for an
   * item is stored compacted (see compactReplayResult) and sealed as compacted.
   */
  async put(result: ReplayResult, options: { sortAt?: string } = {}): Promise<boolean> {
    const key = { ...keys.replay(result.snapshotId, options.sortAt ?? result.createdAt, result.replayId), ...auditKeys('replay', result.replayId, result.createdAt), itemType: 'replay' as const };
    let item: TableItem = { ...key, ...sealRecord(result) };
    for (const level of [1, 2, 3] as const) {
      if (itemSize(item) <= MAX_ITEM_BYTES) break;
      item = { ...key, ...sealRecord(compactReplayResult(result, level)) };
    }
    // Refused here, with its size, rather than by DynamoDB (whose refusal names no size).
    const size = itemSize(item);
    if (size > MAX_ITEM_BYTES) {
      throw new PayloadTooLargeError(
        `replay result is ${size} bytes even compacted (without compared values and replayOutputs, with at most ${COMPACT_LIST_LIMIT} field comparisons and ${COMPACT_LIST_LIMIT} diff changes); one DynamoDB item holds ${MAX_ITEM_BYTES} bytes (400 KB), so it was not stored`,
        MAX_ITEM_BYTES,
        size,
      );
    }
    return this.putNew(item, 'replay result');
  }

  listForSnapshot(snapshotId: string, limit: number, cursor?: string): Promise<Page<ReplayResult>> {
    return queryUnderSnapshot<ReplayResult>(this.doc, this.tableName, snapshotId, keys.replayPrefix, `replays:${snapshotId}`, limit, cursor);
  }
}
