/**
 * BatchStore over DynamoDB: `BATCH#<id>` holds `META` (status, counts, request, plan, stats), one
 * `RESULT#<snapshotId>` per snapshot and one `CHUNK#<firstSnapshotId>` per finished chunk (its
 * results folded into a stats accumulator), each written once. The ids themselves live in the
 * manifest object, not in the table. Progress is a counter on META that each chunk adds its count
 * to once, right after its conditional put: one update per chunk (up to 20 results), not per result,
 * so META is never a hot key, and reading the progress (completed, successful, matches) is one
 * GetItem whatever the batch size.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { Batch, BatchChunk, BatchPlan, BatchResult, BatchStore } from '../../core/batch.js';
import type { BatchControlStore, ListBatchesQuery } from '../../core/batch-control.js';
import { GSI1 } from './table-definition.js';
import type { Page } from '../../core/ports.js';
import type { ReplayStats } from '../../core/stats.js';
import { batchGetItems } from './batch-get.js';
import { queryEach, queryPage, type QueryInput } from './paging.js';
import { DynamoStore } from './base-store.js';
import { sealRecord } from '../../core/records.js';
import { auditKeys, contentOf, keys, listKeys } from './keys.js';
import { IDEMPOTENCY_TTL_SECONDS } from '../../core/idempotency.js';

function strip<T>(item: Record<string, unknown>): T {
  return contentOf(item) as T;
}

/**
 * A META item as the batch it records: the chunk counters `successful` and `matches` become the
 * `progress` a running (or failed) batch reports with `completed`; a finished one reports its stats.
 */
function batchOf(item: Record<string, unknown>): Batch {
  const { successful, matches, ...batch } = strip<Batch & { successful?: number; matches?: number }>(item);
  if (batch.status !== 'RUNNING' && batch.status !== 'FAILED') return batch;
  return { ...batch, progress: { completed: batch.completed, successful: successful ?? 0, matches: matches ?? 0 } };
}

export class DynamoBatchStore extends DynamoStore implements BatchStore, BatchControlStore {
  async create(batch: Batch): Promise<boolean> {
    // The GSI1 entry lists it in `GET /batches`, newest first.
    return this.putNew({ ...keys.batchMeta(batch.batchId), ...listKeys.batch(batch.createdAt, batch.batchId), itemType: 'batch', ...batch }, 'batch');
  }

  async get(batchId: string): Promise<Batch | undefined> {
    const res = await this.doc.get({ TableName: this.tableName, Key: keys.batchMeta(batchId), ConsistentRead: true });
    return res.Item ? batchOf(res.Item) : undefined;
  }

  async setPlan(batchId: string, plan: BatchPlan): Promise<void> {
    await this.doc.update({
      TableName: this.tableName,
      Key: keys.batchMeta(batchId),
      UpdateExpression: 'SET #total = :t, manifest = :m, itemsPerChunk = :c',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#total': 'total' },
      ExpressionAttributeValues: { ':t': plan.total, ':m': plan.manifest, ':c': plan.itemsPerChunk },
    });
  }

  async putChunk(chunk: BatchChunk): Promise<boolean> {
    if (!(await this.putNew({ ...keys.batchChunk(chunk.batchId, chunk.chunkId), itemType: 'batch-chunk', ...chunk }, 'batch chunk'))) return false;
    // Only the attempt that stored the chunk counts it. (Should this update be lost, the progress
    // lags by one chunk until Stats sets `completed` from the reconciled count.) A cancelled batch
    // keeps the count its cancel recorded with its statistics: a chunk that was running then and
    // finishes afterwards does not move `completed` away from them.
    try {
      await this.doc.update({
        TableName: this.tableName,
        Key: keys.batchMeta(chunk.batchId),
        UpdateExpression: 'ADD completed :n, successful :s, matches :m',
        ConditionExpression: 'attribute_exists(pk) AND #status <> :cancelled',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':n': chunk.count, ':s': chunk.successful, ':m': chunk.matches, ':cancelled': 'CANCELLED' },
      });
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException) || (await this.get(chunk.batchId)) === undefined) throw err;
    }
    return true;
  }

  forEachChunk(batchId: string, visit: (chunk: BatchChunk) => void): Promise<number> {
    return queryEach(this.doc, this.byPrefix(batchId, keys.batchChunkPrefix), (item) => visit(strip<BatchChunk>(item)));
  }

  async getResult(batchId: string, snapshotId: string): Promise<BatchResult | undefined> {
    const res = await this.doc.get({ TableName: this.tableName, Key: keys.batchResult(batchId, snapshotId), ConsistentRead: true });
    return res.Item ? strip<BatchResult>(res.Item) : undefined;
  }

  /** As {@link getResult} for each snapshot (strongly consistent), in BatchGetItem requests of up to 100. */
  async getResults(batchId: string, snapshotIds: readonly string[]): Promise<Map<string, BatchResult>> {
    const items = await batchGetItems(this.doc, this.tableName, snapshotIds.map((id) => keys.batchResult(batchId, id)), { ConsistentRead: true });
    return new Map(items.map((item) => [String(item.snapshotId), strip<BatchResult>(item)]));
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
      const res = await this.doc.query({ ...this.results(batchId), Select: 'COUNT', ExclusiveStartKey: startKey });
      count += res.Count ?? 0;
      startKey = res.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  /** A batch's result items, read consistently (the stats must see every one). */
  private results(batchId: string): QueryInput {
    return this.byPrefix(batchId, keys.batchResultPrefix);
  }

  private byPrefix(batchId: string, prefix: string): QueryInput {
    return {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': keys.batchMeta(batchId).pk, ':prefix': prefix },
      ConsistentRead: true,
    };
  }

  /** Only while RUNNING: a batch cancelled meanwhile keeps its CANCELLED status and statistics. */
  complete(batchId: string, stats: ReplayStats, completedAt: string): Promise<boolean> {
    return this.endIfRunning(batchId, 'stats = :stats, completed = :n', { ':s': 'SUCCEEDED', ':stats': stats, ':n': stats.totalReplays, ':at': completedAt });
  }

  cancel(batchId: string, stats: ReplayStats, completed: number, completedAt: string): Promise<boolean> {
    return this.endIfRunning(batchId, 'stats = :stats, completed = :n', { ':s': 'CANCELLED', ':stats': stats, ':n': completed, ':at': completedAt });
  }

  /**
   * Sets the batch's end status (`:s`), `completedAt` (`:at`) and `set`, only while it is RUNNING:
   * whichever ending comes first (stats, a failure, a cancel, an abnormal execution end) is the one
   * kept, and a batch that does not exist is not created.
   * False when the batch was no longer RUNNING.
   */
  private async endIfRunning(batchId: string, set: string, values: Record<string, unknown> & { ':s': Batch['status']; ':at': string }): Promise<boolean> {
    try {
      await this.doc.update({
        TableName: this.tableName,
        Key: keys.batchMeta(batchId),
        UpdateExpression: `SET #status = :s, completedAt = :at, ${set}`,
        ConditionExpression: '#status = :running',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ...values, ':running': 'RUNNING' },
      });
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
    if (query.scheduleName !== undefined) {
      filters.push('#scheduleName = :scheduleName');
      names['#scheduleName'] = 'scheduleName';
      values[':scheduleName'] = query.scheduleName;
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
      { limit: query.limit, cursor: query.cursor, binding: `batches:${query.functionName ?? ''}:${query.status ?? ''}:${query.scheduleName ?? ''}` },
      batchOf,
    );
  }

  failIfRunning(batchId: string, reason: string, completedAt: string): Promise<boolean> {
    return this.endIfRunning(batchId, 'failureReason = :r', { ':s': 'FAILED', ':r': reason, ':at': completedAt });
  }

  async claimIdempotencyKey(key: string, requestHash: string, batchId: string, claimedAt: string): Promise<{ claimed: true } | { claimed: false; batchId: string; requestHash: string; claimedAt?: string }> {
    const k = keys.idempotency(`batch:${key}`);
    const put = await this.putNewOrGetExisting({ ...k, itemType: 'idempotency', requestHash, batchId, claimedAt, expiresAt: Math.floor(Date.now() / 1000) + IDEMPOTENCY_TTL_SECONDS }, 'idempotency record');
    if (put.written) return { claimed: true };
    const item = put.existing ?? (await this.doc.get({ TableName: this.tableName, Key: k, ConsistentRead: true })).Item;
    if (!item) return this.claimIdempotencyKey(key, requestHash, batchId, claimedAt);
    return { claimed: false, batchId: String(item.batchId), requestHash: String(item.requestHash), ...(typeof item.claimedAt === 'string' && { claimedAt: item.claimedAt }) };
  }
}
