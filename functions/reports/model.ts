/**
 * What the report views show: plain data assembled from the stores (see batch-data.ts,
 * diff-data.ts, replay-data.ts) and handed to the pure renderers. Nothing here does I/O.
 */
import type { Batch, BatchResult } from '../core/batch.js';
import type { SnapshotDiff } from '../core/diff.js';
import type { FieldComparison } from '../core/output-comparison.js';
import type { Violation } from '../core/policy.js';
import type { ReplayResult } from '../core/replay.js';
import type { Snapshot } from '../core/snapshot.js';
import type { ReplayStats } from '../core/stats.js';

/** The tables of a batch report list at most this many rows each; the charts cover every result. */
export const REPORT_TABLE_LIMIT = 2000;

/** What the batch report needs of a snapshot besides its result: where its replay came from. */
export interface SnapshotFacts {
  functionName: string;
  executionTimeMs?: number;
  modelName?: string;
  modelVersion?: string;
}

/** A value and how many results have it (function names, model versions). */
export interface Tally {
  value: string;
  count: number;
}

export interface Quantiles {
  /** How many latencies these figures summarize. */
  count: number;
  p50: number;
  p95: number;
  p99: number;
}

/** Original and replay execution times of the successful replays, binned alike. */
export interface LatencyDistribution {
  scale: 'linear' | 'logarithmic';
  /** Bin edges, ascending; bin i holds values in [edges[i], edges[i+1]) (the last bin also its upper edge). */
  edges: number[];
  original: number[];
  replay: number[];
  originalQuantiles: Quantiles;
  replayQuantiles: Quantiles;
  /** Successful replays whose snapshot recorded no execution time (absent from `original`). */
  originalMissing: number;
}

/** A mismatched snapshot of a batch, with the field-level comparison of its replay when it is stored. */
export interface MismatchRow {
  result: BatchResult;
  /** Every compared field of the replay (null when the replay's full result could not be read). */
  comparisons: FieldComparison[] | null;
  executor: string | null;
}

/** A policy violation of one snapshot's replay. */
export interface ViolationRow {
  snapshotId: string;
  ruleName: string;
  /** Null when only the rule's name is known (the replay's full result could not be read). */
  detail: Violation | null;
}

export interface ErrorGroup {
  code: string;
  /** Every Error result with this code. */
  count: number;
  /** The first of them (within the table limit). */
  rows: { snapshotId: string; message: string }[];
}

/** One figure of the batch statistics that its sealed results contradict. */
export interface StatsDisagreement {
  figure: string;
  /** The value stored with the batch, and the value its results give (as JSON). */
  batch: string;
  results: string;
}

export interface BatchReportData {
  batch: Batch;
  /**
   * The batch's stored statistics (SUCCEEDED, or CANCELLED: those of the cancel), or (while it runs,
   * or if it failed) the same figures over the results stored so far.
   */
  stats: ReplayStats;
  statsSource: 'batch' | 'results';
  /**
   * Where the batch's stored statistics disagree with its sealed results (the statistics are
   * bookkeeping on the batch item, not a sealed record): each figure with both values. When there
   * is any, `stats` are the figures computed from the results and `statsSource` is 'results'.
   */
  statsDisagreements?: StatsDisagreement[];
  /** Results whose snapshot failed its integrity check. */
  tampered: number;
  functions: Tally[];
  originalModels: Tally[];
  replayModels: Tally[];
  executors: string[];
  latency: LatencyDistribution;
  /** Mismatches per field path over every result (largest first). */
  fieldMismatches: Tally[];
  fieldMismatchesOther: number;
  mismatches: { rows: MismatchRow[]; total: number };
  violations: { rows: ViolationRow[]; total: number; byRule: Tally[] };
  errors: { groups: ErrorGroup[]; shown: number; total: number };
  /**
   * A CANCELLED batch only: the results stored by items that were in flight at the cancel and
   * finished afterwards (created after the batch's completedAt), which its statistics and every
   * other figure of the report leave out. `rows` are the first of them (within the table limit),
   * oldest first; `uncountedBefore` counts results created before the cancel that its count did not
   * see (their write was still on its way).
   */
  afterCancel?: { rows: BatchResult[]; total: number; uncountedBefore: number };
  generatedAt: string;
}

/** One snapshot of the diff view with its integrity verdict. */
export interface DiffSide {
  snapshot: Snapshot;
  integrity: 'verified' | 'tampered';
}

export interface DiffReportData {
  original: DiffSide;
  updated: DiffSide;
  diff: SnapshotDiff;
  generatedAt: string;
}

export interface ReplayReportData {
  original: DiffSide;
  replay: ReplayResult;
  generatedAt: string;
}
