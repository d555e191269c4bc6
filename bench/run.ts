/**
 * `npm run bench [name …]`: runs every benchmark under bench/ (or those named) in one process run,
 * one after another, each printing its figures side by side with its baseline and target.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLoad } from './report.js';

// The locked SDK versions support Node 20; their warning about later releases is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

if (files.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ')}`);
  process.exit(2);
}
console.log(`decision-replay benchmarks — node ${process.version}, ${new Date().toISOString()}, ${machineLoad()}`);
for (const f of files) {
  const mod = (await import(join(here, f))) as { default: () => Promise<void> };
  await mod.default();
}
