/**
 * Charts in reports: Chart.js (inlined, see vendor/chart-js.ts) draws every chart from a JSON
 * configuration built here. The page carries the configurations in its data block; one small
 * start-up script hands each to `new Chart(canvas, config)`. Configurations hold data only (no
 * functions), and Chart.js draws labels on a canvas, so a label from stored data is never markup.
 */
import { html, visibleControls, type SafeHtml } from './html.js';

/** A Chart.js configuration (JSON only). */
export type ChartConfig = {
  type: 'bar' | 'line';
  data: { labels?: string[]; datasets: Record<string, unknown>[] };
  options?: Record<string, unknown>;
};

/** A chart of a page: its configuration and its text alternative. */
export interface ChartSpec {
  id: string;
  /** Shown above the chart and used as its accessible name. */
  title: string;
  /** The text alternative: what the chart shows, in words and numbers. */
  summary: string;
  /** CSS height of the chart area in pixels (the width follows the page). */
  heightPx: number;
  config: ChartConfig;
}

export const COLORS = {
  original: '#4c6ef5',
  replay: '#e8590c',
  mismatch: '#c92a2a',
  added: '#2b8a3e',
  removed: '#c92a2a',
  modified: '#e67700',
  neutral: '#868e96',
} as const;

/**
 * The figure for a chart: a canvas named by the chart's title (role img, the summary as its
 * description) and the summary as visible caption, so the chart has a text alternative for
 * screen readers and for anyone reading the file without scripts.
 */
export function chartFigure(spec: ChartSpec): SafeHtml {
  return html`<figure class="chart">
<h3 id="${spec.id}-title">${spec.title}</h3>
<div class="chart-box" style="height:${spec.heightPx}px"><canvas id="${spec.id}" data-chart="${spec.id}" role="img" aria-labelledby="${spec.id}-title" aria-describedby="${spec.id}-summary"></canvas></div>
<figcaption id="${spec.id}-summary">${spec.summary}</figcaption>
</figure>`;
}

/** The configurations a page's start-up script reads, by chart id. */
export function chartConfigs(specs: readonly ChartSpec[]): Record<string, ChartConfig> {
  // Labels may be stored data (field paths): a bidirectional control in one would reorder what
  // the canvas draws, so it is written out as the page's text shows it.
  return Object.fromEntries(specs.map((s) => [s.id, s.config.data.labels === undefined ? s.config : { ...s.config, data: { ...s.config.data, labels: s.config.data.labels.map(visibleControls) } }]));
}

/** Options every chart shares: no animation (the page is complete at its load event), fills its box. */
export function baseOptions(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { animation: false, responsive: true, maintainAspectRatio: false, ...extra };
}

/**
 * A vertical marker line at `x` across a chart whose y axis reaches `top`: a two-point line dataset
 * drawn by Chart.js like any other series, named in the legend.
 */
export function markerDataset(label: string, x: number, top: number, color: string, dash: number[]): Record<string, unknown> {
  return { type: 'line', label, data: [{ x, y: 0 }, { x, y: top }], borderColor: color, backgroundColor: color, borderDash: dash, borderWidth: 1.5, pointRadius: 0, fill: false, order: 1 };
}

/**
 * Started once the page has parsed: draws every chart and marks the document with how many were
 * drawn (`data-charts-drawn`), which the browser tests wait for. Static code: no data in it.
 */
export const CHART_BOOT_SCRIPT = `(function () {
  var block = document.getElementById('report-data');
  var configs = block ? JSON.parse(block.textContent || '{}').charts || {} : {};
  var drawn = 0;
  var canvases = document.querySelectorAll('canvas[data-chart]');
  for (var i = 0; i < canvases.length; i++) {
    var canvas = canvases[i];
    var config = configs[canvas.getAttribute('data-chart')];
    if (!config || typeof Chart === 'undefined') continue;
    new Chart(canvas, config);
    drawn++;
  }
  document.documentElement.setAttribute('data-charts-drawn', String(drawn));
})();`;
