/**
 * `POST /batches` with `snapshotManifest` over HTTP on the local host: the ids are an object in the
 * local S3 stand-in (s3rver, through the same adapter as on AWS), read and validated when the batch
 * is created; a refused manifest leaves no batch and no object behind.
 */
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch, BatchResult } from '../../functions/core/batch.js';
import type { Page } from '../../functions/core/ports.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import { localS3ClientConfig } from '../../functions/local/s3.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { requestWithHeaders, type ReplyWithHeaders } from '../support/http.js';

const FN = 'approve_loan_manifest';
type ErrorReply = { error: { code: string; message: string; details?: { issues?: Array<{ path: string; message: string }> } } };

describe('POST /batches with a snapshotManifest (local host, s3rver)', () => {
  let t: TestHost;
  let s3: S3Client;
  let bucket: string;
  const ids: string[] = [];

  const call = <T = unknown>(method: string, path: string, body?: unknown): Promise<ReplyWithHeaders<T>> => requestWithHeaders<T>(t.url, method, path, body);
  const upload = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  const objectKeys = async () => ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key).sort();
  const batchCount = async () => (await call<Page<Batch>>('GET', '/batches?limit=1000')).body.items.length;

  async function waitForBatch(batchId: string): Promise<Batch> {
    const until = Date.now() + 30_000;
    for (;;) {
      const res = await call<Batch>('GET', `/batches/${batchId}`);
      if (res.body.status !== 'RUNNING') return res.body;
      if (Date.now() > until) throw new Error(`batch ${batchId} still RUNNING`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    t = await startTestHost({ idManifestBuckets: ['acme-replay-ids'] });
    bucket = t.host.manifestBucket;
    s3 = new S3Client(localS3ClientConfig(t.host.s3Endpoint));
    expect((await call('PUT', `/functions/${FN}/executor`, { type: 'http', url: `${t.url}/demo/credit/v2` })).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const res = await call<Snapshot>('POST', '/snapshots', demoV1Decision(FN, { income: 40_000 + i * 5_000, age: 30 + i }));
      expect(res.status).toBe(201);
      ids.push(res.body.snapshotId);
    }
  });
  afterAll(async () => {
    s3.destroy();
    await t.close();
  });

  it('replays the ids of a CSV under uploads/ of the manifest bucket: 202 with the total, then SUCCEEDED over exactly those', async () => {
    await upload('uploads/q4-review.csv', `snapshotId,note\n${ids.map((id, i) => `${id},row ${i}`).join('\n')}\n`);

    const started = await call<{ batchId: string; status: string; total: number }>('POST', '/batches', { snapshotManifest: `s3://${bucket}/uploads/q4-review.csv`, mode: 'Strict', maxConcurrency: 2 });

    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({ status: 'RUNNING', total: 5 });
    const batch = await waitForBatch(started.body.batchId);
    expect(batch).toMatchObject({ status: 'SUCCEEDED', total: 5, completed: 5, request: { snapshotManifest: `s3://${bucket}/uploads/q4-review.csv` } });
    // The batch replays its own copy of the ids, as they were when it was created.
    expect(batch.manifest).toEqual({ bucket, key: `batches/${batch.batchId}/snapshot-ids.csv` });
    const results = await call<Page<BatchResult>>('GET', `/batches/${batch.batchId}/results?limit=100`);
    expect(results.body.items.map((r) => r.snapshotId).sort()).toEqual([...ids].sort());
  });

  it('reads JSON Lines given as {bucket, key}', async () => {
    await upload('uploads/ids.jsonl', ids.slice(0, 2).map((snapshotId) => JSON.stringify({ snapshotId })).join('\n'));

    const started = await call<{ batchId: string; total: number }>('POST', '/batches', { snapshotManifest: { bucket, key: 'uploads/ids.jsonl' } });

    expect(started.status).toBe(202);
    expect(started.body.total).toBe(2);
    expect((await waitForBatch(started.body.batchId)).status).toBe('SUCCEEDED');
  });

  it('reads a manifest anywhere in a bucket the deployment names (cdk.json idManifestBuckets)', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'acme-replay-ids', Key: 'exports/2026-11/ids.txt', Body: ids.slice(0, 3).join('\n') }));

    const started = await call<{ batchId: string; total: number }>('POST', '/batches', { snapshotManifest: 's3://acme-replay-ids/exports/2026-11/ids.txt' });

    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.total).toBe(3);
    expect((await waitForBatch(started.body.batchId)).status).toBe('SUCCEEDED');
  });

  it.each([
    ['a bad id, naming the line', 'uploads/bad.csv', (good: string[]) => `snapshotId\n${good[0]}\nnot-an-id\n`, 400, 'INVALID_MANIFEST', /uploads\/bad\.csv line 3: 'not-an-id' is not a snapshot id/],
    ['an id listed twice, naming both lines', 'uploads/dup.txt', (good: string[]) => `${good[0]}\n${good[1]}\n${good[0]}\n`, 400, 'INVALID_MANIFEST', /line 3: '.{26}' is listed twice \(first on line 1\)/],
    ['more than 100,000 ids, naming the limit', 'uploads/big.txt', () => Array.from({ length: 100_001 }, (_, i) => `01JB${String(i).padStart(22, '0')}`).join('\n'), 400, 'BATCH_TOO_LARGE', /more than 100,000 snapshot ids/],
    ['an object outside uploads/', 'elsewhere/ids.csv', (good: string[]) => good.join('\n'), 400, 'MANIFEST_NOT_ALLOWED', /not in a location this deployment reads manifests from \(s3:\/\/.+\/uploads\/, s3:\/\/acme-replay-ids\/;/],
    ['a missing object', 'uploads/never-uploaded.csv', undefined, 404, 'MANIFEST_NOT_FOUND', /does not exist/],
  ])('refuses %s, writing nothing', async (_name, key, content, status, code, message) => {
    if (content !== undefined) await upload(key, content(ids));
    const objectsBefore = await objectKeys();
    const batchesBefore = await batchCount();

    const res = await call<ErrorReply>('POST', '/batches', { snapshotManifest: `s3://${bucket}/${key}` });

    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message).toMatch(message);
    expect(await objectKeys()).toEqual(objectsBefore);
    expect(await batchCount()).toBe(batchesBefore);
  });

  it('refuses a bucket this deployment was not given, and an s3 URI that is not one, with 400', async () => {
    const other = await call<ErrorReply>('POST', '/batches', { snapshotManifest: 's3://someone-elses-bucket/uploads/ids.csv' });
    expect(other.status).toBe(400);
    expect(other.body.error.code).toBe('MANIFEST_NOT_ALLOWED');

    const bad = await call<ErrorReply>('POST', '/batches', { snapshotManifest: 'https://example.com/ids.csv' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details?.issues?.[0]?.path).toBe('snapshotManifest');
  });
});
