/** Building blocks shared by the report views: facts, counters, tables, badges, values. */
import type { JsonValue } from '../core/json.js';
import { fmtInteger, html, showValue, type SafeHtml } from './html.js';

type Cell = SafeHtml | string | number;

/** A definition list of label → value pairs (values escaped unless SafeHtml). */
export function facts(pairs: ReadonlyArray<readonly [string, Cell]>): SafeHtml {
  return html`<dl class="facts">${pairs.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`;
}

/** A row of counters; `big` marks the one shown large. `testId` lets tests find each number. */
export function cards(items: ReadonlyArray<{ label: string; value: string; testId: string; big?: boolean }>): SafeHtml {
  return html`<div class="cards">${items.map((c) => html`<div class="card${c.big ? ' big' : ''}"><span class="label">${c.label}</span><span class="value" data-testid="${c.testId}">${c.value}</span></div>`)}</div>`;
}

export interface Column {
  header: string;
  numeric?: boolean;
}

/**
 * A table with a caption and column headers (`scope="col"`), wrapped so it scrolls sideways on a
 * narrow screen instead of widening the page.
 */
export function table(caption: string, columns: readonly Column[], rows: ReadonlyArray<readonly Cell[]>, attrs: { testId?: string; rowClass?: (i: number) => string } = {}): SafeHtml {
  return html`<div class="table-wrap"><table${attrs.testId ? html` data-testid="${attrs.testId}"` : ''}><caption>${caption}</caption>
<thead><tr>${columns.map((c) => html`<th scope="col"${c.numeric ? html` class="num"` : ''}>${c.header}</th>`)}</tr></thead>
<tbody>${rows.map((row, i) => html`<tr${attrs.rowClass ? html` class="${attrs.rowClass(i)}"` : ''}>${row.map((cell, j) => html`<td${columns[j]?.numeric ? html` class="num"` : ''}>${cell}</td>`)}</tr>`)}</tbody></table></div>`;
}

/** A coloured label for a status or verdict. */
export function badge(text: string, tone: 'ok' | 'bad' | 'warn' | 'neutral'): SafeHtml {
  return html`<span class="badge ${tone === 'neutral' ? '' : tone}">${text}</span>`;
}

export function statusBadge(status: string): SafeHtml {
  const tone = status === 'Success' || status === 'SUCCEEDED' || status === 'passed' || status === 'verified' ? 'ok' : status === 'Error' || status === 'FAILED' || status === 'tampered' ? 'bad' : status === 'RUNNING' || status === 'skipped' ? 'neutral' : 'warn';
  return badge(status, tone);
}

/** A stored JSON value as escaped monospace text (absent shown as such). */
export function value(v: JsonValue | undefined): SafeHtml {
  return html`<code class="v">${showValue(v)}</code>`;
}

/** A note under a table that lists only the first rows of more. */
export function moreNote(shown: number, total: number, what: string): SafeHtml {
  if (total <= shown) return html``;
  return html`<p class="note" data-testid="more-note">Showing the first ${fmtInteger(shown)} of ${fmtInteger(total)} ${what}; ${fmtInteger(total - shown)} more are not listed. The charts and counts cover all of them.</p>`;
}
