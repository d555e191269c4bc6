/**
 * SnapshotStore over DynamoDB (lib-dynamodb). Snapshot attributes are stored as native maps and
 * lists under their own names, next to the keys, so any DynamoDB tool can read them.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { PayloadTooLargeError } from '../../core/errors.js';
import type { IdempotencyRecord, Page, SnapshotIdIndex, SnapshotQuery, SnapshotStore } from '../../core/ports.js';
import type { Snapshot } from '../../core/snapshot.js';
import { itemSize, MAX_ITEM_BYTES } from './item-size.js';
import { queryPage } from './paging.js';
import { auditKeys, contentOf, keys } from './keys.js';
import { GSI1, GSI2 } from './table-definition.js';
import { DynamoStore, type TableItem } from './base-store.js';
import { IDEMPOTENCY_TTL_SECONDS } from '../../core/idempotency.js';


export class DynamoSnapshotStore extends DynamoStore implements SnapshotStore, SnapshotIdIndex {
  /** The item of each snapshot being recorded: built once for its size check and its write. */
  private readonly items = new WeakMap<Snapshot, TableItem>();

  private itemOf(snapshot: Snapshot): TableItem {
    let item = this.items.get(snapshot);
    if (item === undefined) {
      item = DynamoSnapshotStore.toItem(snapshot);
      this.items.set(snapshot, item);
    }
    return item;
  }

  /** The item written for a snapshot: keys, index keys and the snapshot's own attributes. */
  static toItem(snapshot: Snapshot): TableItem {
    return {
      ...keys.snapshot(snapshot.snapshotId),
      ...keys.snapshotGsi1(snapshot.functionName, snapshot.createdAt, snapshot.snapshotId),
      ...keys.snapshotGsi2(snapshot.functionName, snapshot.inputsHash, snapshot.createdAt, snapshot.snapshotId),
      ...auditKeys('snapshot', snapshot.snapshotId, snapshot.createdAt),
      itemType: 'snapshot',
      ...snapshot,
    };
  }

  /** The snapshot held by an item: everything but the keys. */
  static fromItem(item: Record<string, unknown>): Snapshot {
    return contentOf(item) as unknown as Snapshot;
  }

  assertStorable(snapshot: Snapshot): void {
    const size = itemSize(this.itemOf(snapshot));
    if (size > MAX_ITEM_BYTES) {
      throw new PayloadTooLargeError(
        `snapshot is ${size} bytes as a DynamoDB item; the limit is ${MAX_ITEM_BYTES} bytes (400 KB). Store large payloads elsewhere and record a reference.`,
        MAX_ITEM_BYTES,
        size,
      );
    }
  }

  async putIfAbsent(snapshot: Snapshot): Promise<boolean> {
    return this.putNew(this.itemOf(snapshot), 'snapshot');
  }

  async get(snapshotId: string): Promise<Snapshot | undefined> {
    const res = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: keys.snapshot(snapshotId), ConsistentRead: true }));
    return res.Item ? DynamoSnapshotStore.fromItem(res.Item) : undefined;
  }

  async list(query: SnapshotQuery): Promise<Page<Snapshot>> {
    return queryPage(this.doc, this.byFunction(query), { limit: query.limit, cursor: query.cursor, binding: `snapshots:${query.functionName}:${query.from ?? ''}:${query.to ?? ''}:${query.order ?? 'asc'}` }, DynamoSnapshotStore.fromItem);
  }

  /** As {@link list}, returning only the ids: the index is read the same, but only `snapshotId` comes back. */
  async listIds(query: SnapshotQuery): Promise<Page<string>> {
    return queryPage(
      this.doc,
      { ...this.byFunction(query), ProjectionExpression: 'snapshotId' },
      { limit: query.limit, cursor: query.cursor, binding: `snapshot-ids:${query.functionName}:${query.from ?? ''}:${query.to ?? ''}:${query.order ?? 'asc'}` },
      (item) => String(item.snapshotId),
    );
  }

  /** GSI1: one function's snapshots between two instants, inclusive. */
  private byFunction(query: SnapshotQuery) {
    return {
      TableName: this.tableName,
      IndexName: GSI1.indexName,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
      ExpressionAttributeNames: { '#pk': GSI1.partitionKey, '#sk': GSI1.sortKey },
      ExpressionAttributeValues: { ':pk': keys.snapshotGsi1(query.functionName, '', '').gsi1pk, ':lo': query.from ?? '', ':hi': `${query.to ?? '9999'}#\uffff` },
      ScanIndexForward: query.order !== 'desc',
    };
  }

  async findPreviousWithSameInputs(snapshot: Snapshot): Promise<Snapshot | undefined> {
    const k = keys.snapshotGsi2(snapshot.functionName, snapshot.inputsHash, snapshot.createdAt, snapshot.snapshotId);
    const res = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: GSI2.indexName,
        KeyConditionExpression: '#pk = :pk AND #sk < :sk',
        ExpressionAttributeNames: { '#pk': GSI2.partitionKey, '#sk': GSI2.sortKey },
        ExpressionAttributeValues: { ':pk': k.gsi2pk, ':sk': k.gsi2sk },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    const hit = res.Items?.[0];
    if (!hit || typeof hit.pk !== 'string') return undefined;
    return this.get(hit.pk.slice('SNAP#'.length));
  }

  async claimIdempotencyKey(record: IdempotencyRecord): Promise<{ claimed: true } | { claimed: false; existing: IdempotencyRecord }> {
    const key = keys.idempotency(record.key);
    const expiresAt = Math.floor(Date.parse(record.createdAt) / 1000) + IDEMPOTENCY_TTL_SECONDS;
    const put = await this.putNewOrGetExisting({ ...key, itemType: 'idempotency', ...record, expiresAt }, 'idempotency record');
    if (put.written) return { claimed: true };
    const item = put.existing ?? (await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }))).Item;
    if (!item) return this.claimIdempotencyKey(record); // expired and deleted in between: claim again
    return {
      claimed: false,
      existing: { key: record.key, requestHash: String(item.requestHash), snapshotId: String(item.snapshotId), createdAt: String(item.createdAt) },
    };
  }

  async releaseIdempotencyKey(record: IdempotencyRecord): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.idempotency(record.key),
          ConditionExpression: '#sid = :sid',
          ExpressionAttributeNames: { '#sid': 'snapshotId' },
          ExpressionAttributeValues: { ':sid': record.snapshotId },
        }),
      );
    } catch (err) {
      // Already gone, or claimed since by another request: nothing of ours to give back.
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
}
