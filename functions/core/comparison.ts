/**
 * A/B comparison of two batches (`POST /comparisons`, `GET /comparisons/{id}`): pairs the two
 * batches' results snapshot by snapshot and answers with the paired statistics of
 * comparison-stats.ts and a verdict. Both result lists are ordered by snapshot id, so pairing is a
 * merge of two paged streams: memory holds two pages, the counters and the paired latencies.
 */
import * as z from 'zod/mini';
import type { Batch, BatchResult, BatchStore } from './batch.js';
import { ComparisonStatsSchema, PairedComparison, seedFrom } from './comparison-stats.js';
import { NotFoundError, UnprocessableError, ValidationError } from './errors.js';
import { DEFAULT_TOLERANCE, pinnedVersions } from './replay-request.js';
import { parseOrThrow } from './schema-util.js';
import type { Clock, IdGenerator } from './ports.js';
import { MIN_STORABLE_MAGNITUDE, storableNumbers } from './storable.js';
import { ulidField } from './ulid.js';

export const DEFAULT_ALPHA = 0.05;

/** Body of `POST /comparisons`. */
export const ComparisonRequestSchema = z.strictObject({
  baselineBatchId: ulidField('baselineBatchId must be a 26-character ULID'),
  candidateBatchId: ulidField('candidateBatchId must be a 26-character ULID'),
  /** At least 1e-130: the comparison stores it, and DynamoDB keeps no smaller positive number. */
  alpha: z.optional(z.number().check(z.gte(MIN_STORABLE_MAGNITUDE, 'alpha must be in [1e-130, 0.5]: DynamoDB stores no positive number below 1e-130'), z.lte(0.5, 'alpha must be in [1e-130, 0.5]'))),
  /** Compare only the snapshots both batches replayed (otherwise differing snapshot sets are 422). */
  intersectionOnly: z.optional(z.boolean()),
});
export type ComparisonRequest = z.infer<typeof ComparisonRequestSchema>;

/** A stored comparison: `POST /comparisons` (201) and `GET /comparisons/{id}`. */
export const ComparisonSchema = z.strictObject({
  comparisonId: z.string(),
  baselineBatchId: z.string(),
  candidateBatchId: z.string(),
  alpha: z.number(),
  intersectionOnly: z.boolean(),
  /** Snapshots only one batch replayed (left out: `intersectionOnly`). */
  excluded: z.strictObject({ baselineOnly: z.int(), candidateOnly: z.int() }),
  ...ComparisonStatsSchema.shape,
  createdAt: z.string(),
});
export type Comparison = z.infer<typeof ComparisonSchema>;

/** Port: stored comparisons (written once). */
export interface ComparisonStore {
  put(comparison: Comparison): Promise<void>;
  get(comparisonId: string): Promise<Comparison | undefined>;
}

export interface ComparisonDeps {
  batches: Pick<BatchStore, 'get' | 'listResults'>;
  comparisons: ComparisonStore;
  clock: Clock;
  ids: IdGenerator;
}

/** The results of a batch, page by page, in snapshot-id order. */
async function* resultsOf(batches: ComparisonDeps['batches'], batchId: string): AsyncGenerator<BatchResult> {
  let cursor: string | undefined;
  do {
    const page = await batches.listResults(batchId, 1000, cursor);
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}

/** Both batches must exist and have SUCCEEDED: only then is every snapshot's result final. */
async function finishedBatch(batches: ComparisonDeps['batches'], batchId: string, role: string): Promise<Batch> {
  const batch = await batches.get(batchId);
  if (!batch) throw new NotFoundError('batch', batchId, { message: `${role} batch '${batchId}' does not exist` });
  if (batch.status !== 'SUCCEEDED') throw new UnprocessableError(`${role} batch '${batchId}' is ${batch.status}: only SUCCEEDED batches can be compared`, { code: 'BATCH_NOT_SUCCEEDED', details: { batchId, status: batch.status } });
  return batch;
}

/** One setting that decides how a batch judged its outputs, as both batches had it. */
export interface SettingDifference {
  setting: 'mode' | 'tolerance' | 'policyName' | 'policyVersion' | 'noiseProfile' | 'noiseProfileVersions';
  baseline: string | number | null;
  candidate: string | number | null;
}

/**
 * How a batch judged its replayed outputs, defaults spelled out: the mode (Tolerant unless given),
 * the tolerance (Tolerant mode only, else null), the policy by name (its pinned version is checked
 * apart: batches stored before versions were pinned have none) and the noise profile ('none'
 * unless given; a selector batch records the version it pinned). `overrides` (the candidate model:
 * the experiment), `maxConcurrency` and `dependencyMode` are not part of it.
 */
function judgingSettings(batch: Batch): Record<Exclude<SettingDifference['setting'], 'policyVersion' | 'noiseProfileVersions'>, string | number | null> {
  const r = batch.request;
  const mode = r.mode ?? 'Tolerant';
  return {
    mode,
    tolerance: mode === 'Tolerant' ? (r.tolerance ?? DEFAULT_TOLERANCE) : null,
    policyName: r.policyName ?? null,
    noiseProfile: mode === 'Tolerant' ? (r.noiseProfile ?? 'none') : 'none',
  };
}

/**
 * Refuses (422 `BATCHES_NOT_COMPARABLE`) batches that judged their outputs differently: a verdict
 * between them would measure the comparator (Strict vs Tolerant, a looser tolerance, another
 * policy or noise profile), not the candidate, and a release gate could be passed by choosing it.
 */
function assertComparable(baseline: Batch, candidate: Batch): void {
  const b = judgingSettings(baseline);
  const c = judgingSettings(candidate);
  const differences: SettingDifference[] = (Object.keys(b) as (keyof typeof b)[]).filter((k) => b[k] !== c[k]).map((setting) => ({ setting, baseline: b[setting], candidate: c[setting] }));
  // The same policy under two versions judged differently too; known only when both batches
  // pinned their version (a batch stored before that records the name alone).
  const bv = baseline.policyVersion;
  const cv = candidate.policyVersion;
  if (b.policyName !== null && b.policyName === c.policyName && bv !== undefined && cv !== undefined && bv !== cv) {
    differences.push({ setting: 'policyVersion', baseline: bv, candidate: cv });
  }
  // So does a noise profile "latest" that batches over listed ids pinned per function at different
  // versions: compared for the functions both pinned (an intersection may hold fewer functions);
  // a batch stored before listed ids were pinned records none.
  if (b.noiseProfile === 'latest' && c.noiseProfile === 'latest') {
    const bp = pinnedVersions(baseline.noiseProfileVersions ?? []);
    const cp = pinnedVersions(candidate.noiseProfileVersions ?? []);
    const changed = [...bp].filter(([fn, v]) => cp.has(fn) && cp.get(fn) !== v).map(([fn]) => fn).sort();
    if (changed.length > 0) {
      const list = (p: Map<string, number>) => changed.map((fn) => `${fn} version ${String(p.get(fn))}`).join(', ');
      differences.push({ setting: 'noiseProfileVersions', baseline: list(bp), candidate: list(cp) });
    }
  }
  if (differences.length === 0) return;
  const show = (v: string | number | null) => (v === null ? '(none)' : String(v));
  throw new UnprocessableError(
    `the batches judged their outputs under different settings, so a verdict would measure the settings, not the candidate: ${differences.map((d) => `${d.setting}: ${show(d.baseline)} in the baseline, ${show(d.candidate)} in the candidate`).join('; ')}; replay both with the same settings (only overrides and maxConcurrency may differ)`,
    { code: 'BATCHES_NOT_COMPARABLE', details: { differences } },
  );
}

/**
 * `POST /comparisons`: pairs the two batches' results by snapshot and stores the comparison.
 * A batch compared with itself is 400 `SAME_BATCH`; batches that judged outputs under different
 * settings are 422 `BATCHES_NOT_COMPARABLE` (naming each setting); batches that replayed different
 * snapshots are 422 `BATCHES_DIFFER` (naming how many differ) unless `intersectionOnly`; batches
 * with no snapshot in common are 422 `NOTHING_TO_COMPARE` either way. Nothing is stored on a
 * refused request.
 */
export async function compareBatches(deps: ComparisonDeps, body: unknown): Promise<Comparison> {
  const request = parseOrThrow(ComparisonRequestSchema, body, 'comparison request');
  const alpha = request.alpha ?? DEFAULT_ALPHA;
  if (request.baselineBatchId === request.candidateBatchId) {
    throw new ValidationError(`baselineBatchId and candidateBatchId are both '${request.baselineBatchId}': compare two different batches (a batch compared with itself differs in nothing)`, {
      code: 'SAME_BATCH',
      details: { issues: [{ path: 'candidateBatchId', message: 'must differ from baselineBatchId' }] },
    });
  }
  const baseline = await finishedBatch(deps.batches, request.baselineBatchId, 'baseline');
  const candidate = await finishedBatch(deps.batches, request.candidateBatchId, 'candidate');
  assertComparable(baseline, candidate);

  const pairs = new PairedComparison();
  let baselineOnly = 0;
  let candidateOnly = 0;
  const base = resultsOf(deps.batches, request.baselineBatchId);
  const cand = resultsOf(deps.batches, request.candidateBatchId);
  let b = await base.next();
  let c = await cand.next();
  while (!b.done || !c.done) {
    if (c.done || (!b.done && b.value.snapshotId < c.value.snapshotId)) {
      baselineOnly++;
      b = await base.next();
    } else if (b.done || c.value.snapshotId < b.value.snapshotId) {
      candidateOnly++;
      c = await cand.next();
    } else {
      pairs.add(b.value, c.value);
      b = await base.next();
      c = await cand.next();
    }
  }
  // No snapshot in common: nothing to compare with or without intersectionOnly, so say that
  // rather than advise an intersection that is empty.
  if (pairs.pairs === 0) {
    throw new UnprocessableError(`the batches have no snapshot in common (${baselineOnly} only in the baseline, ${candidateOnly} only in the candidate): there is nothing to compare; replay the same snapshots in both batches`, {
      code: 'NOTHING_TO_COMPARE',
      details: { baselineOnly, candidateOnly },
    });
  }
  if ((baselineOnly > 0 || candidateOnly > 0) && request.intersectionOnly !== true) {
    throw new UnprocessableError(
      `the batches replayed different snapshots: ${baselineOnly} only in the baseline, ${candidateOnly} only in the candidate (${pairs.pairs} in both); compare the intersection with intersectionOnly: true`,
      { code: 'BATCHES_DIFFER', details: { baselineOnly, candidateOnly, common: pairs.pairs } },
    );
  }

  // Verdicts are decided on the exact figures; the record holds each as DynamoDB can store it
  // (storable.ts): a p-value below 1e-130 is 0 at DynamoDB's precision, and is answered as 0.
  const comparison: Comparison = storableNumbers({
    comparisonId: deps.ids.next(),
    baselineBatchId: request.baselineBatchId,
    candidateBatchId: request.candidateBatchId,
    alpha,
    intersectionOnly: request.intersectionOnly === true,
    excluded: { baselineOnly, candidateOnly },
    // Seeded by the pair of batches: comparing them again draws the same bootstrap resamples.
    ...pairs.result(alpha, seedFrom(`${request.baselineBatchId}/${request.candidateBatchId}`)),
    createdAt: new Date(deps.clock.now()).toISOString(),
  });
  await deps.comparisons.put(comparison);
  return comparison;
}

/** `GET /comparisons/{id}`. */
export async function getComparison(deps: { comparisons: Pick<ComparisonStore, 'get'> }, comparisonId: string): Promise<Comparison> {
  const comparison = await deps.comparisons.get(comparisonId);
  if (!comparison) throw new NotFoundError('comparison', comparisonId);
  return comparison;
}
