/**
 * Recorded dependencies over HTTP on the one-machine host, with the tool-using demo model: its
 * decisions call a "rates" tool whose answer changes on every call. Recorded-mode replays answer the
 * call from the recording (identical outputs every time); live-mode replays ask the tool again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplayResult } from '../../functions/core/replay.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import type { Applicant } from '../../functions/local/demo-model.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { requestJson, type Reply } from '../support/http.js';

interface DemoAnswer {
  outputs: { name: string; value: unknown; type?: string }[];
  dependencies: { name: string; kind: string; request: unknown; response: unknown; latencyMs: number }[];
}

describe('recorded dependencies over HTTP (tool-using demo model)', () => {
  let t: TestHost;
  const call = <T = unknown>(method: string, path: string, body?: unknown): Promise<Reply<T>> => requestJson<T>(t.url, method, path, body);

  /** Asks the tool-using demo v1 to decide, and records its answer with the calls it made. */
  async function recordToolDecision(functionName: string, applicant: Applicant): Promise<Snapshot> {
    const inputs = [{ name: 'applicant', value: applicant, type: 'object' }];
    const decided = await call<DemoAnswer>('POST', '/demo/credit-tools/v1', { functionName, inputs });
    expect(decided.status).toBe(200);
    const res = await call<Snapshot>('POST', '/snapshots', { functionName, inputs, outputs: decided.body.outputs, dependencies: decided.body.dependencies, modelParameters: { modelName: 'demo-credit-tools', modelVersion: 'v1' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  }

  async function replay(id: string, body: unknown): Promise<ReplayResult> {
    const res = await call<ReplayResult>('POST', `/snapshots/${id}/replay`, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t.close();
  });

  it('the rates tool answers differently on every call', async () => {
    const a = await call<{ rate: number; quote: number }>('GET', '/demo/rates');
    const b = await call<{ rate: number; quote: number }>('GET', '/demo/rates');
    expect(a.status).toBe(200);
    expect(b.body.quote).toBe(a.body.quote + 1);
    expect(b.body.rate).not.toBe(a.body.rate);
  });

  it('replays 10 times in recorded mode with identical outputs, while live mode varies', async () => {
    const snapshot = await recordToolDecision('tools_loan', { income: 52000, age: 41, debt: 30000 });
    expect(snapshot.dependencies?.map((d) => d.name)).toEqual(['rates']);
    expect((await call('PUT', '/functions/tools_loan/executor', { type: 'http', url: `${t.url}/demo/credit-tools/v1` })).status).toBe(200);

    const recorded: ReplayResult[] = [];
    for (let i = 0; i < 10; i++) recorded.push(await replay(snapshot.snapshotId, { mode: 'Strict' }));
    for (const r of recorded) {
      expect(r.replayOutputs).toEqual(snapshot.outputs);
      expect(r.status).toBe('Success');
      expect(r.dependencies).toMatchObject({ mode: 'recorded', reported: true, counts: { unchanged: 1, changed: 0, new: 0, missing: 0 } });
    }

    const live: ReplayResult[] = [];
    for (let i = 0; i < 10; i++) live.push(await replay(snapshot.snapshotId, { mode: 'Strict', dependencyMode: 'live' }));
    const scores = new Set(live.map((r) => JSON.stringify(r.replayOutputs)));
    expect(scores.size).toBeGreaterThan(1);
    expect(live.some((r) => r.status === 'Failed')).toBe(true);
    expect(live.every((r) => r.dependencies?.mode === 'live')).toBe(true);
  });

  it('reports a dependency the candidate skipped as missing', async () => {
    const debtFree = await recordToolDecision('tools_skip', { income: 64000, age: 35 });
    expect((await call('PUT', '/functions/tools_skip/executor', { type: 'http', url: `${t.url}/demo/credit-tools/v2` })).status).toBe(200);
    const result = await replay(debtFree.snapshotId, {});
    expect(result.dependencies?.calls).toEqual([{ name: 'rates', kind: 'tool', status: 'missing', recordedRequest: { currency: 'USD', amount: 0 } }]);
    expect(result.diff?.changes.some((c) => c.path === 'dependencies.rates' && c.changeType === 'Removed')).toBe(true);
  });

  it('takes dependencyMode in batches and refuses an unknown one', async () => {
    const bad = await call<{ error: { code: string; message: string } }>('POST', '/batches', { selector: { functionName: 'tools_loan' }, dependencyMode: 'cached' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('dependencyMode');
    const started = await call<{ batchId: string }>('POST', '/batches', { selector: { functionName: 'tools_loan' }, mode: 'Strict', dependencyMode: 'recorded' });
    expect(started.status).toBe(202);
    let batch: { status: string; stats?: { matches: number; totalReplays: number } } = { status: 'RUNNING' };
    for (let i = 0; i < 100 && batch.status === 'RUNNING'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      batch = (await call<typeof batch>('GET', `/batches/${started.body.batchId}`)).body;
    }
    expect(batch.status).toBe('SUCCEEDED');
    expect(batch.stats?.matches).toBe(batch.stats?.totalReplays);
  });
});
