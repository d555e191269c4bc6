/**
 * The API against its own OpenAPI document, route by route, on the local host. Every answer passes
 * through test/support/http.ts, which checks it against the served document; this file makes sure
 * each route of the manifest is answered at least once with success, and probes every route with
 * ids that name nothing and a body that is wrong, whose error answers must be described too.
 *
 * A new route in the manifest does not compile here until it has a step in {@link STEPS}.
 */
import { createPublicKey } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type RouteKey } from '../../functions/api/manifest.js';
import { auditObjects, buildDigest, keyFingerprint } from '../../functions/core/audit/digest.js';
import type { Batch } from '../../functions/core/batch.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import { decideCredit, type Applicant } from '../../functions/local/demo-model.js';
import { localS3ClientConfig } from '../../functions/local/s3.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { requestWithHeaders, type ReplyWithHeaders } from '../support/http.js';
import { checkedAnswers } from '../support/openapi-check.js';

const FN = 'contract_fn';
const POLICY = 'contract-policy';
const SLOW_FN = 'contract_slow_fn';

interface Context {
  call<T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ReplyWithHeaders<T>>;
  url: string;
  snapshots: Snapshot[];
  batchId?: string;
  /** A second batch over the same snapshots, judged the same way (the candidate of the comparison). */
  otherBatchId?: string;
  comparisonId?: string;
  /** Seals one (empty) window of the year 2000 in the host's audit store, so the digest routes have one to serve. */
  sealOldWindow(): Promise<string>;
  /** Puts an id manifest under uploads/ of the host's manifest bucket (s3rver); returns its s3:// URI. */
  uploadManifest(name: string, text: string): Promise<string>;
}

type Step = (ctx: Context) => Promise<void>;

async function ok<T>(reply: Promise<ReplyWithHeaders<T>>, status = 200): Promise<T> {
  const res = await reply;
  expect(res.status, res.text).toBe(status);
  return res.body;
}

/** One step per route, in this order; each leaves what later steps need in the context. */
const STEPS = {
  'GET /openapi.json': async ({ call }) => {
    await ok(call('GET', '/openapi.json'));
  },
  'PUT /functions/{functionName}/executor': async ({ call, url }) => {
    await ok(call('PUT', `/functions/${FN}/executor`, { type: 'http', url: `${url}/demo/credit/v2`, headers: { authorization: 'Bearer secret' } }));
  },
  'GET /functions/{functionName}/executor': async ({ call }) => {
    await ok(call('GET', `/functions/${FN}/executor`));
  },
  'POST /snapshots': async (ctx) => {
    const first = await ok(ctx.call<Snapshot>('POST', '/snapshots', demoV1Decision(FN, { income: 52000, age: 41, existingDebt: 1000 }), { 'idempotency-key': 'contract-1' }), 201);
    const repeat = await ok(ctx.call<Snapshot>('POST', '/snapshots', demoV1Decision(FN, { income: 52000, age: 41, existingDebt: 1000 }), { 'idempotency-key': 'contract-1' }), 200);
    expect(repeat.snapshotId).toBe(first.snapshotId);
    const second = await ok(ctx.call<Snapshot>('POST', '/snapshots', demoV1Decision(FN, { income: 18000, age: 23, existingDebt: 9000 }, { tenant: 'acme' })), 201);
    ctx.snapshots.push(first, second);
  },
  'GET /snapshots/{id}': async ({ call, snapshots }) => {
    await ok(call('GET', `/snapshots/${snapshots[0]?.snapshotId}`));
  },
  'GET /snapshots': async ({ call }) => {
    await ok(call('GET', `/snapshots?functionName=${FN}&order=desc&limit=1`));
  },
  'GET /snapshots/{id}/diff/{otherId}': async ({ call, snapshots }) => {
    await ok(call('GET', `/snapshots/${snapshots[0]?.snapshotId}/diff/${snapshots[1]?.snapshotId}`));
  },
  'PUT /policies/{name}': async ({ call }) => {
    const rules = [
      { name: 'score in range', field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 },
      { field: 'outputs.rationale', comparator: 'SemanticSimilarity', threshold: 0.5 },
      { field: 'outputs.score', comparator: 'MaxDecreasePercent', threshold: 10 },
    ];
    await ok(call('PUT', `/policies/${POLICY}`, { description: 'contract walk', functionNames: [FN], rules }));
  },
  'GET /policies/{name}': async ({ call }) => {
    await ok(call('GET', `/policies/${POLICY}?version=1`));
  },
  'GET /policies': async ({ call }) => {
    await ok(call('GET', '/policies'));
  },
  'POST /snapshots/{id}/validate': async ({ call, snapshots }) => {
    await ok(call('POST', `/snapshots/${snapshots[1]?.snapshotId}/validate`, { policyName: POLICY, baselineId: snapshots[0]?.snapshotId }));
  },
  'GET /snapshots/{id}/validations': async ({ call, snapshots }) => {
    await ok(call('GET', `/snapshots/${snapshots[1]?.snapshotId}/validations`));
  },
  'POST /snapshots/{id}/replay': async ({ call, snapshots }) => {
    await ok(call('POST', `/snapshots/${snapshots[0]?.snapshotId}/replay`, { mode: 'Tolerant', tolerance: 0.6, policyName: POLICY, overrides: { modelParameters: { modelVersion: 'v2' }, context: { promptVersion: 'p9' } } }));
    await ok(call('POST', `/snapshots/${snapshots[0]?.snapshotId}/replay`, { mode: 'ValidationOnly' }));
    await ok(call('POST', `/snapshots/${snapshots[1]?.snapshotId}/replay`));
  },
  'GET /snapshots/{id}/replays': async ({ call, snapshots }) => {
    await ok(call('GET', `/snapshots/${snapshots[0]?.snapshotId}/replays`));
  },
  'POST /batches': async (ctx) => {
    const body = { snapshotIds: ctx.snapshots.map((s) => s.snapshotId), mode: 'Strict', maxConcurrency: 2, policyName: POLICY };
    const started = await ok(ctx.call<{ batchId: string }>('POST', '/batches', body, { 'idempotency-key': 'contract-batch' }), 202);
    ctx.batchId = started.batchId;
    // The same ids as a manifest in S3 (snapshotManifest): validated when created, so the 202 has the total.
    const uri = await ctx.uploadManifest('contract-ids.csv', `snapshotId\n${ctx.snapshots.map((s) => s.snapshotId).join('\n')}\n`);
    const fromManifest = await ok(ctx.call<{ batchId: string; total: number }>('POST', '/batches', { snapshotManifest: uri, mode: 'Strict', maxConcurrency: 1, policyName: POLICY }), 202);
    expect(fromManifest.total).toBe(ctx.snapshots.length);
    ctx.otherBatchId = fromManifest.batchId;
    // A malformed one is a 400 naming the line, in the documented error shape.
    const bad = await ctx.call<{ error: { code: string; message: string } }>('POST', '/batches', { snapshotManifest: await ctx.uploadManifest('contract-bad.csv', 'snapshotId\nnot-an-id\n') });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/line 2/);
  },
  'GET /batches/{id}': async ({ call, batchId }) => {
    const until = Date.now() + 20_000;
    let batch = await ok(call<Batch>('GET', `/batches/${batchId}`));
    while (batch.status === 'RUNNING' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      batch = await ok(call<Batch>('GET', `/batches/${batchId}`));
    }
    expect(batch.status).toBe('SUCCEEDED');
    // The policy's version as pinned when the batch started (additive field of the batch record).
    expect(batch).toMatchObject({ request: { policyName: POLICY }, policyVersion: expect.any(Number) });
  },
  'GET /batches/{id}/results': async ({ call, batchId }) => {
    await ok(call('GET', `/batches/${batchId}/results?limit=1`));
  },
  'POST /functions/{functionName}/noise-profile': async ({ call }) => {
    const started = await ok(call<{ batchId: string }>('POST', `/functions/${FN}/noise-profile`, { sampleSize: 2 }), 202);
    const until = Date.now() + 20_000;
    let batch = await ok(call<Batch>('GET', `/batches/${started.batchId}`));
    while (batch.status === 'RUNNING' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      batch = await ok(call<Batch>('GET', `/batches/${started.batchId}`));
    }
    expect(batch.status).toBe('SUCCEEDED');
  },
  'GET /functions/{functionName}/noise-profile': async ({ call }) => {
    await ok(call('GET', `/functions/${FN}/noise-profile?version=1`));
  },
  'POST /comparisons': async (ctx) => {
    // The two batches of the same snapshots, judged the same way on the same executor: no difference.
    const until = Date.now() + 20_000;
    let other = await ok(ctx.call<Batch>('GET', `/batches/${ctx.otherBatchId}`));
    while (other.status === 'RUNNING' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      other = await ok(ctx.call<Batch>('GET', `/batches/${ctx.otherBatchId}`));
    }
    const comparison = await ok(ctx.call<{ comparisonId: string; verdict: string }>('POST', '/comparisons', { baselineBatchId: ctx.batchId, candidateBatchId: ctx.otherBatchId }), 201);
    expect(comparison.verdict).toBe('no significant difference');
    ctx.comparisonId = comparison.comparisonId;
    // One batch as both sides is refused, in the documented error shape.
    const same = await ctx.call<{ error: { code: string } }>('POST', '/comparisons', { baselineBatchId: ctx.batchId, candidateBatchId: ctx.batchId });
    expect([same.status, same.body.error.code]).toEqual([400, 'SAME_BATCH']);
  },
  'GET /comparisons/{id}': async ({ call, comparisonId }) => {
    await ok(call('GET', `/comparisons/${comparisonId}`));
  },
  'GET /comparisons/{id}/report': async ({ call, comparisonId }) => {
    await ok(call('GET', `/comparisons/${comparisonId}/report`));
  },
  'GET /batches': async ({ call }) => {
    await ok(call('GET', '/batches?limit=5'));
  },
  'POST /batches/{id}/cancel': async (ctx) => {
    // A batch over a model that answers after 300 ms, one at a time: still running when cancelled.
    const slow = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const { inputs } = JSON.parse(body) as { inputs: { value: Applicant }[] };
        const v1 = decideCredit('v1', inputs[0]?.value as Applicant);
        const timer = setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ outputs: [{ name: 'decision', value: v1.decision }, { name: 'score', value: v1.score }, { name: 'rationale', value: v1.rationale }] })), 300);
        res.on('close', () => clearTimeout(timer));
      });
    });
    await new Promise<void>((ready) => slow.listen(0, '127.0.0.1', ready));
    try {
      await ok(ctx.call('PUT', `/functions/${SLOW_FN}/executor`, { type: 'http', url: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/` }));
      const ids: string[] = [];
      for (const income of [30000, 40000, 50000, 60000]) ids.push((await ok(ctx.call<Snapshot>('POST', '/snapshots', demoV1Decision(SLOW_FN, { income, age: 40, existingDebt: 0 })), 201)).snapshotId);
      const started = await ok(ctx.call<{ batchId: string }>('POST', '/batches', { snapshotIds: ids, maxConcurrency: 1 }), 202);
      const cancelled = await ok(ctx.call<Batch>('POST', `/batches/${started.batchId}/cancel`));
      expect(cancelled.status).toBe('CANCELLED');
      // The answer is the batch as it now reads: statistics, no running progress.
      expect(cancelled).not.toHaveProperty('progress');
      expect(await ok(ctx.call<Batch>('GET', `/batches/${started.batchId}`))).toEqual(cancelled);
    } finally {
      await new Promise<void>((closed) => slow.close(() => closed()));
    }
  },
  'GET /batches/{id}/report': async ({ call, batchId }) => {
    await ok(call('GET', `/batches/${batchId}/report`));
  },
  'GET /snapshots/{id}/diff/{otherId}/report': async ({ call, snapshots }) => {
    await ok(call('GET', `/snapshots/${snapshots[0]?.snapshotId}/diff/${snapshots[1]?.snapshotId}/report`));
  },
  'GET /snapshots/{id}/replays/{replayId}/report': async ({ call, snapshots }) => {
    await ok(call('GET', `/snapshots/${snapshots[0]?.snapshotId}/replays/latest/report`));
  },
  'GET /audit/public-key': async ({ call }) => {
    const pem = await ok(call<string>('GET', '/audit/public-key'));
    expect(pem).toContain('BEGIN PUBLIC KEY');
  },
  'GET /audit/verify': async ({ call }) => {
    await ok(call('GET', `/audit/verify?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&functionName=${FN}`));
  },
  'GET /audit/digests': async ({ call, sealOldWindow }) => {
    const windowStart = await sealOldWindow();
    const listed = await ok(call<{ items: Array<{ windowStart: string }> }>('GET', '/audit/digests?from=2000-01-01T00:00:00Z&to=2000-01-01T02:00:00Z'));
    expect(listed.items.map((d) => d.windowStart)).toEqual([windowStart]);
  },
  'GET /audit/manifests/{windowStart}': async ({ call }) => {
    await ok(call('GET', '/audit/manifests/2000-01-01T00:00:00.000Z'));
  },
  'GET /audit/records': async ({ call, snapshots }) => {
    const first = snapshots[0] as Snapshot;
    const from = new Date(Date.parse(first.createdAt) - 60_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const page = await ok(call<{ items: Array<{ id: string; kind: string; indexProblems: string[] }>; nextCursor?: string }>('GET', `/audit/records?from=${from}&to=${to}&limit=1`));
    expect(page.items).toHaveLength(1);
    expect(page.nextCursor).toBeDefined();
    const rest = await ok(call<{ items: Array<{ id: string }> }>('GET', `/audit/records?from=${from}&to=${to}&limit=1000&cursor=${page.nextCursor ?? ''}`));
    expect([...page.items, ...rest.items].map((r) => r.id)).toContain(first.snapshotId);
  },
  'GET /audit/records/at': async ({ call, snapshots }) => {
    const id = (snapshots[0] as Snapshot).snapshotId;
    const record = await ok(call<{ id: string; kind: string; indexProblems: string[] }>('GET', `/audit/records/at?kind=snapshot&pk=SNAP%23${id}&sk=SNAP`));
    expect(record).toMatchObject({ id, kind: 'snapshot', indexProblems: [] });
  },
} satisfies Record<Exclude<RouteKey, '$default'>, Step>;

/** A well-formed id that names nothing. */
const NO_SUCH_ID = '01JDQ6Z3M4X5Y6Z7A8B9C0D1E2';

describe('the API against its OpenAPI document (local host)', () => {
  let t: TestHost;
  let ctx: Context;

  beforeAll(async () => {
    t = await startTestHost();
    ctx = {
      url: t.url,
      snapshots: [],
      call: (method, path, body, headers = {}) => requestWithHeaders(t.url, method, path, body, headers),
      async uploadManifest(name, text) {
        const s3 = new S3Client(localS3ClientConfig(t.host.s3Endpoint));
        try {
          await s3.send(new PutObjectCommand({ Bucket: t.host.manifestBucket, Key: `uploads/${name}`, Body: text }));
        } finally {
          s3.destroy();
        }
        return `s3://${t.host.manifestBucket}/uploads/${name}`;
      },
      async sealOldWindow() {
        const windowStart = '2000-01-01T00:00:00.000Z';
        const manifestObject = auditObjects.manifest(windowStart);
        const built = buildDigest({ windowStart, windowEnd: '2000-01-01T01:00:00.000Z', entries: [], manifestObject, previous: undefined, createdAt: new Date().toISOString(), keyFingerprint: keyFingerprint(createPublicKey(await t.host.audit.signer.publicKeyPem())) });
        await t.host.audit.store.putDigest(windowStart, { digest: built.bytes, signature: await t.host.audit.signer.sign(built.bytes), manifest: built.manifest, manifestObject });
        return windowStart;
      },
    };
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers every route of the manifest with success, each answer as the document describes it', async () => {
    for (const step of Object.values(STEPS)) await step(ctx);
    const answered = [...checkedAnswers].filter((a) => /\s2\d\d$/.test(a)).map((a) => a.replace(/\s\d{3}$/, ''));
    const routeKeys = ROUTES.map((r) => r.routeKey).filter((k) => k !== '$default');
    expect(routeKeys.filter((k) => !answered.includes(k))).toEqual([]);
    // The idempotent repeat's 200 is part of the contract too.
    expect(checkedAnswers).toContain('POST /snapshots 200');
  });

  it('describes the error answers of every route to ids that name nothing and bodies that are wrong', async () => {
    for (const { routeKey } of ROUTES) {
      if (routeKey === '$default') continue;
      const [method = '', template = ''] = routeKey.split(' ');
      const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => (/id$/i.test(name) ? NO_SUCH_ID : 'no-such-thing'));
      const withBody = method === 'POST' || method === 'PUT';
      for (const body of withBody ? [{ unexpected: true }, '{"truncated":', undefined] : [undefined]) {
        const res = await ctx.call(method, path, body);
        expect(res.status, `${routeKey}: ${res.text}`).toBeLessThan(500);
      }
    }
    const res = await ctx.call('GET', '/snapshots/not-a-ulid/replays?limit=0');
    expect(res.status).toBe(404);
  });

  it('describes the answer of every route to a path parameter that is not valid percent-encoding', async () => {
    for (const { routeKey } of ROUTES) {
      const [method = '', template = ''] = routeKey.split(' ');
      if (routeKey === '$default' || !template.includes('{')) continue;
      const res = await ctx.call(method, template.replace(/\{\w+\}/g, '%E0%A4%A'));
      expect(res.status, `${routeKey}: ${res.text}`).toBe(400);
    }
  });
});
