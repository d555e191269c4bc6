/**
 * `GET /_local/metrics`: the metrics the functions emit as EMF lines, parsed, per function (service)
 * and dimension set, after a replay through the demo model, and after a batch, whose data points
 * go out gathered into few lines with the same totals.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../functions/core/batch.js';
import { handleDemoRequest } from '../../functions/local/demo-model.js';
import type { LocalSeries } from '../../functions/local/metrics.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { requestJson } from '../support/http.js';

/**
 * The demo model (v2) over HTTP, answering every call at once except call number `held` (1-based),
 * which it holds until `release()`; `arrived` settles when that call comes in.
 */
async function heldModel(held: number): Promise<{ url: string; arrived: Promise<void>; release(): void; close(): Promise<void> }> {
  let calls = 0;
  let release = () => undefined as void;
  const released = new Promise<void>((r) => (release = r));
  let arrive = () => undefined as void;
  const arrived = new Promise<void>((r) => (arrive = r));
  const model = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      calls += 1;
      const answer = () => {
        const a = handleDemoRequest('POST', '/demo/credit/v2', JSON.parse(body));
        res.writeHead(a?.status ?? 500, { 'content-type': 'application/json' }).end(JSON.stringify(a?.body));
      };
      if (calls !== held) return answer();
      arrive();
      void released.then(answer);
    });
  });
  await new Promise<void>((r) => model.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(model.address() as AddressInfo).port}/v2`,
    arrived,
    release,
    close: () => new Promise<void>((r) => model.close(() => r())),
  };
}

describe('GET /_local/metrics', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves the replay and executor metrics the replay function emitted, under the DecisionReplay namespace', async () => {
    const before = await requestJson<{ namespace: string; items: LocalSeries[] }>(t.url, 'GET', '/_local/metrics');
    expect(before.status).toBe(200);
    expect(before.body.items.filter((s) => s.name === 'Replays')).toEqual([]);

    const recorded = await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', demoV1Decision('metrics_fn', { income: 52000, age: 41, debt: 1000 }));
    expect(recorded.status).toBe(201);
    expect((await requestJson(t.url, 'PUT', '/functions/metrics_fn/executor', { type: 'http', url: `${t.url}/demo/credit/v2` })).status).toBe(200);
    const replayed = await requestJson<{ status: string; mode: string }>(t.url, 'POST', `/snapshots/${recorded.body.snapshotId}/replay`, {});
    expect(replayed.status).toBe(200);

    const after = await requestJson<{ namespace: string; emfLines: number; items: LocalSeries[] }>(t.url, 'GET', '/_local/metrics');
    expect(after.body.namespace).toBe('DecisionReplay');
    expect(after.body.items.filter((s) => s.name === 'Replays')).toEqual([
      expect.objectContaining({ namespace: 'DecisionReplay', unit: 'Count', dimensions: { service: 'decision-replay-replay', status: replayed.body.status, mode: 'Tolerant' }, count: 1, sum: 1 }),
    ]);
    const latency = after.body.items.find((s) => s.name === 'ExecutorLatency');
    expect(latency).toMatchObject({ unit: 'Milliseconds', dimensions: { service: 'decision-replay-replay', executorType: 'http', outcome: 'ok' }, count: 1 });
    expect(latency?.sum).toBeGreaterThan(0);
  });

  it('counts every data point of a batch, in far fewer EMF lines than data points', async () => {
    type Metrics = { emfLines: number; items: LocalSeries[] };
    const read = async () => (await requestJson<Metrics>(t.url, 'GET', '/_local/metrics')).body;
    const of = (m: Metrics, service: string, name: string) => m.items.filter((s) => s.dimensions.service === `decision-replay-${service}` && s.name === name);
    const count = (series: LocalSeries[]) => series.reduce((n, s) => n + s.count, 0);
    const N = 60;
    expect((await requestJson(t.url, 'PUT', '/functions/metrics_batch_fn/executor', { type: 'http', url: `${t.url}/demo/credit/v2` })).status).toBe(200);
    const validatedBefore = count(of(await read(), 'on-write', 'OnWriteLag'));
    const ids: string[] = [];
    for (let i = 0; i < N; i++) {
      const recorded = await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', demoV1Decision('metrics_batch_fn', { income: 30_000 + i * 1_000, age: 25 + (i % 40), ...(i % 3 === 0 && { debt: 4_000 + i * 500 }) }));
      expect(recorded.status).toBe(201);
      ids.push(recorded.body.snapshotId);
    }
    // Every write validated by on-write first, so the lines counted below are the batch's.
    while (count(of(await read(), 'on-write', 'OnWriteLag')) < validatedBefore + N) await new Promise((r) => setTimeout(r, 50));
    const before = await read();

    const started = await requestJson<{ batchId: string }>(t.url, 'POST', '/batches', { snapshotIds: ids, maxConcurrency: 1 });
    expect(started.status).toBe(202);
    let batch = (await requestJson<Batch>(t.url, 'GET', `/batches/${started.body.batchId}`)).body;
    for (const until = Date.now() + 60_000; batch.status === 'RUNNING' && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 100));
      batch = (await requestJson<Batch>(t.url, 'GET', `/batches/${started.body.batchId}`)).body;
    }
    expect(batch).toMatchObject({ status: 'SUCCEEDED', completed: N });
    const after = await read();

    // The same totals as one line per data point gave: one Replays and one ExecutorLatency per item.
    const replays = of(after, 'batch-replay', 'Replays');
    expect(count(replays)).toBe(N);
    expect(replays.reduce((n, s) => n + s.sum, 0)).toBe(N);
    expect(replays.every((s) => Object.keys(s.dimensions).sort().join() === 'mode,service,status')).toBe(true);
    const latency = of(after, 'batch-replay', 'ExecutorLatency');
    expect(latency).toEqual([expect.objectContaining({ dimensions: { service: 'decision-replay-batch-replay', executorType: 'http', outcome: 'ok' }, count: N })]);
    expect(latency[0]?.sum).toBeGreaterThan(0);
    expect(of(after, 'batch-stats', 'Batches')).toEqual([expect.objectContaining({ dimensions: { service: 'decision-replay-batch-stats', status: 'SUCCEEDED' }, count: 1 })]);
    // 2N + 2 data points (one line each before); a chunk publishes each of its groups when it ends.
    const lines = after.emfLines - before.emfLines;
    expect(lines).toBeGreaterThan(0);
    expect(lines).toBeLessThan(N / 2);
  });

  it('shows a running chunk\'s data points when read, before the chunk ends', async () => {
    // The model answers the first call at once and holds the second until released: the chunk
    // (2 items: 4 snapshots at maxConcurrency 1) is still running while the metrics are read.
    const model = await heldModel(2);
    try {
      expect((await requestJson(t.url, 'PUT', '/functions/metrics_held_fn/executor', { type: 'http', url: model.url })).status).toBe(200);
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', demoV1Decision('metrics_held_fn', { income: 40_000 + i * 5_000, age: 30 + i }))).body.snapshotId);
      const latencyBefore = (await requestJson<{ items: LocalSeries[] }>(t.url, 'GET', '/_local/metrics')).body.items.find((s) => s.name === 'ExecutorLatency' && s.dimensions.service === 'decision-replay-batch-replay')?.count ?? 0;

      const started = await requestJson<{ batchId: string }>(t.url, 'POST', '/batches', { snapshotIds: ids, maxConcurrency: 1 });
      expect(started.status).toBe(202);
      await model.arrived;
      // The first item's executor call was measured before the second began; its chunk still runs.
      const during = await requestJson<{ items: LocalSeries[] }>(t.url, 'GET', '/_local/metrics');
      model.release();

      expect(during.body.items.find((s) => s.name === 'ExecutorLatency' && s.dimensions.service === 'decision-replay-batch-replay')?.count).toBe(latencyBefore + 1);
      let batch = (await requestJson<Batch>(t.url, 'GET', `/batches/${started.body.batchId}`)).body;
      for (const until = Date.now() + 60_000; batch.status === 'RUNNING' && Date.now() < until; ) {
        await new Promise((r) => setTimeout(r, 100));
        batch = (await requestJson<Batch>(t.url, 'GET', `/batches/${started.body.batchId}`)).body;
      }
      expect(batch).toMatchObject({ status: 'SUCCEEDED', completed: 4 });
    } finally {
      model.release();
      await model.close();
    }
  });

  it('counts a cancelled batch under Batches with status CANCELLED, once, from the batches function', async () => {
    // The model holds its first call until released, so the batch is RUNNING when it is cancelled.
    const model = await heldModel(1);
    const cancelled = async () => (await requestJson<{ items: LocalSeries[] }>(t.url, 'GET', '/_local/metrics')).body.items.filter((s) => s.name === 'Batches' && s.dimensions.status === 'CANCELLED');
    try {
      expect(await cancelled()).toEqual([]);
      expect((await requestJson(t.url, 'PUT', '/functions/metrics_cancel_fn/executor', { type: 'http', url: model.url })).status).toBe(200);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', demoV1Decision('metrics_cancel_fn', { income: 40_000 + i * 5_000, age: 30 + i }))).body.snapshotId);
      const started = await requestJson<{ batchId: string }>(t.url, 'POST', '/batches', { snapshotIds: ids, maxConcurrency: 1 });
      expect(started.status).toBe(202);
      await model.arrived;

      const cancel = await requestJson<Batch>(t.url, 'POST', `/batches/${started.body.batchId}/cancel`);
      expect(cancel.status).toBe(200);
      expect(cancel.body.status).toBe('CANCELLED');
      // A second cancel is refused (409) and counts nothing more.
      expect((await requestJson(t.url, 'POST', `/batches/${started.body.batchId}/cancel`)).status).toBe(409);
      model.release();

      expect(await cancelled()).toEqual([expect.objectContaining({ unit: 'Count', dimensions: { service: 'decision-replay-batches', status: 'CANCELLED' }, count: 1, sum: 1 })]);
    } finally {
      model.release();
      await model.close();
    }
  });
});
