/**
 * Noise profiles (after Twitter's Diffy): run the SAME model twice on the same recorded inputs and
 * learn which output fields differ even though nothing changed. Only differences beyond that noise
 * count in a noise-aware Tolerant replay.
 *
 * Learning (`POST /functions/{fn}/noise-profile`, run as a batch): each sampled snapshot is
 * executed twice with its recorded model parameters (and, when it has them, its recorded
 * dependencies), and the two answers are compared leaf by leaf. Per field path the profile keeps how
 * many pairs it saw, in how many the two runs differed, and a class:
 *
 * - `stable` — equal in every pair. A noise-aware replay compares it exactly (ExactMatch), however
 *   lenient the tolerance: the model is deterministic there, so any difference is real.
 * - `numeric-noise` — numbers that differed; `spreadPercent` is the largest relative difference
 *   seen, `|a − b| / max(|a|, |b|) × 100`, and `spreadAbsolute` the largest `|a − b|`. A replay
 *   passes when its relative difference is at most `spreadPercent × NUMERIC_SAFETY_FACTOR` **and**
 *   its absolute difference at most `spreadAbsolute × NUMERIC_SAFETY_FACTOR` (a sample's largest
 *   spread underestimates the largest the model can produce, and the recorded value and the
 *   replayed one each carry noise). Both, because the relative difference is at most 100 % (it
 *   cannot tell 0 → 0.001 from 0 → 1e9): a field jittering around 0 learns a relative spread of
 *   100 %, which alone would let any value pass, but an absolute spread as small as its jitter.
 *   A profile stored before absolute spreads were learned has none: its relative allowance applies
 *   as before unless it would allow every value (≥ 100 %), in which case it is not applied and the
 *   field is compared with the plain tolerance (output-comparison.ts).
 * - `text-noise` — text that differed; `similarityFloor` is the lowest similarity (the replay's
 *   similarity provider) seen between two runs. A replay passes at or above that floor.
 * - `always-different` — values that (almost) always differ and carry no measure of "how much":
 *   single-token strings such as request ids and timestamps (no whitespace in any observed value)
 *   that differed in at least {@link ALWAYS_DIFFERENT_SHARE} of the pairs (two quick runs can share
 *   a millisecond timestamp), and values of other kinds (booleans, null, objects that change shape)
 *   that differed at all. A noise-aware replay ignores them.
 *
 * A text field that differed in every pair but holds words (whitespace) stays `text-noise`: a
 * rationale that is always reworded is still compared against its floor, not ignored.
 *
 * Presence is learned apart from values: a field present in only one of the two runs of some pairs
 * counts those pairs in `presenceDiffered`, and its class comes from the pairs where both runs had
 * it (a `warning` that only sometimes appears, but reads the same whenever it does, is `stable`).
 * A noise-aware replay then lets the field be present on one side only, and still compares its
 * value when both sides have it. (Before, such a field was `always-different`: its value was
 * ignored, and its absence on one side was a mismatch all the same.)
 */
import * as z from 'zod/mini';
import { NotFoundError, UnprocessableError } from './errors.js';
import { compareOutputs, type FieldComparison } from './output-comparison.js';
import type { NamedValue } from './snapshot.js';
import type { SnapshotIdIndex } from './ports.js';
import type { SimilarityProvider } from './similarity.js';

export const NOISE_CLASSES = ['stable', 'numeric-noise', 'text-noise', 'always-different'] as const;
export type NoiseClass = (typeof NOISE_CLASSES)[number];

/**
 * How far beyond its learned spread a numeric field may move in a noise-aware replay (documented in
 * the README): 3, because (1) a sample's largest spread underestimates the largest the model
 * produces, (2) a replay compares two noisy values (the recording and the new run) as the profile
 * did, and (3) a relative spread learned on larger values is tighter than the same absolute noise
 * on smaller ones. Measured on the noisy demo model (bench/noise.bench.ts): with 2, up to 1 % of
 * unchanged decisions were flagged on the score alone; with 3, none.
 */
export const NUMERIC_SAFETY_FACTOR = 3;

/** A single-token text field is `always-different` when it differed in at least this share of pairs (two runs can fall in the same millisecond). */
export const ALWAYS_DIFFERENT_SHARE = 0.9;

/** Snapshots a profile samples when the request names no `sampleSize`. */
export const DEFAULT_NOISE_SAMPLE = 50;
/** Most snapshots one profile samples (each is executed twice). */
export const MAX_NOISE_SAMPLE = 1000;

/**
 * Most output leaves a snapshot's pair of runs may have: their observations are stored on one batch
 * result item (400 KB), ~100 bytes each. A snapshot with more is an Error result
 * (`NOISE_OUTPUT_TOO_LARGE`), executed not at all when its recorded outputs already have more.
 */
export const MAX_NOISE_FIELDS = 2000;
/** Most bytes of observations (as JSON) a pair of runs may store, for long paths: with the differing paths listed (at most 100 KB) the result stays under 400 KB. */
export const MAX_NOISE_RUN_BYTES = 250_000;
/** Most bytes of fields (as JSON) a profile holds: it is one item (400 KB) with a few small facts besides. */
export const MAX_NOISE_PROFILE_FIELD_BYTES = 350_000;

/** The leaves of `values` as a comparison sees them: every primitive, and every empty array or object. */
export function countLeaves(values: readonly unknown[], stopAt = Infinity): number {
  let count = 0;
  const stack: unknown[] = [...values];
  while (stack.length > 0 && count <= stopAt) {
    const v = stack.pop();
    if (v !== null && typeof v === 'object') {
      const children = Array.isArray(v) ? v : Object.values(v);
      if (children.length === 0) count += 1;
      // One by one: spreading an array of a million elements into push() overflows the stack.
      else for (const child of children) stack.push(child);
    } else {
      count += 1;
    }
  }
  return count;
}

/**
 * What one pair of runs showed at one output leaf (stored on the profile batch's result item):
 * `equal` — the two runs gave equal values; `kind` — number (both numbers), text (both strings) or
 * other (anything else, incl. present in one run only); `relDiffPercent` (numbers) — relative
 * difference in percent; `similarity` (text) — of the two values; `singleToken` (text) — neither
 * value contains whitespace (an id, a timestamp, a code).
 */
export const NoiseObservationSchema = z.strictObject({
  path: z.string(),
  equal: z.boolean(),
  kind: z.enum(['number', 'text', 'other']),
  relDiffPercent: z.optional(z.number()),
  /** (numbers) `|a − b|`, to 12 significant digits; absent on observations stored before it was kept. */
  absDiff: z.optional(z.number()),
  similarity: z.optional(z.number()),
  singleToken: z.optional(z.boolean()),
  /** The leaf was in one run only; absent on observations stored before presence was told apart. */
  oneSided: z.optional(z.boolean()),
});
export type NoiseObservation = z.infer<typeof NoiseObservationSchema>;

/** What a noise-profile batch stores on each result: the executor, the recorded model version, the similarity provider and the observations of one pair of runs. */
export const NoiseRunSchema = z.strictObject({
  executor: z.string(),
  modelVersion: z.nullable(z.string()),
  similarityProvider: z.string(),
  observations: z.array(NoiseObservationSchema),
});
export type NoiseRun = z.infer<typeof NoiseRunSchema>;

const WHITESPACE = /\s/;

function toObservation(fc: FieldComparison): NoiseObservation {
  const { path, original: a, replayed: b } = fc;
  if (fc.comparator === 'NumericCloseness') {
    return { path, equal: a === b, kind: 'number', relDiffPercent: roundPercent((1 - fc.score) * 100), absDiff: Number(Math.abs((a as number) - (b as number)).toPrecision(12)) };
  }
  if (fc.comparator === 'SemanticSimilarity') {
    const singleToken = typeof a === 'string' && typeof b === 'string' && !WHITESPACE.test(a) && !WHITESPACE.test(b);
    return { path, equal: a === b, kind: 'text', similarity: fc.score, singleToken };
  }
  if (fc.comparator === 'Presence') return { path, equal: false, kind: 'other', oneSided: true };
  return { path, equal: fc.match, kind: 'other' };
}

function roundPercent(p: number): number {
  return Math.round(p * 1e6) / 1e6;
}

/** Compares two runs of the same decision leaf by leaf and says what differed and by how much. */
export async function observeNoise(first: readonly NamedValue[], second: readonly NamedValue[], similarity: SimilarityProvider): Promise<NoiseObservation[]> {
  // Tolerant with tolerance 0 scores every leaf by its kind (similarity, closeness, exact) and never fails one.
  const { fieldComparisons } = await compareOutputs(first, second, 'Tolerant', 0, similarity);
  return fieldComparisons.map(toObservation);
}

/** One field of a profile. */
export const FieldNoiseSchema = z.strictObject({
  path: z.string(),
  class: z.enum(NOISE_CLASSES),
  /** Pairs of runs that had this field. */
  pairs: z.number(),
  /** Pairs whose two runs differed here (`presenceDiffered` of them by having it in one run only). */
  differed: z.number(),
  /** Pairs in which only one of the two runs had this field; absent when none. */
  presenceDiffered: z.optional(z.number()),
  spreadPercent: z.optional(z.number()),
  /** (numeric-noise) The largest `|a − b|` seen; absent in profiles learned before it was kept. */
  spreadAbsolute: z.optional(z.number()),
  similarityFloor: z.optional(z.number()),
});
export type FieldNoise = z.infer<typeof FieldNoiseSchema>;

/** A stored profile: `GET /functions/{fn}/noise-profile`. */
export const NoiseProfileSchema = z.strictObject({
  functionName: z.string(),
  version: z.int(),
  /** The executor the runs went to (its description, no secrets). */
  executor: z.string(),
  /** The recorded model versions of the sampled snapshots (the profile is for those). */
  modelVersions: z.array(z.string()),
  /** The similarity provider text floors were measured with. */
  similarityProvider: z.string(),
  /** Snapshots sampled, and how many of them gave two usable runs. */
  sampleSize: z.number(),
  pairs: z.number(),
  numericSafetyFactor: z.number(),
  fields: z.array(FieldNoiseSchema),
  /** The batch that learned it. */
  batchId: z.string(),
  createdAt: z.string(),
});
export type NoiseProfile = z.infer<typeof NoiseProfileSchema>;

interface FieldTally {
  pairs: number;
  differed: number;
  /** Of `differed`, the pairs where one run had no value here (they say nothing about the values). */
  oneSided: number;
  kinds: Set<NoiseObservation['kind']>;
  maxRel: number;
  /** Largest |a − b| of the differing numeric pairs; NaN once a differing pair had none recorded. */
  maxAbs: number;
  minSim: number;
  allSingleToken: boolean;
}

/** Folds the observations of many pairs into the fields of a profile (constant memory per field path). */
export class NoiseAccumulator {
  private readonly tallies = new Map<string, FieldTally>();
  pairs = 0;
  readonly modelVersions = new Set<string>();
  executor: string | undefined;
  similarityProvider: string | undefined;

  addPair(observations: readonly NoiseObservation[]): void {
    this.pairs += 1;
    for (const o of observations) {
      let t = this.tallies.get(o.path);
      if (t === undefined) {
        t = { pairs: 0, differed: 0, oneSided: 0, kinds: new Set(), maxRel: 0, maxAbs: 0, minSim: 1, allSingleToken: true };
        this.tallies.set(o.path, t);
      }
      t.pairs += 1;
      if (o.oneSided === true) {
        t.differed += 1;
        t.oneSided += 1;
        continue;
      }
      t.kinds.add(o.kind);
      if (o.kind === 'text') {
        t.minSim = Math.min(t.minSim, o.similarity ?? 0);
        if (o.singleToken !== true) t.allSingleToken = false;
      }
      if (o.equal) continue;
      t.differed += 1;
      if (o.kind === 'number') {
        t.maxRel = Math.max(t.maxRel, o.relDiffPercent ?? 100);
        // An observation stored before absDiff was kept leaves the absolute spread unknown (NaN sticks).
        t.maxAbs = Math.max(t.maxAbs, o.absDiff ?? Number.NaN);
      }
    }
  }

  fields(): FieldNoise[] {
    const out: FieldNoise[] = [];
    for (const [path, t] of [...this.tallies].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      out.push(classify(path, t));
    }
    return out;
  }
}

function classify(path: string, t: FieldTally): FieldNoise {
  const base = { path, pairs: t.pairs, differed: t.differed, ...(t.oneSided > 0 && { presenceDiffered: t.oneSided }) };
  // The values' class, from the pairs where both runs had the field.
  const valuePairs = t.pairs - t.oneSided;
  const valueDiffered = t.differed - t.oneSided;
  if (valueDiffered === 0) return { ...base, class: 'stable' };
  const only = t.kinds.size === 1 ? [...t.kinds][0] : undefined;
  if (only === 'number') return { ...base, class: 'numeric-noise', spreadPercent: t.maxRel, ...(!Number.isNaN(t.maxAbs) && { spreadAbsolute: t.maxAbs }) };
  if (only === 'text') {
    if (t.allSingleToken && valueDiffered >= ALWAYS_DIFFERENT_SHARE * valuePairs) return { ...base, class: 'always-different' };
    return { ...base, class: 'text-noise', similarityFloor: t.minSim };
  }
  return { ...base, class: 'always-different' };
}

/** The profile's fields by path, for comparing one replay. */
export function noiseIndex(profile: NoiseProfile): ReadonlyMap<string, FieldNoise> {
  return new Map(profile.fields.map((f) => [f.path, f]));
}

/** Port: versioned profiles per function (like policies: each learned profile is the next version). */
export interface NoiseProfileStore {
  /** Stores the next version; a profile of a batch already stored (a retried step) is returned as it is. */
  putNextVersion(profile: Omit<NoiseProfile, 'version'>): Promise<NoiseProfile>;
  getLatest(functionName: string): Promise<NoiseProfile | undefined>;
  getVersion(functionName: string, version: number): Promise<NoiseProfile | undefined>;
}

/**
 * Pins `noiseProfile: 'latest'` of a batch to the version that is latest now, so every item compares
 * with the same one. 422 when there is none. (Here, not with the noise-profile batch job: starting
 * a batch needs it, and the job brings the executors' errors into what the plan step ships.)
 */
export async function pinNoiseProfile(store: NoiseProfileStore | undefined, functionName: string, choice: 'latest' | 'none' | number | undefined): Promise<number | undefined> {
  if (choice === undefined || choice === 'none') return undefined;
  if (store === undefined) throw new UnprocessableError('noise profiles are not available here', { code: 'NOISE_PROFILES_UNAVAILABLE' });
  const profile = choice === 'latest' ? await store.getLatest(functionName) : await store.getVersion(functionName, choice);
  if (profile) return profile.version;
  if (choice === 'latest') throw new UnprocessableError(`no noise profile has been learned for function '${functionName}'; POST /functions/${functionName}/noise-profile first`, { code: 'NO_NOISE_PROFILE', details: { functionName } });
  throw new NotFoundError('noise profile', `${functionName} version ${choice}`, { message: `function '${functionName}' has no noise profile version ${choice}` });
}

/** A function's noise profile version pinned by a batch over listed snapshot ids. */
export const PinnedNoiseProfileSchema = z.strictObject({ functionName: z.string(), version: z.int() });
export type PinnedNoiseProfile = z.infer<typeof PinnedNoiseProfileSchema>;

/** Listed snapshots read at once while pinning their functions' profiles (one BatchGetItem). */
export const PIN_READ_IDS = 100;
/** Of those reads, how many are in flight at once. */
export const PIN_READS_IN_FLIGHT = 4;

/**
 * Pins `noiseProfile: 'latest'` of a batch over listed snapshot ids (`snapshotIds`, a
 * `snapshotManifest`), as {@link pinNoiseProfile} pins a selection's: the ids name no function, so
 * their snapshots' function names are read (in requests of {@link PIN_READ_IDS}), and each
 * function is pinned to the version that is latest now, so every item of the batch compares with
 * the same profile whichever chunk, function instance or moment it runs in. A single number cannot
 * hold this: version 2 of one function is not version 2 of another. Sorted by function name.
 *
 * 422 NO_NOISE_PROFILE, before anything is written, naming the functions with no profile learned
 * (as a selection of such a function is refused); with `unprofiled: 'leave'` (a schedule, which
 * has no one to refuse) they are left out, and their items record NO_NOISE_PROFILE. An id with no
 * snapshot stored pins nothing (its item records SNAPSHOT_NOT_FOUND, as without a profile).
 * Memory: the function names, not the snapshots.
 */
export async function pinListedNoiseProfiles(
  store: NoiseProfileStore | undefined,
  snapshots: Pick<SnapshotIdIndex, 'functionNamesOf'>,
  snapshotIds: readonly string[],
  options: { unprofiled?: 'refuse' | 'leave' } = {},
): Promise<PinnedNoiseProfile[]> {
  if (store === undefined) throw new UnprocessableError('noise profiles are not available here', { code: 'NOISE_PROFILES_UNAVAILABLE' });
  const functionNames = new Set<string>();
  // A few reads in flight at a time: 100,000 ids are 1,000 reads, well within the API's time.
  for (let i = 0; i < snapshotIds.length; i += PIN_READ_IDS * PIN_READS_IN_FLIGHT) {
    const reads: Promise<Map<string, string>>[] = [];
    for (let j = i; j < Math.min(snapshotIds.length, i + PIN_READ_IDS * PIN_READS_IN_FLIGHT); j += PIN_READ_IDS) reads.push(snapshots.functionNamesOf(snapshotIds.slice(j, j + PIN_READ_IDS)));
    for (const found of await Promise.all(reads)) for (const functionName of found.values()) functionNames.add(functionName);
  }
  const sorted = [...functionNames].sort();
  const profiles = await Promise.all(sorted.map((functionName) => store.getLatest(functionName)));
  const unprofiled = sorted.filter((_, i) => profiles[i] === undefined);
  if (unprofiled.length > 0 && options.unprofiled !== 'leave') {
    const named = unprofiled.map((fn) => `'${fn}'`).join(', ');
    throw new UnprocessableError(`no noise profile has been learned for function${unprofiled.length > 1 ? 's' : ''} ${named} of the listed snapshots; POST /functions/{fn}/noise-profile first, or leave out noiseProfile`, {
      code: 'NO_NOISE_PROFILE',
      details: { functionName: unprofiled[0], functionNames: unprofiled },
    });
  }
  return sorted.flatMap((functionName, i) => {
    const profile = profiles[i];
    return profile === undefined ? [] : [{ functionName, version: profile.version }];
  });
}
