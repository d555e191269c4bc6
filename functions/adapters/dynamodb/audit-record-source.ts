/**
 * The audit digester's and verifier's view of the table: the immutable records of a time window,
 * found through the audit index (GSI3, one range query per shard), and one record re-read at its
 * key. Reads only — the index keys are written in each record's own put.
 */
import type { DocumentClient } from './document-client.js';
import type { AuditRecordSource, ListedRecord, RecordLocator } from '../../core/audit/ports.js';
import type { Page } from '../../core/ports.js';
import type { FoundRecord } from '../../core/audit/verify.js';
import { isRecordKind, recordFunctionName, recordId, type RecordKind } from '../../core/records.js';
import { AUDIT_SHARDS, auditKeys, contentOf, keys } from './keys.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { queryEach } from './paging.js';
import { GSI3 } from './table-definition.js';

type Item = Record<string, unknown>;

/** Attributes the digester needs: enough for a manifest entry (a batch result's function is in `original`), not the record's content. */
export const LISTING_ATTRIBUTES = ['pk', 'sk', 'itemType', 'contentHash', 'createdAt', 'functionName', 'snapshotId', 'replayId', 'reportId', 'batchId', 'original', 'name', 'version'];

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** What a record's keys should be, given its content; each difference is a reason. */
export function indexProblems(kind: RecordKind, item: Item, content: Item): string[] {
  const id = recordId(kind, content);
  const expected: Record<string, string> = { ...auditKeys(kind, id, str(content.createdAt)) };
  const snapshotId = str(content.snapshotId);
  switch (kind) {
    case 'snapshot':
      Object.assign(expected, keys.snapshot(snapshotId), keys.snapshotGsi1(str(content.functionName), str(content.createdAt), snapshotId), keys.snapshotGsi2(str(content.functionName), str(content.inputsHash), str(content.createdAt), snapshotId));
      break;
    case 'replay':
      expected.pk = keys.snapshot(snapshotId).pk;
      if (!str(item.sk).startsWith(keys.replayPrefix) || !str(item.sk).endsWith(`#${str(content.replayId)}`)) expected.sk = `${keys.replayPrefix}<time>#${str(content.replayId)}`;
      break;
    case 'validation':
      expected.pk = keys.snapshot(snapshotId).pk;
      expected.sk = `${keys.validationPrefix}${str(content.createdAt)}#${str(content.reportId)}`;
      break;
    case 'batch-result':
      Object.assign(expected, keys.batchResult(str(content.batchId), snapshotId));
      break;
    case 'policy':
      Object.assign(expected, keys.policyVersion(str(content.name), typeof content.version === 'number' ? content.version : Number.NaN));
      break;
  }
  const problems: string[] = [];
  for (const [name, value] of Object.entries(expected)) {
    if (item[name] !== value) problems.push(`index key ${name} is ${item[name] === undefined ? 'missing' : `'${String(item[name])}'`}, its content says '${value}'`);
  }
  if (item.itemType !== kind) problems.push(`itemType is '${String(item.itemType)}', the record is a ${kind}`);
  return problems;
}

/** A table item as a verifier sees it. */
export function toFoundRecord(item: Item): FoundRecord | undefined {
  const kind = item.itemType;
  if (!isRecordKind(kind)) return undefined;
  const content = contentOf(item);
  return { kind, id: recordId(kind, content), createdAt: str(content.createdAt), functionName: recordFunctionName(content), content, indexProblems: indexProblems(kind, item, content) };
}

export class DynamoAuditRecordSource implements AuditRecordSource {
  constructor(
    private readonly doc: DocumentClient,
    private readonly tableName: string,
  ) {}

  async listIn(start: string, end: string): Promise<ListedRecord[]> {
    const out: ListedRecord[] = [];
    await this.eachShard(start, end, 'listing', (item) => {
      const kind = item.itemType;
      if (!isRecordKind(kind)) return;
      const fn = recordFunctionName(item);
      out.push({ id: recordId(kind, item), kind, contentHash: str(item.contentHash), createdAt: str(item.createdAt), ...(fn !== undefined && { functionName: fn }), pk: str(item.pk), sk: str(item.sk) });
    });
    return out;
  }

  /** Only the index sort key (`<createdAt>#<kind>#<id>`) and the item key: the late check's cheap listing. */
  async keysIn(start: string, end: string): Promise<RecordLocator[]> {
    const out: RecordLocator[] = [];
    await this.eachShard(start, end, 'keys', (item) => {
      const m = /^[^#]+#([^#]+)#(.+)$/.exec(str(item[GSI3.sortKey]));
      const kind = m?.[1];
      if (m && isRecordKind(kind)) out.push({ kind, id: m[2] as string, pk: str(item.pk), sk: str(item.sk) });
    });
    return out;
  }

  async forEachIn(start: string, end: string, visit: (record: FoundRecord) => void): Promise<number> {
    let count = 0;
    await this.eachShard(start, end, 'all', (item) => {
      const record = toFoundRecord(item);
      if (!record) return;
      count += 1;
      visit(record);
    });
    return count;
  }

  /**
   * The shards one after the other; the cursor is the index key of the last record answered (its
   * `auditpk` names the shard), bound to the window, so a page can end after any record.
   */
  async pageIn(start: string, end: string, page: { limit: number; cursor?: string | undefined; maxBytes: number }, encode: (record: FoundRecord) => string): Promise<Page<string>> {
    const binding = `audit-records:${start}:${end}`;
    let startKey = page.cursor === undefined ? undefined : await decodeCursor(page.cursor, binding);
    let shard = startKey === undefined ? 0 : Number.parseInt(str(startKey.auditpk).slice('AUDIT#'.length), 16);
    const items: string[] = [];
    let bytes = 0;
    for (; shard < AUDIT_SHARDS; shard++, startKey = undefined) {
      do {
        const res = await this.doc.query({
          TableName: this.tableName,
          IndexName: GSI3.indexName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
          ExpressionAttributeNames: { '#pk': GSI3.partitionKey, '#sk': GSI3.sortKey },
          ExpressionAttributeValues: { ':pk': `AUDIT#${shard.toString(16)}`, ':lo': start, ':hi': `${end}#` },
          Limit: page.limit - items.length,
          ExclusiveStartKey: startKey,
        });
        for (const item of res.Items ?? []) {
          const record = toFoundRecord(item);
          if (record) {
            // The page is measured by what it will send: each record is encoded once, here.
            const text = encode(record);
            items.push(text);
            bytes += Buffer.byteLength(text, 'utf8');
          }
          if (items.length >= page.limit || bytes >= page.maxBytes) {
            const last = { pk: str(item.pk), sk: str(item.sk), [GSI3.partitionKey]: str(item[GSI3.partitionKey]), [GSI3.sortKey]: str(item[GSI3.sortKey]) };
            return { items, nextCursor: await encodeCursor(last, binding) };
          }
        }
        startKey = res.LastEvaluatedKey;
      } while (startKey);
    }
    return { items };
  }

  async get({ pk, sk }: RecordLocator): Promise<FoundRecord | undefined> {
    const res = await this.doc.get({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true });
    return res.Item ? toFoundRecord(res.Item) : undefined;
  }

  async earliestCreatedAt(): Promise<string | undefined> {
    let earliest: string | undefined;
    await Promise.all(
      Array.from({ length: AUDIT_SHARDS }, async (_, shard) => {
        const res = await this.doc.query({
          TableName: this.tableName,
          IndexName: GSI3.indexName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': GSI3.partitionKey },
          ExpressionAttributeValues: { ':pk': `AUDIT#${shard.toString(16)}` },
          Limit: 1,
        });
        const createdAt = res.Items?.[0]?.createdAt;
        if (typeof createdAt === 'string' && (earliest === undefined || createdAt < earliest)) earliest = createdAt;
      }),
    );
    return earliest;
  }

  /** Range-queries every shard of the audit index for createdAt in [start, end), in parallel. */
  private async eachShard(start: string, end: string, what: 'all' | 'listing' | 'keys', visit: (item: Item) => void): Promise<void> {
    const attributes = what === 'listing' ? LISTING_ATTRIBUTES : what === 'keys' ? ['pk', 'sk', GSI3.sortKey] : undefined;
    // Index sort keys are `<createdAt>#<kind>#<id>`. BETWEEN is inclusive; `<end>#` is a proper
    // prefix of every key created exactly at `end`, so those (the next window's) sort after it.
    await Promise.all(
      Array.from({ length: AUDIT_SHARDS }, (_, shard) =>
        queryEach(
          this.doc,
          {
            TableName: this.tableName,
            IndexName: GSI3.indexName,
            KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
            ExpressionAttributeNames: { '#pk': GSI3.partitionKey, '#sk': GSI3.sortKey, ...(attributes && Object.fromEntries(attributes.map((a, i) => [`#a${i}`, a]))) },
            ExpressionAttributeValues: { ':pk': `AUDIT#${shard.toString(16)}`, ':lo': start, ':hi': `${end}#` },
            ...(attributes && { ProjectionExpression: attributes.map((_a, i) => `#a${i}`).join(', ') }),
          },
          visit,
        ),
      ),
    );
  }
}
