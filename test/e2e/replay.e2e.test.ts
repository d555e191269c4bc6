/**
 * Replay over HTTP on the one-machine host: the built-in demo credit model (v2) re-decides what v1
 * decided; the snapshot is tampered with straight through the DynamoDB API; executors that are
 * unreachable, failing, malformed or slow give persisted Error results.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideCredit, type Applicant } from '../../functions/local/demo-model.js';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import type { ReplayResult } from '../../functions/core/replay.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { requestJson, type Reply } from '../support/http.js';

/** A debt-free applicant: v1 and v2 give the same decision and score, with a reworded rationale. */
const AGREES: Applicant = { income: 52000, age: 41 };
/** With debt, v2's heavier debt-to-income penalty turns approve into review. */
const DISAGREES: Applicant = { income: 52000, age: 41, debt: 20000 };


/** An output of 40,000 elements: compared element by element, its verdicts alone outgrow a stored item. */
const BIG_ARRAY = Array.from({ length: 40_000 }, (_, i) => i);

describe('replay over HTTP (local host)', () => {
  let t: TestHost;
  let stub: Server;
  let stubUrl: string;
  let doc: DynamoDBDocumentClient;
  let rawClient: DynamoDBClient;

  function call<T = unknown>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
    return requestJson<T>(t.url, method, path, body);
  }

  /** Records what demo v1 decided for `applicant`. */
  async function recordV1(functionName: string, applicant: Applicant): Promise<Snapshot> {
    const res = await call<Snapshot>('POST', '/snapshots', demoV1Decision(functionName, applicant, { tenant: 'acme' }));
    expect(res.status).toBe(201);
    return res.body;
  }

  async function replay(id: string, body: unknown = {}): Promise<ReplayResult> {
    const res = await call<ReplayResult>('POST', `/snapshots/${id}/replay`, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  async function registerExecutor(functionName: string, config: unknown): Promise<void> {
    const res = await call('PUT', `/functions/${functionName}/executor`, config);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }

  const field = (r: ReplayResult, path: string) => r.fieldComparisons.find((f) => f.path === path);

  beforeAll(async () => {
    t = await startTestHost();
    rawClient = new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint });
    doc = DynamoDBDocumentClient.from(rawClient);
    // A misbehaving executor: 500, not JSON, JSON of the wrong shape, or too slow.
    stub = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/500') {
          res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"model crashed"}');
        } else if (req.url === '/not-json') {
          res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>');
        } else if (req.url === '/wrong-shape') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"approve"}');
        } else if (req.url === '/deep') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(`{"outputs":[{"name":"decision","value":${'['.repeat(3000)}"approve"${']'.repeat(3000)}}]}`);
        } else if (req.url === '/proto') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"outputs":[{"name":"decision","value":{"__proto__":{"polluted":1}}}]}');
        } else if (req.url === '/big') {
          // The same 40,000-element output the big snapshot recorded.
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ outputs: [{ name: 'items', value: BIG_ARRAY }] }));
        } else if (req.url === '/slow') {
          const timer = setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"outputs":[{"name":"decision","value":"approve"}]}'), 3000);
          res.on('close', () => clearTimeout(timer));
        } else {
          res.writeHead(404).end();
        }
      });
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    stub.closeAllConnections();
    await new Promise<void>((resolve) => stub.close(() => resolve()));
    rawClient.destroy();
    await t.close();
  });

  describe('executor registration', () => {
    it('answers 404 for GET executor when none is registered', async () => {
      const res = await call<{ error: { code: string } }>('GET', '/functions/never_registered/executor');
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('EXECUTOR_NOT_FOUND');
    });

    it('stores an http executor and answers it on GET', async () => {
      const config = { type: 'http', url: `${t.url}/demo/credit/v2`, timeoutMs: 5000 };
      const put = await call<{ functionName: string; executor: unknown; updatedAt: string }>('PUT', '/functions/approve_loan/executor', config);
      expect(put.status).toBe(200);
      expect(put.body).toEqual({ functionName: 'approve_loan', executor: config, updatedAt: expect.any(String) });
      const get = await call('GET', '/functions/approve_loan/executor');
      expect(get).toEqual({ status: 200, body: put.body });
    });

    it.each([
      ['an unknown type', { type: 'smtp', url: 'http://127.0.0.1:1/x' }, /type must be one of/],
      ['a URL that is not a URL', { type: 'http', url: 'not a url' }, /not an absolute URL/],
      ['a non-http URL', { type: 'http', url: 'ftp://127.0.0.1/x' }, /only http and https/],
      ['credentials in the URL', { type: 'http', url: 'http://user:pw@127.0.0.1/x' }, /credentials in the URL/],
      ['a timeout out of range', { type: 'http', url: 'http://127.0.0.1/x', timeoutMs: 0 }, /timeoutMs must be at least 1/],
      ['an unknown field', { type: 'http', url: 'http://127.0.0.1/x', retries: 3 }, /unknown field/],
    ])('answers 400 for %s, storing nothing', async (_label, config, message) => {
      const res = await call<{ error: { code: string; message: string; details?: unknown } }>('PUT', '/functions/bad_config_fn/executor', config);
      expect(res.status).toBe(400);
      expect(`${res.body.error.message} ${JSON.stringify(res.body.error.details ?? {})}`).toMatch(message);
      expect((await call('GET', '/functions/bad_config_fn/executor')).status).toBe(404);
    });
  });

  describe('replaying v1 decisions on the v2 demo model', () => {
    let agrees: Snapshot;
    let disagrees: Snapshot;

    beforeAll(async () => {
      await registerExecutor('approve_loan', { type: 'http', url: `${t.url}/demo/credit/v2` });
      agrees = await recordV1('approve_loan', AGREES);
      disagrees = await recordV1('approve_loan', DISAGREES);
      // The fixtures mean what they say.
      expect(decideCredit('v2', AGREES).decision).toBe(decideCredit('v1', AGREES).decision);
      expect(decideCredit('v2', DISAGREES).decision).not.toBe(decideCredit('v1', DISAGREES).decision);
    });

    it('Tolerant: the agreeing decision succeeds; the reworded rationale scores below 1 but within tolerance', async () => {
      const r = await replay(agrees.snapshotId, { mode: 'Tolerant' });
      expect(r).toMatchObject({ snapshotId: agrees.snapshotId, mode: 'Tolerant', tolerance: 0.8, status: 'Success', outputsMatch: true, integrity: 'verified', executor: expect.stringContaining('/demo/credit/v2') });
      expect(field(r, 'outputs.decision')).toMatchObject({ score: 1, match: true, original: 'approve', replayed: 'approve' });
      expect(field(r, 'outputs.score')).toMatchObject({ comparator: 'NumericCloseness', score: 1, match: true });
      const rationale = field(r, 'outputs.rationale');
      expect(rationale).toMatchObject({ comparator: 'SemanticSimilarity', provider: 'lexical', match: true, replayed: decideCredit('v2', AGREES).rationale });
      expect(rationale?.score).toBeGreaterThanOrEqual(0.8);
      expect(rationale?.score).toBeLessThan(1);
      expect(r.replayOutputs?.map((o) => o.name)).toEqual(['decision', 'score', 'rationale']);
      expect(r.executionTimeMs).toBeGreaterThan(0);
    });

    it('Strict: the same decision fails on the reworded rationale alone', async () => {
      const r = await replay(agrees.snapshotId, { mode: 'Strict' });
      expect(r).toMatchObject({ mode: 'Strict', tolerance: null, status: 'Failed', outputsMatch: false });
      expect(r.fieldComparisons.filter((f) => !f.match).map((f) => f.path)).toEqual(['outputs.rationale']);
      expect(r.diff?.changes.map((c) => c.path)).toContain('outputs.rationale');
    });

    it('Tolerant: the flipped decision fails, on the decision and the score', async () => {
      const v2 = decideCredit('v2', DISAGREES);
      const r = await replay(disagrees.snapshotId);
      expect(r).toMatchObject({ mode: 'Tolerant', status: 'Failed', outputsMatch: false });
      expect(field(r, 'outputs.decision')).toMatchObject({ match: false, original: 'approve', replayed: v2.decision });
      expect(field(r, 'outputs.score')).toMatchObject({ original: decideCredit('v1', DISAGREES).score, replayed: v2.score });
      expect(r.diff?.changes).toContainEqual(expect.objectContaining({ path: 'outputs.decision', changeType: 'Modified', oldValue: 'approve', newValue: v2.decision }));
    });

    it('Strict: the flipped decision fails too', async () => {
      const r = await replay(disagrees.snapshotId, { mode: 'Strict' });
      expect(r.status).toBe('Failed');
      expect(field(r, 'outputs.decision')?.match).toBe(false);
    });

    it('a low tolerance lets the score change pass but never a changed decision', async () => {
      const r = await replay(disagrees.snapshotId, { tolerance: 0.5 });
      expect(field(r, 'outputs.score')?.match).toBe(true);
      expect(field(r, 'outputs.decision')?.match).toBe(false);
      expect(r.status).toBe('Failed');
    });

    it('ValidationOnly checks without executing: replayOutputs null', async () => {
      const r = await replay(disagrees.snapshotId, { mode: 'ValidationOnly' });
      expect(r).toMatchObject({ status: 'Success', integrity: 'verified', replayOutputs: null, executor: null, fieldComparisons: [] });
    });

    it('records overrides and shows them in the diff', async () => {
      const r = await replay(agrees.snapshotId, { overrides: { modelParameters: { modelVersion: 'v2' }, context: { promptVersion: 'p9' } } });
      expect(r.overrides).toEqual({ modelParameters: { modelVersion: 'v2' }, context: { promptVersion: 'p9' } });
      expect(r.diff?.changes).toContainEqual(expect.objectContaining({ path: 'modelParameters.modelVersion', oldValue: 'v1', newValue: 'v2' }));
      expect(r.diff?.changes).toContainEqual(expect.objectContaining({ path: 'context.promptVersion', changeType: 'Added', newValue: 'p9' }));
    });

    it('a policy violation fails a replay whose outputs match', async () => {
      const r = await replay(agrees.snapshotId, { policy: { rules: [{ name: 'high-score', field: 'outputs.score', comparator: 'WithinRange', min: 0.95, max: 1 }] } });
      expect(r.outputsMatch).toBe(true);
      expect(r.status).toBe('Failed');
      expect(r.policyViolations).toEqual([expect.objectContaining({ ruleName: 'high-score', field: 'outputs.score' })]);
    });

    it.each([
      ['an unknown mode', 400, { mode: 'Lenient' }],
      ['a tolerance with Strict', 400, { mode: 'Strict', tolerance: 0.9 }],
      ['overrides with ValidationOnly (nothing would run them)', 400, { mode: 'ValidationOnly', overrides: { modelParameters: { modelName: 'credit-llm-next' } } }],
      ['both policy and policyName', 400, { policyName: 'p', policy: { rules: [{ field: 'outputs.decision', comparator: 'ExactMatch' }] } }],
      ['an unknown policyName', 404, { policyName: 'no-such-policy' }],
      ['a policyName that can never exist (a bad field, not an unknown policy)', 400, { policyName: 'no such policy!' }],
    ])('answers %s with %i, persisting nothing', async (_label, status, body) => {
      const before = await call<{ items: ReplayResult[] }>('GET', `/snapshots/${agrees.snapshotId}/replays?limit=1000`);
      const res = await call('POST', `/snapshots/${agrees.snapshotId}/replay`, body);
      expect(res.status).toBe(status);
      const after = await call<{ items: ReplayResult[] }>('GET', `/snapshots/${agrees.snapshotId}/replays?limit=1000`);
      expect(after.body.items).toHaveLength(before.body.items.length);
    });

    it('answers 404 for a snapshot that does not exist', async () => {
      expect((await call('POST', '/snapshots/01JBZ0000000000000000000ZZ/replay', {})).status).toBe(404);
      expect((await call('GET', '/snapshots/01JBZ0000000000000000000ZZ/replays')).status).toBe(404);
    });

    it('lists the replay history newest first, in pages', async () => {
      const snapshot = await recordV1('approve_loan', { income: 30000, age: 30 });
      const made: string[] = [];
      for (const mode of ['Strict', 'Tolerant', 'ValidationOnly', 'Strict']) made.push((await replay(snapshot.snapshotId, { mode })).replayId);

      const all = await call<{ items: ReplayResult[]; nextCursor?: string }>('GET', `/snapshots/${snapshot.snapshotId}/replays`);
      expect(all.status).toBe(200);
      expect(all.body.items.map((r) => r.replayId)).toEqual([...made].reverse());
      expect(all.body.items.map((r) => r.mode)).toEqual(['Strict', 'ValidationOnly', 'Tolerant', 'Strict']);
      expect(all.body.nextCursor).toBeUndefined();

      const first = await call<{ items: ReplayResult[]; nextCursor?: string }>('GET', `/snapshots/${snapshot.snapshotId}/replays?limit=3`);
      expect(first.body.items).toHaveLength(3);
      const cursor = encodeURIComponent(first.body.nextCursor ?? '');
      const second = await call<{ items: ReplayResult[]; nextCursor?: string }>('GET', `/snapshots/${snapshot.snapshotId}/replays?limit=3&cursor=${cursor}`);
      expect(second.body.items.map((r) => r.replayId)).toEqual([made[0]]);
      expect(second.body.nextCursor).toBeUndefined();
      expect((await call('GET', `/snapshots/${snapshot.snapshotId}/replays?cursor=garbage`)).status).toBe(400);
    });

    it('a snapshot altered in the table is Failed/tampered in every mode and nothing is executed', async () => {
      const victim = await recordV1('approve_loan', AGREES);
      expect((await replay(victim.snapshotId, { mode: 'Strict' })).integrity).toBe('verified');

      // Someone with table access rewrites the recorded decision, leaving contentHash as it was.
      await doc.send(
        new UpdateCommand({
          TableName: t.host.tableName,
          Key: { pk: `SNAP#${victim.snapshotId}`, sk: 'SNAP' },
          UpdateExpression: 'SET outputs = :o',
          ExpressionAttributeValues: { ':o': [{ name: 'decision', value: 'decline', type: 'string' }, ...victim.outputs.slice(1)] },
        }),
      );
      const read = await call<Snapshot>('GET', `/snapshots/${victim.snapshotId}`);
      expect(read.body.outputs[0]?.value).toBe('decline');
      expect(read.body.contentHash).toBe(victim.contentHash);

      for (const mode of ['Tolerant', 'Strict', 'ValidationOnly']) {
        const r = await replay(victim.snapshotId, { mode });
        expect(r).toMatchObject({ mode, status: 'Failed', integrity: 'tampered', replayOutputs: null, executor: null, executionTimeMs: 0, error: { code: 'SNAPSHOT_TAMPERED' } });
      }
      const history = await call<{ items: ReplayResult[] }>('GET', `/snapshots/${victim.snapshotId}/replays`);
      expect(history.body.items.map((r) => r.integrity)).toEqual(['tampered', 'tampered', 'tampered', 'verified']);
    });
  });

  describe('executors without a usable answer', () => {
    it('answers 422 NO_EXECUTOR when none is registered, and persists nothing', async () => {
      const s = await recordV1('unregistered_fn', AGREES);
      const res = await call<{ error: { code: string; message: string } }>('POST', `/snapshots/${s.snapshotId}/replay`, {});
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('NO_EXECUTOR');
      expect(res.body.error.message).toContain('unregistered_fn');
      expect((await call('GET', `/snapshots/${s.snapshotId}/replays`)).body).toEqual({ items: [] });
    });

    it('answers 422 UNSUPPORTED_MODEL when the executor serves other models', async () => {
      await registerExecutor('models_fn', { type: 'http', url: `${t.url}/demo/credit/v2`, models: ['other-model'] });
      const s = await recordV1('models_fn', AGREES);
      const res = await call<{ error: { code: string } }>('POST', `/snapshots/${s.snapshotId}/replay`, {});
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('UNSUPPORTED_MODEL');
      expect((await call('GET', `/snapshots/${s.snapshotId}/replays`)).body).toEqual({ items: [] });
    });

    it('persists status Error EXECUTOR_UNREACHABLE for an executor on a closed port', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      await registerExecutor('closed_fn', { type: 'http', url: `http://127.0.0.1:${port}/decide`, timeoutMs: 2000 });
      const s = await recordV1('closed_fn', AGREES);

      const r = await replay(s.snapshotId);

      expect(r).toMatchObject({ status: 'Error', outputsMatch: false, replayOutputs: null, integrity: 'verified', error: { code: 'EXECUTOR_UNREACHABLE' } });
      const history = await call<{ items: ReplayResult[] }>('GET', `/snapshots/${s.snapshotId}/replays`);
      expect(history.body.items).toEqual([r]);
    });

    it.each([
      ['answers 500', '/500', {}, 'EXECUTOR_HTTP_STATUS', /500/],
      ['answers something that is not JSON', '/not-json', {}, 'EXECUTOR_MALFORMED_RESPONSE', /not JSON/],
      ['answers JSON without outputs', '/wrong-shape', {}, 'EXECUTOR_MALFORMED_RESPONSE', /outputs/],
      ['answers JSON nested 3,000 levels deep', '/deep', {}, 'EXECUTOR_MALFORMED_RESPONSE', /nested deeper than 64 levels/],
      ['answers a value holding a __proto__ key', '/proto', {}, 'EXECUTOR_MALFORMED_RESPONSE', /"__proto__" at outputs\[0\]\.value\.__proto__/],
      ['answers after its 200 ms timeout', '/slow', { timeoutMs: 200 }, 'EXECUTOR_TIMEOUT', /200 ms/],
    ])('persists status Error for an executor that %s', async (_label, path, extra, code, message) => {
      const fn = `stub${path.replace(/[^a-z0-9]/g, '_')}`;
      await registerExecutor(fn, { type: 'http', url: `${stubUrl}${path}`, ...extra });
      const s = await recordV1(fn, AGREES);

      const started = performance.now();
      const r = await replay(s.snapshotId);
      const elapsed = performance.now() - started;

      expect(r).toMatchObject({ status: 'Error', outputsMatch: false, replayOutputs: null, fieldComparisons: [], error: { code } });
      expect(r.error?.message).toMatch(message);
      expect(r.executor).toContain(stubUrl);
      if (code === 'EXECUTOR_TIMEOUT') expect(elapsed).toBeLessThan(2000);
      expect((await call<{ items: ReplayResult[] }>('GET', `/snapshots/${s.snapshotId}/replays`)).body.items).toEqual([r]);
    });
  });

  describe('a replay whose verdicts alone outgrow one item', () => {
    it('answers in full and is stored compacted to 1,000 verdicts, not refused with 413', async () => {
      await registerExecutor('big_array_fn', { type: 'http', url: `${stubUrl}/big` });
      const recorded = await call<Snapshot>('POST', '/snapshots', { functionName: 'big_array_fn', inputs: [{ name: 'q', value: 1 }], outputs: [{ name: 'items', value: BIG_ARRAY }] });
      expect(recorded.status, JSON.stringify(recorded.body).slice(0, 300)).toBe(201);

      const r = await replay(recorded.body.snapshotId, { mode: 'Strict' });

      expect(r.status).toBe('Success');
      expect(r.outputsMatch).toBe(true);
      expect(r.fieldComparisons.length).toBeGreaterThan(1000);
      const [stored] = (await call<{ items: (ReplayResult & { truncated?: string })[] }>('GET', `/snapshots/${recorded.body.snapshotId}/replays`)).body.items;
      expect(stored?.replayId).toBe(r.replayId);
      expect(stored?.status).toBe('Success');
      expect(stored?.fieldComparisons).toHaveLength(1000);
      expect(stored?.truncated).toContain(`${r.fieldComparisons.length - 1000} of ${r.fieldComparisons.length} field comparisons`);
    });
  });
});
