/**
 * The decision snapshot: what a client records, what the service stores, and the hashes that make
 * it tamper-evident. See DESIGN §3.
 */
import * as z from 'zod/mini';
import { canonicalHash, type JsonObject } from './json.js';
import { JsonObjectSchema, JsonValueSchema, StorableNumberSchema } from './json-value-schema.js';
import { issueLine, toFieldIssues } from './schema-util.js';
import { pageSchema } from './ports.js';
import { DependenciesSchema, dependenciesToObject, type Dependency, type ReportedDependency } from './dependencies.js';

/** The schema version written into every stored snapshot. */
export const SNAPSHOT_SCHEMA_VERSION = 1;

const FUNCTION_NAME_MAX_LENGTH = 200;
const FUNCTION_NAME_ALPHABET = 'letters, digits, _ . : -';

/** What a function name may be, in words ({@link FunctionNameSchema}'s rule, for messages that check names before sending). */
export const FUNCTION_NAME_RULE = `${FUNCTION_NAME_ALPHABET}, starting with a letter or digit, at most ${FUNCTION_NAME_MAX_LENGTH} characters`;

/** Function names appear in keys and URL paths, so they are kept to a safe alphabet. */
export const FunctionNameSchema = z.string().check(
  z.minLength(1, 'functionName must not be empty'),
  z.maxLength(FUNCTION_NAME_MAX_LENGTH, `functionName must be at most ${FUNCTION_NAME_MAX_LENGTH} characters`),
  z.regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, `functionName may contain ${FUNCTION_NAME_ALPHABET} and must start with a letter or digit`),
);

export { JsonObjectSchema, JsonTreeSchema, JsonValueSchema, StorableNumberSchema } from './json-value-schema.js';

/** One named input or output of a decision. `type` is metadata only. */
export const NamedValueSchema = z.strictObject({
  name: z.string().check(z.minLength(1, 'name must not be empty'), z.maxLength(256)),
  value: JsonValueSchema,
  type: z.optional(z.string().check(z.maxLength(64))),
});
export type NamedValue = z.infer<typeof NamedValueSchema>;

function uniqueNames(kind: string) {
  return z.superRefine((entries: NamedValue[], ctx) => {
    const seen = new Set<string>();
    entries.forEach((entry, index) => {
      if (seen.has(entry.name)) {
        ctx.issues.push({ code: 'custom', message: `duplicate ${kind} name '${entry.name}' (names address values in field paths)`, input: entry.name, path: [index, 'name'] });
      }
      seen.add(entry.name);
    });
  });
}

export const ModelParametersSchema = z.strictObject({
  modelName: z.string().check(z.minLength(1, 'modelName must not be empty'), z.maxLength(256)),
  modelVersion: z.optional(z.string().check(z.maxLength(256))),
  temperature: z.optional(z.number().check(z.gte(0), z.lte(100))),
  maxTokens: z.optional(z.int().check(z.gte(0))),
  topP: z.optional(z.number().check(z.gte(0), z.lte(1))),
  seed: z.optional(z.int()),
  extra: z.optional(JsonObjectSchema),
});
export type ModelParameters = z.infer<typeof ModelParametersSchema>;

/**
 * A lone UTF-16 surrogate (JSON allows `"\ud800"`) has no UTF-8 form: JCS refuses to hash it and
 * DynamoDB would store U+FFFD instead, so the stored snapshot would no longer match its hash.
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

function loneSurrogatePaths(value: unknown, path: PropertyKey[], out: PropertyKey[][]): void {
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) out.push(path);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => loneSurrogatePaths(v, [...path, i], out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (LONE_SURROGATE.test(k)) out.push([...path, k]);
      else loneSurrogatePaths(v, [...path, k], out);
    }
  }
}

const wellFormedText = z.superRefine((body: object, ctx) => {
  const paths: PropertyKey[][] = [];
  loneSurrogatePaths(body, [], paths);
  for (const path of paths) ctx.issues.push({ code: 'custom', message: 'text is not valid Unicode (a lone UTF-16 surrogate)', input: body, path });
});

/** The body of `POST /snapshots`: a decision as the client recorded it. */
export const RecordSnapshotSchema = z.strictObject({
  functionName: FunctionNameSchema,
  inputs: z.array(NamedValueSchema).check(z.maxLength(1000), uniqueNames('input')),
  outputs: z.array(NamedValueSchema).check(z.minLength(1, 'a decision needs at least one output'), z.maxLength(1000), uniqueNames('output')),
  modelParameters: z.optional(ModelParametersSchema),
  context: z.optional(JsonObjectSchema),
  executionTimeMs: z.optional(StorableNumberSchema.check(z.gte(0, 'executionTimeMs must be >= 0'))),
  tags: z.optional(z.record(z.string().check(z.maxLength(128)), z.string().check(z.maxLength(256)))),
  /** The tool / retrieval / http / model calls the decision made (see dependencies.ts). */
  dependencies: z.optional(DependenciesSchema),
}).check(wellFormedText);
export type RecordSnapshot = z.infer<typeof RecordSnapshotSchema>;

/** A snapshot as stored and as `GET /snapshots/{id}` returns it. */
export const SnapshotSchema = z.strictObject({
  snapshotId: z.string(),
  createdAt: z.string(),
  schemaVersion: z.number(),
  functionName: z.string(),
  inputs: z.array(NamedValueSchema),
  outputs: z.array(NamedValueSchema),
  modelParameters: z.optional(ModelParametersSchema),
  context: z.optional(JsonObjectSchema),
  executionTimeMs: z.optional(z.number()),
  tags: z.optional(z.record(z.string(), z.string())),
  dependencies: z.optional(DependenciesSchema),
  inputsHash: z.string(),
  contentHash: z.string(),
});
export type Snapshot = z.infer<typeof SnapshotSchema>;

/** `inputsHash`: SHA-256 of the JCS form of `{functionName, inputs}` exactly as recorded. */
export function computeInputsHash(functionName: string, inputs: readonly NamedValue[]): string {
  return canonicalHash({ functionName, inputs });
}

/** `contentHash`: SHA-256 of the JCS form of the stored snapshot without its `contentHash` field. */
export function computeContentHash(snapshot: Omit<Snapshot, 'contentHash'> & { contentHash?: string }): string {
  const { contentHash: _ignored, ...rest } = snapshot;
  return canonicalHash(rest);
}

/** Whether a record's snapshot still matched its contentHash when it was read (DESIGN §5). */
export const IntegritySchema = z.enum(['verified', 'tampered']);
export type Integrity = z.infer<typeof IntegritySchema>;

/**
 * What is wrong with a stored snapshot as a snapshot (`outputs: required (array)`, …), or
 * undefined when it parses. Every snapshot the service writes parses; one that does not was altered
 * behind the service (an `UpdateItem REMOVE outputs`, a value of a type JSON has not), so it is
 * tampered whatever its `contentHash` says.
 */
export function storedSnapshotProblems(stored: Snapshot): string[] | undefined {
  const parsed = SnapshotSchema.safeParse(stored);
  if (parsed.success) return undefined;
  return toFieldIssues(parsed.error).map(issueLine);
}

const SNAPSHOT_KEYS: ReadonlySet<string> = new Set(Object.keys(SnapshotSchema.shape));

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isEntryList = (v: unknown): boolean => Array.isArray(v) && v.every((e) => isObject(e) && typeof e.name === 'string' && e.value !== undefined && (e.type === undefined || typeof e.type === 'string'));

/**
 * The shape every route reads a snapshot by, checked cheaply (this runs on every read and replay;
 * the full schema costs about as much again as the hash): only snapshot attributes, ids and
 * hashes as strings, named entries, model parameters with a name, and so on. A record the service
 * wrote always has it; values themselves are covered by the content hash.
 */
function hasSnapshotShape(s: Snapshot): boolean {
  const r = s as unknown as Record<string, unknown>;
  if (!isObject(r) || !Object.keys(r).every((k) => SNAPSHOT_KEYS.has(k))) return false;
  const optional = (v: unknown, test: (v: unknown) => boolean) => v === undefined || test(v);
  return (
    typeof r.snapshotId === 'string' &&
    typeof r.createdAt === 'string' &&
    typeof r.schemaVersion === 'number' &&
    typeof r.functionName === 'string' &&
    typeof r.inputsHash === 'string' &&
    typeof r.contentHash === 'string' &&
    isEntryList(r.inputs) &&
    isEntryList(r.outputs) &&
    optional(r.modelParameters, (m) => isObject(m) && typeof m.modelName === 'string') &&
    optional(r.context, isObject) &&
    optional(r.executionTimeMs, (n) => typeof n === 'number') &&
    optional(r.tags, isObject) &&
    optional(r.dependencies, Array.isArray)
  );
}

/**
 * True when the stored snapshot has a snapshot's shape and its recorded `contentHash` matches its
 * content: the one integrity check of every route (the `content-integrity` header, replay,
 * validation, reports, noise profiles). A record that is no snapshot any more is tampered even if
 * whoever altered it recomputed the hash.
 */
export function verifyContentHash(snapshot: Snapshot): boolean {
  return hasSnapshotShape(snapshot) && contentHashOf(snapshot) === snapshot.contentHash;
}

/** {@link verifyContentHash} as the verdict routes and reports state. */
export function integrityOf(snapshot: Snapshot): Integrity {
  return verifyContentHash(snapshot) ? 'verified' : 'tampered';
}

/**
 * A listed snapshot that no longer matches its `contentHash`: its position in the page's `items`,
 * and its `snapshotId` when what is stored still has one (whoever altered it may have removed it).
 */
export const TamperedListingSchema = z.strictObject({ index: z.int().check(z.gte(0)), snapshotId: z.optional(z.string()) });
export type TamperedListing = z.infer<typeof TamperedListingSchema>;

/**
 * A page of snapshots as `GET /snapshots` answers it: `{items, nextCursor?}` as every list route,
 * and, only when some listed snapshot no longer matches its hash, `tampered` naming each (the page
 * lists stored content as it is, as a read does; this is a read's `content-integrity` per item).
 */
export const SnapshotListPageSchema = z.extend(pageSchema(SnapshotSchema), { tampered: z.optional(z.array(TamperedListingSchema)) });
export type SnapshotListPage = z.infer<typeof SnapshotListPageSchema>;

/** Which of `items` no longer match their contentHash ({@link verifyContentHash} on each). */
export function tamperedListings(items: readonly Snapshot[]): TamperedListing[] {
  const tampered: TamperedListing[] = [];
  items.forEach((item, index) => {
    if (verifyContentHash(item)) return;
    const id: unknown = (item as { snapshotId?: unknown }).snapshotId;
    tampered.push(typeof id === 'string' ? { index, snapshotId: id } : { index });
  });
  return tampered;
}

/** The content hash of a stored snapshot, or undefined when its content has no JSON form. */
export function contentHashOf(snapshot: Snapshot): string | undefined {
  try {
    return computeContentHash(snapshot);
  } catch {
    return undefined;
  }
}

/**
 * A stored snapshot as the routes that read its fields (diff, validation, reports) see it: the
 * snapshot itself when it parses; otherwise (a tampered one, see {@link storedSnapshotProblems})
 * the parts that still parse — each top-level field that parses by its own schema, the input and
 * output entries that parse — so those routes answer about what is readable instead of failing.
 * Its integrity is reported apart ({@link verifyContentHash}); this view is never stored or hashed.
 */
export function readableSnapshot(stored: Snapshot): Snapshot {
  if (SnapshotSchema.safeParse(stored).success) return stored;
  const raw = (stored !== null && typeof stored === 'object' ? stored : {}) as Record<string, unknown>;
  const view: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(SnapshotSchema.shape) as [string, z.ZodMiniType][]) {
    const value = raw[key];
    if (key === 'inputs' || key === 'outputs') {
      const entries = Array.isArray(value) ? value.filter((e) => NamedValueSchema.safeParse(e).success) : [];
      const seen = new Set<string>();
      view[key] = (entries as NamedValue[]).filter((e) => !seen.has(e.name) && seen.add(e.name));
    } else if (value !== undefined && schema.safeParse(value).success) {
      view[key] = value;
    }
  }
  for (const key of ['snapshotId', 'createdAt', 'functionName', 'inputsHash', 'contentHash'] as const) if (typeof view[key] !== 'string') view[key] = '';
  if (typeof view.schemaVersion !== 'number') view.schemaVersion = SNAPSHOT_SCHEMA_VERSION;
  return view as Snapshot;
}

/** Builds the stored snapshot from a recorded one, with its id, creation time and hashes. */
export function buildSnapshot(recorded: RecordSnapshot, snapshotId: string, createdAt: string): Snapshot {
  const base: Omit<Snapshot, 'contentHash'> = {
    snapshotId,
    createdAt,
    schemaVersion: SNAPSHOT_SCHEMA_VERSION,
    functionName: recorded.functionName,
    inputs: recorded.inputs.map(cleanNamedValue),
    outputs: recorded.outputs.map(cleanNamedValue),
    ...(recorded.modelParameters !== undefined && { modelParameters: recorded.modelParameters }),
    ...(recorded.context !== undefined && { context: recorded.context }),
    ...(recorded.executionTimeMs !== undefined && { executionTimeMs: recorded.executionTimeMs }),
    ...(recorded.tags !== undefined && { tags: recorded.tags }),
    // Absent (not []) when there are none: snapshots without dependencies keep their exact hashes.
    ...(recorded.dependencies !== undefined && recorded.dependencies.length > 0 && { dependencies: recorded.dependencies.map(cleanDependency) }),
    inputsHash: computeInputsHash(recorded.functionName, recorded.inputs.map(cleanNamedValue)),
  };
  return { ...base, contentHash: computeContentHash(base) };
}

function cleanDependency(d: Dependency): Dependency {
  return { name: d.name, kind: d.kind, request: d.request, response: d.response, latencyMs: d.latencyMs };
}

function cleanNamedValue(entry: NamedValue): NamedValue {
  return entry.type === undefined ? { name: entry.name, value: entry.value } : { name: entry.name, value: entry.value, type: entry.type };
}

/** The parts of a decision that field paths address; a recorded snapshot and a replayed decision both have them. */
export interface DecisionView {
  functionName: string;
  inputs: readonly NamedValue[];
  outputs: readonly NamedValue[];
  modelParameters?: ModelParameters | undefined;
  context?: JsonObject | undefined;
  executionTimeMs?: number | undefined;
  tags?: Record<string, string> | undefined;
  /** Recorded calls (a snapshot) or the calls a candidate reported (a replayed decision). */
  dependencies?: readonly (Dependency | ReportedDependency)[] | undefined;
}

/**
 * The JSON document field paths are read from: top-level fields as they are, and `inputs` /
 * `outputs` as objects keyed by entry name whose values are the entries' values. Ids, timestamps
 * and hashes are not part of it (they are never "changes").
 */
export function toPathDocument(decision: DecisionView): JsonObject {
  const doc: JsonObject = {
    functionName: decision.functionName,
    inputs: namedValuesToObject(decision.inputs),
    outputs: namedValuesToObject(decision.outputs),
  };
  if (decision.modelParameters !== undefined) doc.modelParameters = decision.modelParameters as JsonObject;
  if (decision.context !== undefined) doc.context = decision.context;
  if (decision.executionTimeMs !== undefined) doc.executionTimeMs = decision.executionTimeMs;
  if (decision.tags !== undefined) doc.tags = decision.tags;
  if (decision.dependencies !== undefined) doc.dependencies = dependenciesToObject(decision.dependencies);
  return doc;
}

/**
 * Entries keyed by `name`, each an own property: Object.fromEntries defines the keys, where `out[name] =`
 * would make an entry named `__proto__` the object's prototype instead of a key, so that entry
 * vanished from diffs, replay comparisons and rules (a changed output compared as a match).
 */
export function namedValuesToObject(entries: readonly NamedValue[]): JsonObject {
  return Object.fromEntries(entries.map((e) => [e.name, e.value])) as JsonObject;
}

/** The top-level keys a field path may start with. */
export const PATH_ROOTS = ['functionName', 'inputs', 'outputs', 'modelParameters', 'context', 'executionTimeMs', 'tags', 'dependencies'] as const;
