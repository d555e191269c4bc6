/**
 * The audit chain head in the table: one item (`AUDIT#HEAD` / `HEAD`), moved forward by the
 * digester with a conditional UpdateItem — created only if absent, then only from the digest hash
 * it holds — so two digester runs cannot both move it, and it never moves back. The digester's role
 * may UpdateItem this partition only (dynamodb:LeadingKeys `AUDIT#HEAD*`).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { ChainHead, ChainHeadStore } from '../../core/audit/ports.js';
import type { DocumentClient } from './document-client.js';
import { keys } from './keys.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export class DynamoChainHead implements ChainHeadStore {
  constructor(
    private readonly doc: DocumentClient,
    private readonly tableName: string,
  ) {}

  async get(): Promise<ChainHead | undefined> {
    const res = await this.doc.get({ TableName: this.tableName, Key: keys.auditChainHead(), ConsistentRead: true });
    const item = res.Item;
    if (!item) return undefined;
    const [chainStart, windowStart, windowEnd, digestHash] = [item.chainStart, item.windowStart, item.windowEnd, item.digestHash].map(str);
    // An item that is not a head (edited behind the service) still says a chain exists: its fields
    // are kept as found ('' when absent), so the digester refuses rather than starting a new chain.
    return { chainStart: chainStart ?? '', windowStart: windowStart ?? '', windowEnd: windowEnd ?? '', digestHash: digestHash ?? '' };
  }

  async advance(from: ChainHead | undefined, to: ChainHead): Promise<boolean> {
    try {
      await this.doc.update({
        TableName: this.tableName,
        Key: keys.auditChainHead(),
        UpdateExpression: 'SET chainStart = :cs, windowStart = :ws, windowEnd = :we, digestHash = :h, itemType = :t',
        ConditionExpression: from === undefined ? 'attribute_not_exists(pk)' : 'digestHash = :from',
        ExpressionAttributeValues: { ':cs': to.chainStart, ':ws': to.windowStart, ':we': to.windowEnd, ':h': to.digestHash, ':t': 'audit-chain-head', ...(from !== undefined && { ':from': from.digestHash }) },
      });
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }
}
