/**
 * The Plan step of a batch, alone in its own process, for bench/scale.bench.ts: records a batch
 * selecting `limit` snapshots of a function, runs `planBatch` (paging through the index into the
 * manifest in S3, exactly as the batch-plan Lambda does), and prints one JSON line with the wall
 * time and the process's peak RSS. Run: `node --import tsx bench/scale-plan-child.ts '<json>'`.
 *
 * Peak RSS is VmHWM of /proc/self/status (this process's own address space, since its exec), not
 * `process.resourceUsage().maxRSS`: Linux carries ru_maxrss over fork and exec, so a child of the
 * benchmark would report the benchmark's own RSS (its dynalite holds the 200,000 snapshots). RSS is
 * also sampled every 5 ms as a cross-check.
 */
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DYNAMODB_CLIENT_SETTINGS } from '../functions/adapters/dynamodb/client.js';
import { DocumentClient } from '../functions/adapters/dynamodb/document-client.js';
import { DynamoBatchStore } from '../functions/adapters/dynamodb/batch-store.js';
import { DynamoSnapshotStore } from '../functions/adapters/dynamodb/snapshot-store.js';
import { S3ManifestStore } from '../functions/adapters/s3/manifest-store.js';
import { newBatch, planBatch, SELECT_PAGE_IDS } from '../functions/core/batch.js';
import { keys } from '../functions/adapters/dynamodb/keys.js';
import { GSI1, GSI1K, type IndexDefinition } from '../functions/adapters/dynamodb/table-definition.js';
import { LOCAL_AWS } from '../functions/local/dynalite.js';
import { localS3ClientConfig } from '../functions/local/s3.js';

/**
 * `plan`: planBatch as the Lambda runs it. `bare-keys` / `bare-all`: the baselines, in a process of
 * the same kind — the index paged bare the way a user would page it with the SDK (one Query after
 * another, nothing written): the keys-only GSI1K Plan reads (the key only, Plan's page size), or
 * GSI1 (ALL) as Plan read it before (ids only, 1,000 a page).
 */
type Mode = 'plan' | 'bare-keys' | 'bare-all';

interface Args {
  mode?: Mode;
  dynamoEndpoint: string;
  tableName: string;
  s3Endpoint: string;
  bucket: string;
  batchId: string;
  functionName: string;
  limit: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const client = new DynamoDBClient({ ...LOCAL_AWS, ...DYNAMODB_CLIENT_SETTINGS, endpoint: args.dynamoEndpoint });
const doc = new DocumentClient(client);
const s3 = new S3Client(localS3ClientConfig(args.s3Endpoint));
const batches = new DynamoBatchStore(doc, args.tableName);
const deps = { snapshots: new DynamoSnapshotStore(doc, args.tableName), batches, manifests: new S3ManifestStore(s3, args.bucket) };

async function pageBare(index: IndexDefinition, projection: string, limit: number): Promise<number> {
  let paged = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const res = await doc.query({
      TableName: args.tableName,
      IndexName: index.indexName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': index.partitionKey },
      ExpressionAttributeValues: { ':pk': keys.snapshotGsi1(args.functionName, '', '').gsi1pk },
      ProjectionExpression: projection,
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: start,
    });
    paged += res.Items?.length ?? 0;
    start = res.LastEvaluatedKey;
  } while (start);
  return paged;
}

if (args.mode === 'bare-keys' || args.mode === 'bare-all') {
  const t0 = performance.now();
  const total = args.mode === 'bare-keys' ? await pageBare(GSI1K, 'pk', SELECT_PAGE_IDS) : await pageBare(GSI1, 'snapshotId', 1000);
  console.log(JSON.stringify({ ms: performance.now() - t0, total }));
  client.destroy();
  s3.destroy();
  process.exit(0);
}

await batches.create(newBatch(args.batchId, { selector: { functionName: args.functionName, limit: args.limit }, mode: 'Strict', maxConcurrency: 40 }, { trigger: 'api', createdAt: new Date().toISOString() }));
/** VmHWM (peak resident set of this process image), in KB; undefined where /proc is absent. */
function peakRssKb(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
const rssBeforeKb = Math.round(process.memoryUsage().rss / 1024);
let sampledMaxKb = rssBeforeKb;
const sampler = setInterval(() => (sampledMaxKb = Math.max(sampledMaxKb, Math.round(process.memoryUsage().rss / 1024))), 5);
const t = performance.now();
const out = await planBatch(deps, { batchId: args.batchId });
const ms = performance.now() - t;
clearInterval(sampler);
const planned = await batches.get(args.batchId);
console.log(JSON.stringify({ ms, total: planned?.total, itemsPerChunk: out.itemsPerChunk, manifest: out.manifest, rssBeforeKb, maxRssKb: peakRssKb() ?? sampledMaxKb, sampledMaxKb }));
client.destroy();
s3.destroy();
