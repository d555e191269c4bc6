/**
 * The same cases against the in-memory port fakes the unit tests use (test/support/memory-ports.ts)
 * and against the DynamoDB stores on dynalite: a unit test passing against a fake means something
 * only if the fake behaves as the store does — copies in and out, write-once keys, orders, ranges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoExecutorConfigStore } from '../../functions/adapters/dynamodb/executor-config-store.js';
import { DynamoPolicyStore } from '../../functions/adapters/dynamodb/policy-store.js';
import { DynamoReplayResultStore } from '../../functions/adapters/dynamodb/replay-result-store.js';
import { DynamoSnapshotStore } from '../../functions/adapters/dynamodb/snapshot-store.js';
import { DynamoValidationReportStore } from '../../functions/adapters/dynamodb/validation-report-store.js';
import type { ExecutorConfigStore } from '../../functions/core/executor.js';
import type { OnWriteReportStore } from '../../functions/core/on-write.js';
import type { PolicyStore } from '../../functions/core/policy.js';
import type { SnapshotIdIndex, SnapshotStore } from '../../functions/core/ports.js';
import type { ReplayResult, ReplayResultStore } from '../../functions/core/replay.js';
import { buildSnapshot, type Snapshot } from '../../functions/core/snapshot.js';
import type { ValidationReport } from '../../functions/core/validation.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';
import { fixedClock, MemoryExecutorConfigStore, MemoryPolicyStore, MemoryReplayResultStore, MemorySnapshotStore, MemoryValidationReportStore } from '../support/memory-ports.js';

interface Ports {
  snapshots: SnapshotStore & SnapshotIdIndex;
  policies: PolicyStore;
  executors: ExecutorConfigStore;
  reports: OnWriteReportStore;
  replays: ReplayResultStore;
}

let dynamo: TestDynamo;

beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo?.close();
});

const UPDATED_AT = '2026-11-02T10:00:00.000Z';

/** Fresh ports per test: the memory fakes, or DynamoDB stores under a key space of their own. */
const implementations: Array<[string, () => Ports]> = [
  ['in-memory fakes', () => ({ snapshots: new MemorySnapshotStore(), policies: new MemoryPolicyStore(), executors: new MemoryExecutorConfigStore(), reports: new MemoryValidationReportStore(), replays: new MemoryReplayResultStore() })],
  [
    'DynamoDB stores',
    () => {
      return {
        snapshots: new DynamoSnapshotStore(dynamo.doc, dynamo.tableName),
        policies: new DynamoPolicyStore(dynamo.doc, dynamo.tableName),
        executors: new DynamoExecutorConfigStore({ doc: dynamo.doc, tableName: dynamo.tableName, clock: fixedClock(UPDATED_AT) }),
        reports: new DynamoValidationReportStore(dynamo.doc, dynamo.tableName),
        replays: new DynamoReplayResultStore(dynamo.doc, dynamo.tableName),
      };
    },
  ],
];

let seq = 0;
/** A unique prefix per test, so the DynamoDB cases never see each other's items in the shared table. */
const unique = () => `c${process.pid % 1000}x${++seq}`;

function ulid(tag: string, n: number): string {
  const body = `${tag}${String(n).padStart(4, '0')}`.toUpperCase().replace(/[ILOU]/g, '0');
  return `01JC${body}`.padEnd(26, '0').slice(0, 26);
}

function snapshot(fn: string, id: string, minute: number, income = 1): Snapshot {
  return buildSnapshot({ functionName: fn, inputs: [{ name: 'applicant', value: { income } }], outputs: [{ name: 'decision', value: 'approve' }] }, id, `2026-11-02T10:${String(minute).padStart(2, '0')}:00.000Z`);
}

function report(snapshotId: string, minute: number, tag: string): ValidationReport {
  return {
    reportId: ulid(`V${tag}`, minute),
    integrity: 'verified',
    snapshotId,
    functionName: 'approve_loan',
    baselineId: null,
    policy: { name: 'p', version: 1 },
    trigger: 'on-demand',
    status: 'passed',
    rules: [{ ruleName: 'r', field: 'outputs.decision', comparator: 'ExactMatch', status: 'passed' }],
    violations: [],
    createdAt: `2026-11-02T10:${String(minute).padStart(2, '0')}:00.000Z`,
  };
}

function replay(snapshotId: string, minute: number, tag: string): ReplayResult {
  return {
    replayId: ulid(`R${tag}`, minute),
    snapshotId,
    functionName: 'f',
    mode: 'Strict',
    tolerance: null,
    status: 'Success',
    outputsMatch: true,
    replayOutputs: [{ name: 'decision', value: 'approve' }],
    fieldComparisons: [],
    diff: { changes: [], inputsChanged: false, outputsChanged: false, modelParamsChanged: false, executionTimeDeltaMs: 0 },
    policy: null,
    policyViolations: [],
    integrity: 'verified',
    executionTimeMs: 3,
    executor: 'http POST http://127.0.0.1/x',
    overrides: null,
    createdAt: `2026-11-02T10:${String(minute).padStart(2, '0')}:00.000Z`,
  } as ReplayResult;
}

describe.each(implementations)('port contract: %s', (_label, make) => {
  describe('SnapshotStore', () => {
    it('writes a snapshot once and hands out copies', async () => {
      const { snapshots } = make();
      const fn = unique();
      const s = snapshot(fn, ulid(fn, 1), 1);
      expect(await snapshots.putIfAbsent(s)).toBe(true);
      expect(await snapshots.putIfAbsent({ ...s, functionName: `${fn}-other` })).toBe(false);
      const read = await snapshots.get(s.snapshotId);
      expect(read).toEqual(s);
      if (read) read.functionName = 'mutated';
      expect((await snapshots.get(s.snapshotId))?.functionName).toBe(fn);
      expect(await snapshots.get(ulid(fn, 999))).toBeUndefined();
    });

    it('reads many snapshots at once as get reads each, over 100 ids and with one listed twice, leaving out those not stored', async () => {
      const { snapshots } = make();
      const fn = unique();
      const stored = Array.from({ length: 130 }, (_, i) => snapshot(fn, ulid(fn, i), i % 60, i));
      for (const s of stored) await snapshots.putIfAbsent(s);
      const asked = [stored[1]?.snapshotId ?? '', ...stored.map((s) => s.snapshotId), ulid(fn, 998), ulid(fn, 999)];

      const found = await snapshots.getMany(asked);

      expect([...found.keys()].sort()).toEqual(stored.map((s) => s.snapshotId).sort());
      for (const s of stored) expect(found.get(s.snapshotId)).toEqual(await snapshots.get(s.snapshotId));
      expect(await snapshots.getMany([])).toEqual(new Map());
    });

    it('reads the function names of many snapshots at once, over 100 ids and with one listed twice, leaving out those not stored', async () => {
      const { snapshots } = make();
      const fn = unique();
      const stored = Array.from({ length: 130 }, (_, i) => snapshot(i % 3 === 0 ? `${fn}-b` : fn, ulid(fn, i), i % 60, i));
      for (const s of stored) await snapshots.putIfAbsent(s);
      const asked = [stored[1]?.snapshotId ?? '', ...stored.map((s) => s.snapshotId), ulid(fn, 998), ulid(fn, 999)];

      const names = await snapshots.functionNamesOf(asked);

      expect(names).toEqual(new Map(stored.map((s) => [s.snapshotId, s.functionName])));
      expect(await snapshots.functionNamesOf([])).toEqual(new Map());
    });

    it('lets the first Idempotency-Key claim win, and gives a claim back only to the request that holds it', async () => {
      const { snapshots } = make();
      const key = `key-${unique()}`;
      const mine = { key, requestHash: 'h1', snapshotId: ulid(key, 1), createdAt: '2026-11-02T10:00:00.000Z' };
      expect(await snapshots.claimIdempotencyKey(mine)).toEqual({ claimed: true });
      expect(await snapshots.claimIdempotencyKey({ ...mine, requestHash: 'h2', snapshotId: ulid(key, 2) })).toEqual({ claimed: false, existing: mine });
      await snapshots.releaseIdempotencyKey({ ...mine, snapshotId: ulid(key, 2) });
      expect((await snapshots.claimIdempotencyKey({ ...mine, snapshotId: ulid(key, 3) })).claimed).toBe(false);
      await snapshots.releaseIdempotencyKey(mine);
      expect(await snapshots.claimIdempotencyKey({ ...mine, snapshotId: ulid(key, 4) })).toEqual({ claimed: true });
    });

    it('lists one function\'s snapshots by time, from/to inclusive, oldest first or newest first, up to limit', async () => {
      const { snapshots } = make();
      const fn = unique();
      for (const minute of [3, 1, 4, 2]) await snapshots.putIfAbsent(snapshot(fn, ulid(fn, minute), minute));
      await snapshots.putIfAbsent(snapshot(`${fn}-other`, ulid(`${fn}Z`, 1), 2));
      const ids = (page: { items: Snapshot[] }) => page.items.map((s) => s.snapshotId);
      expect(ids(await snapshots.list({ functionName: fn, limit: 10 }))).toEqual([1, 2, 3, 4].map((m) => ulid(fn, m)));
      expect(ids(await snapshots.list({ functionName: fn, limit: 2, order: 'desc' }))).toEqual([ulid(fn, 4), ulid(fn, 3)]);
      expect(ids(await snapshots.list({ functionName: fn, limit: 10, from: '2026-11-02T10:02:00.000Z', to: '2026-11-02T10:03:00.000Z' }))).toEqual([ulid(fn, 2), ulid(fn, 3)]);
    });

    it('finds the latest earlier snapshot of the same function with the same inputs, and none for the first', async () => {
      const { snapshots } = make();
      const fn = unique();
      const [a, b, c, other] = [snapshot(fn, ulid(fn, 1), 1), snapshot(fn, ulid(fn, 2), 2), snapshot(fn, ulid(fn, 3), 3), snapshot(fn, ulid(fn, 4), 2, 99)];
      for (const s of [c, a, other, b]) await snapshots.putIfAbsent(s);
      expect((await snapshots.findPreviousWithSameInputs(c))?.snapshotId).toBe(b.snapshotId);
      expect(await snapshots.findPreviousWithSameInputs(a)).toBeUndefined();
      expect(await snapshots.findPreviousWithSameInputs(other)).toBeUndefined();
    });
  });

  describe('PolicyStore', () => {
    it('stores numbered versions, reads latest and any version, lists latest by name and by attached function', async () => {
      const { policies } = make();
      const name = unique();
      const fn = `${name}-fn`;
      const rules = [{ field: 'outputs.decision', comparator: 'ExactMatch' as const }];
      expect((await policies.putNextVersion({ name, functionNames: [], rules }, UPDATED_AT)).version).toBe(1);
      expect((await policies.putNextVersion({ name, functionNames: [fn], rules }, UPDATED_AT)).version).toBe(2);
      expect((await policies.getLatest(name))?.version).toBe(2);
      expect((await policies.getVersion(name, 1))?.functionNames).toEqual([]);
      expect(await policies.getVersion(name, 3)).toBeUndefined();
      expect((await policies.listAttachedTo(fn)).map((p) => [p.name, p.version])).toEqual([[name, 2]]);
      expect((await policies.list(1000)).items.filter((p) => p.name === name).map((p) => p.version)).toEqual([2]);
    });
  });

  describe('ExecutorConfigStore', () => {
    it('replaces a function\'s configuration on each put and reads it back', async () => {
      const { executors } = make();
      const fn = unique();
      expect(await executors.get(fn)).toBeUndefined();
      await executors.put(fn, { type: 'http', url: 'https://a.example/x' });
      const second = await executors.put(fn, { type: 'openai', baseUrl: 'https://b.example/v1' });
      expect(second).toEqual({ functionName: fn, executor: { type: 'openai', baseUrl: 'https://b.example/v1' }, updatedAt: UPDATED_AT });
      expect(await executors.get(fn)).toEqual(second);
    });
  });

  describe('validation reports', () => {
    it('writes a report once, lists a snapshot\'s reports newest first by time whatever the write order, and remembers a published event', async () => {
      const { reports } = make();
      const snap = ulid(unique(), 1);
      for (const minute of [2, 5, 1]) expect(await reports.putIfAbsent(report(snap, minute, 'A'))).toBe(true);
      expect(await reports.putIfAbsent(report(snap, 2, 'A'))).toBe(false);
      expect((await reports.listForSnapshot(snap, 10)).items.map((r) => r.createdAt.slice(14, 16))).toEqual(['05', '02', '01']);
      expect(await reports.isEventPublished(report(snap, 5, 'A'))).toBe(false);
      await reports.markEventPublished(report(snap, 5, 'A'), UPDATED_AT);
      expect(await reports.isEventPublished(report(snap, 5, 'A'))).toBe(true);
    });
  });

  describe('ReplayResultStore', () => {
    it('writes a result once per key and lists a snapshot\'s history newest first by time whatever the write order', async () => {
      const { replays } = make();
      const snap = ulid(unique(), 1);
      for (const minute of [3, 1, 4]) expect(await replays.put(replay(snap, minute, 'A'))).toBe(true);
      expect(await replays.put(replay(snap, 3, 'A'))).toBe(false);
      // Listed at another time (a batch item lists at its batch's start): a different key.
      expect(await replays.put(replay(snap, 3, 'A'), { sortAt: '2026-11-02T09:00:00.000Z' })).toBe(true);
      expect((await replays.listForSnapshot(snap, 2)).items.map((r) => r.createdAt.slice(14, 16))).toEqual(['04', '03']);
    });
  });
});
