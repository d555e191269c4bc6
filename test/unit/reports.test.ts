/**
 * The report renderers and their assembly, without a browser: escaping, the inlined data block,
 * the page's Content-Security-Policy, the table limit on large batches and the latency bins.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Batch, BatchResult } from '../../functions/core/batch.js';
import type { ReplayResult } from '../../functions/core/replay.js';
import { buildSnapshot, type Snapshot } from '../../functions/core/snapshot.js';
import { toResult, htmlResponse } from '../../functions/http/api.js';
import { latencyDistribution } from '../../functions/reports/batch-data.js';
import { esc, html, inlineScript, jsonForScript, raw } from '../../functions/reports/html.js';
import { assembleBatchReport, assembleDiffReport, renderBatchReport, renderDiffReport, renderReplayReport, REPORT_TABLE_LIMIT, type BatchReportReader, type SnapshotFacts } from '../../functions/reports/index.js';
import { CHART_JS_PACKED, CHART_JS_VERSION, chartJsSource } from '../../functions/reports/vendor/chart-js.js';
import { chartJsModuleText, inlinableChartJs } from '../../functions/reports/vendor/chart-js-source.js';

const PROBE = '</script><script>alert(1)</script>"><img src=x onerror=alert(2)>\u2028';
const NOW = () => '2026-11-30T12:00:00.000Z';
const BATCH_ID = '01JBATCH000000000000000000';

function ulid(n: number): string {
  return `01J${String(n).padStart(23, '0')}`;
}

function batchOf(overrides: Partial<Batch> = {}): Batch {
  return { batchId: BATCH_ID, status: 'RUNNING', total: 0, completed: 0, maxConcurrency: 10, request: { mode: 'Tolerant' }, trigger: 'api', createdAt: '2026-11-30T10:00:00.000Z', ...overrides };
}

function result(n: number, kind: 'match' | 'mismatch' | 'error', extra: Partial<BatchResult> = {}): BatchResult {
  const base = { batchId: BATCH_ID, snapshotId: ulid(n), replayId: kind === 'error' ? null : ulid(100_000 + n), createdAt: NOW(), violatedRules: [], integrity: 'verified' as const };
  if (kind === 'error') return { ...base, status: 'Error', outputsMatch: false, executionTimeMs: 0, mismatchedPaths: [], error: { code: n % 2 ? 'EXECUTOR_TIMEOUT' : 'NO_EXECUTOR', message: `error ${n}` }, ...extra };
  return { ...base, status: kind === 'match' ? 'Success' : 'Failed', outputsMatch: kind === 'match', executionTimeMs: 10 + (n % 50), mismatchedPaths: kind === 'match' ? [] : ['outputs.decision'], ...extra };
}

/** An in-memory reader over a list of results; replay results are made up for the refs asked. */
function readerOf(batch: Batch, results: BatchResult[], facts: (id: string) => SnapshotFacts | undefined): BatchReportReader & { factCalls: number; replayKeys: number } {
  const reader = {
    factCalls: 0,
    replayKeys: 0,
    getBatch: async (id: string) => (id === batch.batchId ? batch : undefined),
    forEachResult: async (_id: string, visit: (r: BatchResult) => void) => {
      results.forEach(visit);
      return results.length;
    },
    snapshotFacts: async (ids: readonly string[]) => {
      reader.factCalls += 1;
      expect(ids.length).toBeLessThanOrEqual(100);
      const out = new Map<string, SnapshotFacts>();
      for (const id of ids) {
        const f = facts(id);
        if (f) out.set(id, f);
      }
      return out;
    },
    replayResults: async (refs: readonly { snapshotId: string; replayId: string; sortAt: string }[]) => {
      reader.replayKeys += refs.length;
      expect(refs.length).toBeLessThanOrEqual(100);
      for (const r of refs) expect(r.sortAt).toBe(batch.createdAt);
      return new Map(
        refs.map((r) => [
          r.replayId,
          {
            replayId: r.replayId,
            snapshotId: r.snapshotId,
            executor: 'http POST http://model/v2',
            fieldComparisons: [{ path: 'outputs.decision', comparator: 'SemanticSimilarity', score: 0.1, threshold: 0.8, match: false, original: PROBE, replayed: 'approve', provider: 'lexical' }],
            policyViolations: [],
          } as unknown as ReplayResult,
        ]),
      );
    },
  };
  return reader;
}

function snapshotWith(id: string, rationale: string, version = 'v1'): Snapshot {
  return buildSnapshot(
    {
      functionName: 'approve_loan',
      inputs: [{ name: 'applicant', value: { income: 1 } }],
      outputs: [
        { name: 'decision', value: 'approve' },
        { name: 'rationale', value: rationale },
      ],
      modelParameters: { modelName: 'credit', modelVersion: version },
      executionTimeMs: 12,
    },
    id,
    NOW(),
  );
}

describe('html escaping', () => {
  it('escapes the five markup characters and interpolations, but not SafeHtml', () => {
    expect(esc(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(html`<p title="${PROBE}">${PROBE}${raw('<b>ok</b>')}${['<i>', html`<i>`]}${null}${undefined}${false}</p>`.text).toBe(`<p title="${esc(PROBE)}">${esc(PROBE)}<b>ok</b>&lt;i&gt;<i></p>`);
  });

  it('shows every bidirectional control as \\uXXXX instead of letting it reorder the text (outputs.\\u202eevil read as outputs.live)', () => {
    const every = '\u061C\u200E\u200F\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069';
    expect(esc(`outputs.\u202Eevil\u202C`)).toBe('outputs.\\u202eevil\\u202c');
    expect(esc(every)).not.toMatch(/\p{Bidi_Control}/u);
    expect(esc(every)).toBe('\\u061c\\u200e\\u200f\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069');
  });

  it('writes JSON that cannot close its script element and reads back the same values', () => {
    const value = { label: PROBE, amp: 'a&b', nested: ['<!--', '-->'] };
    const text = jsonForScript(value);
    expect(text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('keeps inline code from ending its script element', () => {
    expect(inlineScript('var s = "</script><!--";')).toBe('var s = "<\\/script><\\!--";');
  });
});

describe('the inlined chart library', () => {
  it('is the installed chart.js build, regenerated by npm run vendor:charts', () => {
    const dist = dirname(createRequire(import.meta.url).resolve('chart.js'));
    const pkg = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as { version: string };
    const generated = readFileSync(new URL('../../functions/reports/vendor/chart-js.ts', import.meta.url), 'utf8');
    const source = readFileSync(join(dist, 'chart.umd.min.js'), 'utf8');
    // The packed bytes depend on the brotli build of the Node that packed them: compare what they unpack to.
    expect(generated).toBe(chartJsModuleText(source, pkg.version, CHART_JS_PACKED));
    expect(chartJsSource()).toBe(inlinableChartJs(source));
    expect(CHART_JS_VERSION).toBe(pkg.version);
    expect(chartJsSource()).not.toMatch(/sourceMappingURL|<\/script/i);
    expect(CHART_JS_PACKED.length).toBeLessThan(source.length / 2);
  });
});

describe('report pages', () => {
  it('allow exactly their own inline scripts by hash and nothing from the network', async () => {
    const page = renderDiffReport(await assembleDiffReport({ get: async (id) => snapshotWith(id, id.endsWith('1') ? 'a' : PROBE) }, ulid(1), ulid(2), NOW));
    const csp = (/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(page)?.[1] ?? '').replace(/&#39;/g, "'");
    expect(csp).toMatch(/^default-src 'none'; /);
    const scripts = [...page.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? '');
    expect(scripts).toHaveLength(2);
    for (const code of scripts) expect(csp).toContain(`'sha256-${createHash('sha256').update(code).digest('base64')}'`);
    // The probe is text wherever it appears: in the tables and in the data block.
    expect(page).not.toContain('<script>alert(1)');
    expect(page).not.toContain('<img src=x');
    expect(page).toContain(esc(JSON.stringify(PROBE)).slice(0, 60));
    expect(page.match(/<script/g)).toHaveLength(3);
  });

  it('escapes field paths, error messages and values of a batch report, in tables and chart data alike', async () => {
    const batch = batchOf({ status: 'SUCCEEDED' });
    const results = [result(1, 'mismatch', { mismatchedPaths: [`outputs["${PROBE}"]`] }), result(2, 'error', { error: { code: '<b>CODE</b>', message: PROBE } })];
    const page = renderBatchReport(await assembleBatchReport(readerOf(batch, results, () => ({ functionName: '<i>fn</i>', executionTimeMs: 5 })), BATCH_ID, NOW));
    expect(page.match(/<script/g)).toHaveLength(3);
    expect(page).not.toMatch(/<script>alert|<img |<b>CODE|<i>fn/);
    expect(page).toContain('&lt;b&gt;CODE&lt;/b&gt;');
    const data = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(page)?.[1] ?? '';
    expect(JSON.parse(data).charts['chart-fields'].data.labels).toEqual([`outputs["${PROBE}"]`]);
  });

  it('shows a field path with a bidirectional override escaped, in the tables and the chart labels alike', async () => {
    const batch = batchOf({ status: 'SUCCEEDED' });
    const page = renderBatchReport(await assembleBatchReport(readerOf(batch, [result(1, 'mismatch', { mismatchedPaths: ['outputs.\u202Eevil\u202C'] })], () => ({ functionName: 'fn\u202Ex', executionTimeMs: 5 })), BATCH_ID, NOW));
    expect(page).not.toMatch(/\p{Bidi_Control}/u);
    expect(page).toContain('outputs.\\u202eevil\\u202c');
    const data = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(page)?.[1] ?? '';
    expect(JSON.parse(data).charts['chart-fields'].data.labels).toEqual(['outputs.\\u202eevil\\u202c']);
  });

  it('renders the replay view with each field comparison', () => {
    const snapshot = snapshotWith(ulid(5), 'original');
    const replay = { replayId: ulid(6), snapshotId: snapshot.snapshotId, functionName: 'approve_loan', mode: 'Tolerant', tolerance: 0.8, status: 'Failed', outputsMatch: false, replayOutputs: [{ name: 'decision', value: PROBE }], fieldComparisons: [{ path: 'outputs.decision', comparator: 'SemanticSimilarity', score: 0.25, threshold: 0.8, match: false, original: 'approve', replayed: PROBE, provider: 'lexical' }], diff: null, policy: null, policyViolations: [], integrity: 'verified', executionTimeMs: 20, executor: 'http POST x', overrides: null, createdAt: NOW() } satisfies ReplayResult;
    const page = renderReplayReport({ original: { snapshot, integrity: 'verified' }, replay, generatedAt: NOW() });
    expect(page).toContain('<code>outputs.decision</code>');
    expect(page).toContain('SemanticSimilarity');
    expect(page).toContain('0.25');
    expect(page).not.toContain('<img src=x');
  });
});

describe('the noise profile that judged a batch or replay', () => {
  // Reports showed mode, tolerance and policy but not the noise profile, which decides what counts
  // as a match: the noisy demo's 30 decisions read 0 % on plain Tolerant and 96.7 % with a profile,
  // under identical facts.
  const fact = (page: string) => /<dt>Noise profile<\/dt><dd>([^<]*)<\/dd>/.exec(page)?.[1];

  it('batch report: none, a pinned version, latest (id lists), or a learning batch', async () => {
    const render = async (over: Partial<Batch>) => renderBatchReport(await assembleBatchReport(readerOf(batchOf(over), [result(1, 'match')], () => ({ functionName: 'f', executionTimeMs: 4 })), BATCH_ID, NOW));
    expect(fact(await render({}))).toBe('(none)');
    expect(fact(await render({ request: { mode: 'Tolerant', noiseProfile: 'none' } }))).toBe('(none)');
    expect(fact(await render({ request: { mode: 'Tolerant', noiseProfile: 3 } }))).toBe('version 3');
    expect(fact(await render({ request: { mode: 'Tolerant', noiseProfile: 'latest' } }))).toBe("latest (each function&#39;s latest version when its items ran)");
    expect(fact(await render({ request: { mode: 'Tolerant', noiseProfile: 'latest' }, noiseProfileVersions: [{ functionName: 'approve_loan', version: 2 }, { functionName: 'score_risk', version: 1 }] }))).toBe('latest when the batch started: approve_loan version 2, score_risk version 1');
    expect(fact(await render({ noiseProfile: { functionName: 'noisy_loan', sampleSize: 20 } }))).toBe('none: this batch learns the noise profile of noisy_loan (each sampled snapshot run twice; its items are measurements, not replays)');
  });

  it('a learning batch names the executor that ran its items (it said "no replay reached an executor")', async () => {
    const noise = { executor: 'http POST http://model/v2', modelVersion: 'v1', similarityProvider: 'lexical', observations: [] };
    const learning = batchOf({ noiseProfile: { functionName: 'noisy_loan', sampleSize: 2 } });
    const results = [result(1, 'mismatch', { replayId: null, noise }), result(2, 'match', { replayId: null, noise })];
    const data = await assembleBatchReport(readerOf(learning, results, () => ({ functionName: 'noisy_loan', executionTimeMs: 4 })), BATCH_ID, NOW);
    expect(data.executors).toEqual(['http POST http://model/v2']);
    expect(renderBatchReport(data)).toContain('<dt>Executor</dt><dd>http POST http://model/v2</dd>');
  });

  it('replay view: the profile version, and per field what the profile decided and why', () => {
    const snapshot = snapshotWith(ulid(11), 'original');
    const base = { replayId: ulid(12), snapshotId: snapshot.snapshotId, functionName: 'approve_loan', mode: 'Tolerant' as const, tolerance: 0.8, status: 'Success' as const, outputsMatch: true, replayOutputs: [], diff: null, policy: null, policyViolations: [], integrity: 'verified' as const, executionTimeMs: 20, executor: 'http POST x', overrides: null, createdAt: NOW() };
    const ignored = { path: 'outputs.requestId', comparator: 'NoiseIgnored' as const, score: 1, threshold: 0, match: true, original: 'a', replayed: 'b', noise: 'suppressed' as const, noiseReason: 'always-different: two runs of the same model differed here in 20/20 pairs; ignored' };
    const aware = renderReplayReport({ original: { snapshot, integrity: 'verified' }, replay: { ...base, noiseProfile: { functionName: 'approve_loan', version: 2 }, fieldComparisons: [ignored] } satisfies ReplayResult, generatedAt: NOW() });
    expect(fact(aware)).toBe('approve_loan version 2');
    expect(aware).toContain('<th scope="col">noise</th>');
    expect(aware).toContain('<td>suppressed — always-different: two runs of the same model differed here in 20/20 pairs; ignored</td>');

    const plain = renderReplayReport({ original: { snapshot, integrity: 'verified' }, replay: { ...base, noiseProfile: null, fieldComparisons: [{ path: 'outputs.decision', comparator: 'ExactMatch', score: 1, threshold: 1, match: true, original: 'a', replayed: 'a' }] } satisfies ReplayResult, generatedAt: NOW() });
    expect(fact(plain)).toBe('(none)');
    expect(plain).not.toContain('<th scope="col">noise</th>');
  });
});

describe('replay view of an output with thousands of leaves', () => {
  it('charts the 40 lowest-scoring fields (a 90,070 px canvas stayed blank), the table lists every one', () => {
    const snapshot = snapshotWith(ulid(7), 'original');
    // 3,000 fields, every 100th mismatched with a low score; the others match at 0.9..1.
    const fieldComparisons = Array.from({ length: 3000 }, (_, i) => {
      const match = i % 100 !== 0;
      return { path: `outputs.big.k${i}`, comparator: 'SemanticSimilarity' as const, score: match ? 0.9 + (i % 7) / 100 : 0.1 + i / 100_000, threshold: 0.8, match, original: `v${i}`, replayed: `w${i}`, provider: 'lexical' };
    });
    const replay = { replayId: ulid(8), snapshotId: snapshot.snapshotId, functionName: 'approve_loan', mode: 'Tolerant', tolerance: 0.8, status: 'Failed', outputsMatch: false, replayOutputs: [{ name: 'big', value: {} }], fieldComparisons, diff: null, policy: null, policyViolations: [], integrity: 'verified', executionTimeMs: 20, executor: 'http POST x', overrides: null, createdAt: NOW() } satisfies ReplayResult;

    const page = renderReplayReport({ original: { snapshot, integrity: 'verified' }, replay, generatedAt: NOW() });

    const heights = [...page.matchAll(/class="chart-box" style="height:(\d+)px"/g)].map((m) => Number(m[1]));
    expect(heights).toEqual([70 + 40 * 30, 150]);
    const charts = JSON.parse(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(page)?.[1] ?? '').charts;
    const labels = charts['chart-scores'].data.labels as string[];
    // The 30 mismatches first, then the 10 lowest matching scores (0.9: i % 7 === 0), in table order.
    const mismatches = fieldComparisons.filter((c) => !c.match).map((c) => c.path);
    const lowestMatches = fieldComparisons.filter((c) => c.match && c.score === 0.9).slice(0, 10).map((c) => c.path);
    expect(labels).toEqual(fieldComparisons.map((c) => c.path).filter((p) => mismatches.includes(p) || lowestMatches.includes(p)));
    expect(page).toContain('Score against threshold: the 40 lowest-scoring of 3,000 output fields');
    expect(page).toContain('; 2,960 more fields are in the table below (30 of all 3,000 mismatched).</figcaption>');
    const rows = /data-testid="comparison-table"[\s\S]*?<\/table>/.exec(page)?.[0].match(/<tr/g) ?? [];
    expect(rows.length).toBe(3000 + 1);
  });

  it('charts every field of a replay with 40 or fewer, as before', () => {
    const snapshot = snapshotWith(ulid(9), 'original');
    const fieldComparisons = Array.from({ length: 40 }, (_, i) => ({ path: `outputs.k${i}`, comparator: 'ExactMatch' as const, score: 1, threshold: 1, match: true, original: i, replayed: i }));
    const replay = { replayId: ulid(10), snapshotId: snapshot.snapshotId, functionName: 'approve_loan', mode: 'Strict', tolerance: null, status: 'Success', outputsMatch: true, replayOutputs: [], fieldComparisons, diff: null, policy: null, policyViolations: [], integrity: 'verified', executionTimeMs: 20, executor: 'http POST x', overrides: null, createdAt: NOW() } satisfies ReplayResult;
    const page = renderReplayReport({ original: { snapshot, integrity: 'verified' }, replay, generatedAt: NOW() });
    expect(page).toContain('<h3 id="chart-scores-title">Score of each output field against its threshold</h3>');
    expect(JSON.parse(/id="report-data">([\s\S]*?)<\/script>/.exec(page)?.[1] ?? '').charts['chart-scores'].data.labels).toHaveLength(40);
  });
});

describe('batch report assembly', () => {
  it(`lists at most ${REPORT_TABLE_LIMIT} mismatches and errors with a note of how many more, while charts and counts cover all`, async () => {
    const results: BatchResult[] = [];
    for (let n = 0; n < 2_100; n++) results.push(result(n, 'mismatch'));
    for (let n = 2_100; n < 4_150; n++) results.push(result(n, 'error'));
    for (let n = 4_150; n < 4_400; n++) results.push(result(n, 'match'));
    const reader = readerOf(batchOf(), results, (id) => ({ functionName: 'approve_loan', executionTimeMs: 7, modelName: 'credit', modelVersion: id < ulid(3000) ? 'v1' : 'v2' }));
    const data = await assembleBatchReport(reader, BATCH_ID, NOW);

    expect(data.statsSource).toBe('results');
    expect(data.stats).toMatchObject({ totalReplays: 4_400, failedReplays: 2_050, mismatches: 2_100, matches: 250 });
    expect(data.mismatches.rows).toHaveLength(REPORT_TABLE_LIMIT);
    expect(data.mismatches.total).toBe(2_100);
    expect(data.errors.shown).toBe(REPORT_TABLE_LIMIT);
    expect(data.errors.total).toBe(2_050);
    expect(data.errors.groups.map((g) => [g.code, g.count])).toEqual([
      ['EXECUTOR_TIMEOUT', 1_025],
      ['NO_EXECUTOR', 1_025],
    ]);
    // Charts: every successful replay, both series.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(data.latency.replay)).toBe(2_350);
    expect(sum(data.latency.original)).toBe(2_350);
    expect(data.fieldMismatches).toEqual([{ value: 'outputs.decision', count: 2_100 }]);
    // Only the listed rows' full replay results are read; snapshot facts in chunks of 100.
    expect(reader.replayKeys).toBe(REPORT_TABLE_LIMIT);
    expect(reader.factCalls).toBe(Math.ceil(2_350 / 100));
    expect(data.originalModels).toEqual([
      { value: 'credit @ v1', count: 2_100 },
      { value: 'credit @ v2', count: 250 },
    ]);

    const page = renderBatchReport(data);
    expect(page).toContain(`Showing the first 2,000 of 2,100 mismatched snapshots; 100 more are not listed.`);
    expect(page).toContain(`Showing the first 2,000 of 2,050 errors; 50 more are not listed.`);
    expect(page.match(/data-testid="mismatch-row"/g)).toHaveLength(REPORT_TABLE_LIMIT);
  });

  it('names the first 10 mismatched paths of a row and counts the rest, listed or left out of the result', async () => {
    const paths = Array.from({ length: 5_000 }, (_, i) => `outputs.items[${i}]`);
    const many = result(1, 'mismatch', { mismatchedPaths: paths, mismatchedPathsOmitted: 15_000 });
    const data = await assembleBatchReport(readerOf(batchOf(), [many, result(2, 'mismatch')], () => ({ functionName: 'f', executionTimeMs: 4 })), BATCH_ID, NOW);
    const page = renderBatchReport(data);
    const start = page.indexOf('data-testid="mismatch-table"');
    const table = page.slice(start, page.indexOf('</section>', start));
    expect(start).toBeGreaterThan(0);
    expect(table.includes(`<td>${paths.slice(0, 10).join(', ')} … and 19,990 more</td>`)).toBe(true);
    expect(table.includes('outputs.items[10]')).toBe(false);
    // A row with few paths names them all.
    expect(table.includes('<td>outputs.decision</td>')).toBe(true);
    expect(table.length).toBeLessThan(20_000);
  });

  it('shows the replay model with the batch overrides applied, and the stored stats once the batch succeeded', async () => {
    const stats = { totalReplays: 1, successfulReplays: 1, failedReplays: 0, matches: 1, mismatches: 0, tampered: 0, matchRate: 1, totalExecutionTimeMs: 10, averageExecutionTimeMs: 10, p50ExecutionTimeMs: 10, p95ExecutionTimeMs: 10, p99ExecutionTimeMs: 10, fieldMismatches: {}, fieldMismatchesOther: 0, policyViolations: {}, policyViolationsOther: 0 };
    const batch = batchOf({ status: 'SUCCEEDED', stats, request: { mode: 'Strict', overrides: { modelParameters: { modelVersion: 'v3' } } } });
    const data = await assembleBatchReport(readerOf(batch, [result(1, 'match', { executionTimeMs: 10 })], () => ({ functionName: 'f', modelName: 'credit', modelVersion: 'v1', executionTimeMs: 4 })), BATCH_ID, NOW);
    expect(data.statsSource).toBe('batch');
    expect(data.stats).toBe(stats);
    expect(data.originalModels).toEqual([{ value: 'credit @ v1', count: 1 }]);
    expect(data.replayModels).toEqual([{ value: 'credit @ v3', count: 1 }]);
  });

  it('reads no snapshot for results that kept their original facts', async () => {
    const original = { functionName: 'approve_loan', executionTimeMs: 30, modelName: 'credit', modelVersion: 'v1' };
    const reader = readerOf(batchOf(), [result(1, 'match', { original }), result(2, 'mismatch', { original }), result(3, 'match')], () => ({ functionName: 'approve_loan', executionTimeMs: 50 }));
    const data = await assembleBatchReport(reader, BATCH_ID, NOW);
    expect(reader.factCalls).toBe(1); // only for the result written before results kept them
    expect(data.latency.originalQuantiles.count).toBe(3);
    expect(data.functions).toEqual([{ value: 'approve_loan', count: 3 }]);
  });

  it('checks the stored statistics against the sealed results: rewritten ones are named and not shown (probe s12 D4)', async () => {
    // Two mismatches; an insider rewrote the batch item's stats to 2 matches, match rate 100 %.
    const results = [result(1, 'mismatch', { executionTimeMs: 10 }), result(2, 'mismatch', { executionTimeMs: 10 })];
    const honest = { totalReplays: 2, successfulReplays: 2, failedReplays: 0, matches: 0, mismatches: 2, tampered: 0, matchRate: 0, totalExecutionTimeMs: 20, averageExecutionTimeMs: 10, p50ExecutionTimeMs: 10, p95ExecutionTimeMs: 10, p99ExecutionTimeMs: 10, fieldMismatches: { 'outputs.decision': 2 }, fieldMismatchesOther: 0, policyViolations: {}, policyViolationsOther: 0 };
    const facts = () => ({ functionName: 'f', executionTimeMs: 4 });
    const clean = await assembleBatchReport(readerOf(batchOf({ status: 'SUCCEEDED', total: 2, completed: 2, stats: honest }), results, facts), BATCH_ID, NOW);
    expect(clean).toMatchObject({ statsSource: 'batch', stats: honest });
    expect(clean.statsDisagreements).toBeUndefined();

    const rewritten = { ...honest, matches: 2, matchRate: 1 };
    const data = await assembleBatchReport(readerOf(batchOf({ status: 'SUCCEEDED', total: 2, completed: 2, stats: rewritten }), results, facts), BATCH_ID, NOW);
    expect(data.statsSource).toBe('results');
    expect(data.stats).toMatchObject({ matches: 0, mismatches: 2, matchRate: 0 });
    expect(data.statsDisagreements).toEqual([
      { figure: 'matches', batch: '2', results: '0' },
      { figure: 'matchRate', batch: '1', results: '0' },
    ]);
    const page = renderBatchReport(data);
    expect(page).toContain('The statistics stored with the batch do not agree with its sealed results</strong> (matches: the batch says 2, its results 0; matchRate: the batch says 1, its results 0)');
    expect(page).toContain('data-testid="match-rate">0.0 %<');
    expect(page).not.toContain('100.0 %');
    expect(page).not.toContain('Figures are the batch statistics');
  });

  it('shows a cancelled batch its own statistics, and lists the results that arrived after the cancel as not counted', async () => {
    // Probe D13: cancelled with 2 results counted; 2 items in flight stored theirs afterwards.
    const stats = { totalReplays: 2, successfulReplays: 2, failedReplays: 0, matches: 1, mismatches: 1, tampered: 0, matchRate: 0.5, totalExecutionTimeMs: 20, averageExecutionTimeMs: 10, p50ExecutionTimeMs: 10, p95ExecutionTimeMs: 10, p99ExecutionTimeMs: 10, fieldMismatches: { 'outputs.decision': 1 }, fieldMismatchesOther: 0, policyViolations: {}, policyViolationsOther: 0 };
    const completedAt = '2026-11-30T11:00:00.000Z';
    const batch = batchOf({ status: 'CANCELLED', total: 10, completed: 2, stats, completedAt });
    const before = { createdAt: '2026-11-30T10:59:59.000Z', executionTimeMs: 10 };
    const late = [result(3, 'mismatch', { createdAt: '2026-11-30T11:00:00.177Z' }), result(4, 'error', { createdAt: '2026-11-30T11:00:00.268Z' })];
    const data = await assembleBatchReport(readerOf(batch, [result(1, 'match', before), result(2, 'mismatch', before), ...late], () => ({ functionName: 'f', executionTimeMs: 4 })), BATCH_ID, NOW);
    expect(data.statsSource).toBe('batch');
    expect(data.stats).toBe(stats);
    // Every other figure leaves the late results out too.
    expect(data.mismatches.total).toBe(1);
    expect(data.errors.total).toBe(0);
    expect(data.latency.replayQuantiles.count).toBe(2);
    expect(data.afterCancel).toEqual({ rows: late, total: 2, uncountedBefore: 0 });
    const page = renderBatchReport(data);
    expect(page).not.toContain('no final statistics');
    expect(page).toContain(`Figures are the batch statistics as of its cancel at ${completedAt}: 2 results.`);
    expect(page).toMatch(/data-testid="after-cancel-count">2 results<\/strong> of items that were in flight arrived after the cancel/);
    expect(page).toContain('data-testid="count-total">2<');
    expect(page.match(/<tr><td><code>01J0{20}00[34]<\/code>/g)).toHaveLength(2);

    // A result created before the cancel but stored after it had counted is named too (not counted).
    const raced = await assembleBatchReport(readerOf({ ...batch, completed: 1 }, [result(1, 'match', before), result(2, 'mismatch', before)], () => undefined), BATCH_ID, NOW);
    expect(raced.afterCancel).toEqual({ rows: [], total: 0, uncountedBefore: 1 });
    expect(renderBatchReport(raced)).toContain('1 further result was created before the cancel but stored after it had counted');
  });

  it('says n/a, not 0 ms, for the recorded quantiles when no snapshot recorded an execution time', async () => {
    // Probe D16: "p50 0 ms, p95 0 ms, p99 0 ms over 0 snapshots" and a row of 0 ms.
    const original = { functionName: 'approve_loan' };
    const data = await assembleBatchReport(readerOf(batchOf(), [result(1, 'match', { original }), result(2, 'mismatch', { original })], () => undefined), BATCH_ID, NOW);
    expect(data.latency.originalQuantiles.count).toBe(0);
    const page = renderBatchReport(data);
    expect(page).not.toMatch(/p50 0 ms, p95 0 ms, p99 0 ms over 0 snapshots/);
    expect(page).toContain('Original (recorded): n/a, no snapshot recorded an execution time.');
    expect(page).toMatch(/<td>original \(recorded\)<\/td><td[^>]*>0<\/td><td[^>]*>n\/a<\/td><td[^>]*>n\/a<\/td><td[^>]*>n\/a<\/td>/);
  });

  it('says n/a, not 0 % and 0 ms, for the match rate and the replay quantiles when no replay ran (nothing selected, or only errors)', async () => {
    // Probe s19: a batch over a function with no snapshots read "Match rate 0.0 %" and a replay row
    // of "0 ms 0 ms 0 ms" over 0 replays; so did one whose every item was an executor error.
    for (const results of [[], [result(1, 'error'), result(2, 'error')]]) {
      const page = renderBatchReport(await assembleBatchReport(readerOf(batchOf({ total: results.length }), results, () => undefined), BATCH_ID, NOW));
      expect(page).toContain('data-testid="match-rate">n/a<');
      for (const q of ['p50', 'p95', 'p99']) expect(page).toContain(`data-testid="replay-${q}">n/a<`);
    }
    // One replay ran: its figures, as before.
    const page = renderBatchReport(await assembleBatchReport(readerOf(batchOf({ total: 2 }), [result(1, 'error'), result(10, 'mismatch')], () => undefined), BATCH_ID, NOW));
    expect(page).toContain('data-testid="match-rate">0.0 %<');
    expect(page).toContain('data-testid="replay-p50">20 ms<');
  });

  it('names the executor the results ran on when no table row needs a replay read (only matches, or only executor errors)', async () => {
    // Probe D17: "Executor (not read)" for a batch whose every result names the executor.
    const unreachable = [1, 2, 3].map((n) => result(n, 'error', { replayId: ulid(200 + n), error: { code: 'EXECUTOR_UNREACHABLE', message: 'http POST http://model/v2 could not be reached' }, original: { functionName: 'f' } }));
    const errors = await assembleBatchReport(readerOf(batchOf({ status: 'SUCCEEDED' }), unreachable, () => undefined), BATCH_ID, NOW);
    expect(errors.executors).toEqual(['http POST http://model/v2']);
    const matchesOnly = readerOf(batchOf(), [result(1, 'match'), result(2, 'match')], () => ({ functionName: 'f' }));
    expect((await assembleBatchReport(matchesOnly, BATCH_ID, NOW)).executors).toEqual(['http POST http://model/v2']);
    expect(matchesOnly.replayKeys).toBe(1); // one replay read for the one function
    const page = renderBatchReport(errors);
    expect(page).toContain('<dt>Executor</dt><dd>http POST http://model/v2</dd>');
    // Nothing reached an executor (no replay id): said so, not "not read".
    const none = await assembleBatchReport(readerOf(batchOf(), [result(1, 'error')], () => undefined), BATCH_ID, NOW);
    expect(renderBatchReport(none)).toContain('<dt>Executor</dt><dd>(no replay reached an executor)</dd>');
  });

  it('answers 404 for an unknown batch', async () => {
    await expect(assembleBatchReport(readerOf(batchOf(), [], () => undefined), ulid(9), NOW)).rejects.toMatchObject({ code: 'BATCH_NOT_FOUND' });
  });
});

describe('diff report timing', () => {
  it('shows the execution time delta as n/a, not 0 ms, when a snapshot recorded none (the API keeps its number)', async () => {
    // Probe D16: the summary said "Execution time delta 0 ms" while the Timing table said n/a.
    const timed = snapshotWith(ulid(1), 'a');
    const untimed = buildSnapshot({ functionName: 'approve_loan', inputs: timed.inputs, outputs: timed.outputs, modelParameters: timed.modelParameters }, ulid(2), NOW());
    const data = await assembleDiffReport({ get: async (id) => (id === ulid(1) ? timed : untimed) }, ulid(1), ulid(2), NOW);
    expect(data.diff.executionTimeDeltaMs).toBe(0);
    const page = renderDiffReport(data);
    expect(page).not.toContain('<dt>Execution time delta</dt><dd>0 ms</dd>');
    expect(page).toContain('<dt>Execution time delta</dt><dd><span data-testid="time-delta">n/a (the new snapshot did not record an execution time)</span></dd>');
    expect(page).toContain('Original 12 ms, new not recorded (difference n/a).');
    // Both timed: the delta as before.
    const both = renderDiffReport(await assembleDiffReport({ get: async (id) => snapshotWith(id, 'a') }, ulid(1), ulid(2), NOW));
    expect(both).toContain('<dt>Execution time delta</dt><dd>0 ms</dd>');
  });
});

describe('diff report size', () => {
  it('lists at most REPORT_TABLE_LIMIT rows per table for snapshots of 120,000 leaves (a 59 MB page that stalled the host 11 s)', async () => {
    const big = (id: string, v: number): Snapshot => buildSnapshot({ functionName: 'arr', inputs: [], outputs: [{ name: 'o', value: new Array<number>(120_000).fill(v) }] }, id, NOW());
    const data = await assembleDiffReport({ get: async (id) => big(id, id === ulid(1) ? 0 : 1) }, ulid(1), ulid(2), NOW);
    expect(data.diff.changes).toHaveLength(120_000);

    const page = renderDiffReport(data);

    expect(page.length).toBeLessThan(5_000_000);
    for (const id of ['side-original', 'side-new', 'change-table']) {
      const rows = new RegExp(`data-testid="${id}"[\\s\\S]*?</table>`).exec(page)?.[0].match(/<tr/g) ?? [];
      expect(rows.length).toBe(REPORT_TABLE_LIMIT + 1);
    }
    // (Matched, not toContain: a failure would print the 1 MB page.)
    expect(page.includes('Showing the first 2,000 of 120,000 changes; 118,000 more are not listed.')).toBe(true);
    expect(page.match(/Showing the first 2,000 of 120,00\d fields/g)).toHaveLength(2);
    // Each count with thousands separators, as the total before it (it read '120000 modified').
    expect(page.includes('120,000 changes: 0 added, 0 removed, 120,000 modified.')).toBe(true);
  });
});

describe('latency bins', () => {
  it('bins both series over one range, logarithmic for long tails, counting every value', () => {
    const original = Float64Array.from([1, 2, 3, 1000]);
    const replay = Float64Array.from([0, 5, 50, 500, 5000]);
    const d = latencyDistribution(original, replay, { count: 5, p50: 50, p95: 5000, p99: 5000 }, 0);
    expect(d.scale).toBe('logarithmic');
    expect(d.edges[0]).toBe(1);
    expect(d.edges[d.edges.length - 1]).toBeCloseTo(5000);
    expect(d.original.reduce((a, b) => a + b, 0)).toBe(4);
    expect(d.replay.reduce((a, b) => a + b, 0)).toBe(5);
    expect(d.replay[0]).toBe(1); // the 0 ms replay lands in the first bin
    expect(d.originalQuantiles.count).toBe(4);
    const linear = latencyDistribution(Float64Array.from([10, 12]), Float64Array.from([11, 15]), { count: 2, p50: 11, p95: 15, p99: 15 }, 0);
    expect(linear.scale).toBe('linear');
    expect(linear.replay[linear.replay.length - 1]).toBe(1); // the maximum is in the last bin
  });
});

describe('HTML responses', () => {
  it('are sent as text/html, unserialized, with nosniff', () => {
    expect(toResult(htmlResponse('<!doctype html><p>x</p>'))).toEqual({ statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'x-content-type-options': 'nosniff' }, body: '<!doctype html><p>x</p>' });
    expect(() => toResult({ status: 200, body: { a: 1 }, contentType: 'text/html' })).toThrow(/string body/);
  });
});
