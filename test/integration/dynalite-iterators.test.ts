/**
 * The local DynamoDB (dynalite) closes the LevelDB iterator of every Query and Scan. dynalite 4
 * left each one open for the life of the process, pinning memory and, with a data dir, table files
 * that compaction had made obsolete: the local host's memory and data dir grew without bound
 * (issue 9, defect 4). Every iterator the store's database opens is watched here, through the
 * database's own `values()`/`keys()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { documentClientOptions } from '../../functions/adapters/dynamodb/client.js';
import { GSI2 } from '../../functions/adapters/dynamodb/table-definition.js';
import { LOCAL_AWS, startLocalDynamo, type LocalDynamo } from '../../functions/local/dynalite.js';

interface Iter {
  close(): Promise<void>;
}
interface LevelDb {
  values(options?: unknown): Iter;
  keys(options?: unknown): Iter;
}
interface DynaliteDbModule {
  create(options: unknown): { db: LevelDb };
}

/** Every iterator opened by the next dynalite store created in this process, and whether it was closed. */
function watchNextStore(): { opened: Iter[]; closed: Set<Iter>; restore(): void } {
  const dbModule = createRequire(import.meta.url)('dynalite/db/index.js') as DynaliteDbModule;
  const create = dbModule.create;
  const opened: Iter[] = [];
  const closed = new Set<Iter>();
  const watch = (open: (options?: unknown) => Iter) => (options?: unknown) => {
    const it = open(options);
    opened.push(it);
    const close = it.close.bind(it);
    it.close = () => {
      closed.add(it);
      return close();
    };
    return it;
  };
  dbModule.create = (options: unknown) => {
    const store = create(options);
    const db = store.db;
    db.values = watch(db.values.bind(db));
    db.keys = watch(db.keys.bind(db));
    return store;
  };
  return { opened, closed, restore: () => (dbModule.create = create) };
}

describe('local DynamoDB iterators', () => {
  let dynamo: LocalDynamo | undefined;
  let client: DynamoDBClient | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    client?.destroy();
    await dynamo?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dynamo = client = dir = undefined;
  });

  for (const where of ['in memory', 'in a data dir'] as const) {
    it(`closes every iterator its queries and scans open (${where})`, async () => {
      const watched = watchNextStore();
      try {
        if (where === 'in a data dir') dir = mkdtempSync(join(tmpdir(), 'dynalite-iterators-'));
        dynamo = await startLocalDynamo({ port: 0, tableName: 'iterators', ...(dir !== undefined && { path: dir }) });
      } finally {
        watched.restore();
      }
      client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint });
      const doc = DynamoDBDocumentClient.from(client, documentClientOptions);
      for (let i = 0; i < 20; i++) {
        await doc.send(new PutCommand({ TableName: 'iterators', Item: { pk: `SNAP#${i}`, sk: 'SNAP', gsi2pk: 'same-inputs', gsi2sk: String(i).padStart(3, '0') } }));
      }

      // A query stopped by its Limit (as the on-write "previous with the same inputs" lookup is),
      // one read to its end, and a scan.
      for (let i = 0; i < 30; i++) {
        const limited = await doc.send(new QueryCommand({ TableName: 'iterators', IndexName: GSI2.indexName, KeyConditionExpression: 'gsi2pk = :p', ExpressionAttributeValues: { ':p': 'same-inputs' }, ScanIndexForward: false, Limit: 1 }));
        expect(limited.Items).toHaveLength(1);
        const whole = await doc.send(new QueryCommand({ TableName: 'iterators', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': `SNAP#${i % 20}` } }));
        expect(whole.Items).toHaveLength(1);
      }
      const scanned = await doc.send(new ScanCommand({ TableName: 'iterators' }));
      expect(scanned.Items).toHaveLength(20);

      expect(watched.opened.length).toBeGreaterThanOrEqual(61);
      const open = watched.opened.filter((it) => !watched.closed.has(it));
      expect(open).toHaveLength(0);
    });
  }
});
