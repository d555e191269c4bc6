/**
 * Structural diff of two decisions (DESIGN §4): one change per changed leaf, addressed by the
 * field-path syntax of field-path.ts, over the path documents of {@link toPathDocument} (so input
 * and output entries are matched by `name`; arrays inside values are compared by index).
 *
 * Shape of a change in JSON: an `Added` change has no `oldValue` key and a `Removed` change has no
 * `newValue` key (the key is omitted, not `null`, because `null` is itself a JSON value that a
 * field can hold and change to).
 *
 * The walk is hot (it runs on every replay and on 1 MB documents), so it keeps one stack of path
 * segments and formats a path string only when it emits a change; it allocates nothing per
 * unchanged node.
 */
import { appendSegment, type PathSegment } from './field-path.js';
import type { JsonObject, JsonValue } from './json.js';
import * as z from 'zod/mini';
import { IntegritySchema, JsonValueSchema, toPathDocument, type DecisionView } from './snapshot.js';

export const ChangeTypeSchema = z.enum(['Added', 'Removed', 'Modified']);
export type ChangeType = z.infer<typeof ChangeTypeSchema>;

/**
 * One changed leaf (or the root of an added / removed subtree, or a place where the type changed,
 * e.g. object → string). `oldValue` is absent for `Added`, `newValue` is absent for `Removed`.
 */
export const FieldChangeSchema = z.strictObject({
  path: z.string(),
  changeType: ChangeTypeSchema,
  oldValue: z.optional(JsonValueSchema),
  newValue: z.optional(JsonValueSchema),
});
export type FieldChange = z.infer<typeof FieldChangeSchema>;

/**
 * The result of `GET /snapshots/{id}/diff/{otherId}`.
 * - `inputsChanged` / `outputsChanged` / `modelParamsChanged` / `dependenciesChanged`: some change
 *   lies under `inputs` / `outputs` / `modelParameters` / `dependencies` (including it appearing or
 *   disappearing). `dependenciesChanged` is set by every diff this service computes; results stored
 *   before dependencies existed lack it.
 * - `executionTimeDeltaMs`: `updated.executionTimeMs − original.executionTimeMs`; 0 when either
 *   snapshot did not record an execution time (there is nothing to subtract, and the diff's
 *   `changes` then show the field as Added or Removed).
 */
export const SnapshotDiffSchema = z.strictObject({
  changes: z.array(FieldChangeSchema),
  inputsChanged: z.boolean(),
  outputsChanged: z.boolean(),
  modelParamsChanged: z.boolean(),
  dependenciesChanged: z.optional(z.boolean()),
  executionTimeDeltaMs: z.number(),
});
export type SnapshotDiff = z.infer<typeof SnapshotDiffSchema>;

/**
 * The answer of `GET /snapshots/{id}/diff/{otherId}`: the diff, and whether each snapshot still
 * matches its contentHash. A diff of an altered snapshot is a diff of what the table holds now, not
 * of what was recorded; `integrity` says so beside it (and the `content-integrity` header is
 * `tampered` when either side is).
 */
export const SnapshotDiffAnswerSchema = z.extend(SnapshotDiffSchema, {
  integrity: z.strictObject({ original: IntegritySchema, updated: IntegritySchema }),
});
export type SnapshotDiffAnswer = z.infer<typeof SnapshotDiffAnswerSchema>;

/** Mutable walk state: the output list, the path prefix and the segments below it. */
interface Walk {
  readonly out: FieldChange[];
  readonly base: string;
  readonly segs: PathSegment[];
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Reads `obj[key]` as an own property. JSON never holds `undefined` or functions, so either one
 * means "absent" — which also rejects inherited members such as `constructor` — and `__proto__`,
 * whose inherited getter returns an object, is checked with hasOwnProperty.
 */
function ownValue(obj: JsonObject, key: string): JsonValue | undefined {
  const v = obj[key];
  if (v === undefined || typeof v === 'function') return undefined;
  if (key === '__proto__' && !hasOwn.call(obj, key)) return undefined;
  return v;
}

function currentPath(w: Walk): string {
  let p = w.base;
  const segs = w.segs;
  for (let i = 0; i < segs.length; i++) p = appendSegment(p, segs[i] as PathSegment);
  return p;
}

function emitModified(w: Walk, oldValue: JsonValue, newValue: JsonValue): void {
  w.out.push({ path: currentPath(w), changeType: 'Modified', oldValue, newValue });
}

function diffValue(w: Walk, a: JsonValue, b: JsonValue): void {
  if (a === b) return;
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) {
    const aArr = Array.isArray(a);
    if (aArr !== Array.isArray(b)) {
      emitModified(w, a, b);
    } else if (aArr) {
      diffArray(w, a as JsonValue[], b as JsonValue[]);
    } else {
      diffObject(w, a as JsonObject, b as JsonObject);
    }
    return;
  }
  // Primitives that are not === (JSON has no NaN; -0 === 0 holds), or a primitive vs a container.
  emitModified(w, a, b);
}

function diffObject(w: Walk, a: JsonObject, b: JsonObject): void {
  const segs = w.segs;
  for (const key in a) {
    const av = a[key] as JsonValue;
    const bv = ownValue(b, key);
    if (av === bv) continue;
    segs.push(key);
    if (bv === undefined) {
      w.out.push({ path: currentPath(w), changeType: 'Removed', oldValue: av });
    } else {
      diffValue(w, av, bv);
    }
    segs.pop();
  }
  for (const key in b) {
    if (ownValue(a, key) !== undefined) continue;
    segs.push(key);
    w.out.push({ path: currentPath(w), changeType: 'Added', newValue: b[key] as JsonValue });
    segs.pop();
  }
}

function diffArray(w: Walk, a: JsonValue[], b: JsonValue[]): void {
  const segs = w.segs;
  const common = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < common; i++) {
    const av = a[i] as JsonValue;
    const bv = b[i] as JsonValue;
    if (av === bv) continue;
    segs.push(i);
    diffValue(w, av, bv);
    segs.pop();
  }
  for (let i = common; i < a.length; i++) {
    segs.push(i);
    w.out.push({ path: currentPath(w), changeType: 'Removed', oldValue: a[i] as JsonValue });
    segs.pop();
  }
  for (let i = common; i < b.length; i++) {
    segs.push(i);
    w.out.push({ path: currentPath(w), changeType: 'Added', newValue: b[i] as JsonValue });
    segs.pop();
  }
}

/**
 * Diffs two JSON values. Paths are prefixed with `basePath` (e.g. `outputs` gives
 * `outputs.decision`); with the default `''` a change of the root itself has the path `''`.
 * Objects are compared key by key (order ignored), arrays index by index; an added or removed key
 * or array tail element is one change at its root; a container that changes kind (object → array,
 * object → string, …) is one `Modified` at that path.
 */
export function diffJson(a: JsonValue, b: JsonValue, basePath = ''): FieldChange[] {
  const w: Walk = { out: [], base: basePath, segs: [] };
  diffValue(w, a, b);
  return w.out;
}

function under(path: string, root: string): boolean {
  if (!path.startsWith(root)) return false;
  const next = path.charCodeAt(root.length);
  // End of path, '.' or '[': the path lies at or under `root`, not under e.g. `inputsX`.
  return Number.isNaN(next) || next === 46 || next === 91;
}

/**
 * Diffs two decisions field by field (`original` → `updated`). Ids, timestamps and hashes are not
 * part of a decision's path document and so are never changes.
 */
export function diffSnapshots(original: DecisionView, updated: DecisionView): SnapshotDiff {
  const changes = diffJson(toPathDocument(original), toPathDocument(updated));
  let inputsChanged = false;
  let outputsChanged = false;
  let modelParamsChanged = false;
  let dependenciesChanged = false;
  for (const c of changes) {
    if (under(c.path, 'inputs')) inputsChanged = true;
    else if (under(c.path, 'outputs')) outputsChanged = true;
    else if (under(c.path, 'modelParameters')) modelParamsChanged = true;
    else if (under(c.path, 'dependencies')) dependenciesChanged = true;
  }
  // Rounded to a nanosecond: 0.91 − 0.85 should read 0.06, not 0.06000000000000005.
  const executionTimeDeltaMs = original.executionTimeMs !== undefined && updated.executionTimeMs !== undefined ? Math.round((updated.executionTimeMs - original.executionTimeMs) * 1e6) / 1e6 : 0;
  return { changes, inputsChanged, outputsChanged, modelParamsChanged, dependenciesChanged, executionTimeDeltaMs };
}
