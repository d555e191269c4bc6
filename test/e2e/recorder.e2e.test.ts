/**
 * The recorder against the local host and against an endpoint nothing listens on: decisions land
 * when the service is up; when it is unreachable the caller sees nothing (same results, no throw,
 * no wait), the counts add up, and memory stays bounded by the queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionReplayClient } from '../../client/src/client.js';
import { createRecorder } from '../../client/src/recorder.js';
import { unreachableUrl } from '../support/cli.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { requestJson } from '../support/http.js';

const decide = (applicant: { income: number; notes: string }) => ({ decision: applicant.income > 40000 ? 'approve' : 'review', score: Math.min(1, applicant.income / 100000) });
const options = {
  functionName: 'recorded_loans',
  inputs: (applicant: { income: number; notes: string }) => ({ applicant }),
  outputs: (r: { decision: string; score: number }) => r,
  modelParameters: { modelName: 'credit', modelVersion: 'v1' },
};

describe('createRecorder over HTTP', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('records every call of the wrapped function in the local host', async () => {
    const recorder = createRecorder({ client: new DecisionReplayClient({ endpoint: t.url }) });
    const wrapped = recorder.wrap(decide, options);
    for (let i = 0; i < 40; i++) expect(wrapped({ income: 1000 * i, notes: 'n' })).toEqual(decide({ income: 1000 * i, notes: 'n' }));
    await recorder.close();
    expect(recorder.stats()).toEqual({ recorded: 40, failed: 0, dropped: 0, pending: 0 });
    const page = await requestJson<{ items: { outputs: unknown }[] }>(t.url, 'GET', '/snapshots?functionName=recorded_loans&limit=1000');
    expect(page.body.items).toHaveLength(40);
  });

  it('with the service unreachable: the caller sees nothing, the counts add up and memory stays bounded', async () => {
    const errors: unknown[] = [];
    const client = new DecisionReplayClient({ endpoint: await unreachableUrl(), retries: 1, retryBaseDelayMs: 1 });
    const recorder = createRecorder({ client, maxQueue: 100, onError: (e) => errors.push(e) });
    const wrapped = recorder.wrap(decide, options);
    const notes = 'x'.repeat(2000); // ~2 KB per decision: 60,000 kept would be over 120 MB
    const calls = 60_000;
    const heapBefore = process.memoryUsage().heapUsed;
    let maxPending = 0;
    for (let i = 0; i < calls; i++) {
      const result = wrapped({ income: i, notes });
      if (result.score !== Math.min(1, i / 100000)) throw new Error(`call ${i} returned ${JSON.stringify(result)}`);
      if (i % 1000 === 0) {
        const s = recorder.stats();
        expect(s.recorded + s.failed + s.dropped + s.pending).toBe(i + 1);
        maxPending = Math.max(maxPending, s.pending);
        await new Promise((r) => setImmediate(r)); // let the sender run, as an application's event loop would
      }
    }
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    await recorder.flush();
    const s = recorder.stats();
    expect(s.recorded).toBe(0);
    expect(s.pending).toBe(0);
    expect(s.failed + s.dropped).toBe(calls);
    expect(s.failed).toBeGreaterThan(0);
    expect(errors).toHaveLength(s.failed);
    expect(maxPending).toBeLessThanOrEqual(100 + 4); // the queue plus the ones being sent
    expect(heapGrowth).toBeLessThan(40 * 1024 * 1024);
  });
});
