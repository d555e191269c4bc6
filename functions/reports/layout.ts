/**
 * The page every report view shares: one self-contained HTML document with its styles, data, the
 * inlined chart library and the chart start-up script. A Content-Security-Policy in the page itself
 * allows only those inline scripts (by hash) and no fetch, image, font or frame from anywhere, so
 * the file works offline and could not reach the network even if a value slipped through escaping.
 */
import { createHash } from 'node:crypto';
import { CHART_BOOT_SCRIPT, chartConfigs, type ChartSpec } from './charts.js';
import { html, inlineScript, jsonForScript, raw, type SafeHtml } from './html.js';
import { chartJsSource, CHART_JS_VERSION } from './vendor/chart-js.js';

const STYLES = `
:root { --fg: #1d2125; --muted: #5c636a; --line: #dee2e6; --bg: #ffffff; --panel: #f8f9fa; --ok: #2b7a38; --bad: #c92a2a; --warn: #a85400; --accent: #364fc7; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
header.page, main, footer.page { max-width: 1200px; margin: 0 auto; padding: 0 16px; }
header.page { padding-top: 20px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 1.25rem; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 1.02rem; margin: 16px 0 6px; }
.subtitle { color: var(--muted); margin: 0; overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 6px 24px; margin: 12px 0; }
dl.facts div { display: flex; gap: 8px; min-width: 0; }
dl.facts dt { color: var(--muted); flex: 0 0 auto; }
dl.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; min-width: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 12px; margin: 12px 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .label { color: var(--muted); font-size: .85rem; display: block; }
.card .value { font-size: 1.5rem; font-weight: 700; }
.card.big { grid-column: span 2; }
.card.big .value { font-size: 3rem; line-height: 1.1; }
@media (max-width: 480px) { .card.big { grid-column: 1 / -1; } .card.big .value { font-size: 2.4rem; } }
.table-wrap { overflow-x: auto; margin: 8px 0 16px; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
caption { text-align: left; padding: 6px 10px; color: var(--muted); caption-side: top; }
th, td { text-align: left; vertical-align: top; padding: 6px 10px; border-bottom: 1px solid var(--line); }
th { background: var(--panel); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
/* Stored text (paths, values, messages) can be one unbroken word thousands of pixels wide: break it anywhere rather than widen the page or a table far past its box. */
td, figcaption, p, summary { overflow-wrap: anywhere; }
td.num { overflow-wrap: normal; }
td code, code.v { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .86rem; overflow-wrap: anywhere; white-space: pre-wrap; }
code { overflow-wrap: anywhere; }
details > summary { cursor: pointer; }
details .table-wrap { margin: 6px 0; }
details td:first-child { min-width: 10em; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: .8rem; font-weight: 600; color: #fff; background: var(--muted); white-space: nowrap; }
.badge.ok { background: var(--ok); } .badge.bad { background: var(--bad); } .badge.warn { background: var(--warn); }
.note { background: #fff9db; border: 1px solid #ffe066; border-radius: 6px; padding: 8px 12px; }
.muted { color: var(--muted); }
figure.chart { margin: 12px 0 24px; }
.chart-box { position: relative; width: 100%; }
figcaption { color: var(--muted); font-size: .88rem; margin-top: 6px; }
.grid2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; }
.grid2 > * { min-width: 0; }
td code.v { display: inline-block; min-width: 9em; }
th, td { min-width: 3.5em; }
@media (max-width: 820px) { .grid2 { grid-template-columns: 1fr; } }
.change-Added { background: #ebfbee; } .change-Removed { background: #fff5f5; } .change-Modified { background: #fff4e6; }
tr.change-Added td:first-child { border-left: 4px solid var(--ok); }
tr.change-Removed td:first-child { border-left: 4px solid var(--bad); }
tr.change-Modified td:first-child { border-left: 4px solid var(--warn); }
.legend span { margin-right: 12px; white-space: nowrap; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin-right: 4px; }
footer.page { color: var(--muted); font-size: .82rem; padding-top: 24px; padding-bottom: 24px; }
`;

function sha256Base64(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

export interface PageInput {
  /** The document title (also the accessible name of the page). */
  title: string;
  heading: string;
  subtitle?: SafeHtml | string;
  main: SafeHtml;
  charts: readonly ChartSpec[];
  generatedAt: string;
}

/** The complete HTML document of a report view. */
export function renderPage(input: PageInput): string {
  const data = `{"charts":${jsonForScript(chartConfigs(input.charts))}}`;
  const library = inlineScript(chartJsSource());
  const boot = inlineScript(CHART_BOOT_SCRIPT);
  const csp = ["default-src 'none'", `script-src 'sha256-${sha256Base64(library)}' 'sha256-${sha256Base64(boot)}'`, "style-src 'unsafe-inline'", 'img-src data:', "base-uri 'none'", "form-action 'none'"].join('; ');
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="generator" content="decision-replay">
<title>${input.title}</title>
<style>${raw(STYLES)}</style>
</head>
<body>
<header class="page"><h1>${input.heading}</h1>${input.subtitle === undefined ? '' : html`<p class="subtitle">${input.subtitle}</p>`}</header>
<main>
${input.main}
</main>
<footer class="page">Generated ${input.generatedAt} by decision-replay. Self-contained: no network access; charts drawn by Chart.js ${CHART_JS_VERSION} (MIT), inlined.</footer>
<script type="application/json" id="report-data">${raw(data)}</script>
<script>${raw(library)}</script>
<script>${raw(boot)}</script>
</body>
</html>
`.text;
}
