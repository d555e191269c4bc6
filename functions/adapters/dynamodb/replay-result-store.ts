/**
 * A snapshot's replay history: `SNAP#<id>` / `REPLAY#<createdAt>#<replayId>`, newest first.
 */
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Page } from '../../core/ports.js';
import type { ReplayResult, ReplayResultStore } from '../../core/replay.js';
import { translateWriteError } from './errors.js';
import { keys } from './keys.js';
import { queryUnderSnapshot } from './validation-report-store.js';

export class DynamoReplayResultStore implements ReplayResultStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async put(result: ReplayResult): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...keys.replay(result.snapshotId, result.createdAt, result.replayId), itemType: 'replay', ...result },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      throw translateWriteError(err, 'replay result');
    }
  }

  listForSnapshot(snapshotId: string, limit: number, cursor?: string): Promise<Page<ReplayResult>> {
    return queryUnderSnapshot<ReplayResult>(this.doc, this.tableName, snapshotId, keys.replayPrefix, `replays:${snapshotId}`, limit, cursor);
  }
}
