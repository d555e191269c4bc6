/**
 * SnapshotStore over DynamoDB (the document layer, document-client.ts). Snapshot attributes are stored as native maps and
 * lists under their own names, next to the keys, so any DynamoDB tool can read them.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PayloadTooLargeError } from '../../core/errors.js';
import type { IdempotencyRecord, Page, SnapshotIdIndex, SnapshotQuery, SnapshotStore } from '../../core/ports.js';
import type { Snapshot } from '../../core/snapshot.js';
import { itemSize, MAX_ITEM_BYTES } from './item-size.js';
import { batchGetItems } from './batch-get.js';
import { queryPage } from './paging.js';
import { auditKeys, contentOf, keys } from './keys.js';
import { GSI1, GSI1K, GSI2, type IndexDefinition } from './table-definition.js';
import { DynamoStore, type TableItem } from './base-store.js';
import { IDEMPOTENCY_TTL_SECONDS } from '../../core/idempotency.js';

/** How long a store keeps to GSI1 after GSI1K answered that it cannot be read (a backfill takes minutes to hours). */
const KEYS_INDEX_RETRY_MS = 60_000;

const idOfKey = (item: Record<string, unknown>) => String(item.pk).slice('SNAP#'.length);

/**
 * DynamoDB's answer to a Query of an index that does not exist (yet) or is still backfilling: a
 * ValidationException naming the index ("The table does not have the specified index: GSI1K",
 * "Cannot read from backfilling global secondary index: GSI1K"). The SDK gives no finer type.
 */
function isUnreadableIndex(err: unknown, indexName: string): boolean {
  return err instanceof Error && err.name === 'ValidationException' && err.message.includes(indexName) && /specified index|backfilling/i.test(err.message);
}

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
    const { snapshotId, functionName, createdAt, inputsHash } = snapshot;
    const key = keys.snapshot(snapshotId);
    const gsi1 = keys.snapshotGsi1(functionName, createdAt, snapshotId);
    const gsi2 = keys.snapshotGsi2(functionName, inputsHash, createdAt, snapshotId);
    const audit = auditKeys('snapshot', snapshotId, createdAt);
    // The keys as named properties of one literal, then the snapshot: spreading the four key
    // objects one after another made V8 build this item the slow way, ~30 µs a write (measured).
    return { pk: key.pk, sk: key.sk, gsi1pk: gsi1.gsi1pk, gsi1sk: gsi1.gsi1sk, gsi2pk: gsi2.gsi2pk, gsi2sk: gsi2.gsi2sk, auditpk: audit.auditpk, auditsk: audit.auditsk, itemType: 'snapshot', ...snapshot };
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
    const res = await this.doc.get({ TableName: this.tableName, Key: keys.snapshot(snapshotId), ConsistentRead: true });
    return res.Item ? DynamoSnapshotStore.fromItem(res.Item) : undefined;
  }

  /** As {@link get} for each id (strongly consistent), in BatchGetItem requests of up to 100. */
  async getMany(snapshotIds: readonly string[]): Promise<Map<string, Snapshot>> {
    const items = await batchGetItems(this.doc, this.tableName, snapshotIds.map((id) => keys.snapshot(id)), { ConsistentRead: true });
    return new Map(items.map((item) => [String(item.snapshotId), DynamoSnapshotStore.fromItem(item)]));
  }

  /**
   * As {@link getMany}, projected to the id and function name: an answer of ~80 bytes an item
   * instead of the whole snapshot (on AWS a projection reads the same capacity units; what it
   * saves is the bytes on the wire and their parsing in the function).
   */
  async functionNamesOf(snapshotIds: readonly string[]): Promise<Map<string, string>> {
    const items = await batchGetItems(this.doc, this.tableName, snapshotIds.map((id) => keys.snapshot(id)), {
      ConsistentRead: true,
      ProjectionExpression: '#id, #fn',
      ExpressionAttributeNames: { '#id': 'snapshotId', '#fn': 'functionName' },
    });
    return new Map(items.map((item) => [String(item.snapshotId), String(item.functionName)]));
  }

  async list(query: SnapshotQuery): Promise<Page<Snapshot>> {
    return queryPage(this.doc, this.byFunction(query), { limit: query.limit, cursor: query.cursor, binding: `snapshots:${query.functionName}:${query.from ?? ''}:${query.to ?? ''}:${query.order ?? 'asc'}` }, DynamoSnapshotStore.fromItem);
  }

  /**
   * As {@link list}, returning only the ids, from the keys-only GSI1K (a 1 MB page holds ~9,000 of
   * them): the id is the table key `SNAP#<id>`. While GSI1K is not readable — a stack upgraded to it
   * backfills the index for a while, a local data dir created before it has none (dynalite cannot
   * add one) — the same query goes to GSI1, whose keys, and so cursors, are the same.
   */
  async listIds(query: SnapshotQuery): Promise<Page<string>> {
    const page = { limit: query.limit, cursor: query.cursor, binding: `snapshot-ids:${query.functionName}:${query.from ?? ''}:${query.to ?? ''}:${query.order ?? 'asc'}` };
    const ids = (index: IndexDefinition) => queryPage(this.doc, { ...this.byFunction(query, index), ProjectionExpression: 'pk' }, page, idOfKey);
    if (Date.now() < this.keysIndexUnreadableUntil) return ids(GSI1);
    try {
      return await ids(GSI1K);
    } catch (err) {
      if (!isUnreadableIndex(err, GSI1K.indexName)) throw err;
      this.keysIndexUnreadableUntil = Date.now() + KEYS_INDEX_RETRY_MS;
      return ids(GSI1);
    }
  }

  /** Until when {@link listIds} reads GSI1 because GSI1K answered that it cannot be read. */
  private keysIndexUnreadableUntil = 0;

  /** One function's snapshots between two instants, inclusive, on GSI1 or its keys-only twin. */
  private byFunction(query: SnapshotQuery, index: IndexDefinition = GSI1) {
    return {
      TableName: this.tableName,
      IndexName: index.indexName,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
      ExpressionAttributeNames: { '#pk': GSI1.partitionKey, '#sk': GSI1.sortKey },
      ExpressionAttributeValues: { ':pk': keys.snapshotGsi1(query.functionName, '', '').gsi1pk, ':lo': query.from ?? '', ':hi': `${query.to ?? '9999'}#\uffff` },
      ScanIndexForward: query.order !== 'desc',
    };
  }

  async findPreviousWithSameInputs(snapshot: Snapshot): Promise<Snapshot | undefined> {
    const k = keys.snapshotGsi2(snapshot.functionName, snapshot.inputsHash, snapshot.createdAt, snapshot.snapshotId);
    const res = await this.doc.query({
      TableName: this.tableName,
      IndexName: GSI2.indexName,
      KeyConditionExpression: '#pk = :pk AND #sk < :sk',
      ExpressionAttributeNames: { '#pk': GSI2.partitionKey, '#sk': GSI2.sortKey },
      ExpressionAttributeValues: { ':pk': k.gsi2pk, ':sk': k.gsi2sk },
      ScanIndexForward: false,
      Limit: 1,
    });
    const hit = res.Items?.[0];
    if (!hit || typeof hit.pk !== 'string') return undefined;
    return this.get(hit.pk.slice('SNAP#'.length));
  }

  async claimIdempotencyKey(record: IdempotencyRecord): Promise<{ claimed: true } | { claimed: false; existing: IdempotencyRecord }> {
    const key = keys.idempotency(record.key);
    const expiresAt = Math.floor(Date.parse(record.createdAt) / 1000) + IDEMPOTENCY_TTL_SECONDS;
    const put = await this.putNewOrGetExisting({ ...key, itemType: 'idempotency', ...record, expiresAt }, 'idempotency record');
    if (put.written) return { claimed: true };
    const item = put.existing ?? (await this.doc.get({ TableName: this.tableName, Key: key, ConsistentRead: true })).Item;
    if (!item) return this.claimIdempotencyKey(record); // expired and deleted in between: claim again
    return {
      claimed: false,
      existing: { key: record.key, requestHash: String(item.requestHash), snapshotId: String(item.snapshotId), createdAt: String(item.createdAt) },
    };
  }

  async releaseIdempotencyKey(record: IdempotencyRecord): Promise<void> {
    try {
      await this.doc.delete({
        TableName: this.tableName,
        Key: keys.idempotency(record.key),
        ConditionExpression: '#sid = :sid',
        ExpressionAttributeNames: { '#sid': 'snapshotId' },
        ExpressionAttributeValues: { ':sid': record.snapshotId },
      });
    } catch (err) {
      // Already gone, or claimed since by another request: nothing of ours to give back.
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
}
