/**
 * Assembles a batch report from the stores (through ports; no I/O of its own). One pass over the
 * batch's results collects the counts, both latency series (each result keeps its snapshot's
 * recorded function, model and execution time) and the first rows of each table; the full replay
 * results of the rows shown are then read in bulk, and the snapshots of results written before
 * they kept those facts. Memory grows with the number of results only by two
 * numbers per result (the latencies); the tables are bounded by {@link REPORT_TABLE_LIMIT}.
 */
import type { Batch, BatchResult } from '../core/batch.js';
import { countedAtCancel } from '../core/batch-control.js';
import { NotFoundError } from '../core/errors.js';
import type { ReplayResult } from '../core/replay.js';
import { STATS_RELATIVE_ACCURACY, STATS_TOP_KEYS, StatsAccumulator, type ReplayStats } from '../core/stats.js';
import { REPORT_TABLE_LIMIT, type StatsDisagreement, type BatchReportData, type ErrorGroup, type LatencyDistribution, type MismatchRow, type Quantiles, type SnapshotFacts, type Tally, type ViolationRow } from './model.js';

/** Where a replay of a batch is stored in its snapshot's history. */
export interface ReplayRef {
  snapshotId: string;
  replayId: string;
  /** The history position the batch listed it at (the batch's start). */
  sortAt: string;
}

/** What the batch report shows of a full replay result. */
export type ReplayDetail = Pick<ReplayResult, 'replayId' | 'snapshotId' | 'fieldComparisons' | 'policyViolations' | 'executor'>;

/** Port: what the batch report reads. */
export interface BatchReportReader {
  getBatch(batchId: string): Promise<Batch | undefined>;
  /** Visits every result of the batch, page by page; returns how many. */
  forEachResult(batchId: string, visit: (result: BatchResult) => void): Promise<number>;
  /** The recorded facts of each snapshot found (absent ids are left out). */
  snapshotFacts(snapshotIds: readonly string[]): Promise<Map<string, SnapshotFacts>>;
  /** What the report shows of the replay results found (comparisons, violations, executor), by replayId. */
  replayResults(refs: readonly ReplayRef[]): Promise<Map<string, ReplayDetail>>;
}

/** Functions whose executor the report reads at most (one replay result each). */
const MAX_EXECUTOR_PROBES = 100;

/** Number of latency bins in the distribution chart. */
const LATENCY_BINS = 40;

function tallies(counts: Map<string, number>): Tally[] {
  return [...counts].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}

function bump(counts: Map<string, number>, key: string, n = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + n);
}

function modelLabel(name: string | undefined, version: string | undefined): string {
  if (name === undefined && version === undefined) return '(no model recorded)';
  return `${name ?? '(unnamed)'}${version === undefined ? '' : ` @ ${version}`}`;
}

/** p50/p95/p99 by the same quantile sketch as the batch statistics, so both series are summarized alike. */
function quantilesOf(values: Float64Array): Quantiles {
  const acc = new StatsAccumulator();
  for (const v of values) acc.add({ status: 'Success', outputsMatch: true, executionTimeMs: v, mismatchedPaths: [], violatedRules: [] });
  const s = acc.toJSON();
  return { count: values.length, p50: s.p50ExecutionTimeMs, p95: s.p95ExecutionTimeMs, p99: s.p99ExecutionTimeMs };
}

/**
 * Bins both series over one common range: logarithmic when the positive values span more than a
 * factor of 20 (latencies are usually long-tailed), linear otherwise. On a logarithmic scale a
 * value of 0 is counted in the first bin.
 */
export function latencyDistribution(original: Float64Array, replay: Float64Array, replayQuantiles: Quantiles, originalMissing: number): LatencyDistribution {
  let min = Infinity;
  let minPositive = Infinity;
  let max = -Infinity;
  for (const series of [original, replay]) {
    for (const v of series) {
      if (v < min) min = v;
      if (v > max) max = v;
      if (v > 0 && v < minPositive) minPositive = v;
    }
  }
  const empty = { scale: 'linear' as const, edges: [], original: [], replay: [], originalQuantiles: quantilesOf(original), replayQuantiles, originalMissing };
  if (max === -Infinity) return empty;
  const logarithmic = minPositive !== Infinity && max / minPositive > 20;
  const lo = logarithmic ? minPositive : min;
  const hi = max > lo ? max : lo + 1;
  const edges = Array.from({ length: LATENCY_BINS + 1 }, (_, i) => (logarithmic ? lo * Math.pow(hi / lo, i / LATENCY_BINS) : lo + ((hi - lo) * i) / LATENCY_BINS));
  const bin = (v: number): number => {
    const t = logarithmic ? (v <= lo ? 0 : Math.log(v / lo) / Math.log(hi / lo)) : (v - lo) / (hi - lo);
    return Math.min(LATENCY_BINS - 1, Math.max(0, Math.floor(t * LATENCY_BINS)));
  };
  const count = (series: Float64Array): number[] => {
    const counts = new Array<number>(LATENCY_BINS).fill(0);
    for (const v of series) counts[bin(v)] = (counts[bin(v)] ?? 0) + 1;
    return counts;
  };
  return { ...empty, scale: logarithmic ? 'logarithmic' : 'linear', edges, original: count(original), replay: count(replay) };
}

/** A growable list of numbers, two per result at most. */
class Numbers {
  private buf = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  values(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

/** Reads snapshot facts for `ids` in chunks, a few chunks at a time. */
async function factsFor(reader: BatchReportReader, ids: readonly string[], visit: (id: string, facts: SnapshotFacts | undefined) => void): Promise<void> {
  const CHUNK = 100;
  const PARALLEL = 4;
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += CHUNK) chunks.push(ids.slice(i, i + CHUNK));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < chunks.length) {
      const chunk = chunks[next++] as string[];
      const found = await reader.snapshotFacts(chunk);
      for (const id of chunk) visit(id, found.get(id));
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, chunks.length) }, worker));
}

const COUNTS = ['totalReplays', 'successfulReplays', 'failedReplays', 'matches', 'mismatches', 'tampered', 'fieldMismatchesOther', 'policyViolationsOther'] as const;
const FIGURES = ['matchRate', 'totalExecutionTimeMs', 'averageExecutionTimeMs'] as const;
const QUANTILES = ['p50ExecutionTimeMs', 'p95ExecutionTimeMs', 'p99ExecutionTimeMs'] as const;

/**
 * The figures of `stored` statistics that the statistics computed from the batch's results
 * contradict. Counts must be equal; computed figures agree to a relative 1e-6 (the stored ones were
 * folded in another order and made storable), quantiles to one sketch bin; the per-field and per-rule counts are compared while
 * they are exact (at most 2 × STATS_TOP_KEYS distinct keys, see stats.ts).
 */
export function statsDisagreements(stored: ReplayStats, computed: ReplayStats): StatsDisagreement[] {
  const out: StatsDisagreement[] = [];
  const differ = (figure: string, a: unknown, b: unknown) => out.push({ figure, batch: JSON.stringify(a), results: JSON.stringify(b) });
  for (const k of COUNTS) if (stored[k] !== computed[k]) differ(k, stored[k], computed[k]);
  for (const k of FIGURES) {
    const a = stored[k];
    const b = computed[k];
    if (!(Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b), 1e-9))) differ(k, a, b);
  }
  // Quantiles come from a sketch folded chunk by chunk for the stored figures: within one bin of
  // each other (2 × its relative accuracy), never a false alarm from the order of folding.
  for (const k of QUANTILES) {
    const a = stored[k];
    const b = computed[k];
    if (!(Math.abs(a - b) <= 2 * STATS_RELATIVE_ACCURACY * Math.max(Math.abs(a), Math.abs(b)) + 1e-9)) differ(k, a, b);
  }
  for (const k of ['fieldMismatches', 'policyViolations'] as const) {
    const a = stored[k];
    const b = computed[k];
    if (Object.keys(b).length > 2 * STATS_TOP_KEYS) continue;
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of [...keys].sort()) if (a[key] !== b[key]) differ(`${k}[${JSON.stringify(key)}]`, a[key] ?? 0, b[key] ?? 0);
  }
  return out;
}

/** Builds everything the batch report shows. 404 when the batch does not exist. */
export async function assembleBatchReport(reader: BatchReportReader, batchId: string, now: () => string): Promise<BatchReportData> {
  const batch = await reader.getBatch(batchId);
  if (!batch) throw new NotFoundError('batch', batchId);

  const acc = new StatsAccumulator();
  let successful = 0;
  /** Successful results that did not keep their snapshot's facts (written before they were kept). */
  const unknownFacts: string[] = [];
  const functions = new Map<string, number>();
  const originalModels = new Map<string, number>();
  const replayModels = new Map<string, number>();
  const originalLatency = new Numbers();
  const override = batch.request.overrides?.modelParameters;
  const countFacts = (facts: SnapshotFacts): void => {
    bump(functions, facts.functionName);
    bump(originalModels, modelLabel(facts.modelName, facts.modelVersion));
    bump(replayModels, modelLabel(override?.modelName ?? facts.modelName, override?.modelVersion ?? facts.modelVersion));
    if (facts.executionTimeMs !== undefined) originalLatency.push(facts.executionTimeMs);
  };
  const replayLatency = new Numbers();
  const mismatchRows: BatchResult[] = [];
  let mismatchTotal = 0;
  const violationResults: BatchResult[] = [];
  let violationTotal = 0;
  const violatedRules = new Map<string, number>();
  const errorGroups = new Map<string, ErrorGroup>();
  let errorsShown = 0;
  let errorTotal = 0;

  // The rows a table lists need their replay's details: read them in chunks of 100 while the scan
  // goes on (at most 2 × REPORT_TABLE_LIMIT refs and one per function for the executor's name, so
  // at most 41 reads).
  const requested = new Set<string>();
  const pendingRefs: ReplayRef[] = [];
  const detailReads: Promise<Map<string, ReplayDetail>>[] = [];
  const executorProbed = new Set<string>();
  // A learning batch's items replay nothing (no replay result to read): each names the executor
  // that ran it twice on its own result.
  const measuredBy = new Set<string>();
  const wantDetail = (r: BatchResult): void => {
    if (!r.replayId || requested.has(r.replayId)) return;
    requested.add(r.replayId);
    pendingRefs.push({ snapshotId: r.snapshotId, replayId: r.replayId, sortAt: batch.createdAt });
    if (pendingRefs.length === 100) {
      const read = reader.replayResults(pendingRefs.splice(0));
      read.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
      detailReads.push(read);
    }
  };
  // A cancelled batch keeps the statistics of its cancel: the results of items that were in flight
  // then, created after its completedAt, are left out of every figure and listed apart.
  const cancelledAt = batch.status === 'CANCELLED' && batch.stats && batch.completedAt ? batch.completedAt : undefined;
  const afterCancel: BatchResult[] = [];
  let afterCancelTotal = 0;
  let beforeCancel = 0;
  await reader.forEachResult(batchId, (r) => {
    if (cancelledAt !== undefined) {
      if (!countedAtCancel(r, cancelledAt)) {
        afterCancelTotal += 1;
        if (afterCancel.length < REPORT_TABLE_LIMIT) afterCancel.push(r);
        return;
      }
      beforeCancel += 1;
    }
    acc.add(r);
    // The executor is named by the full replay results: besides the rows the tables show, one
    // result per function (a batch replays each function with one executor), whatever its outcome,
    // so a batch of matches only, or of errors only, still names the executor its results ran on.
    const fn = r.original?.functionName ?? '';
    if (r.noise?.executor && measuredBy.size < MAX_EXECUTOR_PROBES) measuredBy.add(r.noise.executor);
    if (r.replayId && !executorProbed.has(fn) && executorProbed.size < MAX_EXECUTOR_PROBES) {
      executorProbed.add(fn);
      wantDetail(r);
    }
    for (const rule of r.violatedRules) bump(violatedRules, rule);
    if (r.violatedRules.length > 0) {
      violationTotal += 1;
      if (violationResults.length < REPORT_TABLE_LIMIT) {
        violationResults.push(r);
        wantDetail(r);
      }
    }
    if (r.status === 'Error') {
      errorTotal += 1;
      const code = r.error?.code ?? 'UNKNOWN';
      const group = errorGroups.get(code) ?? { code, count: 0, rows: [] };
      group.count += 1;
      if (errorsShown < REPORT_TABLE_LIMIT) {
        group.rows.push({ snapshotId: r.snapshotId, message: r.error?.message ?? '' });
        errorsShown += 1;
      }
      errorGroups.set(code, group);
      return;
    }
    // A tampered snapshot was not replayed: among the mismatches, as in the stats (nothing matched,
    // DESIGN §6), its row saying so; no latency.
    const tamperedResult = r.integrity === 'tampered';
    if (!tamperedResult) {
      successful += 1;
      if (r.original) countFacts(r.original);
      else unknownFacts.push(r.snapshotId);
      replayLatency.push(r.executionTimeMs);
    }
    if (tamperedResult || !r.outputsMatch) {
      mismatchTotal += 1;
      if (mismatchRows.length < REPORT_TABLE_LIMIT) {
        mismatchRows.push(r);
        wantDetail(r);
      }
    }
  });
  const computed = acc.toJSON();
  const stored = (batch.status === 'SUCCEEDED' || cancelledAt !== undefined) && batch.stats ? batch.stats : undefined;
  // The stored statistics are bookkeeping on the batch item, not a sealed record: checked against
  // the sealed results just read (except after a cancel that raced a write still on its way, when
  // the results hold one the statistics rightly do not count).
  const uncountedBefore = cancelledAt === undefined ? 0 : Math.max(0, beforeCancel - batch.completed);
  const disagreements = stored === undefined || uncountedBefore > 0 ? [] : statsDisagreements(stored, computed);
  const stats = stored !== undefined && disagreements.length === 0 ? stored : computed;

  // The snapshots' side for results that did not keep it: read from the snapshots themselves.
  await factsFor(reader, unknownFacts, (_id, facts) => {
    if (facts) countFacts(facts);
  });
  const replayQuantiles: Quantiles = { count: replayLatency.length, p50: stats.p50ExecutionTimeMs, p95: stats.p95ExecutionTimeMs, p99: stats.p99ExecutionTimeMs };

  // The full replay results of the rows shown (requested while the scan went on).
  if (pendingRefs.length > 0) detailReads.push(reader.replayResults(pendingRefs.splice(0)));
  const full = new Map<string, ReplayDetail>();
  for (const found of await Promise.all(detailReads)) for (const [id, result] of found) full.set(id, result);

  const executors = new Set<string>(measuredBy);
  for (const result of full.values()) if (result.executor) executors.add(result.executor);
  const mismatches: MismatchRow[] = mismatchRows.map((result) => {
    const replay = result.replayId ? full.get(result.replayId) : undefined;
    return { result, comparisons: replay ? replay.fieldComparisons : null, executor: replay?.executor ?? null };
  });
  const violations: ViolationRow[] = [];
  for (const r of violationResults) {
    const replay = r.replayId ? full.get(r.replayId) : undefined;
    if (replay && replay.policyViolations.length > 0) for (const v of replay.policyViolations) violations.push({ snapshotId: r.snapshotId, ruleName: v.ruleName, detail: v });
    else for (const rule of r.violatedRules) violations.push({ snapshotId: r.snapshotId, ruleName: rule, detail: null });
  }

  return {
    batch,
    stats,
    statsSource: stats === computed ? 'results' : 'batch',
    ...(disagreements.length > 0 && { statsDisagreements: disagreements }),
    tampered: stats.tampered,
    functions: tallies(functions),
    originalModels: tallies(originalModels),
    replayModels: tallies(replayModels),
    executors: [...executors].sort(),
    latency: latencyDistribution(originalLatency.values(), replayLatency.values(), replayQuantiles, successful - originalLatency.length),
    fieldMismatches: Object.entries(stats.fieldMismatches).map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1)),
    fieldMismatchesOther: stats.fieldMismatchesOther,
    mismatches: { rows: mismatches, total: mismatchTotal },
    violations: { rows: violations, total: violationTotal, byRule: tallies(violatedRules) },
    ...(cancelledAt !== undefined && {
      afterCancel: {
        rows: afterCancel.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0)),
        total: afterCancelTotal,
        // Results created by the cancel but stored after it had counted (a write still on its way): in no figure either.
        uncountedBefore,
      },
    }),
    errors: { groups: [...errorGroups.values()].sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : 1)), shown: errorsShown, total: errorTotal },
    generatedAt: now(),
  };
}
