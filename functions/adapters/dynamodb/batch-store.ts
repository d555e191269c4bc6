/**
 * BatchStore over DynamoDB: `BATCH#<id>` holds `META` (status, counts, request, stats), `IDS` (the
 * snapshot ids, kept apart so reading the status stays small) and one `RESULT#<snapshotId>` per
 * snapshot, written once. Progress is counted from the RESULT items when asked for (a Query with
 * Select COUNT) rather than kept as a counter on META: a counter would make every one of up to
 * 1,000 concurrent items write the same item, a hot key that DynamoDB throttles.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Batch, BatchResult, BatchStore } from '../../core/batch.js';
import type { BatchControlStore, BatchProgress, ListBatchesQuery } from '../../core/batch-control.js';
import { GSI1 } from './table-definition.js';
import type { Page } from '../../core/ports.js';
import type { ReplayStats } from '../../core/stats.js';
import { queryEach, queryPage, type QueryInput } from './paging.js';
import { DynamoStore, type TableItem } from './base-store.js';
import { translateWriteError } from './errors.js';
import { sealRecord } from '../../core/records.js';
import { auditKeys, contentOf, keys, listKeys } from './keys.js';
import { IDEMPOTENCY_TTL_SECONDS } from '../../core/idempotency.js';

function strip<T>(item: Record<string, unknown>): T {
  return contentOf(item) as T;
}

export class DynamoBatchStore extends DynamoStore implements BatchStore, BatchControlStore {
  async create(batch: Batch, snapshotIds: readonly string[]): Promise<boolean> {
    const pk = keys.batchMeta(batch.batchId).pk;
    const ids: TableItem = { pk, sk: 'IDS', itemType: 'batch-ids', snapshotIds };
    // The ids first: a META without its IDS would be a batch Plan cannot run. Written only if
    // absent, so a refused create never replaces a recorded batch's ids; ids left by a create
    // that was interrupted before its META are replaced.
    if (!(await this.putNew(ids, 'batch'))) {
      if (await this.get(batch.batchId)) return false;
      try {
        await this.doc.send(new PutCommand({ TableName: this.tableName, Item: ids }));
      } catch (err) {
        throw translateWriteError(err, 'batch');
      }
    }
    // The GSI1 entry lists it in `GET /batches`, newest first.
    return this.putNew({ ...keys.batchMeta(batch.batchId), ...listKeys.batch(batch.createdAt, batch.batchId), itemType: 'batch', ...batch }, 'batch');
  }

  async get(batchId: string): Promise<Batch | undefined> {
    const res = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.batchMeta(batchId), ConsistentRead: true }));
    return res.Item ? strip<Batch>(res.Item) : undefined;
  }

  async getSnapshotIds(batchId: string): Promise<string[]> {
    const res = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: keys.batchMeta(batchId).pk, sk: 'IDS' }, ConsistentRead: true }));
    const ids = res.Item?.snapshotIds;
    return Array.isArray(ids) ? (ids as string[]) : [];
  }

  async getResult(batchId: string, snapshotId: string): Promise<BatchResult | undefined> {
    const res = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.batchResult(batchId, snapshotId), ConsistentRead: true }));
    return res.Item ? strip<BatchResult>(res.Item) : undefined;
  }

  async putResult(result: BatchResult): Promise<boolean> {
    return this.putNew({ ...keys.batchResult(result.batchId, result.snapshotId), ...auditKeys('batch-result', `${result.batchId}/${result.snapshotId}`, result.createdAt), itemType: 'batch-result', ...sealRecord(result) }, 'batch result');
  }

  listResults(batchId: string, limit: number, cursor?: string): Promise<Page<BatchResult>> {
    return queryPage(this.doc, this.results(batchId), { limit, cursor, binding: `batch-results:${batchId}` }, strip<BatchResult>);
  }

  forEachResult(batchId: string, visit: (result: BatchResult) => void): Promise<number> {
    return queryEach(this.doc, this.results(batchId), (item) => visit(strip<BatchResult>(item)));
  }

  async countResults(batchId: string): Promise<number> {
    let count = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const res = await this.doc.send(new QueryCommand({ ...this.results(batchId), Select: 'COUNT', ExclusiveStartKey: startKey }));
      count += res.Count ?? 0;
      startKey = res.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  /** A batch's result items, read consistently (the stats must see every one). */
  private results(batchId: string): QueryInput {
    return {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': keys.batchMeta(batchId).pk, ':prefix': keys.batchResultPrefix },
      ConsistentRead: true,
    };
  }

  /** Only while RUNNING: a batch cancelled meanwhile keeps its CANCELLED status and statistics. */
  async complete(batchId: string, stats: ReplayStats, completedAt: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.batchMeta(batchId),
          UpdateExpression: 'SET #status = :s, stats = :stats, completedAt = :at, completed = :n',
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':s': 'SUCCEEDED', ':stats': stats, ':at': completedAt, ':n': stats.totalReplays, ':running': 'RUNNING' },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  /**
   * The running counts of a batch, in one pass over its result items (the same reads as counting
   * them, with only two small attributes returned).
   */
  async progress(batchId: string): Promise<BatchProgress> {
    const progress: BatchProgress = { completed: 0, successful: 0, matches: 0 };
    let startKey: Record<string, unknown> | undefined;
    do {
      const res = await this.doc.send(new QueryCommand({ ...this.results(batchId), ProjectionExpression: '#status, outputsMatch', ExpressionAttributeNames: { '#status': 'status' }, ExclusiveStartKey: startKey }));
      for (const item of res.Items ?? []) {
        progress.completed += 1;
        if (item.status !== 'Error') {
          progress.successful += 1;
          if (item.outputsMatch === true) progress.matches += 1;
        }
      }
      startKey = res.LastEvaluatedKey;
    } while (startKey);
    return progress;
  }

  async cancel(batchId: string, stats: ReplayStats, completed: number, completedAt: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.batchMeta(batchId),
          UpdateExpression: 'SET #status = :s, stats = :stats, completedAt = :at, completed = :n',
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':s': 'CANCELLED', ':stats': stats, ':at': completedAt, ':n': completed, ':running': 'RUNNING' },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /**
   * A Query of the batches' GSI1 partition, newest first. The function and status filters are
   * filter expressions on it: batches are few (runs, not decisions), and a page still holds up
   * to `limit` matches (queryPage reads on until it does).
   */
  list(query: ListBatchesQuery & { limit: number; cursor?: string | undefined }): Promise<Page<Batch>> {
    const filters: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':pk': listKeys.batchPartition };
    if (query.functionName !== undefined) {
      filters.push('#request.#selector.#fn = :fn');
      Object.assign(names, { '#request': 'request', '#selector': 'selector', '#fn': 'functionName' });
      values[':fn'] = query.functionName;
    }
    if (query.status !== undefined) {
      filters.push('#status = :status');
      names['#status'] = 'status';
      values[':status'] = query.status;
    }
    return queryPage(
      this.doc,
      {
        TableName: this.tableName,
        IndexName: GSI1.indexName,
        KeyConditionExpression: 'gsi1pk = :pk',
        ScanIndexForward: false,
        ExpressionAttributeValues: values,
        ...(filters.length > 0 && { FilterExpression: filters.join(' AND '), ExpressionAttributeNames: names }),
      },
      { limit: query.limit, cursor: query.cursor, binding: `batches:${query.functionName ?? ''}:${query.status ?? ''}` },
      strip<Batch>,
    );
  }

  async fail(batchId: string, reason: string, completedAt: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.batchMeta(batchId),
        UpdateExpression: 'SET #status = :s, failureReason = :r, completedAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':s': 'FAILED', ':r': reason, ':at': completedAt },
      }),
    );
  }

  async failIfRunning(batchId: string, reason: string, completedAt: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.batchMeta(batchId),
          UpdateExpression: 'SET #status = :s, failureReason = :r, completedAt = :at',
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':s': 'FAILED', ':r': reason, ':at': completedAt, ':running': 'RUNNING' },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async claimIdempotencyKey(key: string, requestHash: string, batchId: string): Promise<{ claimed: true } | { claimed: false; batchId: string; requestHash: string }> {
    const k = keys.idempotency(`batch:${key}`);
    const put = await this.putNewOrGetExisting({ ...k, itemType: 'idempotency', requestHash, batchId, expiresAt: Math.floor(Date.now() / 1000) + IDEMPOTENCY_TTL_SECONDS }, 'idempotency record');
    if (put.written) return { claimed: true };
    const item = put.existing ?? (await this.doc.send(new GetCommand({ TableName: this.tableName, Key: k, ConsistentRead: true }))).Item;
    if (!item) return this.claimIdempotencyKey(key, requestHash, batchId);
    return { claimed: false, batchId: String(item.batchId), requestHash: String(item.requestHash) };
  }
}
