/**
 * Diff speed (DESIGN §10: diff time ÷ microdiff ≤ 1.25 on ~1 KB, ~100 KB, ~1 MB pairs) and lexical
 * similarity throughput.
 *
 * Ours is timed end to end — `diffSnapshots` on the two decisions, building both path documents
 * and every path string — while microdiff and jsondiffpatch get the path documents ready-made and
 * return paths as arrays (microdiff) or a delta tree (jsondiffpatch). Runs alternate A/B
 * (`paired`), each sample repeating the call enough times to last a few milliseconds.
 */
import { create as createDiffPatcher } from 'jsondiffpatch';
import microdiff from 'microdiff';
import { diffSnapshots } from '../functions/core/diff.js';
import type { JsonObject, JsonValue } from '../functions/core/json.js';
import { LexicalSimilarity } from '../functions/core/similarity.js';
import { toPathDocument, type DecisionView } from '../functions/core/snapshot.js';
import { paired, printFigures, type Figure } from './report.js';
import { seededRandom } from '../functions/core/significance.js';

const WORDS = 'the applicant income exceeds threshold risk score model approve decline review manual credit history stable employment region segment offer limit rate term collateral'.split(' ');

function sentence(r: () => number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(r() * WORDS.length)] as string);
  return out.join(' ');
}

function lineItem(r: () => number, i: number): JsonObject {
  return {
    id: `item-${i}`,
    sku: `SKU-${Math.floor(r() * 1e6)}`,
    price: Math.round(r() * 100000) / 100,
    quantity: 1 + Math.floor(r() * 5),
    approved: r() > 0.3,
    tags: [WORDS[i % WORDS.length] as string, WORDS[(i * 7) % WORDS.length] as string],
    attributes: { region: r() > 0.5 ? 'eu-west-1' : 'us-east-1', tier: Math.floor(r() * 4), note: sentence(r, 4) },
    scores: [Math.round(r() * 1000) / 1000, Math.round(r() * 1000) / 1000, Math.round(r() * 1000) / 1000],
  };
}

/** A realistic decision whose outputs hold `items` line items (≈ 330 bytes each). */
function decision(items: number, seed: number): DecisionView {
  const r = seededRandom(seed);
  const list: JsonValue[] = [];
  for (let i = 0; i < items; i++) list.push(lineItem(r, i));
  return {
    functionName: 'approve_loan',
    inputs: [
      { name: 'applicant', value: { income: 52000, age: 41, history: { defaults: 0, accounts: 3 } }, type: 'object' },
      { name: 'amount', value: 15000 },
    ],
    outputs: [
      { name: 'decision', value: 'approve', type: 'string' },
      { name: 'score', value: 0.82 },
      { name: 'rationale', value: sentence(r, 12) },
      { name: 'items', value: list },
    ],
    modelParameters: { modelName: 'credit-llm', modelVersion: '2026-10', temperature: 0, maxTokens: 256 },
    context: { tenant: 'acme', promptVersion: 'v3' },
    executionTimeMs: 120.5,
  };
}

/** A deep copy of `d` with about one leaf in 50 items changed, one item added and the score changed. */
function mutated(d: DecisionView, seed: number): DecisionView {
  const r = seededRandom(seed);
  const copy = JSON.parse(JSON.stringify(d)) as DecisionView;
  const items = copy.outputs.find((o) => o.name === 'items')?.value as JsonObject[];
  for (let i = 0; i < items.length; i++) {
    if (r() < 0.02) (items[i] as JsonObject).price = Math.round(r() * 100000) / 100;
    if (r() < 0.01) ((items[i] as JsonObject).attributes as JsonObject).tier = 9;
  }
  items.push(lineItem(r, items.length));
  const score = copy.outputs.find((o) => o.name === 'score');
  if (score) score.value = 0.79;
  copy.executionTimeMs = 133.25;
  return copy;
}

/** How many calls of `fn` take about `targetMs` (at least 1). */
function repsFor(fn: () => unknown, targetMs: number): number {
  for (let i = 0; i < 3; i++) fn();
  let n = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < n; i++) fn();
    const ms = performance.now() - t;
    if (ms >= targetMs / 4 || n >= 1 << 20) return Math.max(1, Math.round((n * targetMs) / Math.max(ms, 1e-3)));
    n *= 2;
  }
}

function repeated(fn: () => unknown, reps: number): () => void {
  return () => {
    for (let i = 0; i < reps; i++) fn();
  };
}

export default async function (): Promise<void> {
  const figures: Figure[] = [];
  const jdp = createDiffPatcher();
  // ~1 KB, ~100 KB, ~1 MB of path document.
  for (const [label, items] of [['~1 KB', 2], ['~100 KB', 470], ['~1 MB', 4800]] as const) {
    const a = decision(items, 42);
    const b = mutated(a, 7);
    const docA = toPathDocument(a);
    const docB = toPathDocument(b);
    const bytes = JSON.stringify(docA).length;
    const ours = diffSnapshots(a, b).changes.length;
    const theirs = microdiff(docA, docB).length;
    // Both sides repeat the same number of calls per sample (sized on microdiff), so the sample
    // times divide to the per-call ratio.
    const reps = repsFor(() => microdiff(docA, docB), 5);
    const rounds = items >= 4000 ? 60 : 200;
    const r1 = await paired(repeated(() => diffSnapshots(a, b), reps), repeated(() => microdiff(docA, docB), reps), rounds, 3);
    figures.push({
      figure: `diffSnapshots ÷ microdiff, ${label} (${(bytes / 1024).toFixed(0)} KiB doc, ${ours} changes; microdiff ${theirs})`,
      ours: r1.a / reps,
      baseline: r1.b / reps,
      unit: 'ms',
      ratio: r1.ratio,
      target: '<= 1.25',
    });
    // For the record: microdiff without its cycle guard (JSON documents cannot be cyclic).
    const r3 = await paired(repeated(() => diffSnapshots(a, b), reps), repeated(() => microdiff(docA, docB, { cyclesFix: false }), reps), Math.round(rounds / 2), 3);
    figures.push({ figure: `diffSnapshots ÷ microdiff {cyclesFix: false}, ${label}`, ours: r3.a / reps, baseline: r3.b / reps, unit: 'ms', ratio: r3.ratio });
    const jdpRounds = items >= 4000 ? 10 : 40;
    const jdpReps = Math.max(1, Math.round(reps / 10));
    const r2 = await paired(repeated(() => diffSnapshots(a, b), jdpReps), repeated(() => jdp.diff(docA, docB), jdpReps), jdpRounds, 1);
    figures.push({ figure: `diffSnapshots ÷ jsondiffpatch, ${label}`, ours: r2.a / jdpReps, baseline: r2.b / jdpReps, unit: 'ms', ratio: r2.ratio });
  }

  // Lexical similarity of two ~2 KB texts.
  const r = seededRandom(3);
  let t1 = '';
  while (t1.length < 2048) t1 += sentence(r, 10) + '. ';
  let t2 = '';
  while (t2.length < 2048) t2 += sentence(r, 10) + '. ';
  const lexical = new LexicalSimilarity();
  for (let i = 0; i < 200; i++) await lexical.similarity(t1, t2);
  const N = 2000;
  const start = performance.now();
  for (let i = 0; i < N; i++) await lexical.similarity(t1, t2);
  const secs = (performance.now() - start) / 1000;
  figures.push({ figure: `lexical similarity, two ${(t1.length / 1024).toFixed(1)} KB texts`, ours: N / secs, unit: 'pairs/s' });

  printFigures('diff and similarity', figures);
}
