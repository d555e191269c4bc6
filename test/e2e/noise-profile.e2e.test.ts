/**
 * Noise profiles over HTTP on the one-machine host, with the noisy demo model: learning a profile
 * runs as a batch; a noise-aware Tolerant replay then passes what is noise and still flags a real
 * decision change.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionReplayClient } from '../../client/src/client.js';
import type { NoiseProfile } from '../../functions/core/noise.js';
import type { ReplayResult } from '../../functions/core/replay.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import type { Applicant } from '../../functions/local/demo-model.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { requestWithHeaders, requestJson, type Reply } from '../support/http.js';

interface DemoAnswer {
  outputs: { name: string; value: unknown; type?: string }[];
}
interface ErrorBody {
  error: { code: string; message: string };
}

describe('noise profiles over HTTP (noisy demo model)', () => {
  let t: TestHost;
  const call = <T = unknown>(method: string, path: string, body?: unknown): Promise<Reply<T>> => requestJson<T>(t.url, method, path, body);

  async function recordNoisy(functionName: string, applicant: Applicant): Promise<Snapshot> {
    const inputs = [{ name: 'applicant', value: applicant, type: 'object' }];
    const decided = await call<DemoAnswer>('POST', '/demo/credit-noisy/v1', { functionName, inputs });
    const res = await call<Snapshot>('POST', '/snapshots', { functionName, inputs, outputs: decided.body.outputs, modelParameters: { modelName: 'demo-credit-noisy', modelVersion: 'v1' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  }

  async function waitForBatch(batchId: string): Promise<{ status: string; noiseProfile?: unknown; stats?: { totalReplays: number } }> {
    for (let i = 0; i < 200; i++) {
      const b = await call<{ status: string; stats?: { totalReplays: number } }>('GET', `/batches/${batchId}`);
      if (b.body.status !== 'RUNNING') return b.body;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`batch ${batchId} still running`);
  }

  async function replay(id: string, body: unknown): Promise<ReplayResult> {
    const res = await call<ReplayResult>('POST', `/snapshots/${id}/replay`, body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  const agree: Snapshot[] = [];
  let flips: Snapshot;

  beforeAll(async () => {
    t = await startTestHost();
    // Debt-free applicants decide alike in v1 and v2; one with debt flips (approve → review).
    for (let i = 0; i < 12; i++) agree.push(await recordNoisy('noisy_loan', { income: 40000 + i * 2500, age: 30 + i }));
    flips = await recordNoisy('noisy_loan', { income: 52000, age: 41, debt: 20000 });
    expect((await call('PUT', '/functions/noisy_loan/executor', { type: 'http', url: `${t.url}/demo/credit-noisy/v2` })).status).toBe(200);
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses to learn without an executor (422) or from bad input (400), starting nothing', async () => {
    const none = await call<ErrorBody>('POST', '/functions/nobody/noise-profile', {});
    expect(none.status).toBe(422);
    expect(none.body.error.code).toBe('NO_EXECUTOR');
    const bad = await call<ErrorBody>('POST', '/functions/noisy_loan/noise-profile', { sampleSize: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('sampleSize must be at least 2');
    const missing = await call<ErrorBody>('GET', '/functions/noisy_loan/noise-profile');
    expect(missing.status).toBe(404);
    const noProfile = await call<ErrorBody>('POST', `/snapshots/${flips.snapshotId}/replay`, { noiseProfile: 'latest' });
    expect(noProfile.status).toBe(422);
    expect(noProfile.body.error.code).toBe('NO_NOISE_PROFILE');
  });

  it('answers 400 for a selector from after its to, and 422 NOT_ENOUGH_SNAPSHOTS for a from after now, never a 500', async () => {
    const backwards = await call<ErrorBody>('POST', '/functions/noisy_loan/noise-profile', { selector: { from: '2026-12-02T00:00:00Z', to: '2026-12-01T00:00:00Z' } });
    const future = await call<ErrorBody>('POST', '/functions/noisy_loan/noise-profile', { selector: { from: '2099-01-01T00:00:00Z' } });

    expect(backwards.status, JSON.stringify(backwards.body)).toBe(400);
    expect(backwards.body.error).toMatchObject({ code: 'INVALID_REQUEST', message: 'selector: from is after to' });
    expect(future.status, JSON.stringify(future.body)).toBe(422);
    expect(future.body.error.code).toBe('NOT_ENOUGH_SNAPSHOTS');
  });

  it('learns a profile as a batch (202, pollable) and reads it by latest and by version', async () => {
    const started = await requestWithHeaders<{ batchId: string; status: string; total: number; profile: string }>(t.url, 'POST', '/functions/noisy_loan/noise-profile', { sampleSize: 13 });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({ status: 'RUNNING', total: 13, profile: '/functions/noisy_loan/noise-profile' });
    expect(started.headers.get('location')).toBe(`/batches/${started.body.batchId}`);
    const batch = await waitForBatch(started.body.batchId);
    expect(batch.status).toBe('SUCCEEDED');
    expect(batch.stats?.totalReplays).toBe(13);

    const latest = await call<NoiseProfile>('GET', '/functions/noisy_loan/noise-profile');
    expect(latest.status).toBe(200);
    expect(latest.body).toMatchObject({ functionName: 'noisy_loan', version: 1, pairs: 13, sampleSize: 13, batchId: started.body.batchId, modelVersions: ['v1'], numericSafetyFactor: 3 });
    const by = Object.fromEntries(latest.body.fields.map((f) => [f.path, f]));
    expect(by['outputs.decision']?.class).toBe('stable');
    expect(by['outputs.score']?.class).toBe('numeric-noise');
    // The demo's score jitters by ±0.001 a run: two runs differ by at most 0.002 (rounded to 4 decimals).
    expect(by['outputs.score']?.spreadAbsolute).toBeGreaterThan(0);
    expect(by['outputs.score']?.spreadAbsolute).toBeLessThanOrEqual(0.0021);
    expect(by['outputs.requestId']?.class).toBe('always-different');
    expect(by['outputs.generatedAt']?.class).toBe('always-different');
    expect(['text-noise', 'stable']).toContain(by['outputs.rationale']?.class);
    expect((await call<NoiseProfile>('GET', '/functions/noisy_loan/noise-profile?version=1')).body).toEqual(latest.body);
    // The SDK reads the same profile.
    await expect(new DecisionReplayClient({ endpoint: t.url }).getNoiseProfile('noisy_loan', { version: 1 })).resolves.toEqual(latest.body);
    expect((await call('GET', '/functions/noisy_loan/noise-profile?version=2')).status).toBe(404);
    expect((await call('GET', '/functions/noisy_loan/noise-profile?version=x')).status).toBe(400);
  });

  it('passes noise and flags the true flip with noiseProfile latest, where plain Tolerant flags noise too', async () => {
    const plain = await Promise.all(agree.map((s) => replay(s.snapshotId, {})));
    expect(plain.filter((r) => r.status === 'Failed').length).toBe(agree.length);

    const aware = await Promise.all(agree.map((s) => replay(s.snapshotId, { noiseProfile: 'latest' })));
    expect(aware.filter((r) => r.status !== 'Success').map((r) => r.fieldComparisons.filter((f) => !f.match))).toEqual([]);
    const id = aware[0]?.fieldComparisons.find((f) => f.path === 'outputs.requestId');
    expect(id).toMatchObject({ noise: 'suppressed', comparator: 'NoiseIgnored' });
    expect(aware[0]?.noiseProfile).toEqual({ functionName: 'noisy_loan', version: 1 });

    const flipped = await replay(flips.snapshotId, { noiseProfile: 1 });
    expect(flipped.status).toBe('Failed');
    expect(flipped.fieldComparisons.find((f) => f.path === 'outputs.decision')).toMatchObject({ match: false, noise: 'stable' });
  });

  it('takes noiseProfile in batches, pinning latest to a version; refuses it with Strict', async () => {
    const strict = await call<ErrorBody>('POST', `/snapshots/${flips.snapshotId}/replay`, { mode: 'Strict', noiseProfile: 'latest' });
    expect(strict.status).toBe(400);
    expect(strict.body.error.message).toContain('noiseProfile applies to Tolerant mode only');
    const unknown = await call<ErrorBody>('POST', '/batches', { selector: { functionName: 'noisy_loan' }, noiseProfile: 9 });
    expect(unknown.status).toBe(404);
    const started = await call<{ batchId: string }>('POST', '/batches', { selector: { functionName: 'noisy_loan' }, noiseProfile: 'latest' });
    expect(started.status).toBe(202);
    const done = await waitForBatch(started.body.batchId);
    expect(done.status).toBe('SUCCEEDED');
    const record = await call<{ request: { noiseProfile: unknown }; stats: { mismatches: number; matches: number } }>('GET', `/batches/${started.body.batchId}`);
    expect(record.body.request.noiseProfile).toBe(1);
    expect(record.body.stats).toMatchObject({ mismatches: 1, matches: agree.length });
  });

  it('learns a field only some answers have by its presence and its value: a missing one is noise, a changed one is not', async () => {
    // A model that adds `warning` to some answers only, reading the same whenever it does: for an
    // even input, to every other call with that input (so each pair of runs has it in one run only).
    const calls = new Map<number, number>();
    let behaviour: 'sometimes' | 'never' | 'changed' = 'sometimes';
    const model: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { inputs: { name: string; value: number }[] };
        const i = body.inputs[0]?.value ?? 0;
        const n = calls.get(i) ?? 0;
        calls.set(i, n + 1);
        const warning = behaviour === 'changed' ? 'income verified' : behaviour === 'sometimes' && i % 2 === 0 && n % 2 === 0 ? 'check income' : undefined;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ outputs: [{ name: 'decision', value: 'approve' }, ...(warning === undefined ? [] : [{ name: 'warning', value: warning }])] }));
      });
    });
    await new Promise<void>((resolve) => model.listen(0, '127.0.0.1', resolve));
    try {
      const recorded: Snapshot[] = [];
      for (let i = 0; i < 9; i++) {
        const outputs = [{ name: 'decision', value: 'approve' }, ...(i % 2 === 0 ? [{ name: 'warning', value: 'check income' }] : [])];
        const res = await call<Snapshot>('POST', '/snapshots', { functionName: 'warned_loan', inputs: [{ name: 'i', value: i }], outputs });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        recorded.push(res.body);
      }
      const port = (model.address() as AddressInfo).port;
      expect((await call('PUT', '/functions/warned_loan/executor', { type: 'http', url: `http://127.0.0.1:${port}/decide` })).status).toBe(200);
      const started = await call<{ batchId: string }>('POST', '/functions/warned_loan/noise-profile', { sampleSize: 9 });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      expect((await waitForBatch(started.body.batchId)).status).toBe('SUCCEEDED');
      const profile = (await call<NoiseProfile>('GET', '/functions/warned_loan/noise-profile')).body;
      const warning = profile.fields.find((f) => f.path === 'outputs.warning');
      // The 5 even inputs' pairs had it in one run only.
      expect(warning).toMatchObject({ pairs: 5, differed: 5, presenceDiffered: 5 });
      expect(warning?.class).toBe('stable');

      const withWarning = recorded[0] as Snapshot;
      behaviour = 'never';
      const dropped = await replay(withWarning.snapshotId, { noiseProfile: 'latest' });
      expect(dropped.status).toBe('Success');
      expect(dropped.fieldComparisons.find((f) => f.path === 'outputs.warning')).toMatchObject({ comparator: 'NoiseIgnored', noise: 'suppressed', original: 'check income' });
      behaviour = 'changed';
      const changed = await replay(withWarning.snapshotId, { noiseProfile: 'latest' });
      expect(changed.status).toBe('Failed');
      expect(changed.fieldComparisons.find((f) => f.path === 'outputs.warning')).toMatchObject({ comparator: 'ExactMatch', match: false, noise: 'stable', replayed: 'income verified' });
    } finally {
      await new Promise((resolve) => model.close(resolve));
    }
  });
});
