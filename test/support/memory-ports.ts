/**
 * In-memory fakes of the core's ports for unit tests (no module mocking), one implementation each,
 * so every unit test exercises the core against the same behaviour. They mimic what the DynamoDB
 * adapters guarantee and what the core relies on:
 * - values are copied in and out with `structuredClone`, as a real store never hands back the
 *   object it was given nor lets a caller mutate what is stored;
 * - keys and orders follow the table's: snapshots by `createdAt#snapshotId`, reports by
 *   `(snapshotId, createdAt, reportId)`, history lists newest first;
 * - one page only: they never issue a cursor, so a cursor reaching them is a test's mistake and
 *   throws rather than silently restarting at the first page.
 * The fields (`items`, `versions`, `results`, counters) are public so a test can arrange state or
 * tamper with it directly, as a test against the table would through the DynamoDB API.
 */
import type { ExecutorConfig, ExecutorConfigStore, StoredExecutorConfig } from '../../functions/core/executor.js';
import type { OnWriteReportStore } from '../../functions/core/on-write.js';
import { buildStoredPolicy, type PolicyBody, type PolicyStore, type StoredPolicy } from '../../functions/core/policy.js';
import type { Clock, IdempotencyRecord, IdGenerator, Page, SnapshotIdIndex, SnapshotQuery, SnapshotStore } from '../../functions/core/ports.js';
import type { ReplayResult, ReplayResultStore } from '../../functions/core/replay.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import type { ValidationReport } from '../../functions/core/validation.js';
import type { ManifestRef, ManifestStore } from '../../functions/core/batch.js';
import { NotFoundError, PayloadTooLargeError } from '../../functions/core/errors.js';

function refuseCursor(store: string, cursor: string | undefined): void {
  if (cursor !== undefined) throw new Error(`${store}: the in-memory fake returns one page and never issued cursor '${cursor}'`);
}

/** Snapshots by id; lists and finds baselines the way GSI1 and GSI2 order them (`createdAt#snapshotId`). */
export class MemorySnapshotStore implements SnapshotStore, SnapshotIdIndex {
  readonly items = new Map<string, Snapshot>();
  /** How many times `get` was called: the replay engine must re-read a snapshot for its integrity check. */
  reads = 0;

  assertStorable(): void {}

  putIfAbsent(snapshot: Snapshot): Promise<boolean> {
    if (this.items.has(snapshot.snapshotId)) return Promise.resolve(false);
    this.items.set(snapshot.snapshotId, structuredClone(snapshot));
    return Promise.resolve(true);
  }

  get(snapshotId: string): Promise<Snapshot | undefined> {
    this.reads += 1;
    const s = this.items.get(snapshotId);
    return Promise.resolve(s === undefined ? undefined : structuredClone(s));
  }

  /** How many times `getMany` was called (one request, whatever the number of ids). */
  manyReads = 0;

  getMany(snapshotIds: readonly string[]): Promise<Map<string, Snapshot>> {
    this.manyReads += 1;
    const found = new Map<string, Snapshot>();
    for (const id of snapshotIds) {
      const s = this.items.get(id);
      if (s !== undefined) found.set(id, structuredClone(s));
    }
    return Promise.resolve(found);
  }

  /** How many times `functionNamesOf` was called (one request, whatever the number of ids). */
  nameReads = 0;

  functionNamesOf(snapshotIds: readonly string[]): Promise<Map<string, string>> {
    this.nameReads += 1;
    const found = new Map<string, string>();
    for (const id of snapshotIds) {
      const s = this.items.get(id);
      if (s !== undefined) found.set(id, s.functionName);
    }
    return Promise.resolve(found);
  }

  /** As the GSI1 query does: one function, inclusive `from`/`to`, oldest first unless `order` is 'desc'. */
  list(query: SnapshotQuery): Promise<Page<Snapshot>> {
    refuseCursor('MemorySnapshotStore.list', query.cursor);
    const inRange = [...this.items.values()]
      .filter((s) => s.functionName === query.functionName && (query.from === undefined || s.createdAt >= query.from) && (query.to === undefined || s.createdAt <= query.to))
      .sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    if (query.order === 'desc') inRange.reverse();
    return Promise.resolve({ items: inRange.slice(0, query.limit).map((s) => structuredClone(s)) });
  }

  /** As `list`, only the ids. */
  async listIds(query: SnapshotQuery): Promise<Page<string>> {
    const page = await this.list(query);
    return { items: page.items.map((s) => s.snapshotId) };
  }

  /** As the GSI2 query does: same function and inputsHash, strictly earlier by (createdAt, id), latest first. */
  findPreviousWithSameInputs(snapshot: Snapshot): Promise<Snapshot | undefined> {
    const earlier = [...this.items.values()]
      .filter((s) => s.functionName === snapshot.functionName && s.inputsHash === snapshot.inputsHash && order(s) < order(snapshot))
      .sort((a, b) => (order(a) < order(b) ? 1 : -1));
    return Promise.resolve(earlier[0] === undefined ? undefined : structuredClone(earlier[0]));
  }

  /** Every key is claimed: the recording path's idempotency is tested against the real store. */
  readonly idempotency = new Map<string, IdempotencyRecord>();

  /** As the conditional put does: the first claim wins, later ones see it. */
  claimIdempotencyKey(record: IdempotencyRecord): Promise<{ claimed: true } | { claimed: false; existing: IdempotencyRecord }> {
    const existing = this.idempotency.get(record.key);
    if (existing) return Promise.resolve({ claimed: false, existing: { ...existing } });
    this.idempotency.set(record.key, { ...record });
    return Promise.resolve({ claimed: true });
  }

  releaseIdempotencyKey(record: IdempotencyRecord): Promise<void> {
    if (this.idempotency.get(record.key)?.snapshotId === record.snapshotId) this.idempotency.delete(record.key);
    return Promise.resolve();
  }
}

/** The GSI sort key of a snapshot: ties on `createdAt` are broken by id, as in the table. */
function order(s: Snapshot): string {
  return `${s.createdAt}#${s.snapshotId}`;
}

/** Every version of every policy, by name; version n is `versions.get(name)[n - 1]`. */
export class MemoryPolicyStore implements PolicyStore {
  readonly versions = new Map<string, StoredPolicy[]>();

  putNextVersion(body: PolicyBody & { name: string }, createdAt: string): Promise<StoredPolicy> {
    const list = this.versions.get(body.name) ?? [];
    const stored = buildStoredPolicy(body, list.length + 1, createdAt);
    list.push(stored);
    this.versions.set(body.name, list);
    return Promise.resolve(structuredClone(stored));
  }

  getLatest(name: string): Promise<StoredPolicy | undefined> {
    return Promise.resolve(copy(this.versions.get(name)?.at(-1)));
  }

  getVersion(name: string, version: number): Promise<StoredPolicy | undefined> {
    return Promise.resolve(copy(this.versions.get(name)?.[version - 1]));
  }

  /** Latest versions, by name. */
  list(limit: number, cursor?: string): Promise<{ items: StoredPolicy[] }> {
    refuseCursor('MemoryPolicyStore.list', cursor);
    return Promise.resolve({ items: this.latest().sort((a, b) => (a.name < b.name ? -1 : 1)).slice(0, limit) });
  }

  listAttachedTo(functionName: string): Promise<StoredPolicy[]> {
    return Promise.resolve(this.latest().filter((p) => p.functionNames.includes(functionName)));
  }

  private latest(): StoredPolicy[] {
    return [...this.versions.values()].flatMap((l) => l.slice(-1)).map((p) => structuredClone(p));
  }
}

function copy<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}

/** One executor configuration per function, replaced by each `put`. */
export class MemoryExecutorConfigStore implements ExecutorConfigStore {
  readonly items = new Map<string, StoredExecutorConfig>();

  put(functionName: string, config: ExecutorConfig): Promise<StoredExecutorConfig> {
    const stored = { functionName, executor: structuredClone(config), updatedAt: '2026-11-02T10:00:00.000Z' };
    this.items.set(functionName, stored);
    return Promise.resolve(structuredClone(stored));
  }

  get(functionName: string): Promise<StoredExecutorConfig | undefined> {
    return Promise.resolve(copy(this.items.get(functionName)));
  }
}

/**
 * Validation reports keyed like the DynamoDB store, `snapshotId#createdAt#reportId`; remembers
 * which reports' events were published (the on-write path). Serves on-demand validation as well.
 */
export class MemoryValidationReportStore implements OnWriteReportStore {
  readonly items = new Map<string, ValidationReport & { eventPublishedAt?: string }>();
  /** Makes the next `markEventPublished` calls throw (a crash after publishing, before remembering). */
  failMarks = 0;
  markCalls = 0;

  /** The key a test reads `items` with. */
  static key(r: Pick<ValidationReport, 'snapshotId' | 'createdAt' | 'reportId'>): string {
    return `${r.snapshotId}#${r.createdAt}#${r.reportId}`;
  }

  /** Once per key; an on-write report once per (snapshot, report id), whenever it is written (like the table's claim). */
  putIfAbsent(report: ValidationReport): Promise<boolean> {
    const key = MemoryValidationReportStore.key(report);
    if (this.items.has(key) || (report.trigger === 'on-write' && this.byId(report) !== undefined)) return Promise.resolve(false);
    this.items.set(key, structuredClone(report));
    return Promise.resolve(true);
  }

  /** The stored report with this one's snapshot and id (the event marker is keyed by id, as in the table). */
  private byId(report: Pick<ValidationReport, 'snapshotId' | 'reportId'>): (ValidationReport & { eventPublishedAt?: string }) | undefined {
    for (const r of this.items.values()) if (r.snapshotId === report.snapshotId && r.reportId === report.reportId) return r;
    return undefined;
  }

  /** Newest first by the table's sort key (`createdAt#reportId`), whatever the write order. */
  listForSnapshot(snapshotId: string, limit: number, cursor?: string): Promise<Page<ValidationReport>> {
    refuseCursor('MemoryValidationReportStore.listForSnapshot', cursor);
    const sortKey = (r: ValidationReport) => `${r.createdAt}#${r.reportId}`;
    const mine = [...this.items.values()].filter((r) => r.snapshotId === snapshotId).sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : -1));
    return Promise.resolve({ items: mine.slice(0, limit).map((r) => structuredClone(r)) });
  }

  isEventPublished(report: ValidationReport): Promise<boolean> {
    return Promise.resolve(this.byId(report)?.eventPublishedAt !== undefined);
  }

  markEventPublished(report: ValidationReport, at: string): Promise<void> {
    this.markCalls += 1;
    if (this.failMarks > 0) {
      this.failMarks -= 1;
      return Promise.reject(new Error('process died before the mark was written'));
    }
    const item = this.byId(report);
    if (!item) return Promise.reject(new Error(`no report ${report.reportId} to mark`));
    item.eventPublishedAt ??= at;
    return Promise.resolve();
  }
}

/** Replay history in write order (`results`); listed newest first by the table's sort key. */
export class MemoryReplayResultStore implements ReplayResultStore {
  readonly results: ReplayResult[] = [];
  /** The sort key (`<listing time>#<replayId>`) of each result in `results`, by position. */
  private readonly sortKeys: string[] = [];
  private readonly keys = new Set<string>();

  /** Keyed like the DynamoDB store: a second put of the same (snapshot, listing time, replay) writes nothing. */
  put(result: ReplayResult, options: { sortAt?: string } = {}): Promise<boolean> {
    const sortKey = `${options.sortAt ?? result.createdAt}#${result.replayId}`;
    const key = `${result.snapshotId}#${sortKey}`;
    if (this.keys.has(key)) return Promise.resolve(false);
    this.keys.add(key);
    this.results.push(structuredClone(result));
    this.sortKeys.push(sortKey);
    return Promise.resolve(true);
  }

  /** Newest first by listing time, whatever the write order (as the table's `REPLAY#<time>#<id>` keys sort). */
  listForSnapshot(snapshotId: string, limit: number, cursor?: string): Promise<Page<ReplayResult>> {
    refuseCursor('MemoryReplayResultStore.listForSnapshot', cursor);
    const mine = this.results.map((r, i) => ({ r, key: this.sortKeys[i] ?? '' })).filter(({ r }) => r.snapshotId === snapshotId);
    mine.sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
    return Promise.resolve({ items: mine.slice(0, limit).map(({ r }) => structuredClone(r)) });
  }
}

/**
 * ULID-shaped ids (26 characters) `prefix` + 1, 2, 3 … zero-padded, so ids sort in the order they
 * were issued. Give each file or role its own prefix so generated ids never collide with fixtures.
 */
export function sequentialIds(prefix: string): IdGenerator {
  const width = 26 - prefix.length;
  if (width < 1) throw new Error(`sequentialIds: prefix '${prefix}' leaves no room in a 26-character id`);
  let n = 0;
  return {
    next: () => {
      const id = `${prefix}${String(++n).padStart(width, '0')}`;
      if (id.length !== 26) throw new Error(`sequentialIds: ran out of ${width}-digit ids under '${prefix}'`);
      return id;
    },
  };
}

/** A clock stopped at `at` (an ISO-8601 instant or epoch milliseconds). */
export function fixedClock(at: string | number): Clock {
  const ms = typeof at === 'number' ? at : Date.parse(at);
  if (!Number.isFinite(ms)) throw new Error(`fixedClock: '${String(at)}' is not an instant`);
  return { now: () => ms };
}

/** Manifests in memory: the ids of each key, as written. */
export class MemoryManifestStore implements ManifestStore {
  readonly objects = new Map<string, string[]>();
  constructor(readonly bucket = 'memory-manifests') {}

  async write(key: string, pages: AsyncIterable<readonly string[]>): Promise<ManifestRef & { count: number }> {
    const ids: string[] = [];
    for await (const page of pages) ids.push(...page);
    this.objects.set(key, ids);
    return { bucket: this.bucket, key, count: ids.length };
  }

  async *read(ref: ManifestRef): AsyncGenerator<string[]> {
    const ids = this.objects.get(ref.key);
    if (ids === undefined || ref.bucket !== this.bucket) throw new Error(`no manifest ${ref.bucket}/${ref.key}`);
    for (let i = 0; i < ids.length; i += 1000) {
      await Promise.resolve();
      yield ids.slice(i, i + 1000);
    }
  }

  /** Users' id manifests, as text by `bucket/key` (what `readSource` reads). */
  readonly sources = new Map<string, string>();

  async *readSource(loc: { bucket: string; key: string }, maxBytes: number): AsyncGenerator<string[]> {
    const text = this.sources.get(`${loc.bucket}/${loc.key}`);
    if (text === undefined) throw new NotFoundError('manifest', `s3://${loc.bucket}/${loc.key}`, { code: 'MANIFEST_NOT_FOUND' });
    if (Buffer.byteLength(text) > maxBytes) throw new PayloadTooLargeError(`manifest over ${maxBytes} bytes`, maxBytes, Buffer.byteLength(text));
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i += 1000) {
      await Promise.resolve();
      yield lines.slice(i, i + 1000);
    }
  }

  /** Every id of a manifest. */
  async ids(ref: ManifestRef): Promise<string[]> {
    const out: string[] = [];
    for await (const page of this.read(ref)) out.push(...page);
    return out;
  }
}
