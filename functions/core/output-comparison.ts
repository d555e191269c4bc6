/**
 * Replay output comparison (DESIGN §5): the recorded outputs against the replayed ones, one
 * comparison per output leaf (`outputs.decision`, `outputs.items[2].price`).
 *
 * - Strict: every leaf must be exactly equal (ExactMatch, threshold 1).
 * - Tolerant: strings score by the similarity provider (SemanticSimilarity), numbers by
 *   `1 − |a−b| / max(|a|,|b|)` (NumericCloseness; both 0 → 1, never below 0), and each must reach
 *   `tolerance`; booleans, null and type changes are exact (ExactMatch, threshold 1).
 * - In both modes a leaf present on one side only is a mismatch (comparator `Presence`, score 0);
 *   the side it is missing from has no `original` / `replayed` key. Under a noise profile that saw
 *   the leaf in only one of two runs of the same model (`presenceDiffered`), it is noise instead.
 *
 * A leaf is a primitive, or an empty array / object (so `{}` → `{"a": 1}` is visible).
 */
import { ValidationError } from './errors.js';
import { appendSegment } from './field-path.js';
import { jsonEquals, type JsonValue } from './json.js';
import * as z from 'zod/mini';
import { JsonValueSchema, namedValuesToObject, type NamedValue } from './snapshot.js';
import { SimilarityProviderError, type SimilarityProvider } from './similarity.js';

export type OutputComparisonMode = 'Strict' | 'Tolerant';
export const OutputComparatorSchema = z.enum(['ExactMatch', 'SemanticSimilarity', 'NumericCloseness', 'Presence', 'NoiseIgnored']);

/**
 * What a noise profile knows about one output leaf (see noise.ts); declared here so this module
 * does not depend on the profile's storage shape.
 */
export interface LeafNoise {
  class: 'stable' | 'numeric-noise' | 'text-noise' | 'always-different';
  pairs: number;
  differed: number;
  /** Pairs in which only one of the two runs had the leaf. */
  presenceDiffered?: number | undefined;
  spreadPercent?: number | undefined;
  /** Absent in profiles learned before absolute spreads were kept. */
  spreadAbsolute?: number | undefined;
  similarityFloor?: number | undefined;
}

/** A noise profile as the comparison uses it: leaves by path, and the numeric safety factor. */
export interface NoiseRules {
  fields: ReadonlyMap<string, LeafNoise>;
  numericSafetyFactor: number;
}

/**
 * One output leaf compared. `score` is in [0, 1]; `threshold` is the score needed for a match (1
 * for exact comparisons, `tolerance` for similarity / closeness, the learned floor or spread under
 * a noise profile). `original` is absent when the replay added the leaf, `replayed` when it dropped
 * it (and both when a stored result was compacted to fit an item). `provider` names the similarity
 * provider of a SemanticSimilarity comparison.
 *
 * `noise` is set when a noise profile decided how the leaf was compared: `suppressed` — it differs,
 * but within the noise the profile learned (or the field always differs: comparator
 * `NoiseIgnored`), so it passes; `exceeded` — it differs beyond that noise; `stable` — the profile
 * saw it equal in every pair, so it was compared exactly. `noiseReason` says which rule applied,
 * with its figures.
 */
export const FieldComparisonSchema = z.strictObject({
  path: z.string(),
  comparator: OutputComparatorSchema,
  score: z.number(),
  threshold: z.number(),
  match: z.boolean(),
  original: z.optional(JsonValueSchema),
  replayed: z.optional(JsonValueSchema),
  provider: z.optional(z.string()),
  noise: z.optional(z.enum(['suppressed', 'exceeded', 'stable'])),
  noiseReason: z.optional(z.string()),
});
export type FieldComparison = z.infer<typeof FieldComparisonSchema>;

export interface OutputComparison {
  /** True when every leaf matched (and so when both sides have no outputs). */
  outputsMatch: boolean;
  fieldComparisons: FieldComparison[];
}

/** Similarity requests in flight at once (an embedding provider makes one HTTP call per pair). */
const SIMILARITY_CONCURRENCY = 8;

function isContainer(v: JsonValue): v is JsonValue[] | { [key: string]: JsonValue } {
  return v !== null && typeof v === 'object';
}

function isEmptyContainer(v: JsonValue): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (v !== null && typeof v === 'object') {
    for (const _ in v) return false;
    return true;
  }
  return false;
}

/** Numeric closeness `1 − |a−b| / max(|a|,|b|)`, clamped to [0, 1]; equal numbers (incl. 0, 0) give 1. */
export function numericCloseness(a: number, b: number): number {
  if (a === b) return 1;
  const score = 1 - Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
  return Number.isFinite(score) && score > 0 ? score : 0;
}

interface Pending {
  index: number;
  a: string;
  b: string;
  /** The learned text floor, when a noise profile decides this leaf. */
  noise?: LeafNoise;
}

function pct(x: number): string {
  return `${Math.round(x * 10_000) / 10_000}%`;
}

/** An absolute difference as a message shows it: 6 significant digits. */
function abs6(x: number): string {
  return String(Number(x.toPrecision(6)));
}

class Collector {
  readonly out: FieldComparison[] = [];
  readonly pending: Pending[] = [];
  constructor(
    private readonly mode: OutputComparisonMode,
    private readonly tolerance: number,
    private readonly provider: string,
    private readonly noise?: NoiseRules,
  ) {}

  /** Every leaf of a subtree present on one side only. */
  oneSided(path: string, value: JsonValue, side: 'original' | 'replayed'): void {
    if (isContainer(value) && !isEmptyContainer(value)) {
      if (Array.isArray(value)) value.forEach((v, i) => this.oneSided(appendSegment(path, i), v, side));
      else for (const key of Object.keys(value)) this.oneSided(appendSegment(path, key), value[key] as JsonValue, side);
      return;
    }
    const learned = this.mode === 'Tolerant' ? this.noise?.fields.get(path) : undefined;
    if (learned?.presenceDiffered !== undefined && learned.presenceDiffered > 0) {
      this.out.push({ path, comparator: 'NoiseIgnored', score: 1, threshold: 0, match: true, [side]: value, noise: 'suppressed', noiseReason: `presence: only one of two runs of the same model had this field in ${learned.presenceDiffered}/${learned.pairs} pairs; its absence on one side is noise` });
      return;
    }
    const threshold = this.mode === 'Strict' ? 1 : this.tolerance;
    this.out.push({ path, comparator: 'Presence', score: 0, threshold, match: false, [side]: value });
  }

  walk(path: string, a: JsonValue, b: JsonValue): void {
    if (isContainer(a) && isContainer(b) && Array.isArray(a) === Array.isArray(b) && !(isEmptyContainer(a) && isEmptyContainer(b))) {
      if (Array.isArray(a) && Array.isArray(b)) {
        const common = Math.min(a.length, b.length);
        for (let i = 0; i < common; i++) this.walk(appendSegment(path, i), a[i] as JsonValue, b[i] as JsonValue);
        for (let i = common; i < a.length; i++) this.oneSided(appendSegment(path, i), a[i] as JsonValue, 'original');
        for (let i = common; i < b.length; i++) this.oneSided(appendSegment(path, i), b[i] as JsonValue, 'replayed');
      } else {
        const ao = a as { [key: string]: JsonValue };
        const bo = b as { [key: string]: JsonValue };
        for (const key of Object.keys(ao)) {
          const p = appendSegment(path, key);
          if (Object.hasOwn(bo, key)) this.walk(p, ao[key] as JsonValue, bo[key] as JsonValue);
          else this.oneSided(p, ao[key] as JsonValue, 'original');
        }
        for (const key of Object.keys(bo)) if (!Object.hasOwn(ao, key)) this.oneSided(appendSegment(path, key), bo[key] as JsonValue, 'replayed');
      }
      return;
    }
    this.leaf(path, a, b);
  }

  private leaf(path: string, a: JsonValue, b: JsonValue): void {
    const learned = this.mode === 'Tolerant' ? this.noise?.fields.get(path) : undefined;
    if (learned !== undefined && this.noiseLeaf(path, a, b, learned)) return;
    if (this.mode === 'Tolerant') {
      if (typeof a === 'string' && typeof b === 'string') {
        // Scored later, together, so an embedding provider can work on several pairs at once.
        const index = this.out.length;
        this.out.push({ path, comparator: 'SemanticSimilarity', score: 0, threshold: this.tolerance, match: false, original: a, replayed: b, provider: this.provider });
        this.pending.push({ index, a, b });
        return;
      }
      if (typeof a === 'number' && typeof b === 'number') {
        const score = numericCloseness(a, b);
        this.out.push({ path, comparator: 'NumericCloseness', score, threshold: this.tolerance, match: score >= this.tolerance, original: a, replayed: b });
        return;
      }
    }
    const equal = jsonEquals(a, b);
    this.out.push({ path, comparator: 'ExactMatch', score: equal ? 1 : 0, threshold: 1, match: equal, original: a, replayed: b });
  }

  /** Compares a leaf by what the noise profile learned about it; false when the rule does not fit the values (then the default applies). */
  private noiseLeaf(path: string, a: JsonValue, b: JsonValue, n: LeafNoise): boolean {
    const seen = `${n.differed}/${n.pairs} pairs`;
    switch (n.class) {
      case 'always-different':
        this.out.push({ path, comparator: 'NoiseIgnored', score: 1, threshold: 0, match: true, original: a, replayed: b, noise: 'suppressed', noiseReason: `always-different: two runs of the same model differed here in ${seen}; ignored` });
        return true;
      case 'stable': {
        const equal = jsonEquals(a, b);
        this.out.push({ path, comparator: 'ExactMatch', score: equal ? 1 : 0, threshold: 1, match: equal, original: a, replayed: b, noise: 'stable', noiseReason: `stable: two runs of the same model were equal here in all ${n.pairs - (n.presenceDiffered ?? 0)} pairs${n.presenceDiffered ? ' that both had it' : ''}; compared exactly` });
        return true;
      }
      case 'numeric-noise': {
        if (typeof a !== 'number' || typeof b !== 'number') return false;
        const factor = this.noise?.numericSafetyFactor ?? 1;
        const spread = n.spreadPercent ?? 0;
        const allowed = spread * factor;
        const score = numericCloseness(a, b);
        const diff = (1 - score) * 100;
        const absDiff = Math.abs(a - b);
        if (n.spreadAbsolute === undefined && allowed >= 100) {
          // A profile learned before absolute spreads were kept, whose relative allowance would pass
          // any value (the relative difference is at most 100 %): not applied, the plain tolerance is.
          const match = score >= this.tolerance;
          this.out.push({
            path, comparator: 'NumericCloseness', score, threshold: this.tolerance, match, original: a, replayed: b,
            ...(a !== b && {
              ...(!match && { noise: 'exceeded' as const }),
              noiseReason: `numeric-noise: learned spread ±${pct(spread)} (${seen}) × safety factor ${factor} would allow every value, so it is not applied (the profile has no absolute spread: learn it again); compared with the tolerance ${this.tolerance}`,
            }),
          });
          return true;
        }
        const allowedAbs = n.spreadAbsolute === undefined ? undefined : n.spreadAbsolute * factor;
        const match = diff <= allowed + 1e-9 && (allowedAbs === undefined || absDiff <= allowedAbs * (1 + 1e-9));
        this.out.push({
          path,
          comparator: 'NumericCloseness',
          score,
          threshold: Math.max(0, 1 - allowed / 100),
          match,
          original: a,
          replayed: b,
          // Equal values needed no noise allowance: nothing to say.
          ...(a !== b && {
            noise: match ? 'suppressed' : 'exceeded',
            noiseReason:
              allowedAbs === undefined
                ? `numeric-noise: differs by ${pct(diff)}; learned spread ±${pct(spread)} (${seen}) × safety factor ${factor} allows ${pct(allowed)}`
                : `numeric-noise: differs by ${pct(diff)} (by ${abs6(absDiff)}); learned spread ±${pct(spread)} and ±${abs6(n.spreadAbsolute as number)} (${seen}) × safety factor ${factor} allows ${pct(allowed)} and ±${abs6(allowedAbs)}`,
          }),
        });
        return true;
      }
      case 'text-noise': {
        if (typeof a !== 'string' || typeof b !== 'string') return false;
        const floor = n.similarityFloor ?? 1;
        const index = this.out.length;
        this.out.push({ path, comparator: 'SemanticSimilarity', score: 0, threshold: floor, match: false, original: a, replayed: b, provider: this.provider });
        this.pending.push({ index, a, b, noise: n });
        return true;
      }
    }
  }
}

/**
 * Compares recorded outputs with replayed ones, entry by entry (matched by `name`), leaf by leaf.
 * `tolerance` (0..1) applies to Tolerant mode only; outside that range it is a ValidationError.
 * Similarity provider failures propagate.
 */
export async function compareOutputs(
  original: readonly NamedValue[],
  replayed: readonly NamedValue[],
  mode: OutputComparisonMode,
  tolerance: number,
  similarity: SimilarityProvider,
  noise?: NoiseRules,
): Promise<OutputComparison> {
  if (mode === 'Tolerant' && !(Number.isFinite(tolerance) && tolerance >= 0 && tolerance <= 1)) {
    throw new ValidationError(`tolerance must be between 0 and 1, got ${String(tolerance)}`, { details: { issues: [{ path: 'tolerance', message: 'must be between 0 and 1' }] } });
  }
  const c = new Collector(mode, tolerance, similarity.name, noise);
  // Walked as one object keyed by entry name; with no entries on either side there is no leaf.
  if (original.length > 0 || replayed.length > 0) c.walk('outputs', namedValuesToObject(original), namedValuesToObject(replayed));

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < c.pending.length) {
      const job = c.pending[next++] as Pending;
      const score = job.a === job.b ? 1 : await similarity.similarity(job.a, job.b);
      if (!Number.isFinite(score) || score < 0 || score > 1) {
        throw new SimilarityProviderError(similarity.name, `similarity provider '${similarity.name}' returned ${String(score)}, outside [0, 1]`);
      }
      const fc = c.out[job.index] as FieldComparison;
      fc.score = score;
      // The threshold is the tolerance, or the learned floor of a text-noise leaf.
      fc.match = score >= fc.threshold;
      if (job.noise !== undefined && job.a !== job.b) {
        fc.noise = fc.match ? 'suppressed' : 'exceeded';
        fc.noiseReason = `text-noise: similarity ${Math.round(score * 10_000) / 10_000}; learned floor ${Math.round(fc.threshold * 10_000) / 10_000} (${job.noise.differed}/${job.noise.pairs} pairs)`;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SIMILARITY_CONCURRENCY, c.pending.length) }, worker));

  return { outputsMatch: c.out.every((f) => f.match), fieldComparisons: c.out };
}
