/**
 * Recorded dependencies: the tool, retrieval, http and model calls a decision made, recorded with
 * the snapshot so a replay can serve the same answers again ("recorded" mode) instead of asking a
 * world that has moved on ("live" mode).
 *
 * Shape (on `POST /snapshots`, optional): `dependencies: [{name, kind, request, response, latencyMs}]`.
 * - `name` addresses the call in field paths, so it is unique within a snapshot and a bare path key
 *   (letters, digits, `_ - : / #`). A tool called twice is recorded as `rates` and `rates#2` (the
 *   SDK's helper numbers repeated calls that way, in call order).
 * - Limits: at most {@link MAX_DEPENDENCIES} entries; each entry at most {@link MAX_DEPENDENCY_BYTES}
 *   bytes as canonical JSON (413 naming the entry, nothing written); and the whole snapshot still
 *   fits one DynamoDB item (400 KB, 413).
 * - Field paths: `dependencies.<name>.kind`, `.request…`, `.response…`, `.latencyMs`, e.g.
 *   `dependencies.rates.response.rate` or `dependencies["search#2"].request.query` (see field-path.ts;
 *   `#` is a bare-key character, so `dependencies.rates#2.request` parses as well).
 * - Hashing: `dependencies` is part of the stored snapshot and so of `contentHash`. A snapshot
 *   recorded without dependencies (or with an empty list) stores no `dependencies` key, so every
 *   snapshot recorded before this field existed keeps its exact hash.
 */
import * as z from 'zod/mini';
import { PayloadTooLargeError } from './errors.js';
import { canonicalJson, jsonEquals, type JsonObject } from './json.js';
import { JsonValueSchema, StorableNumberSchema } from './json-value-schema.js';

export const DEPENDENCY_KINDS = ['tool', 'retrieval', 'http', 'model'] as const;
export type DependencyKind = (typeof DEPENDENCY_KINDS)[number];

/** Most dependency calls one snapshot records. */
export const MAX_DEPENDENCIES = 50;
/** Largest single dependency entry, as canonical JSON (UTF-8 bytes). */
export const MAX_DEPENDENCY_BYTES = 32 * 1024;

export const DEPENDENCY_MODES = ['recorded', 'live'] as const;
export type DependencyMode = (typeof DEPENDENCY_MODES)[number];

export const DependencyNameSchema = z.string().check(
  z.minLength(1, 'dependency name must not be empty'),
  z.maxLength(128, 'dependency name must be at most 128 characters'),
  z.regex(/^[A-Za-z0-9_][A-Za-z0-9_:#/-]*$/, 'dependency name may contain letters, digits, _ - : / # and must start with a letter, digit or _ (it is a field-path key)'),
);

const KindSchema = z.enum(DEPENDENCY_KINDS, { error: `kind must be one of ${DEPENDENCY_KINDS.join(', ')}` });
const LatencySchema = StorableNumberSchema.check(z.gte(0, 'latencyMs must be >= 0'), z.lte(86_400_000, 'latencyMs must be at most a day'));

/** One recorded dependency call. */
export const DependencySchema = z.strictObject({
  name: DependencyNameSchema,
  kind: KindSchema,
  request: JsonValueSchema,
  response: JsonValueSchema,
  latencyMs: LatencySchema,
});
export type Dependency = z.infer<typeof DependencySchema>;

function uniqueDependencyNames() {
  return z.superRefine((entries: { name: string }[], ctx) => {
    const seen = new Set<string>();
    entries.forEach((entry, index) => {
      if (seen.has(entry.name)) ctx.issues.push({ code: 'custom', message: `duplicate dependency name '${entry.name}' (record repeated calls as '${entry.name}#2', …)`, input: entry.name, path: [index, 'name'] });
      seen.add(entry.name);
    });
  });
}

/** `dependencies` of a recorded snapshot. */
export const DependenciesSchema = z.array(DependencySchema).check(
  z.maxLength(MAX_DEPENDENCIES, `a snapshot records at most ${MAX_DEPENDENCIES} dependency calls`),
  uniqueDependencyNames(),
);

/**
 * A dependency call as an executor reports it in its answer (`dependencies` beside `outputs`): what
 * the candidate asked; the response is optional (in recorded mode it was the recorded one).
 */
export const ReportedDependencySchema = z.strictObject({
  name: DependencyNameSchema,
  kind: KindSchema,
  request: JsonValueSchema,
  response: z.optional(JsonValueSchema),
  latencyMs: z.optional(LatencySchema),
});
export type ReportedDependency = z.infer<typeof ReportedDependencySchema>;

export const ReportedDependenciesSchema = z.array(ReportedDependencySchema).check(
  z.maxLength(MAX_DEPENDENCIES, `an executor reports at most ${MAX_DEPENDENCIES} dependency calls`),
  uniqueDependencyNames(),
);

/**
 * Refuses (413, nothing written) a dependency entry larger than {@link MAX_DEPENDENCY_BYTES}, naming it.
 */
export function assertDependencySizes(dependencies: readonly Dependency[] | undefined): void {
  if (dependencies === undefined) return;
  dependencies.forEach((dep, index) => {
    const bytes = Buffer.byteLength(canonicalJson(dep), 'utf8');
    if (bytes > MAX_DEPENDENCY_BYTES) {
      throw new PayloadTooLargeError(
        `dependencies[${index}] ('${dep.name}') is ${bytes} bytes as canonical JSON; one dependency call may record at most ${MAX_DEPENDENCY_BYTES} bytes — record a summary of the response instead`,
        MAX_DEPENDENCY_BYTES,
        bytes,
      );
    }
  });
}

/** The path document of dependencies: an object keyed by call name (see field-path syntax above). */
export function dependenciesToObject(dependencies: readonly (Dependency | ReportedDependency)[]): JsonObject {
  // Object.fromEntries defines each name as an own key: `out[name] =` would turn a call named
  // `__proto__` into the prototype (see namedValuesToObject).
  return Object.fromEntries(
    dependencies.map((d) => {
      const entry: JsonObject = { kind: d.kind, request: d.request };
      if (d.response !== undefined) entry.response = d.response;
      if (d.latencyMs !== undefined) entry.latencyMs = d.latencyMs;
      return [d.name, entry];
    }),
  ) as JsonObject;
}

export const DEPENDENCY_CALL_STATUSES = ['unchanged', 'changed', 'new', 'missing'] as const;
export type DependencyCallStatus = (typeof DEPENDENCY_CALL_STATUSES)[number];

/**
 * One dependency call of a replay, set against the recorded call of the same name. `status`:
 * unchanged — asked the same; changed — the request (or kind) differs; new — not recorded;
 * missing — recorded, not asked. `recordedRequest` is absent for `new`, `request` for `missing`.
 */
export const DependencyCallComparisonSchema = z.strictObject({
  name: z.string(),
  kind: KindSchema,
  status: z.enum(DEPENDENCY_CALL_STATUSES),
  recordedRequest: z.optional(JsonValueSchema),
  request: z.optional(JsonValueSchema),
});
export type DependencyCallComparison = z.infer<typeof DependencyCallComparisonSchema>;

/**
 * The dependency part of a replay result: the mode the replay ran in, whether the executor reported
 * the calls the candidate made (when false, `calls` is empty: nothing is known), the calls, and
 * counts by status.
 */
export const DependencyReplaySchema = z.strictObject({
  mode: z.enum(DEPENDENCY_MODES),
  reported: z.boolean(),
  calls: z.array(DependencyCallComparisonSchema),
  counts: z.strictObject({ unchanged: z.int(), changed: z.int(), new: z.int(), missing: z.int() }),
});
export type DependencyReplay = z.infer<typeof DependencyReplaySchema>;

/**
 * Sets the calls a candidate reported against the recorded ones, by name: recorded order first
 * (unchanged / changed / missing), then the calls only the candidate made (new), in its order.
 */
export function compareDependencies(recorded: readonly Dependency[], reported: readonly ReportedDependency[]): DependencyCallComparison[] {
  const byName = new Map(reported.map((r) => [r.name, r] as const));
  const out: DependencyCallComparison[] = [];
  for (const rec of recorded) {
    const cand = byName.get(rec.name);
    if (cand === undefined) {
      out.push({ name: rec.name, kind: rec.kind, status: 'missing', recordedRequest: rec.request });
      continue;
    }
    const same = cand.kind === rec.kind && jsonEquals(cand.request, rec.request);
    out.push({ name: rec.name, kind: cand.kind, status: same ? 'unchanged' : 'changed', recordedRequest: rec.request, request: cand.request });
  }
  const recordedNames = new Set(recorded.map((r) => r.name));
  for (const cand of reported) if (!recordedNames.has(cand.name)) out.push({ name: cand.name, kind: cand.kind, status: 'new', request: cand.request });
  return out;
}

/** Counts of each status (every status present, 0 when none). */
export function countDependencyStatuses(calls: readonly DependencyCallComparison[]): Record<DependencyCallStatus, number> {
  const counts: Record<DependencyCallStatus, number> = { unchanged: 0, changed: 0, new: 0, missing: 0 };
  for (const c of calls) counts[c.status] += 1;
  return counts;
}
