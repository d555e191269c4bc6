/// <reference lib="dom" />
// Code inside page.evaluate runs in the browser: it needs the DOM types.
/**
 * The three report views in headless Chromium, served by the local host from real data: a batch
 * of demo-model replays with mismatches, a policy violation, an executor error and a tampered
 * snapshot; snapshot outputs carrying XSS probes. For each view: no console error, no request
 * after the document, charts painted, the figures equal to the API's, the mismatched fields
 * named, the probes inert, and screenshots at 1280 and 400 px in test-artifacts/reports.
 */
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../functions/core/batch.js';
import type { SnapshotDiff } from '../../functions/core/diff.js';
import type { ReplayResult } from '../../functions/core/replay.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import { expandAll, launchBrowser, openReport, paintedPixels, screenshot, XSS_BREAKOUT, XSS_IMG, XSS_SCRIPT, xssState, type LoadedReport } from '../support/browser.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { requestJson, requestWithHeaders } from '../support/http.js';
import { withoutGenerationTime } from '../support/reports.js';

const FN = 'approve_loan_report';
const NO_EXECUTOR_FN = 'approve_loan_report_unregistered';

/** The figure in a counter's text ("1,234", "70.0 %", "12.5 ms") as a number. */
function figure(text: string | null): number {
  return Number((text ?? '').replace(/[^0-9.-]/g, ''));
}

async function text(loaded: LoadedReport, testId: string): Promise<string | null> {
  return loaded.page.$eval(`[data-testid="${testId}"]`, (el) => el.textContent);
}

/** What every view must satisfy once loaded. */
async function expectCleanLoad(loaded: LoadedReport, charts: number): Promise<void> {
  expect(loaded.errors).toEqual([]);
  expect(loaded.requests).toEqual([]);
  expect(await loaded.page.evaluate(() => document.documentElement.getAttribute('data-charts-drawn'))).toBe(String(charts));
  const painted = await paintedPixels(loaded.page);
  expect(Object.keys(painted)).toHaveLength(charts);
  for (const [id, n] of Object.entries(painted)) expect(n, `chart ${id} is painted`).toBeGreaterThan(500);
  // Accessibility basics: a title, one h1, headings, column headers, a text alternative per chart.
  const a11y = await loaded.page.evaluate(() => ({
    title: document.title,
    h1: document.querySelectorAll('h1').length,
    h2: document.querySelectorAll('h2').length,
    tablesWithoutHeaders: Array.from(document.querySelectorAll('table')).filter((t) => t.querySelectorAll('th[scope="col"]').length === 0).length,
    chartsWithoutAlt: Array.from(document.querySelectorAll('canvas')).filter((c) => {
      const described = document.getElementById(c.getAttribute('aria-describedby') ?? '');
      return c.getAttribute('role') !== 'img' || !document.getElementById(c.getAttribute('aria-labelledby') ?? '') || !described || (described.textContent ?? '').trim().length < 10;
    }).length,
  }));
  expect(a11y.title).toMatch(/decision-replay report$/);
  expect(a11y.h1).toBe(1);
  expect(a11y.h2).toBeGreaterThanOrEqual(3);
  expect(a11y.tablesWithoutHeaders).toBe(0);
  expect(a11y.chartsWithoutAlt).toBe(0);
  // The verdict markers (match/mismatch, Added/Removed/Modified, statuses) are small bold text on a
  // coloured badge: WCAG AA asks 4.5:1 for text of that size.
  const contrast = await loaded.page.evaluate(() => {
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number).slice(0, 3);
    const lum = (c: number[]) => c.map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : Math.pow((v / 255 + 0.055) / 1.055, 2.4))).reduce((sum, v, i) => sum + v * ([0.2126, 0.7152, 0.0722][i] ?? 0), 0);
    const ratio = (a: number[], b: number[]) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
    return Array.from(document.querySelectorAll('.badge')).map((b) => {
      const style = getComputedStyle(b);
      return { text: b.textContent, ratio: Math.round(ratio(rgb(style.color), rgb(style.backgroundColor)) * 100) / 100 };
    });
  });
  expect(contrast.length).toBeGreaterThan(0);
  expect(contrast.filter((b) => b.ratio < 4.5)).toEqual([]);
}

/** Expands every row, checks the probes stayed text, and takes both screenshots (400 px must not scroll sideways). */
async function expectInertAndScreenshot(loaded: LoadedReport, name: string, probes: readonly string[]): Promise<void> {
  await expandAll(loaded.page);
  const state = await xssState(loaded.page);
  expect(state.flag).toBeUndefined();
  expect(state.injectedImages).toBe(0);
  expect(state.injectedScripts).toBe(0);
  for (const probe of probes) expect(state.text).toContain(JSON.stringify(probe).slice(1, -1).slice(0, 40));
  await screenshot(loaded.page, name, 1280);
  await screenshot(loaded.page, name, 400);
  const overflow = await loaded.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, 'the page fits 400 px (wide tables scroll inside their own box)').toBeLessThanOrEqual(0);
  expect(loaded.errors).toEqual([]);
  expect(loaded.requests).toEqual([]);
}

describe('HTML reports in headless Chromium', () => {
  let t: TestHost;
  let browser: Browser;
  const snapshots: Snapshot[] = [];
  let batch: Batch;
  let batchHtml: string;

  async function record(functionName: string, i: number, rationale?: string): Promise<Snapshot> {
    const body = demoV1Decision(functionName, { income: 30_000 + i * 2_500, age: 22 + i * 2, ...(i % 2 === 1 && { debt: 5_000 + i * 1_500 }) });
    if (rationale !== undefined) body.outputs = body.outputs.map((o) => (o.name === 'rationale' ? { ...o, value: rationale } : o));
    const res = await requestJson<Snapshot>(t.url, 'POST', '/snapshots', body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  }

  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestHost(), launchBrowser()]);
    expect((await requestJson(t.url, 'PUT', `/functions/${FN}/executor`, { type: 'http', url: `${t.url}/demo/credit/v2` })).status).toBe(200);
    expect((await requestJson(t.url, 'PUT', '/policies/report-gate', { functionNames: [], rules: [{ name: 'score-floor', field: 'outputs.score', comparator: 'WithinRange', min: 0.5, max: 1 }] })).status).toBe(200);
    for (let i = 0; i < 12; i++) snapshots.push(await record(FN, i, i === 3 ? `${XSS_SCRIPT}${XSS_IMG}` : i === 5 ? XSS_BREAKOUT : undefined));
    snapshots.push(await record(NO_EXECUTOR_FN, 1));
    // Alter one stored snapshot behind the service's back: the batch must count it as tampered.
    const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: t.host.dynamoEndpoint });
    await client.send(
      new UpdateItemCommand({
        TableName: t.host.tableName,
        Key: { pk: { S: `SNAP#${snapshots[7]?.snapshotId}` }, sk: { S: 'SNAP' } },
        UpdateExpression: 'SET outputs[1].#v = :v',
        ExpressionAttributeNames: { '#v': 'value' },
        ExpressionAttributeValues: { ':v': { N: '0.99' } },
      }),
    );
    client.destroy();

    const started = await requestJson<{ batchId: string }>(t.url, 'POST', '/batches', { snapshotIds: snapshots.map((s) => s.snapshotId), policyName: 'report-gate', maxConcurrency: 4 });
    expect(started.status).toBe(202);
    const until = Date.now() + 60_000;
    for (;;) {
      const res = await requestJson<Batch>(t.url, 'GET', `/batches/${started.body.batchId}`);
      if (res.body.status !== 'RUNNING') {
        batch = res.body;
        break;
      }
      if (Date.now() > until) throw new Error('batch still running');
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await requestWithHeaders(t.url, 'GET', `/batches/${batch.batchId}/report`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    batchHtml = res.text;
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('batch report: clean load, charts drawn, the figures of GET /batches/{id}, fields named, probes inert', async () => {
    const stats = batch.stats;
    if (!stats) throw new Error(`batch ended ${batch.status} without stats`);
    // The scenario has every kind of row.
    expect(stats.mismatches).toBeGreaterThan(0);
    expect(stats.failedReplays).toBe(1);
    expect(Object.keys(stats.policyViolations)).toEqual(['score-floor']);

    const loaded = await openReport(browser, 'batch-report', batchHtml);
    await expectCleanLoad(loaded, 2);
    expect(figure(await text(loaded, 'count-total'))).toBe(stats.totalReplays);
    expect(figure(await text(loaded, 'count-matches'))).toBe(stats.matches);
    expect(figure(await text(loaded, 'count-mismatches'))).toBe(stats.mismatches);
    expect(figure(await text(loaded, 'count-errors'))).toBe(stats.failedReplays);
    expect(stats.tampered).toBe(1);
    expect(figure(await text(loaded, 'count-tampered'))).toBe(stats.tampered);
    expect(await text(loaded, 'match-rate')).toBe(`${(stats.matchRate * 100).toFixed(1)} %`);
    // Shown to 2 decimals: off by at most half a unit of the last place (61.035 is shown 61.04).
    for (const q of ['p50', 'p95', 'p99'] as const) expect(Math.abs(figure(await text(loaded, `replay-${q}`)) - stats[`${q}ExecutionTimeMs`])).toBeLessThanOrEqual(0.005 + 1e-9);

    const fieldRows = await loaded.page.$$eval('[data-testid="field-table"] tbody tr', (rows) => rows.map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent)));
    expect(Object.fromEntries(fieldRows.map(([path, n]) => [path, figure(n ?? '')]))).toEqual(stats.fieldMismatches);
    expect(await loaded.page.$$eval('[data-testid="mismatch-row"]', (rows) => rows.length)).toBe(stats.mismatches);
    const violationRules = await loaded.page.$$eval('[data-testid="violation-table"] tbody tr td:nth-child(2)', (cells) => cells.map((c) => c.textContent));
    expect(violationRules.length).toBe(stats.policyViolations['score-floor']);
    expect(await loaded.page.$eval('[data-testid="error-codes"] tbody', (b) => b.textContent)).toContain('NO_EXECUTOR');

    await expectInertAndScreenshot(loaded, 'batch-report', [XSS_SCRIPT, XSS_IMG]);
    // Expanded, each mismatched row shows its field-level comparison, comparator and score included.
    const detail = await loaded.page.$eval('[data-testid="mismatch-table"]', (el) => (el as HTMLElement).innerText);
    expect(detail).toMatch(/SemanticSimilarity/);
    expect(detail).toMatch(/lexical/);
    await loaded.page.close();
  });

  it('diff view: both sides with changed leaves marked by kind, the figures of GET /snapshots/{a}/diff/{b}', async () => {
    const [a, b] = [snapshots[0] as Snapshot, snapshots[3] as Snapshot];
    const api = await requestJson<SnapshotDiff>(t.url, 'GET', `/snapshots/${a.snapshotId}/diff/${b.snapshotId}`);
    const res = await requestWithHeaders(t.url, 'GET', `/snapshots/${a.snapshotId}/diff/${b.snapshotId}/report`);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const loaded = await openReport(browser, 'diff-report', res.text);
    await expectCleanLoad(loaded, 2);
    expect(figure(await text(loaded, 'change-count'))).toBe(api.body.changes.length);
    const rows = await loaded.page.$$eval('[data-testid="change-table"] tbody tr', (trs) => trs.map((tr) => ({ cls: tr.className, path: tr.querySelector('td')?.textContent })));
    expect(rows).toEqual(api.body.changes.map((c) => ({ cls: `change-${c.changeType}`, path: c.path })));
    // The added leaf is marked on the new side, the modified ones on both.
    const marked = await loaded.page.$$eval('[data-testid="side-new"] tbody tr[class^="change-"] td:first-child', (tds) => tds.map((td) => td.textContent));
    expect(marked.sort()).toEqual(api.body.changes.filter((c) => c.changeType !== 'Removed').map((c) => c.path).sort());
    expect(await loaded.page.$$eval('.badge', (bs) => bs.filter((x) => x.textContent === 'verified').length)).toBeGreaterThanOrEqual(2);
    await expectInertAndScreenshot(loaded, 'diff-report', [XSS_SCRIPT, XSS_IMG]);
    await loaded.page.close();
  });

  it('replay view: each output field compared as POST /snapshots/{id}/replay answered, probes inert', async () => {
    const target = snapshots[5] as Snapshot;
    const replayed = await requestJson<ReplayResult>(t.url, 'POST', `/snapshots/${target.snapshotId}/replay`, {});
    expect(replayed.status).toBe(200);
    const latest = await requestWithHeaders(t.url, 'GET', `/snapshots/${target.snapshotId}/replays/latest/report`);
    const byId = await requestWithHeaders(t.url, 'GET', `/snapshots/${target.snapshotId}/replays/${replayed.body.replayId}/report`);
    expect([latest.status, byId.status]).toEqual([200, 200]);
    const html = byId.text;
    expect(withoutGenerationTime(latest.text)).toBe(withoutGenerationTime(html));

    const loaded = await openReport(browser, 'replay-report', html);
    await expectCleanLoad(loaded, 2);
    const rows = await loaded.page.$$eval('[data-testid="comparison-table"] tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    expect(rows.map((r) => [r[0], r[1], r[4], figure(r[5] ?? '')])).toEqual(replayed.body.fieldComparisons.map((c) => [c.path, c.match ? 'match' : 'mismatch', c.comparator, Number(c.score.toFixed(4))]));
    expect(await loaded.page.$eval('[data-testid="replay-status"]', (el) => el.textContent)).toBe(replayed.body.status);
    await expectInertAndScreenshot(loaded, 'replay-report', [XSS_BREAKOUT.slice(0, 30)]);
    await loaded.page.close();
  });

  it('a field path of one unbroken word thousands of pixels wide neither widens the page nor stretches its table screens wide', async () => {
    const fn = 'approve_loan_report_long_path';
    // The longest output name there is (256 characters), without a space or hyphen to break at.
    const long = `long${'N'.repeat(252)}`;
    expect((await requestJson(t.url, 'PUT', `/functions/${fn}/executor`, { type: 'http', url: `${t.url}/demo/credit/v2` })).status).toBe(200);
    const body = demoV1Decision(fn, { income: 41_000, age: 33, debt: 9_000 });
    body.outputs.push({ name: long, value: 'only recorded: the model does not answer it', type: 'string' });
    const recorded = await requestJson<Snapshot>(t.url, 'POST', '/snapshots', body);
    expect(recorded.status).toBe(201);
    const id = recorded.body.snapshotId;
    expect((await requestJson(t.url, 'POST', `/snapshots/${id}/replay`, {})).status).toBe(200);
    const started = await requestJson<{ batchId: string }>(t.url, 'POST', '/batches', { snapshotIds: [id] });
    expect(started.status).toBe(202);
    const until = Date.now() + 60_000;
    while ((await requestJson<Batch>(t.url, 'GET', `/batches/${started.body.batchId}`)).body.status === 'RUNNING') {
      if (Date.now() > until) throw new Error('batch still running');
      await new Promise((r) => setTimeout(r, 100));
    }
    const views = { batch: `/batches/${started.body.batchId}/report`, replay: `/snapshots/${id}/replays/latest/report` };
    for (const [name, route] of Object.entries(views)) {
      const res = await requestWithHeaders(t.url, 'GET', route);
      expect(res.status).toBe(200);
      const loaded = await openReport(browser, `long-path-${name}`, res.text);
      expect(loaded.errors).toEqual([]);
      await expandAll(loaded.page);
      expect(await loaded.page.evaluate(() => document.body.innerText.replace(/\s/g, ''))).toContain(`outputs.${long}`);
      for (const width of [1280, 400]) {
        await screenshot(loaded.page, `long-path-${name}`, width);
        const layout = await loaded.page.evaluate(() => ({
          pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
          widestTable: Math.max(...Array.from(document.querySelectorAll('.table-wrap')).map((w) => w.scrollWidth / w.clientWidth)),
        }));
        expect(layout.pageOverflow, `${name} view at ${width} px: the page does not scroll sideways`).toBeLessThanOrEqual(0);
        // At 400 px a table of many columns scrolls inside its box; at 1280 none is screens wide for one path.
        if (width === 1280) expect(layout.widestTable, `${name} view at ${width} px: widest table ÷ its box`).toBeLessThanOrEqual(2);
      }
      await loaded.page.close();
    }
  });

  it('answers JSON errors: 404 for an unknown batch, snapshot or replay', async () => {
    const unknown = '01JZZZZZZZZZZZZZZZZZZZZZZZ';
    const a = snapshots[0]?.snapshotId ?? '';
    expect(await requestJson(t.url, 'GET', `/batches/${unknown}/report`)).toEqual({ status: 404, body: { error: { code: 'BATCH_NOT_FOUND', message: `batch '${unknown}' does not exist` } } });
    expect((await requestJson(t.url, 'GET', `/snapshots/${a}/diff/${unknown}/report`)).body).toEqual({ error: { code: 'SNAPSHOT_NOT_FOUND', message: `other snapshot '${unknown}' does not exist` } });
    expect((await requestJson(t.url, 'GET', `/snapshots/${snapshots[1]?.snapshotId}/replays/${unknown}/report`)).body).toEqual({ error: { code: 'REPLAY_NOT_FOUND', message: `snapshot '${snapshots[1]?.snapshotId}' has no replay '${unknown}'` } });
    expect((await requestJson(t.url, 'GET', `/snapshots/${snapshots[12]?.snapshotId}/replays/latest/report`)).body).toEqual({ error: { code: 'REPLAY_NOT_FOUND', message: `snapshot '${snapshots[12]?.snapshotId}' has not been replayed` } });
    expect((await requestJson(t.url, 'GET', '/batches/not-an-id/report')).status).toBe(404);
  });
});

