/**
 * `GET /_local/metrics`: the metrics the functions emit as EMF lines, parsed, per function (service)
 * and dimension set, after a replay through the demo model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSeries } from '../../functions/local/metrics.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { requestJson } from '../support/http.js';

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
});
