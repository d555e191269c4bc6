import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compareDependencies, MAX_DEPENDENCIES, MAX_DEPENDENCY_BYTES, type Dependency } from '../../functions/core/dependencies.js';
import { diffSnapshots } from '../../functions/core/diff.js';
import { PayloadTooLargeError, ValidationError } from '../../functions/core/errors.js';
import { parseExecutorAnswer } from '../../functions/core/executor.js';
import { readPath } from '../../functions/core/field-path.js';
import { evaluatePolicy, validatePolicyBody } from '../../functions/core/policy.js';
import { recordSnapshot } from '../../functions/core/recording.js';
import { LexicalSimilarity } from '../../functions/core/similarity.js';
import { buildSnapshot, computeContentHash, toPathDocument, verifyContentHash, type RecordSnapshot } from '../../functions/core/snapshot.js';
import { fixedClock, MemorySnapshotStore, sequentialIds } from '../support/memory-ports.js';

const BASE: RecordSnapshot = {
  functionName: 'approve_loan',
  inputs: [{ name: 'applicant', value: { income: 52000, age: 41, debt: 20000 } }],
  outputs: [{ name: 'decision', value: 'approve' }],
};

const RATES: Dependency = { name: 'rates', kind: 'tool', request: { currency: 'USD', amount: 20000 }, response: { currency: 'USD', rate: 0.041, quote: 7 }, latencyMs: 3.2 };
const SEARCH: Dependency = { name: 'search#2', kind: 'retrieval', request: { query: 'policy' }, response: ['doc-1'], latencyMs: 9 };

function deps() {
  return { store: new MemorySnapshotStore(), clock: fixedClock('2026-11-30T10:00:00.000Z'), ids: sequentialIds('01JBZ00000000000000000S') };
}

describe('recorded dependencies: recording and size limits', () => {
  it('records dependencies with the snapshot and covers them by contentHash', async () => {
    const { snapshot } = await recordSnapshot(deps(), { ...BASE, dependencies: [RATES, SEARCH] });
    expect(snapshot.dependencies).toEqual([RATES, SEARCH]);
    expect(verifyContentHash(snapshot)).toBe(true);
    const tampered = { ...snapshot, dependencies: [{ ...RATES, response: { currency: 'USD', rate: 0.039, quote: 7 } }, SEARCH] };
    expect(verifyContentHash(tampered)).toBe(false);
  });

  it('keeps the exact hash of a snapshot recorded without dependencies (and stores an empty list as none)', () => {
    // The JCS text below is written out by hand: this is the hash such a snapshot always had.
    const jcs = '{"createdAt":"2026-11-30T10:00:00.000Z","functionName":"approve_loan","inputs":[{"name":"applicant","value":{"age":41,"debt":20000,"income":52000}}],"inputsHash":"'
      + createHash('sha256').update('{"functionName":"approve_loan","inputs":[{"name":"applicant","value":{"age":41,"debt":20000,"income":52000}}]}').digest('hex')
      + '","outputs":[{"name":"decision","value":"approve"}],"schemaVersion":1,"snapshotId":"01JBZ00000000000000000S001"}';
    const expected = createHash('sha256').update(jcs).digest('hex');
    const without = buildSnapshot(BASE, '01JBZ00000000000000000S001', '2026-11-30T10:00:00.000Z');
    const empty = buildSnapshot({ ...BASE, dependencies: [] }, '01JBZ00000000000000000S001', '2026-11-30T10:00:00.000Z');
    expect(without.contentHash).toBe(expected);
    expect(empty.contentHash).toBe(expected);
    expect('dependencies' in empty).toBe(false);
  });

  it(`refuses more than ${MAX_DEPENDENCIES} calls with a 400 naming the field`, async () => {
    const many = Array.from({ length: MAX_DEPENDENCIES + 1 }, (_, i) => ({ ...RATES, name: `rates#${i + 1}` }));
    const err = await recordSnapshot(deps(), { ...BASE, dependencies: many }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toContain(`at most ${MAX_DEPENDENCIES}`);
  });

  it('refuses one entry over the per-entry byte limit with a 413 naming it, and writes nothing', async () => {
    const d = deps();
    const big = { ...SEARCH, response: 'x'.repeat(MAX_DEPENDENCY_BYTES) };
    const err = await recordSnapshot(d, { ...BASE, dependencies: [RATES, big] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect((err as PayloadTooLargeError).message).toContain("dependencies[1] ('search#2')");
    expect(d.store.items.size).toBe(0);
  });

  it('accepts an entry just under the limit', async () => {
    const overhead = JSON.stringify({ ...SEARCH, response: '' }).length;
    const fits = { ...SEARCH, response: 'x'.repeat(MAX_DEPENDENCY_BYTES - overhead) };
    await expect(recordSnapshot(deps(), { ...BASE, dependencies: [fits] })).resolves.toMatchObject({ created: true });
  });

  it.each([
    [{ ...RATES, name: 'bad.name' }, 'field-path key'],
    [{ ...RATES, kind: 'database' }, 'kind must be one of tool, retrieval, http, model'],
    [{ ...RATES, latencyMs: -1 }, 'latencyMs must be >= 0'],
  ])('refuses a malformed entry (%o)', async (entry, message) => {
    const err = await recordSnapshot(deps(), { ...BASE, dependencies: [entry] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(JSON.stringify((err as ValidationError).details)).toContain(message);
  });

  it('refuses two calls under one name and says how to record repeats', async () => {
    const err = await recordSnapshot(deps(), { ...BASE, dependencies: [RATES, RATES] }).catch((e: unknown) => e);
    expect(JSON.stringify((err as ValidationError).details)).toContain("'rates#2'");
  });
});

describe('recorded dependencies: field paths and diff', () => {
  const original = buildSnapshot({ ...BASE, dependencies: [RATES, SEARCH] }, '01JBZ00000000000000000S001', '2026-11-30T10:00:00.000Z');

  it('addresses calls by name: dependencies.<name>.request|response|kind|latencyMs', () => {
    const doc = toPathDocument(original);
    expect(readPath(doc, 'dependencies.rates.response.rate')).toEqual({ found: true, value: 0.041 });
    expect(readPath(doc, 'dependencies.rates.kind')).toEqual({ found: true, value: 'tool' });
    expect(readPath(doc, 'dependencies["search#2"].request.query')).toEqual({ found: true, value: 'policy' });
    expect(readPath(doc, 'dependencies.search#2.response[0]')).toEqual({ found: true, value: 'doc-1' });
  });

  it('addresses a call named __proto__ like any other name (it became the prototype and vanished)', () => {
    const withProto = buildSnapshot({ ...BASE, dependencies: [{ ...RATES, name: '__proto__' }] }, '01JBZ00000000000000000S003', '2026-11-30T10:00:02.000Z');
    expect(readPath(toPathDocument(withProto), 'dependencies.__proto__.response.rate')).toEqual({ found: true, value: 0.041 });
    expect(diffSnapshots(original, withProto).changes.map((c) => c.path)).toContain('dependencies.__proto__');
  });

  it('diffs dependencies leaf by leaf and says dependenciesChanged', () => {
    const updated = buildSnapshot({ ...BASE, dependencies: [{ ...RATES, response: { currency: 'USD', rate: 0.05, quote: 8 } }] }, '01JBZ00000000000000000S002', '2026-11-30T10:00:01.000Z');
    const diff = diffSnapshots(original, updated);
    expect(diff.changes).toEqual([
      { path: 'dependencies.rates.response.rate', changeType: 'Modified', oldValue: 0.041, newValue: 0.05 },
      { path: 'dependencies.rates.response.quote', changeType: 'Modified', oldValue: 7, newValue: 8 },
      { path: 'dependencies.search#2', changeType: 'Removed', oldValue: { kind: 'retrieval', request: { query: 'policy' }, response: ['doc-1'], latencyMs: 9 } },
    ]);
    expect(diff.dependenciesChanged).toBe(true);
    expect(diff.outputsChanged).toBe(false);
  });

  it('reports no dependency change between two snapshots without dependencies', () => {
    const a = buildSnapshot(BASE, '01JBZ00000000000000000S001', '2026-11-30T10:00:00.000Z');
    expect(diffSnapshots(a, a).dependenciesChanged).toBe(false);
    expect(computeContentHash(a)).toBe(a.contentHash);
  });

  it('lets a policy gate on a field path into dependencies', async () => {
    const policy = { name: 'deps', ...validatePolicyBody({ rules: [{ name: 'same-rate-request', field: 'dependencies.rates.request', comparator: 'ExactMatch' }] }) };
    const skipped = { ...original, dependencies: [SEARCH] };
    const report = await evaluatePolicy(policy, skipped, original, new LexicalSimilarity());
    expect(report.status).toBe('violated');
    expect(report.violations[0]?.ruleName).toBe('same-rate-request');
    const same = await evaluatePolicy(policy, original, original, new LexicalSimilarity());
    expect(same.status).toBe('passed');
  });
});

describe('recorded dependencies: replayed calls against recorded ones', () => {
  it('sorts calls into unchanged, changed, missing and new', () => {
    const calls = compareDependencies(
      [RATES, SEARCH, { ...RATES, name: 'fx' }],
      [
        { name: 'rates', kind: 'tool', request: { amount: 20000, currency: 'USD' } },
        { name: 'fx', kind: 'tool', request: { currency: 'EUR' } },
        { name: 'weather', kind: 'http', request: { city: 'Oslo' } },
      ],
    );
    expect(calls.map((c) => [c.name, c.status])).toEqual([
      ['rates', 'unchanged'],
      ['search#2', 'missing'],
      ['fx', 'changed'],
      ['weather', 'new'],
    ]);
    expect(calls[1]).toEqual({ name: 'search#2', kind: 'retrieval', status: 'missing', recordedRequest: { query: 'policy' } });
  });

  it('reads the calls an executor reports beside its outputs, and refuses malformed ones', () => {
    const answer = parseExecutorAnswer({ outputs: [{ name: 'decision', value: 'approve' }], dependencies: [{ name: 'rates', kind: 'tool', request: {} }] }, 'test');
    expect(answer.dependencies).toEqual([{ name: 'rates', kind: 'tool', request: {} }]);
    expect(() => parseExecutorAnswer({ outputs: [{ name: 'decision', value: 'approve' }], dependencies: [{ name: 'rates', kind: 'queue', request: {} }] }, 'test')).toThrow(/dependencies\[0\]\.kind/);
  });
});
