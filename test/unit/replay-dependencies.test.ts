import { describe, expect, it } from 'vitest';
import type { Dependency, ReportedDependency } from '../../functions/core/dependencies.js';
import { ValidationError } from '../../functions/core/errors.js';
import { modelListAllows, type ExecutionRequest, type ExecutionResult, type Executor } from '../../functions/core/executor.js';
import { prepareReplay, replaySnapshot, type ReplayDeps, type ReplayResult } from '../../functions/core/replay.js';
import { LexicalSimilarity } from '../../functions/core/similarity.js';
import { buildSnapshot, type RecordSnapshot } from '../../functions/core/snapshot.js';
import { fixedClock, MemoryExecutorConfigStore, MemoryPolicyStore, MemorySnapshotStore, sequentialIds } from '../support/memory-ports.js';

const RATES: Dependency = { name: 'rates', kind: 'tool', request: { currency: 'USD', amount: 20000 }, response: { rate: 0.041 }, latencyMs: 3 };

const WITH_DEPS: RecordSnapshot = {
  functionName: 'approve_loan',
  inputs: [{ name: 'applicant', value: { income: 52000, age: 41, debt: 20000 } }],
  outputs: [{ name: 'decision', value: 'approve' }],
  dependencies: [RATES],
};
const WITHOUT_DEPS: RecordSnapshot = { ...WITH_DEPS, dependencies: undefined };

/** Answers with the decision and reports `report(req)` as the calls it made; remembers each request. */
class ReportingExecutor implements Executor {
  readonly calls: ExecutionRequest[] = [];
  readonly timeoutMs = 1000;
  readonly description = 'reporting executor';
  constructor(private readonly report: (req: ExecutionRequest) => ReportedDependency[] | undefined) {}
  supportsModel(modelName: string | undefined): boolean {
    return modelListAllows(undefined, modelName);
  }
  execute(req: ExecutionRequest): Promise<ExecutionResult> {
    this.calls.push(structuredClone(req));
    const dependencies = this.report(req);
    return Promise.resolve({ outputs: [{ name: 'decision', value: 'approve' }], executionTimeMs: 5, ...(dependencies !== undefined && { dependencies }) });
  }
}

async function setup(recorded: RecordSnapshot, report: (req: ExecutionRequest) => ReportedDependency[] | undefined) {
  const snapshots = new MemorySnapshotStore();
  const executors = new MemoryExecutorConfigStore();
  const policies = new MemoryPolicyStore();
  const executor = new ReportingExecutor(report);
  await snapshots.putIfAbsent(buildSnapshot(recorded, '01JBZ00000000000000000SNAP', '2026-11-01T09:00:00.000Z'));
  await executors.put('approve_loan', { type: 'http', url: 'http://executor.example/decide' });
  const deps: ReplayDeps = { snapshots, executors, createExecutor: () => executor, policies, similarity: new LexicalSimilarity(), clock: fixedClock('2026-11-02T12:00:00.000Z'), ids: sequentialIds('01JBZ00000000000000000R') };
  const replay = async (body: unknown): Promise<ReplayResult> => replaySnapshot(deps, '01JBZ00000000000000000SNAP', await prepareReplay(policies, body));
  return { executor, replay };
}

describe('replay with recorded dependencies', () => {
  it('defaults to recorded mode when the snapshot has dependencies and sends them to the executor', async () => {
    const { executor, replay } = await setup(WITH_DEPS, (req) => (req.recordedDependencies ?? []).map((d) => ({ name: d.name, kind: d.kind, request: d.request, response: d.response, latencyMs: 99 })));
    const result = await replay({});
    // Same call, same answer: its latency is timing, not a change of the decision.
    expect(result.diff?.changes.filter((c) => c.path.startsWith('dependencies'))).toEqual([]);
    expect(result.diff?.dependenciesChanged).toBe(false);
    expect(executor.calls[0]?.dependencyMode).toBe('recorded');
    expect(executor.calls[0]?.recordedDependencies).toEqual([RATES]);
    expect(result.dependencies).toEqual({ mode: 'recorded', reported: true, calls: [{ name: 'rates', kind: 'tool', status: 'unchanged', recordedRequest: RATES.request, request: RATES.request }], counts: { unchanged: 1, changed: 0, new: 0, missing: 0 } });
    expect(result.status).toBe('Success');
  });

  it('sends no recording in live mode, and lists a changed request', async () => {
    const { executor, replay } = await setup(WITH_DEPS, () => [{ name: 'rates', kind: 'tool', request: { currency: 'USD', amount: 25000 }, response: { rate: 0.05 } }]);
    const result = await replay({ dependencyMode: 'live' });
    expect(executor.calls[0]?.dependencyMode).toBe('live');
    expect(executor.calls[0]?.recordedDependencies).toBeUndefined();
    expect(result.dependencies?.calls.map((c) => c.status)).toEqual(['changed']);
    expect(result.diff?.changes).toContainEqual({ path: 'dependencies.rates.request.amount', changeType: 'Modified', oldValue: 20000, newValue: 25000 });
    expect(result.diff?.dependenciesChanged).toBe(true);
  });

  it('reports a skipped tool call as missing, and a policy on the dependency path fails the replay', async () => {
    const { replay } = await setup(WITH_DEPS, () => []);
    const result = await replay({ policy: { rules: [{ name: 'asks-for-rates', field: 'dependencies.rates.request', comparator: 'ExactMatch' }] } });
    expect(result.dependencies?.calls).toEqual([{ name: 'rates', kind: 'tool', status: 'missing', recordedRequest: RATES.request }]);
    expect(result.dependencies?.counts.missing).toBe(1);
    expect(result.outputsMatch).toBe(true);
    expect(result.status).toBe('Failed');
    expect(result.policyViolations.map((v) => v.ruleName)).toEqual(['asks-for-rates']);
  });

  it('does not guess when the executor reports nothing: reported false, no calls, no dependency diff', async () => {
    const { replay } = await setup(WITH_DEPS, () => undefined);
    const result = await replay({});
    expect(result.dependencies).toEqual({ mode: 'recorded', reported: false, calls: [], counts: { unchanged: 0, changed: 0, new: 0, missing: 0 } });
    expect(result.diff?.dependenciesChanged).toBe(false);
  });

  it('leaves a snapshot without dependencies as before: no mode sent, dependencies null', async () => {
    const { executor, replay } = await setup(WITHOUT_DEPS, () => undefined);
    const result = await replay({});
    expect(executor.calls[0]).not.toHaveProperty('dependencyMode');
    expect(executor.calls[0]).not.toHaveProperty('recordedDependencies');
    expect(result.dependencies).toBeNull();
  });

  it('lists calls the candidate made that the original did not as new', async () => {
    const { replay } = await setup(WITHOUT_DEPS, () => [{ name: 'rates', kind: 'tool', request: {} }]);
    const result = await replay({});
    expect(result.dependencies).toMatchObject({ mode: 'live', reported: true, calls: [{ name: 'rates', status: 'new', request: {} }] });
  });

  it('refuses an unknown dependencyMode with a 400', async () => {
    await expect(prepareReplay(new MemoryPolicyStore(), { dependencyMode: 'cached' })).rejects.toThrow(ValidationError);
  });
});
