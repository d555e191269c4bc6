/**
 * Shared printing for the benchmarks: every figure is a ratio measured side by side in one run,
 * printed with its target and whether it met it, and with the machine's load while it ran.
 */
import { availableParallelism, loadavg } from 'node:os';

export interface Figure {
  /** What is measured, e.g. "record + read via host ÷ direct Put + Get". */
  figure: string;
  /** Our measurement, in `unit`. */
  ours: number;
  /** The baseline's measurement, in `unit` (omit for absolute figures). */
  baseline?: number;
  unit: string;
  /** The ratio compared with the target (ours ÷ baseline unless stated). */
  ratio?: number;
  /** e.g. "<= 1.5" or ">= 0.5". */
  target?: string;
}

function fmt(n: number | undefined): string {
  if (n === undefined) return '';
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

function meets(value: number | undefined, target: string | undefined): string {
  if (value === undefined || target === undefined) return '';
  const m = /^(<=|>=)\s*([\d.]+)/.exec(target);
  if (!m) return '';
  const limit = Number(m[2]);
  return (m[1] === '<=' ? value <= limit : value >= limit) ? 'met' : 'MISSED';
}

/** Prints a titled table of figures. */
export function printFigures(title: string, figures: readonly Figure[]): void {
  console.log(`\n## ${title}`);
  const rows = figures.map((f) => [f.figure, `${fmt(f.ours)} ${f.unit}`, f.baseline === undefined ? '' : `${fmt(f.baseline)} ${f.unit}`, fmt(f.ratio), f.target ?? '', meets(f.ratio ?? (f.baseline === undefined ? f.ours : undefined), f.target)]);
  const head = ['figure', 'ours', 'baseline', 'ratio', 'target', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log(`  measured at ${machineLoad()}`);
}

/**
 * The machine's load averages (1, 5 and 15 minutes) and its cores. Ratios are paired, so load
 * affects both sides, but not always alike: a batch waits on one event loop that a busy machine
 * shares, its baseline less so. A figure printed at a load above the core count says so.
 */
export function machineLoad(): string {
  return `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')} (1 / 5 / 15 min) on ${availableParallelism()} cores`;
}

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Times `a` and `b` alternately (A B A B …) `rounds` times after a warm-up and returns the medians
 * and the median of the pairwise ratios a/b, so machine drift affects both sides alike.
 */
export async function paired(a: () => Promise<unknown> | unknown, b: () => Promise<unknown> | unknown, rounds: number, warmup = 2): Promise<{ a: number; b: number; ratio: number }> {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const ta: number[] = [];
  const tb: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    await a();
    const da = performance.now() - t;
    t = performance.now();
    await b();
    const db = performance.now() - t;
    ta.push(da);
    tb.push(db);
    ratios.push(da / db);
  }
  return { a: median(ta), b: median(tb), ratio: median(ratios) };
}
