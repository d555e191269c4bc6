/**
 * Writes functions/reports/vendor/chart-js.ts: the minified Chart.js UMD build of the locked
 * `chart.js` package as one string constant, so every report inlines the same library wherever
 * the renderer runs (Lambda bundle, local host, CLI) without reading a file at run time.
 * `npm run vendor:charts` after changing the chart.js version; a unit test fails while the
 * generated module and the installed package disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chartJsModuleText } from '../functions/reports/vendor/chart-js-source.js';

// The package exports neither its package.json nor the UMD file: find them beside its main entry.
const dist = dirname(createRequire(import.meta.url).resolve('chart.js'));
const pkg = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as { version: string };
const source = readFileSync(join(dist, 'chart.umd.min.js'), 'utf8');
const target = fileURLToPath(new URL('../functions/reports/vendor/chart-js.ts', import.meta.url));
writeFileSync(target, chartJsModuleText(source, pkg.version));
console.log(`wrote ${target} (chart.js ${pkg.version}, ${source.length} characters)`);
