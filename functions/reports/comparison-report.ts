/**
 * The comparison view: an A/B comparison of two batches (`POST /comparisons`) — the verdict, the
 * paired tests behind it (match rate and error rate, McNemar's exact test on the discordant pairs,
 * Holm-corrected as one family), the mismatch rate of each field (Holm-corrected over the fields)
 * and the p50/p95 latency differences with their bootstrap 95% intervals.
 */
import type { Comparison } from '../core/comparison.js';
import { baseOptions, chartFigure, COLORS, type ChartSpec } from './charts.js';
import { badge, cards, facts, moreNote, table } from './components.js';
import { fmtMs, fmtNumber, fmtPercent, html, type SafeHtml } from './html.js';
import { renderPage } from './layout.js';
import { REPORT_TABLE_LIMIT } from './model.js';

/** What the comparison view shows: the stored comparison, and when the page was made. */
export interface ComparisonReportData {
  comparison: Comparison;
  generatedAt: string;
}

const VERDICT_TONE = { better: 'ok', worse: 'bad', 'no significant difference': 'neutral' } as const;

/** A difference of two rates, in percentage points (61.5 % → 53.8 % is −7.7 pp, not −7.7 %). */
function signedPoints(difference: number): string {
  return `${difference > 0 ? '+' : difference < 0 ? '−' : ''}${(Math.abs(difference) * 100).toFixed(1)} pp`;
}

function signedMs(ms: number): string {
  return `${ms > 0 ? '+' : ms < 0 ? '−' : ''}${fmtMs(Math.abs(ms))}`;
}

function pValue(p: number): string {
  return p < 0.0001 ? '< 0.0001' : fmtNumber(p, 4);
}

function significance(s: boolean): SafeHtml {
  return s ? badge('significant', 'warn') : badge('no', 'neutral');
}

function ratesChart(c: Comparison): ChartSpec {
  return {
    id: 'chart-rates',
    title: 'Match rate and error rate',
    summary: `Match rate ${fmtPercent(c.matchRate.baseline)} in the baseline, ${fmtPercent(c.matchRate.candidate)} in the candidate; error rate ${fmtPercent(c.errorRate.baseline)} and ${fmtPercent(c.errorRate.candidate)}, over ${fmtNumber(c.pairs)} paired snapshots.`,
    heightPx: 200,
    config: {
      type: 'bar',
      data: {
        labels: ['match rate', 'error rate'],
        datasets: [
          { label: 'baseline', data: [c.matchRate.baseline * 100, c.errorRate.baseline * 100], backgroundColor: COLORS.original },
          { label: 'candidate', data: [c.matchRate.candidate * 100, c.errorRate.candidate * 100], backgroundColor: COLORS.replay },
        ],
      },
      options: baseOptions({ indexAxis: 'y', scales: { x: { beginAtZero: true, max: 100, title: { display: true, text: '%' } } } }),
    },
  };
}

function latencyChart(c: Comparison): ChartSpec | undefined {
  const { p50, p95 } = c.latency;
  if (p50 === null || p95 === null) return undefined;
  return {
    id: 'chart-latency',
    title: 'Latency, baseline and candidate',
    summary: `p50 ${fmtMs(p50.baselineMs)} → ${fmtMs(p50.candidateMs)} (${signedMs(p50.differenceMs)}, 95% CI ${signedMs(p50.ci95[0])} to ${signedMs(p50.ci95[1])}); p95 ${fmtMs(p95.baselineMs)} → ${fmtMs(p95.candidateMs)} (${signedMs(p95.differenceMs)}, 95% CI ${signedMs(p95.ci95[0])} to ${signedMs(p95.ci95[1])}), over ${fmtNumber(c.latency.pairs)} pairs where both replays ran.`,
    heightPx: 200,
    config: {
      type: 'bar',
      data: {
        labels: ['p50', 'p95'],
        datasets: [
          { label: 'baseline', data: [p50.baselineMs, p95.baselineMs], backgroundColor: COLORS.original },
          { label: 'candidate', data: [p50.candidateMs, p95.candidateMs], backgroundColor: COLORS.replay },
        ],
      },
      options: baseOptions({ indexAxis: 'y', scales: { x: { beginAtZero: true, title: { display: true, text: 'ms' } } } }),
    },
  };
}

function rateRow(name: string, t: Comparison['matchRate']): readonly (SafeHtml | string)[] {
  return [name, fmtPercent(t.baseline), fmtPercent(t.candidate), signedPoints(t.difference), `${fmtNumber(t.baselineOnly)} / ${fmtNumber(t.candidateOnly)}`, pValue(t.pValue), pValue(t.adjustedPValue), significance(t.significant)];
}

/** The comparison view as one self-contained HTML document. */
export function renderComparisonReport(data: ComparisonReportData): string {
  const c = data.comparison;
  const charts = [ratesChart(c), latencyChart(c)].filter((x): x is ChartSpec => x !== undefined);
  // The most telling fields first: smallest Holm-adjusted p, then the largest change.
  const fields = [...c.fields].sort((a, b) => a.adjustedPValue - b.adjustedPValue || Math.abs(b.difference) - Math.abs(a.difference) || a.path.localeCompare(b.path));
  const shownFields = fields.slice(0, REPORT_TABLE_LIMIT);
  const q = (name: string, d: Comparison['latency']['p50']) => (d === null ? [name, 'n/a', 'n/a', 'n/a', 'n/a'] : [name, fmtMs(d.baselineMs), fmtMs(d.candidateMs), signedMs(d.differenceMs), `${signedMs(d.ci95[0])} to ${signedMs(d.ci95[1])}`]);
  const main = html`<section aria-labelledby="s-summary"><h2 id="s-summary">Verdict</h2>
${cards([
  { label: 'verdict', value: c.verdict, testId: 'verdict', big: true },
  { label: 'paired snapshots', value: fmtNumber(c.pairs), testId: 'pairs' },
  { label: 'match rate change', value: signedPoints(c.matchRate.difference), testId: 'match-difference' },
  { label: 'error rate change', value: signedPoints(c.errorRate.difference), testId: 'error-difference' },
])}
${facts([
  ['Verdict', badge(c.verdict, VERDICT_TONE[c.verdict])],
  ['Baseline batch', html`<code>${c.baselineBatchId}</code>`],
  ['Candidate batch', html`<code>${c.candidateBatchId}</code>`],
  ['Significance level (alpha)', String(c.alpha)],
  ['Compared', c.intersectionOnly ? `the ${fmtNumber(c.pairs)} snapshots both batches replayed (left out: ${fmtNumber(c.excluded.baselineOnly)} only in the baseline, ${fmtNumber(c.excluded.candidateOnly)} only in the candidate)` : `the same ${fmtNumber(c.pairs)} snapshots in both batches`],
  ['Comparison', html`<code>${c.comparisonId}</code> · ${c.createdAt}`],
])}
<p class="muted">Paired per snapshot. <strong>worse</strong>: the candidate matches the recorded decisions significantly less often, or errs significantly more often; <strong>better</strong>: it matches significantly more often and is not worse; otherwise no significant difference. The match and error tests are McNemar's exact test on the discordant pairs, Holm-corrected together at alpha ${String(c.alpha)}. A replay that errs counts as not matching. A change or difference of two rates is in percentage points (pp).</p>
<div class="grid2">${charts.map(chartFigure)}</div></section>
<section aria-labelledby="s-tests"><h2 id="s-tests">Paired tests</h2>
${table(
  'Match rate and error rate (discordant pairs: only the baseline / only the candidate had it)',
  [{ header: 'test' }, { header: 'baseline', numeric: true }, { header: 'candidate', numeric: true }, { header: 'difference', numeric: true }, { header: 'discordant', numeric: true }, { header: 'p', numeric: true }, { header: 'p (Holm)', numeric: true }, { header: 'significant' }],
  [rateRow('match rate', c.matchRate), rateRow('error rate', c.errorRate)],
  { testId: 'tests-table' },
)}</section>
<section aria-labelledby="s-fields"><h2 id="s-fields">Fields</h2>${
    fields.length === 0
      ? html`<p>No field mismatched in either batch.</p>`
      : html`${table(
          'Mismatch rate per field path (McNemar exact on the pairs where exactly one batch mismatched it; Holm-corrected over the fields)',
          [{ header: 'field' }, { header: 'baseline', numeric: true }, { header: 'candidate', numeric: true }, { header: 'difference', numeric: true }, { header: 'discordant', numeric: true }, { header: 'p (Holm)', numeric: true }, { header: 'significant' }],
          shownFields.map((f) => [html`<code>${f.path}</code>`, fmtPercent(f.baseline), fmtPercent(f.candidate), signedPoints(f.difference), `${fmtNumber(f.baselineOnly)} / ${fmtNumber(f.candidateOnly)}`, pValue(f.adjustedPValue), significance(f.significant)]),
          { testId: 'fields-table', rowClass: (i) => (shownFields[i]?.significant ? 'significant' : '') },
        )}${moreNote(shownFields.length, fields.length, 'fields')}`
  }${c.fieldsNotTested > 0 ? html`<p class="note">${fmtNumber(c.fieldsNotTested)} further field paths were counted but not tested (the comparison tracks a bounded number of paths).</p>` : ''}</section>
<section aria-labelledby="s-latency"><h2 id="s-latency">Latency</h2>
${table(
  `p50 and p95 over the ${fmtNumber(c.latency.pairs)} pairs where both replays ran; paired bootstrap 95% intervals (${fmtNumber(c.latency.resamples)} resamples, seed ${String(c.latency.seed)}: the same comparison gives the same intervals)`,
  [{ header: 'quantile' }, { header: 'baseline', numeric: true }, { header: 'candidate', numeric: true }, { header: 'difference', numeric: true }, { header: '95% CI of the difference', numeric: true }],
  [q('p50', c.latency.p50), q('p95', c.latency.p95)],
  { testId: 'latency-table' },
)}</section>`;
  return renderPage({
    title: `Comparison ${c.comparisonId} — decision-replay report`,
    heading: `A/B comparison: ${c.verdict}`,
    subtitle: `baseline ${c.baselineBatchId} → candidate ${c.candidateBatchId} · ${fmtNumber(c.pairs)} pairs · alpha ${String(c.alpha)}`,
    main,
    charts,
    generatedAt: data.generatedAt,
  });
}
