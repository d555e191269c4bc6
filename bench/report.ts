/**
 * Shared printing for the benchmarks: every figure is a ratio measured side by side in one run,
 * printed with its target and whether it met it, and with the machine's load while it ran.
 */
import { readFileSync } from 'node:fs';
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

/** The machine-wide CPU times of /proc/stat's `cpu` line (Linux), in clock ticks; undefined elsewhere. */
function cpuTimes(): { steal: number; total: number } | undefined {
  try {
    const fields = /^cpu\s+(.*)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]?.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already counted in user).
    if (fields === undefined || fields.length < 8 || fields.some((n) => !Number.isFinite(n))) return undefined;
    return { steal: fields[7] as number, total: fields.slice(0, 8).reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

let lastCpu = cpuTimes();

/**
 * The machine's load averages (1, 5 and 15 minutes), its cores and, on a Linux VM, the share of CPU
 * time the hypervisor stole since the previous call (or since this module loaded). Ratios are
 * paired, so load affects both sides, but not always alike: a batch waits on one event loop that
 * a busy machine shares, its baseline less so. A figure printed at a load above the core count, or
 * with CPU stolen, says so.
 */
export function machineLoad(): string {
  const now = cpuTimes();
  const stolen = now !== undefined && lastCpu !== undefined && now.total > lastCpu.total ? `, CPU stolen by the hypervisor ${((100 * (now.steal - lastCpu.steal)) / (now.total - lastCpu.total)).toFixed(1)} %` : '';
  lastCpu = now;
  return `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')} (1 / 5 / 15 min) on ${availableParallelism()} cores${stolen}`;
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
