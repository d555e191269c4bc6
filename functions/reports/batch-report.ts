/**
 * The batch report view: header, counts with the match rate shown large, the latency distribution
 * of original vs replay (p50/p95/p99 marked), mismatches per field path, and the tables of
 * mismatched snapshots (each expandable to its field-level comparison), policy violations and
 * errors by code.
 */
import { baseOptions, chartFigure, COLORS, markerDataset, type ChartSpec } from './charts.js';
import { cards, facts, moreNote, statusBadge, table, value } from './components.js';
import { fmtMs, fmtNumber, fmtPercent, html, type SafeHtml } from './html.js';
import { renderPage } from './layout.js';
import type { BatchReportData, LatencyDistribution, MismatchRow, Tally } from './model.js';

/** Field paths drawn in the bar chart; every path is listed in the table below it. */
const CHART_FIELDS = 25;

function tallyText(items: readonly Tally[], none: string): string {
  if (items.length === 0) return none;
  return items.map((t) => (items.length === 1 ? t.value : `${t.value} (${fmtNumber(t.count)})`)).join(', ');
}

function binCenters(d: LatencyDistribution): number[] {
  return d.original.map((_, i) => {
    const lo = d.edges[i] ?? 0;
    const hi = d.edges[i + 1] ?? lo;
    return d.scale === 'logarithmic' ? Math.sqrt(lo * hi) : (lo + hi) / 2;
  });
}

function latencyChart(d: LatencyDistribution): ChartSpec {
  const centers = binCenters(d);
  const top = Math.max(1, ...d.original, ...d.replay);
  const series = (label: string, counts: number[], color: string) => ({ type: 'line', label, data: counts.map((y, i) => ({ x: centers[i], y })), borderColor: color, backgroundColor: `${color}33`, fill: true, stepped: 'middle', pointRadius: 0, borderWidth: 2, order: 0 });
  const o = d.originalQuantiles;
  const r = d.replayQuantiles;
  const markers = [
    ...(o.count > 0 ? (['p50', 'p95', 'p99'] as const).map((q, i) => markerDataset(`original ${q} ${fmtMs(o[q])}`, o[q], top, COLORS.original, [2, 3 + i])) : []),
    ...(r.count > 0 ? (['p50', 'p95', 'p99'] as const).map((q, i) => markerDataset(`replay ${q} ${fmtMs(r[q])}`, r[q], top, COLORS.replay, [6, 3 + i])) : []),
  ];
  const summary =
    d.edges.length === 0
      ? 'No successful replay, so there is no execution time to show.'
      : `Distribution of execution times over ${fmtNumber(r.count)} successful replays in ${d.original.length} ${d.scale} bins from ${fmtMs(d.edges[0] ?? 0)} to ${fmtMs(d.edges[d.edges.length - 1] ?? 0)}. ` +
        (o.count === 0
          ? `Original (recorded): n/a, no snapshot recorded an execution time. `
          : `Original (recorded): p50 ${fmtMs(o.p50)}, p95 ${fmtMs(o.p95)}, p99 ${fmtMs(o.p99)} over ${fmtNumber(o.count)} snapshots${d.originalMissing > 0 ? ` (${fmtNumber(d.originalMissing)} recorded no execution time)` : ''}. `) +
        `Replay: p50 ${fmtMs(r.p50)}, p95 ${fmtMs(r.p95)}, p99 ${fmtMs(r.p99)}. Dashed vertical lines mark the quantiles.`;
  return {
    id: 'chart-latency',
    title: 'Execution time: original vs replay',
    summary,
    heightPx: 340,
    config: {
      type: 'line',
      data: { datasets: [series('original (recorded)', d.original, COLORS.original), series('replay', d.replay, COLORS.replay), ...markers] },
      options: baseOptions({
        parsing: true,
        scales: {
          x: { type: d.scale, title: { display: true, text: `execution time (ms, ${d.scale} scale)` } },
          y: { beginAtZero: true, title: { display: true, text: 'replays' } },
        },
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 14, font: { size: 11 } } } },
      }),
    },
  };
}

function fieldChart(data: BatchReportData): ChartSpec {
  const shown = data.fieldMismatches.slice(0, CHART_FIELDS);
  const rest = data.fieldMismatches.length - shown.length;
  const summary =
    shown.length === 0
      ? 'No field mismatched.'
      : `Mismatches per field path over all results: ${shown.map((t) => `${t.value} ${fmtNumber(t.count)}`).join('; ')}${rest > 0 ? `; ${rest} more paths in the table below` : ''}.`;
  return {
    id: 'chart-fields',
    title: 'Mismatches per field path',
    summary,
    heightPx: Math.max(120, 60 + shown.length * 26),
    config: {
      type: 'bar',
      data: { labels: shown.map((t) => t.value), datasets: [{ label: 'mismatches', data: shown.map((t) => t.count), backgroundColor: COLORS.mismatch }] },
      options: baseOptions({ indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'results mismatched on this field' } } }, plugins: { legend: { display: false } } }),
    },
  };
}

function header(data: BatchReportData): SafeHtml {
  const { batch } = data;
  const req = batch.request;
  return facts([
    ['Batch', html`<code>${batch.batchId}</code>`],
    ['Status', statusBadge(batch.status)],
    ['Function', tallyText(data.functions, req.selector?.functionName ?? '(no snapshot found)')],
    ['Original model', tallyText(data.originalModels, '(none)')],
    ['Replay model', tallyText(data.replayModels, '(none)')],
    ['Executor', data.executors.length === 0 ? '(no replay reached an executor)' : data.executors.join(', ')],
    ['Mode', req.mode ?? 'Tolerant'],
    ['Tolerance', (req.mode ?? 'Tolerant') === 'Tolerant' ? String(req.tolerance ?? 0.8) : 'n/a (not Tolerant)'],
    ['Policy', req.policyName ?? '(none)'],
    ['Noise profile', noiseProfileFact(batch)],
    ['Trigger', batch.trigger === 'schedule' ? `schedule ${batch.scheduleName ?? ''}` : 'API request'],
    ['Started', batch.createdAt],
    ['Ended', batch.completedAt ?? '(still running)'],
    ...(req.overrides ? ([['Overrides', html`<code>${JSON.stringify(req.overrides)}</code>`]] as const) : []),
    ...(batch.failureReason ? ([['Failure', batch.failureReason]] as const) : []),
  ]);
}

/**
 * Which noise profile judged the items: it decides what counts as a match (a field it learned as
 * noise is not a mismatch), so two batches with the same mode and tolerance can differ by it alone.
 * A learning batch replays nothing: its items are measurements (each snapshot run twice).
 */
function noiseProfileFact(batch: BatchReportData['batch']): string {
  if (batch.noiseProfile !== undefined) return `none: this batch learns the noise profile of ${batch.noiseProfile.functionName} (each sampled snapshot run twice; its items are measurements, not replays)`;
  const choice = batch.request.noiseProfile;
  if (choice === undefined || choice === 'none') return '(none)';
  if (choice === 'latest' && batch.noiseProfileVersions !== undefined) return `latest when the batch started: ${batch.noiseProfileVersions.map((p) => `${p.functionName} version ${p.version}`).join(', ') || '(no listed snapshot was stored)'}`;
  // A batch stored before listed ids were pinned.
  if (choice === 'latest') return "latest (each function's latest version when its items ran)";
  return `version ${choice}`;
}

function counts(data: BatchReportData): SafeHtml {
  const s = data.stats;
  return html`${cards([
    // No replay ran (nothing selected, or every one an error): 0 % would read as "nothing matched".
    { label: 'Match rate', value: s.successfulReplays > 0 ? fmtPercent(s.matchRate) : 'n/a', testId: 'match-rate', big: true },
    { label: 'Total', value: fmtNumber(s.totalReplays), testId: 'count-total' },
    { label: 'Matches', value: fmtNumber(s.matches), testId: 'count-matches' },
    { label: 'Mismatches', value: fmtNumber(s.mismatches), testId: 'count-mismatches' },
    { label: 'Errors', value: fmtNumber(s.failedReplays), testId: 'count-errors' },
    { label: 'Tampered', value: fmtNumber(data.tampered), testId: 'count-tampered' },
  ])}
<p class="muted">Match rate = matches ÷ results that were not errors (${fmtNumber(s.successfulReplays)}); errors are replays that could not run; tampered snapshots were not replayed, so they are among the mismatches, and counted again under Tampered. ${statsNote(data)}</p>`;
}

function statsNote(data: BatchReportData): SafeHtml | string {
  const contradicted = data.statsDisagreements;
  if (contradicted !== undefined && contradicted.length > 0) {
    const shown = contradicted.slice(0, 8).map((d) => html`${d.figure}: the batch says ${d.batch}, its results ${d.results}`);
    const more = contradicted.length > 8 ? html`; and ${fmtNumber(contradicted.length - 8)} more` : '';
    return html`<strong data-testid="stats-disagree">The statistics stored with the batch do not agree with its sealed results</strong> (${shown.flatMap((h, i) => (i === 0 ? [h] : ['; ', h]))}${more}): they were changed after the batch ended. Figures here are computed from the sealed results; verify the batch's window (<code>decision-replay verify</code>) to check the results themselves.`;
  }
  if (data.statsSource === 'results') return 'The batch has no final statistics yet: figures are computed from the results stored so far.';
  const late = data.afterCancel;
  if (late === undefined) return 'Figures are the batch statistics.';
  const counted = html`Figures are the batch statistics as of its cancel at ${data.batch.completedAt ?? ''}: ${fmtNumber(data.batch.completed)} result${data.batch.completed === 1 ? '' : 's'}.`;
  const after =
    late.total === 0
      ? html` No result arrived after the cancel.`
      : html` <strong data-testid="after-cancel-count">${fmtNumber(late.total)} result${late.total === 1 ? '' : 's'}</strong> of items that were in flight arrived after the cancel (created after ${data.batch.completedAt ?? ''}) and ${late.total === 1 ? 'is' : 'are'} not counted in any figure here; ${late.total === 1 ? 'it is' : 'they are'} listed under <a href="#s-after-cancel">After the cancel</a>.`;
  const race = late.uncountedBefore > 0 ? html` ${fmtNumber(late.uncountedBefore)} further result${late.uncountedBefore === 1 ? ' was' : 's were'} created before the cancel but stored after it had counted: not counted either.` : '';
  return html`${counted}${after}${race}`;
}

function afterCancelSection(data: BatchReportData): SafeHtml {
  const late = data.afterCancel;
  if (late === undefined) return html``;
  const body =
    late.total === 0
      ? html`<p>No result arrived after the cancel.</p>`
      : html`${table(
          'Results stored after the cancel (not counted)',
          [{ header: 'snapshot' }, { header: 'status' }, { header: 'outputs match' }, { header: 'created' }, { header: 'error' }],
          late.rows.map((r) => [html`<code>${r.snapshotId}</code>`, statusBadge(r.status), r.status === 'Error' ? 'n/a' : r.outputsMatch ? 'yes' : 'no', r.createdAt, r.error ? html`<code>${r.error.code}</code> ${r.error.message}` : '']),
          { testId: 'after-cancel-table' },
        )}${moreNote(late.rows.length, late.total, 'results stored after the cancel')}`;
  return html`<section aria-labelledby="s-after-cancel"><h2 id="s-after-cancel">After the cancel</h2><p class="muted">Items already running when the batch was cancelled finish and store their results; <code>GET /batches/{id}/results</code> lists them. A result created after the batch's <code>completedAt</code> is not in its statistics.</p>${body}</section>`;
}

function latencySection(data: BatchReportData, chart: ChartSpec): SafeHtml {
  const d = data.latency;
  const o = d.originalQuantiles;
  const r = d.replayQuantiles;
  return html`${chartFigure(chart)}
${table(
  'Execution time quantiles (successful replays)',
  [{ header: 'series' }, { header: 'count', numeric: true }, { header: 'p50', numeric: true }, { header: 'p95', numeric: true }, { header: 'p99', numeric: true }],
  [
    // No snapshot recorded a time: there is no quantile to show (0 ms would claim "instant").
    o.count === 0 ? ['original (recorded)', fmtNumber(0), 'n/a', 'n/a', 'n/a'] : ['original (recorded)', fmtNumber(o.count), fmtMs(o.p50), fmtMs(o.p95), fmtMs(o.p99)],
    ['replay', fmtNumber(r.count), ...(['p50', 'p95', 'p99'] as const).map((q) => html`<span data-testid="replay-${q}">${r.count === 0 ? 'n/a' : fmtMs(r[q])}</span>`)],
  ],
  { testId: 'latency-table' },
)}`;
}

function fieldSection(data: BatchReportData, chart: ChartSpec): SafeHtml {
  return html`${chartFigure(chart)}
${table(
  'Every mismatched field path',
  [{ header: 'field path' }, { header: 'mismatches', numeric: true }],
  data.fieldMismatches.map((t) => [html`<code>${t.value}</code>`, fmtNumber(t.count)]),
  { testId: 'field-table' },
)}${data.fieldMismatchesOther > 0 ? html`<p class="muted">${fmtNumber(data.fieldMismatchesOther)} further mismatches on paths beyond the ${fmtNumber(data.fieldMismatches.length)} most frequent are not itemized.</p>` : ''}`;
}

/** Mismatched paths a row names; the rest are counted (a result may list thousands, up to 100 KB). */
export const REPORT_PATHS_PER_ROW = 10;

/** A result's mismatched paths as a row shows them: the first {@link REPORT_PATHS_PER_ROW}, then how many more (listed or not). */
function mismatchedPathsText(result: BatchReportData['mismatches']['rows'][number]['result']): string {
  const shown = result.mismatchedPaths.slice(0, REPORT_PATHS_PER_ROW);
  const more = result.mismatchedPaths.length - shown.length + (result.mismatchedPathsOmitted ?? 0);
  return `${shown.join(', ')}${more > 0 ? ` … and ${more.toLocaleString('en-US')} more` : ''}`;
}

/**
 * The field-level diff of one mismatched snapshot: its mismatched fields with both values,
 * comparator, score against threshold and provider (the fields that matched are counted, not
 * listed, which keeps 2,000 rows within the report's size).
 */
function comparisonTable(row: MismatchRow): SafeHtml {
  if (row.comparisons === null) return html`<p class="muted">The full replay result is not available${row.result.error ? html`: ${row.result.error.code} — ${row.result.error.message}` : ''}. Mismatched fields: ${mismatchedPathsText(row.result) || '(none recorded)'}.</p>`;
  const mismatched = row.comparisons.filter((c) => !c.match);
  const matched = row.comparisons.length - mismatched.length;
  if (mismatched.length === 0) return html`<p class="muted">No output field mismatched${row.result.integrity === 'tampered' ? ': the snapshot was tampered with and nothing ran' : row.result.error ? html` (${row.result.error.code}: ${row.result.error.message})` : ''}.</p>`;
  return html`<div class="table-wrap"><table><thead><tr><th scope="col">field</th><th scope="col">original</th><th scope="col">replay</th><th scope="col">comparator</th><th scope="col">score / threshold</th><th scope="col">provider</th></tr></thead><tbody>${mismatched.map(
    (c) => html`<tr><td><code>${c.path}</code></td><td>${value(c.original)}</td><td>${value(c.replayed)}</td><td>${c.comparator}</td><td>${fmtNumber(c.score, 4)} / ${fmtNumber(c.threshold, 4)}</td><td>${c.provider ?? ''}</td></tr>`,
  )}</tbody></table></div>${matched > 0 ? html`<p class="muted">${matched} other compared field${matched === 1 ? '' : 's'} matched.</p>` : ''}`;
}

function mismatchSection(data: BatchReportData): SafeHtml {
  const { rows, total } = data.mismatches;
  if (total === 0) return html`<p>No replay mismatched its original.</p>`;
  return html`${table(
    'Mismatched snapshots — expand a row for its field-level comparison',
    [{ header: 'snapshot (expand for the field-level diff)' }, { header: 'mismatched fields' }, { header: 'integrity' }, { header: 'replay time', numeric: true }],
    rows.map((row) => [
      html`<details data-testid="mismatch-row"><summary><code>${row.result.snapshotId}</code></summary>${comparisonTable(row)}</details>`,
      mismatchedPathsText(row.result),
      row.result.integrity === 'tampered' ? statusBadge('tampered') : 'verified',
      fmtMs(row.result.executionTimeMs),
    ]),
    { testId: 'mismatch-table' },
  )}${moreNote(rows.length, total, 'mismatched snapshots')}`;
}

function violationSection(data: BatchReportData): SafeHtml {
  const v = data.violations;
  if (v.total === 0) return html`<p>No policy rule was violated${data.batch.request.policyName ? '' : ' (the batch ran without a policy)'}.</p>`;
  const shownResults = new Set(v.rows.map((r) => r.snapshotId)).size;
  return html`${table('Violations per rule (all results)', [{ header: 'rule' }, { header: 'violations', numeric: true }], v.byRule.map((t) => [t.value, fmtNumber(t.count)]), { testId: 'violation-rules' })}
${table(
  'Policy violations',
  [{ header: 'snapshot' }, { header: 'rule' }, { header: 'field' }, { header: 'expected' }, { header: 'actual' }, { header: 'message' }],
  v.rows.map((r) => [html`<code>${r.snapshotId}</code>`, r.ruleName, r.detail ? html`<code>${r.detail.field}</code>` : '', r.detail?.expected ?? '', r.detail?.actual ?? '', r.detail?.message ?? '(details not available)']),
  { testId: 'violation-table' },
)}${moreNote(shownResults, v.total, 'snapshots with violations')}`;
}

function errorSection(data: BatchReportData): SafeHtml {
  const e = data.errors;
  if (e.total === 0) return html`<p>Every replay ran.</p>`;
  return html`${table('Errors by code', [{ header: 'code' }, { header: 'results', numeric: true }], e.groups.map((g) => [html`<code>${g.code}</code>`, fmtNumber(g.count)]), { testId: 'error-codes' })}
${e.groups
  .filter((g) => g.rows.length > 0)
  .map(
    (g) => html`<details${e.groups.length === 1 ? html` open` : ''}><summary><code>${g.code}</code> — ${fmtNumber(g.count)} result${g.count === 1 ? '' : 's'}</summary>${table(
      `Errors with code ${g.code}`,
      [{ header: 'snapshot' }, { header: 'message' }],
      g.rows.map((r) => [html`<code>${r.snapshotId}</code>`, r.message]),
    )}</details>`,
  )}${moreNote(e.shown, e.total, 'errors')}`;
}

/** The batch report as one self-contained HTML document. */
export function renderBatchReport(data: BatchReportData): string {
  const latency = latencyChart(data.latency);
  const fields = fieldChart(data);
  const fn = data.functions[0]?.value ?? data.batch.request.selector?.functionName;
  const main = html`<section aria-labelledby="s-counts"><h2 id="s-counts">Outcome</h2>${header(data)}${counts(data)}</section>
<section aria-labelledby="s-latency"><h2 id="s-latency">Latency</h2>${latencySection(data, latency)}</section>
<section aria-labelledby="s-fields"><h2 id="s-fields">Mismatched fields</h2>${fieldSection(data, fields)}</section>
<section aria-labelledby="s-mismatches"><h2 id="s-mismatches">Mismatched snapshots</h2>${mismatchSection(data)}</section>
<section aria-labelledby="s-violations"><h2 id="s-violations">Policy violations</h2>${violationSection(data)}</section>
<section aria-labelledby="s-errors"><h2 id="s-errors">Errors</h2>${errorSection(data)}</section>
${afterCancelSection(data)}`;
  return renderPage({
    title: `Batch ${data.batch.batchId}${fn ? ` — ${fn}` : ''} — decision-replay report`,
    heading: `Batch replay report${fn ? `: ${fn}` : ''}`,
    subtitle: `Batch ${data.batch.batchId} · ${data.batch.status} · ${fmtNumber(data.stats.totalReplays)} results`,
    main,
    charts: [latency, fields],
    generatedAt: data.generatedAt,
  });
}
