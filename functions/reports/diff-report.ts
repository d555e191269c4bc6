/**
 * The diff view: two snapshots side by side with every changed leaf highlighted by kind (added,
 * removed, modified), their model parameters and timing compared, and each one's integrity.
 */
import type { ChangeType } from '../core/diff.js';
import type { JsonValue } from '../core/json.js';
import { toPathDocument } from '../core/snapshot.js';
import { baseOptions, chartFigure, COLORS, type ChartSpec } from './charts.js';
import { badge, facts, moreNote, statusBadge, table, value } from './components.js';
import { fmtMs, fmtNumber, html, type SafeHtml } from './html.js';
import { renderPage } from './layout.js';
import { changeAt, changeMap, leavesOf } from './leaves.js';
import { REPORT_TABLE_LIMIT, type DiffReportData, type DiffSide } from './model.js';

const KIND_TONE: Record<ChangeType, 'ok' | 'bad' | 'warn'> = { Added: 'ok', Removed: 'bad', Modified: 'warn' };

function legend(): SafeHtml {
  return html`<p class="legend"><span><span class="swatch" style="background:${COLORS.added}"></span>added (only in the new snapshot)</span><span><span class="swatch" style="background:${COLORS.removed}"></span>removed (only in the original)</span><span><span class="swatch" style="background:${COLORS.modified}"></span>modified</span></p>`;
}

/**
 * One snapshot's leaves, those that changed marked with the kind of change: the first
 * {@link REPORT_TABLE_LIMIT} in document order, as every table of a report (two snapshots of
 * 120,000 array elements each made a 59 MB page that took the local host 11 s to build, during
 * which it answered nothing else).
 */
function sideTable(side: DiffSide, role: 'original' | 'new', changes: ReadonlyMap<string, ChangeType>): SafeHtml {
  const all = leavesOf(toPathDocument(side.snapshot));
  const leaves = all.slice(0, REPORT_TABLE_LIMIT);
  return html`<div><h3>${role === 'original' ? 'Original' : 'New'}: <code>${side.snapshot.snapshotId}</code> ${statusBadge(side.integrity)}</h3>
<p class="muted">${side.snapshot.functionName} · recorded ${side.snapshot.createdAt}</p>
${table(
  `${role === 'original' ? 'Original' : 'New'} snapshot, field by field`,
  [{ header: 'field' }, { header: 'value' }, { header: 'change' }],
  leaves.map((l) => {
    const kind = changeAt(changes, l.path);
    return [html`<code>${l.path}</code>`, value(l.value), kind ? badge(kind, KIND_TONE[kind]) : ''];
  }),
  { testId: `side-${role}`, rowClass: (i) => {
    const kind = changeAt(changes, leaves[i]?.path ?? '');
    return kind ? `change-${kind}` : '';
  } },
)}${moreNote(leaves.length, all.length, 'fields')}</div>`;
}

function modelTable(data: DiffReportData): SafeHtml {
  const a = (data.original.snapshot.modelParameters ?? {}) as Record<string, JsonValue>;
  const b = (data.updated.snapshot.modelParameters ?? {}) as Record<string, JsonValue>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const ta = data.original.snapshot.executionTimeMs;
  const tb = data.updated.snapshot.executionTimeMs;
  const rows = keys.map((k) => {
    const same = JSON.stringify(a[k]) === JSON.stringify(b[k]);
    return [html`<code>${k}</code>`, value(a[k]), value(b[k]), same ? 'same' : badge(k in a ? (k in b ? 'Modified' : 'Removed') : 'Added', k in a ? (k in b ? 'warn' : 'bad') : 'ok')] as const;
  });
  return html`${keys.length === 0 ? html`<p>Neither snapshot recorded model parameters.</p>` : table('Model parameters', [{ header: 'parameter' }, { header: 'original' }, { header: 'new' }, { header: 'change' }], rows, { testId: 'model-table' })}
${table(
  'Timing',
  [{ header: 'figure' }, { header: 'original', numeric: true }, { header: 'new', numeric: true }, { header: 'new − original', numeric: true }],
  [['execution time', ta === undefined ? '(not recorded)' : fmtMs(ta), tb === undefined ? '(not recorded)' : fmtMs(tb), ta === undefined || tb === undefined ? 'n/a' : fmtMs(data.diff.executionTimeDeltaMs)]],
  { testId: 'timing-table' },
)}`;
}

function kindChart(data: DiffReportData): ChartSpec {
  const count = (k: ChangeType) => data.diff.changes.filter((c) => c.changeType === k).length;
  const kinds: ChangeType[] = ['Added', 'Removed', 'Modified'];
  const n = kinds.map(count);
  return {
    id: 'chart-kinds',
    title: 'Changed leaves by kind',
    summary: `${fmtNumber(data.diff.changes.length)} changes: ${kinds.map((k, i) => `${fmtNumber(n[i] ?? 0)} ${k.toLowerCase()}`).join(', ')}.`,
    heightPx: 200,
    config: {
      type: 'bar',
      data: { labels: kinds, datasets: [{ label: 'changes', data: n, backgroundColor: [COLORS.added, COLORS.removed, COLORS.modified] }] },
      options: baseOptions({ indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }),
    },
  };
}

/** Whether both snapshots recorded an execution time (only then is there a delta to show). */
function bothTimed(data: DiffReportData): boolean {
  return data.original.snapshot.executionTimeMs !== undefined && data.updated.snapshot.executionTimeMs !== undefined;
}

function timeText(ms: number | undefined): string {
  return ms === undefined ? 'not recorded' : fmtMs(ms);
}

function timingChart(data: DiffReportData): ChartSpec {
  const ta = data.original.snapshot.executionTimeMs ?? 0;
  const tb = data.updated.snapshot.executionTimeMs ?? 0;
  return {
    id: 'chart-timing',
    title: 'Execution time',
    summary: bothTimed(data)
      ? `Original ${fmtMs(ta)}, new ${fmtMs(tb)} (difference ${fmtMs(tb - ta)}).`
      : `Original ${timeText(data.original.snapshot.executionTimeMs)}, new ${timeText(data.updated.snapshot.executionTimeMs)} (difference n/a). A snapshot that recorded no execution time is drawn as 0.`,
    heightPx: 160,
    config: {
      type: 'bar',
      data: { labels: ['original', 'new'], datasets: [{ label: 'execution time (ms)', data: [ta, tb], backgroundColor: [COLORS.original, COLORS.replay] }] },
      options: baseOptions({ indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, title: { display: true, text: 'ms' } } } }),
    },
  };
}

/** The diff view as one self-contained HTML document. */
export function renderDiffReport(data: DiffReportData): string {
  const { original, updated, diff } = data;
  const changes = changeMap(diff.changes);
  const shownChanges = diff.changes.slice(0, REPORT_TABLE_LIMIT);
  const charts = [kindChart(data), timingChart(data)];
  const main = html`<section aria-labelledby="s-summary"><h2 id="s-summary">Summary</h2>
${facts([
  ['Original', html`<code>${original.snapshot.snapshotId}</code> ${statusBadge(original.integrity)}`],
  ['New', html`<code>${updated.snapshot.snapshotId}</code> ${statusBadge(updated.integrity)}`],
  ['Function', original.snapshot.functionName === updated.snapshot.functionName ? original.snapshot.functionName : `${original.snapshot.functionName} → ${updated.snapshot.functionName}`],
  ['Changes', html`<span data-testid="change-count">${fmtNumber(diff.changes.length)}</span>`],
  ['Inputs changed', diff.inputsChanged ? 'yes' : 'no'],
  ['Outputs changed', diff.outputsChanged ? 'yes' : 'no'],
  ['Model parameters changed', diff.modelParamsChanged ? 'yes' : 'no'],
  // The API's executionTimeDeltaMs is a number either way; the report does not claim "0 ms" for a side with no time.
  ['Execution time delta', bothTimed(data) ? fmtMs(diff.executionTimeDeltaMs) : html`<span data-testid="time-delta">n/a (${original.snapshot.executionTimeMs === undefined && updated.snapshot.executionTimeMs === undefined ? 'neither snapshot recorded' : original.snapshot.executionTimeMs === undefined ? 'the original did not record' : 'the new snapshot did not record'} an execution time)</span>`],
])}
${[original, updated].some((s) => s.integrity === 'tampered') ? html`<p class="note" role="alert">A snapshot does not match its contentHash: it was altered after it was recorded. The values shown are what the table holds now.</p>` : ''}
<div class="grid2">${charts.map(chartFigure)}</div></section>
<section aria-labelledby="s-sides"><h2 id="s-sides">Side by side</h2>${legend()}
<div class="grid2">${sideTable(original, 'original', changes)}${sideTable(updated, 'new', changes)}</div></section>
<section aria-labelledby="s-changes"><h2 id="s-changes">Changes</h2>${
    diff.changes.length === 0
      ? html`<p>The two decisions are the same (ids, timestamps and hashes aside).</p>`
      : html`${table(
          'Every changed leaf',
          [{ header: 'field' }, { header: 'kind' }, { header: 'original' }, { header: 'new' }],
          shownChanges.map((c) => [html`<code>${c.path}</code>`, badge(c.changeType, KIND_TONE[c.changeType]), c.changeType === 'Added' ? '' : value(c.oldValue), c.changeType === 'Removed' ? '' : value(c.newValue)]),
          { testId: 'change-table', rowClass: (i) => `change-${shownChanges[i]?.changeType ?? ''}` },
        )}${moreNote(shownChanges.length, diff.changes.length, 'changes')}`
  }</section>
<section aria-labelledby="s-model"><h2 id="s-model">Model parameters and timing</h2>${modelTable(data)}</section>`;
  return renderPage({
    title: `Diff ${original.snapshot.snapshotId} → ${updated.snapshot.snapshotId} — decision-replay report`,
    heading: `Snapshot diff: ${original.snapshot.functionName}`,
    subtitle: `${original.snapshot.snapshotId} → ${updated.snapshot.snapshotId} · ${diff.changes.length} changes`,
    main,
    charts,
    generatedAt: data.generatedAt,
  });
}
