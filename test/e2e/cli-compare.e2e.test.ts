/**
 * `decision-replay batch compare` against the in-memory local host: the same recorded decisions
 * replayed on the model that made them (v1, the baseline) and on v2 (whose heavier debt penalty
 * flips some of them), then compared from the CLI — the verdict, the table, the release gate
 * `--fail-if-worse` and its exit codes, batches that replayed different snapshots — and the
 * comparison's HTML view (`report compare`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../functions/core/batch.js';
import type { Comparison } from '../../functions/core/comparison.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import type { Applicant } from '../../functions/local/demo-model.js';
import { cli } from '../support/cli.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { requestJson } from '../support/http.js';
import { tempDir } from '../support/temp-dirs.js';

const FN = 'cli_compare_loans';
/** 40 applicants, half with debt: v2 flips many of those. */
const APPLICANTS: Applicant[] = Array.from({ length: 40 }, (_, i) => ({ income: 30_000 + i * 1_500, age: 22 + (i % 40), ...(i % 2 === 1 && { debt: 6_000 + i * 900 }) }));

describe('decision-replay batch compare (local host)', () => {
  let t: TestHost;
  let env: Record<string, string>;
  let v1: Batch;
  let v2: Batch;
  let subset: Batch;
  let v2Tolerant: Batch;

  async function runBatch(body: unknown): Promise<Batch> {
    const started = await requestJson<{ batchId: string }>(t.url, 'POST', '/batches', body);
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    for (;;) {
      const res = await requestJson<Batch>(t.url, 'GET', `/batches/${started.body.batchId}`);
      if (res.body.status !== 'RUNNING') return res.body;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    t = await startTestHost();
    env = { DECISION_REPLAY_URL: t.url };
    const ids: string[] = [];
    for (const applicant of APPLICANTS) ids.push((await requestJson<Snapshot>(t.url, 'POST', '/snapshots', demoV1Decision(FN, applicant))).body.snapshotId);
    await requestJson(t.url, 'PUT', `/functions/${FN}/executor`, { type: 'http', url: `${t.url}/demo/credit/v1` });
    v1 = await runBatch({ snapshotIds: ids, mode: 'Strict', maxConcurrency: 4 });
    await requestJson(t.url, 'PUT', `/functions/${FN}/executor`, { type: 'http', url: `${t.url}/demo/credit/v2` });
    v2 = await runBatch({ snapshotIds: ids, mode: 'Strict', maxConcurrency: 4 });
    subset = await runBatch({ snapshotIds: ids.slice(0, 30), mode: 'Strict', maxConcurrency: 4 });
    v2Tolerant = await runBatch({ snapshotIds: ids, mode: 'Tolerant', maxConcurrency: 4 });
    expect([v1.status, v2.status, subset.status, v2Tolerant.status]).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('prints the comparison as JSON (the stored one) and exits 0 without the gate, even when the candidate is worse', async () => {
    const run = await cli(['batch', 'compare', v1.batchId, v2.batchId, '-o', 'json'], { env });

    expect(run.code, run.stderr).toBe(0);
    const c = JSON.parse(run.stdout) as Comparison;
    expect(c).toMatchObject({ baselineBatchId: v1.batchId, candidateBatchId: v2.batchId, alpha: 0.05, pairs: 40, verdict: 'worse', intersectionOnly: false });
    expect(c.matchRate.difference).toBeLessThan(0);
    expect((await requestJson<Comparison>(t.url, 'GET', `/comparisons/${c.comparisonId}`)).body).toEqual(c);
  });

  it('--fail-if-worse: exit 1 when the candidate is worse, exit 0 when it is better (the same pair the other way round)', async () => {
    const worse = await cli(['batch', 'compare', v1.batchId, v2.batchId, '--fail-if-worse', '-q'], { env });
    const better = await cli(['batch', 'compare', v2.batchId, v1.batchId, '--fail-if-worse', '-q'], { env });

    expect(worse.code, worse.stderr).toBe(1);
    expect(worse.stdout.trim()).toBe('worse');
    expect(better.code, better.stderr).toBe(0);
    expect(better.stdout.trim()).toBe('better');
  });

  it('refuses a batch compared with itself as a usage error (exit 2), also under the gate', async () => {
    const run = await cli(['batch', 'compare', v2.batchId, v2.batchId, '--fail-if-worse', '-q'], { env });

    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('compare two different batches');
    expect(run.stdout).toBe('');
  });

  it('refuses batches judged in different modes (exit 3, naming the setting and both values): the gate cannot be passed by choosing the mode', async () => {
    const run = await cli(['batch', 'compare', v2.batchId, v2Tolerant.batchId, '--fail-if-worse'], { env });

    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toContain('BATCHES_NOT_COMPARABLE (HTTP 422)');
    expect(run.stderr).toContain('mode: Strict in the baseline, Tolerant in the candidate');
    expect(run.stdout).toBe('');
  });

  it('prints a table: the verdict, the paired tests with their p-values, the fields and the latency intervals', async () => {
    const run = await cli(['batch', 'compare', v1.batchId, v2.batchId, '--alpha', '0.01', '-o', 'table'], { env });

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/verdict\s+worse/);
    expect(run.stdout).toMatch(/alpha\s+0\.01/);
    expect(run.stdout).toMatch(/match rate\s+100\.0%\s+\d+\.\d%\s+-\d+\.\dpp\s+\d+ \/ 0\s+[\d.<]+\s+[\d.<]+\s+yes\s+McNemar exact/);
    expect(run.stdout).toMatch(/^rate\s+baseline\s+candidate\s+difference\s+discordant b\/c\s+p\s+p \(Holm\)\s+significant\s+test$/m);
    expect(run.stdout).toContain('outputs.decision');
    expect(run.stdout).toMatch(/p50\s+[\d.]+\s+[\d.]+\s+[-+]?[\d.]+\s+\[/);
  });

  it('refuses batches that replayed different snapshots, naming how many differ and the flag (exit 3); --intersection compares the common ones', async () => {
    const refused = await cli(['batch', 'compare', v1.batchId, subset.batchId], { env });

    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('BATCHES_DIFFER (HTTP 422)');
    expect(refused.stderr).toContain('10 only in the baseline, 0 only in the candidate (30 in both)');
    expect(refused.stderr).toContain('--intersection');

    const run = await cli(['batch', 'compare', v1.batchId, subset.batchId, '--intersection', '-o', 'json'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ pairs: 30, intersectionOnly: true, excluded: { baselineOnly: 10, candidateOnly: 0 } });
  });

  it('report compare writes the comparison view of a stored comparison to a file', async () => {
    const compared = await cli(['batch', 'compare', v1.batchId, v2.batchId, '-o', 'json'], { env });
    const { comparisonId } = JSON.parse(compared.stdout) as Comparison;
    const file = join(tempDir('cli-compare-'), 'comparison.html');

    const run = await cli(['report', 'compare', comparisonId, '-o', file], { env });

    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`wrote the comparison ${comparisonId} to ${file}`);
    const page = readFileSync(file, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('<h1>A/B comparison: worse</h1>');
    expect(page).toContain(v1.batchId);
    expect(page).toContain(v2.batchId);
  });

  it('usage errors exit 2 naming the flag or argument; an unknown batch is a service error (exit 3)', async () => {
    const zero = await cli(['batch', 'compare', v1.batchId, v2.batchId, '--alpha', '0'], { env });
    const big = await cli(['batch', 'compare', v1.batchId, v2.batchId, '--alpha', '0.7'], { env });
    const one = await cli(['batch', 'compare', v1.batchId], { env });
    const bad = await cli(['batch', 'compare', v1.batchId, 'not-a-batch'], { env });
    const missing = await cli(['batch', 'compare', v1.batchId, '01JZZZZZZZZZZZZZZZZZZZZZZZ'], { env });

    expect([zero.code, big.code, one.code, bad.code]).toEqual([2, 2, 2, 2]);
    // The same rule for both ends, with the value as given (-0 used to read back as '0').
    expect(zero.stderr).toContain("--alpha must be a number more than 0 and at most 0.5 (for example 0.05), got '0'");
    expect(big.stderr).toContain("--alpha must be a number more than 0 and at most 0.5 (for example 0.05), got '0.7'");
    const negativeZero = await cli(['batch', 'compare', v1.batchId, v2.batchId, '--alpha=-0'], { env });
    expect(negativeZero.code).toBe(2);
    expect(negativeZero.stderr).toContain("got '-0'");
    expect(bad.stderr).toContain('candidateBatchId');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('404');
  });
});
