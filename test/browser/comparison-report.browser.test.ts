/// <reference lib="dom" />
// Code inside page.evaluate runs in the browser: it needs the DOM types.
/**
 * The comparison view in headless Chromium, served by the local host from a real comparison: the
 * same recorded decisions replayed on demo model v1 (the baseline) and v2 (the candidate), then
 * `POST /comparisons` and `GET /comparisons/{id}/report`. Checks: no console error, no request
 * after the document, both charts painted, the verdict and figures equal to the API's, the fields
 * the candidate mismatches named, fits 400 px; screenshots in test-artifacts/reports.
 */
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../functions/core/batch.js';
import type { Comparison } from '../../functions/core/comparison.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import { launchBrowser, openReport, paintedPixels, screenshot } from '../support/browser.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { requestJson, requestWithHeaders } from '../support/http.js';

const FN = 'approve_loan_compare_report';

describe('comparison report in headless Chromium', () => {
  let t: TestHost;
  let browser: Browser;
  let comparison: Comparison;
  let reportHtml: string;

  async function runBatch(snapshotIds: string[]): Promise<Batch> {
    const started = await requestJson<{ batchId: string }>(t.url, 'POST', '/batches', { snapshotIds, mode: 'Strict', maxConcurrency: 4 });
    expect(started.status).toBe(202);
    const until = Date.now() + 60_000;
    for (;;) {
      const res = await requestJson<Batch>(t.url, 'GET', `/batches/${started.body.batchId}`);
      if (res.body.status !== 'RUNNING') return res.body;
      if (Date.now() > until) throw new Error('batch still running');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestHost(), launchBrowser()]);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await requestJson<Snapshot>(t.url, 'POST', '/snapshots', demoV1Decision(FN, { income: 30_000 + i * 1_500, age: 22 + i, ...(i % 2 === 1 && { debt: 6_000 + i * 900 }) }));
      expect(res.status).toBe(201);
      ids.push(res.body.snapshotId);
    }
    expect((await requestJson(t.url, 'PUT', `/functions/${FN}/executor`, { type: 'http', url: `${t.url}/demo/credit/v1` })).status).toBe(200);
    const baseline = await runBatch(ids);
    expect((await requestJson(t.url, 'PUT', `/functions/${FN}/executor`, { type: 'http', url: `${t.url}/demo/credit/v2` })).status).toBe(200);
    const candidate = await runBatch(ids);
    expect([baseline.status, candidate.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const created = await requestJson<Comparison>(t.url, 'POST', '/comparisons', { baselineBatchId: baseline.batchId, candidateBatchId: candidate.batchId });
    expect(created.status).toBe(201);
    comparison = created.body;
    const res = await requestWithHeaders(t.url, 'GET', `/comparisons/${comparison.comparisonId}/report`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    reportHtml = res.text;
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('loads clean, draws both charts, and shows the verdict and figures of GET /comparisons/{id}', async () => {
    expect(comparison.verdict).toBe('worse');
    const loaded = await openReport(browser, 'comparison-report', reportHtml);
    expect(loaded.errors).toEqual([]);
    expect(loaded.requests).toEqual([]);
    expect(await loaded.page.evaluate(() => document.documentElement.getAttribute('data-charts-drawn'))).toBe('2');
    const painted = await paintedPixels(loaded.page);
    expect(Object.keys(painted).sort()).toEqual(['chart-latency', 'chart-rates']);
    for (const [id, n] of Object.entries(painted)) expect(n, `chart ${id} is painted`).toBeGreaterThan(500);

    const text = (testId: string) => loaded.page.$eval(`[data-testid="${testId}"]`, (el) => el.textContent);
    expect(await text('verdict')).toBe(comparison.verdict);
    expect(await text('pairs')).toBe(String(comparison.pairs));
    // A difference of two rates is in percentage points.
    expect(await text('match-difference')).toBe(`−${(Math.abs(comparison.matchRate.difference) * 100).toFixed(1)} pp`);
    const tests = await loaded.page.$$eval('[data-testid="tests-table"] tbody tr', (rows) => rows.map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent)));
    expect(tests.map((r) => r[0])).toEqual(['match rate', 'error rate']);
    expect(tests[0]?.[1]).toBe(`${(comparison.matchRate.baseline * 100).toFixed(1)} %`);
    expect(tests[0]?.[2]).toBe(`${(comparison.matchRate.candidate * 100).toFixed(1)} %`);
    expect(tests[0]?.[3]).toBe(`−${(Math.abs(comparison.matchRate.difference) * 100).toFixed(1)} pp`);
    expect(tests[0]?.[4]).toBe(`${comparison.matchRate.baselineOnly} / ${comparison.matchRate.candidateOnly}`);
    expect(tests[0]?.[7]).toBe('significant');
    const fields = await loaded.page.$$eval('[data-testid="fields-table"] tbody tr td:first-child', (cells) => cells.map((c) => c.textContent));
    expect(fields.sort()).toEqual(comparison.fields.map((f) => f.path).sort());
    expect(fields).toContain('outputs.decision');
    const latency = await loaded.page.$eval('[data-testid="latency-table"]', (el) => (el as HTMLElement).innerText);
    expect(latency).toMatch(/p50/);
    expect(latency).toMatch(/p95/);

    // Accessibility basics, as for the other views.
    const a11y = await loaded.page.evaluate(() => ({
      title: document.title,
      h1: document.querySelectorAll('h1').length,
      tablesWithoutHeaders: Array.from(document.querySelectorAll('table')).filter((tb) => tb.querySelectorAll('th[scope="col"]').length === 0).length,
    }));
    expect(a11y).toEqual({ title: `Comparison ${comparison.comparisonId} — decision-replay report`, h1: 1, tablesWithoutHeaders: 0 });

    await screenshot(loaded.page, 'comparison-report', 1280);
    await screenshot(loaded.page, 'comparison-report', 400);
    expect(await loaded.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), 'the page fits 400 px').toBeLessThanOrEqual(0);
    expect(loaded.errors).toEqual([]);
    await loaded.page.close();
  });

  it('answers a JSON 404 for an unknown comparison', async () => {
    const res = await requestJson<{ error: { code: string } }>(t.url, 'GET', '/comparisons/01JZZZZZZZZZZZZZZZZZZZZZZZ/report');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('COMPARISON_NOT_FOUND');
  });
});
