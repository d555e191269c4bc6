/**
 * The replay view: the original outputs against the replayed ones, each output field's comparison
 * (comparator, score against its threshold, provider), the policy's verdicts and the timing.
 */
import type { JsonObject } from '../core/json.js';
import { namedValuesToObject } from '../core/snapshot.js';
import { baseOptions, chartFigure, COLORS, type ChartSpec } from './charts.js';
import { badge, facts, statusBadge, table, value } from './components.js';
import { fmtMs, fmtNumber, html, type SafeHtml } from './html.js';
import { renderPage } from './layout.js';
import { leavesOf } from './leaves.js';
import type { ReplayReportData } from './model.js';

/**
 * Output fields drawn in the score chart (30 px a bar). A replay of an output with thousands of
 * leaves drew one canvas 30 px per field: 3,000 fields made it 90,070 px tall, past what a browser
 * paints (it stayed blank) and pushing the table below it 90,000 px down. Past this many, the chart
 * shows the lowest-scoring fields (mismatches first) and the table below lists every field.
 */
export const REPLAY_CHART_FIELDS = 40;

/** The comparisons the chart draws: all of them, or the lowest-scoring, in their table order. */
function chartedComparisons(cs: ReplayReportData['replay']['fieldComparisons']): typeof cs {
  if (cs.length <= REPLAY_CHART_FIELDS) return cs;
  const order = cs.map((c, i) => ({ c, i })).sort((a, b) => Number(a.c.match) - Number(b.c.match) || a.c.score - b.c.score || a.i - b.i);
  const keep = new Set(order.slice(0, REPLAY_CHART_FIELDS).map((x) => x.i));
  return cs.filter((_, i) => keep.has(i));
}

function scoreChart(data: ReplayReportData): ChartSpec {
  const all = data.replay.fieldComparisons;
  const cs = chartedComparisons(all);
  const left = all.length - cs.length;
  const mismatched = all.filter((c) => !c.match).length;
  return {
    id: 'chart-scores',
    title: left === 0 ? 'Score of each output field against its threshold' : `Score against threshold: the ${fmtNumber(cs.length)} lowest-scoring of ${fmtNumber(all.length)} output fields`,
    summary:
      all.length === 0
        ? `No output field was compared (${data.replay.mode === 'ValidationOnly' ? 'ValidationOnly runs nothing' : data.replay.error ? `the replay ended with ${data.replay.error.code}` : 'no outputs'}).`
        : cs.map((c) => `${c.path}: ${fmtNumber(c.score, 4)} (needs ${fmtNumber(c.threshold, 4)}, ${c.match ? 'match' : 'mismatch'})`).join('; ') +
          (left === 0 ? '.' : `; ${fmtNumber(left)} more fields are in the table below (${fmtNumber(mismatched)} of all ${fmtNumber(all.length)} mismatched).`),
    heightPx: Math.max(140, 70 + cs.length * 30),
    config: {
      type: 'bar',
      data: {
        labels: cs.map((c) => c.path),
        datasets: [
          { type: 'bar', label: 'score', data: cs.map((c) => c.score), backgroundColor: cs.map((c) => (c.match ? COLORS.added : COLORS.mismatch)), order: 1 },
          { type: 'line', label: 'threshold', data: cs.map((c) => c.threshold), borderColor: COLORS.neutral, borderDash: [5, 4], pointRadius: 3, showLine: false, pointStyle: 'line', pointBorderWidth: 3, order: 0 },
        ],
      },
      options: baseOptions({ indexAxis: 'y', scales: { x: { min: 0, max: 1, title: { display: true, text: 'score (0..1)' } } }, plugins: { legend: { position: 'bottom' } } }),
    },
  };
}

function timingChart(data: ReplayReportData): ChartSpec {
  const original = data.original.snapshot.executionTimeMs;
  const replay = data.replay.executionTimeMs;
  return {
    id: 'chart-timing',
    title: 'Execution time: original vs replay',
    summary: `Original ${original === undefined ? 'not recorded' : fmtMs(original)}, replay ${fmtMs(replay)}${data.replay.executor === null ? ' (nothing was executed)' : ''}.`,
    heightPx: 150,
    config: {
      type: 'bar',
      data: { labels: ['original', 'replay'], datasets: [{ label: 'ms', data: [original ?? 0, replay], backgroundColor: [COLORS.original, COLORS.replay] }] },
      options: baseOptions({ indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, title: { display: true, text: 'ms' } } } }),
    },
  };
}

function outputsSide(title: string, doc: JsonObject | null, mismatched: ReadonlySet<string>, testId: string): SafeHtml {
  if (doc === null) return html`<div><h3>${title}</h3><p class="muted">No replayed outputs (nothing was executed, or the executor gave no usable answer).</p></div>`;
  const leaves = leavesOf(doc, 'outputs');
  return html`<div><h3>${title}</h3>${table(
    title,
    [{ header: 'field' }, { header: 'value' }],
    leaves.map((l) => [html`<code>${l.path}</code>`, value(l.value)]),
    { testId, rowClass: (i) => (mismatched.has(leaves[i]?.path ?? '') ? 'change-Modified' : '') },
  )}</div>`;
}

/** The replay view as one self-contained HTML document. */
export function renderReplayReport(data: ReplayReportData): string {
  const { replay, original } = data;
  const mismatched = new Set(replay.fieldComparisons.filter((c) => !c.match).map((c) => c.path));
  // A noise-aware replay says, per field, what its profile decided and why (e.g. ignored as always different).
  const noiseAware = replay.noiseProfile != null;
  const charts = [scoreChart(data), timingChart(data)];
  const main = html`<section aria-labelledby="s-summary"><h2 id="s-summary">Summary</h2>
${facts([
  ['Snapshot', html`<code>${replay.snapshotId}</code>`],
  ['Replay', html`<code>${replay.replayId}</code>`],
  ['Function', replay.functionName],
  ['Status', html`<span data-testid="replay-status">${statusBadge(replay.status)}</span>`],
  ['Outputs match', replay.outputsMatch ? 'yes' : 'no'],
  ['Integrity', statusBadge(replay.integrity)],
  ['Mode', replay.mode],
  ['Tolerance', replay.tolerance === null ? 'n/a' : String(replay.tolerance)],
  ['Noise profile', replay.noiseProfile ? `${replay.noiseProfile.functionName} version ${replay.noiseProfile.version}` : '(none)'],
  ['Original model', original.snapshot.modelParameters ? `${original.snapshot.modelParameters.modelName}${original.snapshot.modelParameters.modelVersion ? ` @ ${original.snapshot.modelParameters.modelVersion}` : ''}` : '(none recorded)'],
  ['Executor', replay.executor ?? '(nothing executed)'],
  ['Replayed at', replay.createdAt],
  ...(replay.batchId ? ([['Batch', html`<code>${replay.batchId}</code>`]] as const) : []),
  ...(replay.overrides ? ([['Overrides', html`<code>${JSON.stringify(replay.overrides)}</code>`]] as const) : []),
])}
${replay.error ? html`<p class="note" role="alert" data-testid="replay-error"><strong>${replay.error.code}</strong>: ${replay.error.message}</p>` : ''}
${original.integrity === 'tampered' ? html`<p class="note" role="alert">The original snapshot does not match its contentHash today.</p>` : ''}
<div class="grid2">${charts.map(chartFigure)}</div></section>
<section aria-labelledby="s-fields"><h2 id="s-fields">Field by field</h2>${
    replay.fieldComparisons.length === 0
      ? html`<p>No output field was compared.</p>`
      : table(
          'Each output field compared',
          [{ header: 'field' }, { header: 'match' }, { header: 'original' }, { header: 'replay' }, { header: 'comparator' }, { header: 'score', numeric: true }, { header: 'threshold', numeric: true }, { header: 'provider' }, ...(noiseAware ? [{ header: 'noise' }] : [])],
          replay.fieldComparisons.map((c) => [html`<code>${c.path}</code>`, c.match ? badge('match', 'ok') : badge('mismatch', 'bad'), value(c.original), value(c.replayed), c.comparator, fmtNumber(c.score, 4), fmtNumber(c.threshold, 4), c.provider ?? '', ...(noiseAware ? [c.noise ? `${c.noise}${c.noiseReason ? ` — ${c.noiseReason}` : ''}` : ''] : [])]),
          { testId: 'comparison-table', rowClass: (i) => (replay.fieldComparisons[i]?.match ? '' : 'change-Modified') },
        )
  }</section>
<section aria-labelledby="s-outputs"><h2 id="s-outputs">Outputs side by side</h2>
<div class="grid2">${outputsSide('Original outputs', namedValuesToObject(original.snapshot.outputs), mismatched, 'outputs-original')}${outputsSide('Replayed outputs', replay.replayOutputs === null ? null : namedValuesToObject(replay.replayOutputs), mismatched, 'outputs-replay')}</div></section>
<section aria-labelledby="s-policy"><h2 id="s-policy">Policy</h2>${
    replay.policy === null
      ? html`<p>No policy was evaluated.</p>`
      : html`${table(
          `Rules of policy ${replay.policy.name}${replay.policy.version === null ? '' : ` v${replay.policy.version}`}`,
          [{ header: 'rule' }, { header: 'field' }, { header: 'comparator' }, { header: 'status' }, { header: 'score', numeric: true }, { header: 'reason' }],
          replay.policy.rules.map((r) => [r.ruleName, html`<code>${r.field}</code>`, r.comparator, statusBadge(r.status), r.score === undefined || r.score === null ? '' : fmtNumber(r.score, 4), r.reason ?? '']),
        )}${
          replay.policyViolations.length === 0
            ? ''
            : table(
                'Policy violations',
                [{ header: 'rule' }, { header: 'field' }, { header: 'expected' }, { header: 'actual' }, { header: 'message' }],
                replay.policyViolations.map((v) => [v.ruleName, html`<code>${v.field}</code>`, v.expected, v.actual, v.message]),
                { testId: 'replay-violations' },
              )
        }`
  }</section>`;
  return renderPage({
    title: `Replay ${replay.replayId} of ${replay.snapshotId} — decision-replay report`,
    heading: `Replay report: ${replay.functionName}`,
    subtitle: `Snapshot ${replay.snapshotId} · replay ${replay.replayId} · ${replay.status}`,
    main,
    charts,
    generatedAt: data.generatedAt,
  });
}
