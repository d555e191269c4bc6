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

export const INDEXES: readonly IndexDefinition[] = [GSI1, GSI2, GSI3];

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
