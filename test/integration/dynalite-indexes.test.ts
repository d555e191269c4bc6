/**
 * The local host's dynalite writes global secondary index entries after it answers a write, as
 * DynamoDB does, and stays strongly consistent on them for its readers: a Query or Scan waits for
 * every index entry of the writes answered before it. Over the direct hand-off and over TCP, in
 * the worker thread and in process. On disk, the index work a kill left undone is done at the
 * next start, before the store serves anything.
 */
import { DeleteItemCommand, DynamoDBClient, PutItemCommand, QueryCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import dynalite from 'dynalite';
import { afterEach, describe, expect, it } from 'vitest';
import { GSI1, GSI3 } from '../../functions/adapters/dynamodb/table-definition.js';
import { LOCAL_AWS, startLocalDynamo, type LocalDynamo } from '../../functions/local/dynalite.js';
import { INDEX_WORK, indexWorkPending, settleIndexes } from '../../functions/local/dynalite-indexes.mjs';
import { databaseOf } from '../../functions/local/dynalite-store.mjs';
import { tempDir } from '../support/temp-dirs.js';
import type { Write } from '../support/kill-after-writes.js';

const KILL_AFTER_WRITES = fileURLToPath(new URL('../support/kill-after-writes.ts', import.meta.url));

/** The parts of the LevelDB store (abstract-level) these tests read and change under dynalite. */
interface RawStore {
  get(key: string): Promise<unknown>;
  keys(range: { gte: string; lt: string }): { all(): Promise<string[]> };
  close(): Promise<void>;
}
/** The store in `path` as LevelDB holds it, opened through a dynalite that never listens. */
async function openRaw(path: string): Promise<RawStore> {
  const options = { path };
  dynalite(options);
  const db = databaseOf(options) as unknown as RawStore & { open(): Promise<void> };
  await db.open();
  return db;
}
/** dynalite's keys under a prefix (`item-<table>`, `index-global~<table>~<index>`): `prefix~key`. */
const within = (prefix: string) => ({ gte: `${prefix}~`, lt: `${prefix}\x7f` });
/** The global index entries of one `item()`: GSI1 and GSI1K (both keyed on gsi1pk/gsi1sk) and GSI3; it has no GSI2 keys. */
const ENTRIES_PER_ITEM = 3;
const indexKeys = (raw: RawStore) => raw.keys(within(`index-global~${TABLE}`)).all();

const TABLE = 'indexes-after-answer';
const item = (n: number, fn = 'fn_a') => ({
  pk: { S: `SNAP#${String(n).padStart(4, '0')}` },
  sk: { S: 'SNAP' },
  [GSI1.partitionKey]: { S: `FN#${fn}` },
  [GSI1.sortKey]: { S: `2026-12-03T00:00:00.000Z#${String(n).padStart(4, '0')}` },
  [GSI3.partitionKey]: { S: 'AUDIT#2026-12-03#07' },
  [GSI3.sortKey]: { S: `2026-12-03T00:00:00.000Z#snapshot#${n}` },
  n: { N: String(n) },
});
const byFunction = (fn: string) => new QueryCommand({ TableName: TABLE, IndexName: GSI1.indexName, KeyConditionExpression: '#p = :p', ExpressionAttributeNames: { '#p': GSI1.partitionKey }, ExpressionAttributeValues: { ':p': { S: `FN#${fn}` } } });
const ids = (items: Array<Record<string, { S?: string }>> | undefined) => (items ?? []).map((i) => i.pk?.S);

describe('global secondary index entries written after the answer (local dynalite)', () => {
  let dynamo: LocalDynamo | undefined;
  const clients: DynamoDBClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await dynamo?.close();
    dynamo = undefined;
  });

  it('answers a write before its global index entries are written, and writes them right after (in process)', async () => {
    dynamo = await startLocalDynamo({ port: 0, tableName: TABLE, worker: false });
    const direct = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint, requestHandler: dynamo.requestHandler });
    clients.push(direct);

    await direct.send(new PutItemCommand({ TableName: TABLE, Item: item(1) }));
    // Answered, and the entries (GSI1, GSI1K, GSI2 where keyed, GSI3) still queued.
    expect(indexWorkPending()).toBe(1);
    await settleIndexes();
    expect(indexWorkPending()).toBe(0);
    expect(ids((await direct.send(byFunction('fn_a'))).Items)).toEqual(['SNAP#0001']);
  });

  it('defers on disk too, logging its index work, and a clean close leaves every entry written and no work (in process)', async () => {
    const path = tempDir('dynalite-indexes-');
    dynamo = await startLocalDynamo({ port: 0, tableName: TABLE, worker: false, path });
    expect(dynamo.recovered).toBeUndefined();
    const direct = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint, requestHandler: dynamo.requestHandler });
    clients.push(direct);

    await direct.send(new PutItemCommand({ TableName: TABLE, Item: item(1) }));
    expect(indexWorkPending()).toBe(1);
    await dynamo.close();
    dynamo = undefined;
    const raw = await openRaw(path);
    expect(await raw.keys(within(INDEX_WORK)).all()).toEqual([]);
    expect(await indexKeys(raw)).toHaveLength(ENTRIES_PER_ITEM);
    await raw.close();
    dynamo = await startLocalDynamo({ port: 0, tableName: TABLE, worker: false, path });
    expect(dynamo.recovered).toBeUndefined();
    const reopened = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint, requestHandler: dynamo.requestHandler });
    clients.push(reopened);
    expect(ids((await reopened.send(byFunction('fn_a'))).Items)).toEqual(['SNAP#0001']);
  });

  it('a process killed right after answering a put, a key change or a delete loses their entries, and the next start writes them before serving', { timeout: 60_000 }, async () => {
    const path = tempDir('dynalite-indexes-');
    const key = (n: number) => ({ pk: { S: `SNAP#${String(n).padStart(4, '0')}` }, sk: { S: 'SNAP' } });
    /** Runs the writes in a child killed after the last answer; returns what the kill left on disk. */
    const killedAfter = async (writes: Write[]) => {
      await dynamo?.close();
      dynamo = undefined;
      const child = spawn(process.execPath, ['--import', 'tsx', KILL_AFTER_WRITES, path, TABLE, JSON.stringify(writes)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const [, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
      expect(signal).toBe('SIGKILL');
      expect(JSON.parse(out)).toEqual({ pending: 1 });
      const raw = await openRaw(path);
      const left = { work: (await raw.keys(within(INDEX_WORK)).all()).length, entries: (await indexKeys(raw)).length };
      await raw.close();
      return left;
    };
    const restart = async () => {
      dynamo = await startLocalDynamo({ port: 0, tableName: TABLE, worker: true, path });
      const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint });
      clients.push(client);
      return client;
    };
    const audited = async (client: DynamoDBClient) => (await client.send(new ScanCommand({ TableName: TABLE, IndexName: GSI3.indexName }))).Count;

    // A put: three items answered, the last one's entries never written, its work recorded.
    expect(await killedAfter([{ put: item(1) }, { put: item(2) }, { put: item(3) }])).toEqual({ work: 1, entries: 2 * ENTRIES_PER_ITEM });
    let client = await restart();
    expect(dynamo?.recovered).toEqual({ writes: 1, items: 1, ms: expect.any(Number) });
    expect(ids((await client.send(byFunction('fn_a'))).Items)).toEqual(['SNAP#0001', 'SNAP#0002', 'SNAP#0003']);
    expect(await audited(client)).toBe(3);

    // A key change: SNAP#0002 moved to fn_b; its old entries still under fn_a, none under fn_b.
    expect(await killedAfter([{ update: key(2), set: { [GSI1.partitionKey]: { S: 'FN#fn_b' } } }])).toEqual({ work: 1, entries: 3 * ENTRIES_PER_ITEM });
    client = await restart();
    expect(dynamo?.recovered).toEqual({ writes: 1, items: 1, ms: expect.any(Number) });
    expect(ids((await client.send(byFunction('fn_a'))).Items)).toEqual(['SNAP#0001', 'SNAP#0003']);
    expect(ids((await client.send(byFunction('fn_b'))).Items)).toEqual(['SNAP#0002']);

    // A delete: SNAP#0003 gone from the table, its entries still in every index.
    expect(await killedAfter([{ delete: key(3) }])).toEqual({ work: 1, entries: 3 * ENTRIES_PER_ITEM });
    client = await restart();
    expect(dynamo?.recovered).toEqual({ writes: 1, items: 1, ms: expect.any(Number) });
    expect(ids((await client.send(byFunction('fn_a'))).Items)).toEqual(['SNAP#0001']);
    expect(await audited(client)).toBe(2);
    await dynamo?.close();
    dynamo = undefined;
    const raw = await openRaw(path);
    expect(await raw.keys(within(INDEX_WORK)).all()).toEqual([]);
    expect(await indexKeys(raw)).toHaveLength(2 * ENTRIES_PER_ITEM);
    await raw.close();
  });

  for (const worker of [true, false]) {
    it(`a Query or Scan sees every write answered before it: puts, key changes and deletes, direct and over TCP (${worker ? 'worker thread' : 'in process'})`, async () => {
      dynamo = await startLocalDynamo({ port: 0, tableName: TABLE, worker });
      const direct = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint, requestHandler: dynamo.requestHandler });
      const tcp = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint });
      clients.push(direct, tcp);

      const expected: string[] = [];
      for (let n = 1; n <= 60; n++) {
        const writer = n % 2 === 0 ? direct : tcp;
        const reader = n % 3 === 0 ? direct : tcp;
        await writer.send(new PutItemCommand({ TableName: TABLE, Item: item(n) }));
        expected.push(`SNAP#${String(n).padStart(4, '0')}`);
        expect(ids((await reader.send(byFunction('fn_a'))).Items)).toEqual(expected);
      }
      // Moved to another function (the entry's key changes): gone from the first list at once.
      await direct.send(new UpdateItemCommand({ TableName: TABLE, Key: { pk: { S: 'SNAP#0007' }, sk: { S: 'SNAP' } }, UpdateExpression: 'SET #p = :p', ExpressionAttributeNames: { '#p': GSI1.partitionKey }, ExpressionAttributeValues: { ':p': { S: 'FN#fn_b' } } }));
      expect(ids((await tcp.send(byFunction('fn_a'))).Items)).not.toContain('SNAP#0007');
      expect(ids((await direct.send(byFunction('fn_b'))).Items)).toEqual(['SNAP#0007']);
      // Deleted: gone from every index at once.
      await tcp.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: { S: 'SNAP#0008' }, sk: { S: 'SNAP' } } }));
      expect(ids((await direct.send(byFunction('fn_a'))).Items)).not.toContain('SNAP#0008');
      const audit = await tcp.send(new ScanCommand({ TableName: TABLE, IndexName: GSI3.indexName }));
      expect(audit.Count).toBe(59);
      expect(ids(audit.Items)).not.toContain('SNAP#0008');
      // Writes in a burst, not awaited one by one, then one Query: every one of them is in it.
      await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? direct : tcp).send(new PutItemCommand({ TableName: TABLE, Item: item(100 + i, 'fn_c') }))));
      expect((await direct.send(byFunction('fn_c'))).Count).toBe(40);
    });
  }
});
