/**
 * The one definition of the table's keys and indexes. The CDK table and the local host's
 * CreateTable both derive from it, so the two cannot drift.
 */

export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; set on non-snapshot items only (idempotency records). Snapshots never expire. */
  timeToLiveAttribute: 'expiresAt',
} as const;

export interface IndexDefinition {
  indexName: string;
  partitionKey: string;
  sortKey: string;
  /** ALL: queries return whole items; KEYS_ONLY: the table keys, then a Get/BatchGet. */
  projection: 'ALL' | 'KEYS_ONLY';
}

/** GSI1: a function's snapshots by time. GSI2: snapshots with the same inputs, by time. */
export const GSI1: IndexDefinition = { indexName: 'GSI1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk', projection: 'ALL' };
export const GSI2: IndexDefinition = { indexName: 'GSI2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk', projection: 'KEYS_ONLY' };

/**
 * GSI3: the immutable records of a time window, for the audit digester and verifier (see keys.ts).
 * Projected ALL so that verifying a window re-reads its records with range queries, not one Get each.
 */
export const GSI3: IndexDefinition = { indexName: 'GSI3', partitionKey: 'auditpk', sortKey: 'auditsk', projection: 'ALL' };

/**
 * GSI1K: GSI1's keys again, projected KEYS_ONLY — what a batch's Plan pages through to list a
 * function's snapshot ids by time. An entry holds only the four key attributes (~110 bytes against
 * a snapshot's ~1.1 KB in GSI1), so a 1 MB Query page holds ~9,000 ids instead of ~900: a tenth of
 * the requests and read units, and locally dynalite decodes a tenth of the bytes. It costs one more
 * index write (1 WRU) per snapshot recorded, and ~210 bytes of storage each (see the README).
 * Updates of non-key attributes (a batch's progress) do not write to it.
 */
export const GSI1K: IndexDefinition = { indexName: 'GSI1K', partitionKey: 'gsi1pk', sortKey: 'gsi1sk', projection: 'KEYS_ONLY' };

export const INDEXES: readonly IndexDefinition[] = [GSI1, GSI2, GSI3, GSI1K];

/** The CreateTable request for this definition (used by the local host and integration tests). */
export function createTableInput(tableName: string) {
  const attributeNames = new Set<string>([TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey]);
  for (const ix of INDEXES) {
    attributeNames.add(ix.partitionKey);
    attributeNames.add(ix.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [...attributeNames].map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
    KeySchema: [
      { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: INDEXES.map((ix) => ({
      IndexName: ix.indexName,
      KeySchema: [
        { AttributeName: ix.partitionKey, KeyType: 'HASH' as const },
        { AttributeName: ix.sortKey, KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: ix.projection },
    })),
  };
}
