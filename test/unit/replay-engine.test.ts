import { describe, expect, it } from 'vitest';
import { replayRoutes } from '../../functions/api/replay-routes.js';
import { NotFoundError, ValidationError } from '../../functions/core/errors.js';
import {
  ExecutorHttpStatusError,
  ExecutorMalformedResponseError,
  ExecutorTimeoutError,
  modelListAllows,
  NoExecutorError,
  UnsupportedModelError,
  type ExecutionRequest,
  type ExecutionResult,
  type Executor,
} from '../../functions/core/executor.js';
import { parseReplayRequest, preparedReplay, prepareReplay, replaySnapshot, type ReplayDeps, type ReplayResult } from '../../functions/core/replay.js';
import { pinListedNoiseProfiles, type NoiseProfile, type NoiseProfileStore } from '../../functions/core/noise.js';
import { LexicalSimilarity, SimilarityProviderError } from '../../functions/core/similarity.js';
import { buildSnapshot, verifyContentHash, type NamedValue, type RecordSnapshot, type Snapshot } from '../../functions/core/snapshot.js';
import type { ApiRequest } from '../../functions/http/api.js';
import { executorAddressPolicy } from '../../functions/adapters/executors/network-guard.js';
import { fixedClock, MemoryExecutorConfigStore, MemoryPolicyStore, MemoryReplayResultStore, MemorySnapshotStore, sequentialIds } from '../support/memory-ports.js';

// ---------------------------------------------------------------------------------------------
// Fakes of the ports: the shared in-memory stores, and an executor only this file needs.

/** An executor that answers with `answer(request)` and remembers every request it was given. */
class FakeExecutor implements Executor {
  readonly calls: ExecutionRequest[] = [];
  readonly timeoutMs = 1000;
  readonly description = 'fake executor';
  constructor(
    private readonly answer: (req: ExecutionRequest) => NamedValue[] | Error,
    private readonly models?: readonly string[],
  ) {}
  supportsModel(modelName: string | undefined): boolean {
    return modelListAllows(this.models, modelName);
  }
  execute(req: ExecutionRequest): Promise<ExecutionResult> {
    this.calls.push(structuredClone(req));
    const out = this.answer(req);
    if (out instanceof Error) return Promise.reject(out);
    return Promise.resolve({ outputs: out, executionTimeMs: 12 });
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const RECORDED: RecordSnapshot = {
  functionName: 'approve_loan',
  inputs: [{ name: 'applicant', value: { income: 52000, age: 41 }, type: 'object' }],
  outputs: [
    { name: 'decision', value: 'approve', type: 'string' },
    { name: 'score', value: 0.82, type: 'number' },
    { name: 'rationale', value: 'Income is well above the threshold.', type: 'string' },
  ],
  modelParameters: { modelName: 'credit-llm', modelVersion: '2026-10', temperature: 0, maxTokens: 256, topP: 1, seed: 7, extra: {} },
  context: { tenant: 'acme', promptVersion: 'v3' },
  executionTimeMs: 120.5,
};

const SNAPSHOT_ID = '01JBZ0000000000000000000AA';

const IDENTICAL: NamedValue[] = RECORDED.outputs.map((o) => ({ ...o }));
/** A reworded rationale (lexical similarity 5/6) and a score 0.82 → 0.80 (closeness ≈ 0.976). */
const SLIGHTLY_DIFFERENT: NamedValue[] = [
  { name: 'decision', value: 'approve', type: 'string' },
  { name: 'score', value: 0.8, type: 'number' },
  { name: 'rationale', value: 'Income is comfortably above the threshold.', type: 'string' },
];
/** The decision flipped. */
const VERY_DIFFERENT: NamedValue[] = [
  { name: 'decision', value: 'decline', type: 'string' },
  { name: 'score', value: 0.31, type: 'number' },
  { name: 'rationale', value: 'Debt load too high for this applicant.', type: 'string' },
];

interface World {
  deps: ReplayDeps;
  snapshots: MemorySnapshotStore;
  executors: MemoryExecutorConfigStore;
  policies: MemoryPolicyStore;
  /** Every executor `createExecutor` made, in order. */
  made: FakeExecutor[];
  setAnswer(answer: (req: ExecutionRequest) => NamedValue[] | Error): void;
}

async function world(answer: (req: ExecutionRequest) => NamedValue[] | Error = () => IDENTICAL): Promise<World> {
  const snapshots = new MemorySnapshotStore();
  const executors = new MemoryExecutorConfigStore();
  const policies = new MemoryPolicyStore();
  const made: FakeExecutor[] = [];
  let current = answer;
  const ids = sequentialIds('01JBZ00000000000000000R');
  const clock = fixedClock('2026-11-02T12:00:00.000Z');
  await snapshots.putIfAbsent(buildSnapshot(RECORDED, SNAPSHOT_ID, '2026-11-01T09:00:00.000Z'));
  await executors.put('approve_loan', { type: 'http', url: 'http://executor.example/decide' });
  const deps: ReplayDeps = {
    snapshots,
    executors,
    createExecutor: (config) => {
      const e = new FakeExecutor((req) => current(req), config.models);
      made.push(e);
      return e;
    },
    policies,
    similarity: new LexicalSimilarity(),
    clock,
    ids,
  };
  return { deps, snapshots, executors, policies, made, setAnswer: (a) => (current = a) };
}

async function replay(w: World, body: unknown): Promise<ReplayResult> {
  return replaySnapshot(w.deps, SNAPSHOT_ID, await prepareReplay(w.policies, body));
}

function comparison(result: ReplayResult, path: string) {
  const fc = result.fieldComparisons.find((f) => f.path === path);
  expect(fc, `no field comparison at ${path}`).toBeDefined();
  return fc as NonNullable<typeof fc>;
}

function executorCalls(w: World): number {
  return w.made.reduce((sum, e) => sum + e.calls.length, 0);
}

/** Changes a stored field without recomputing contentHash, as someone with table access could. */
function tamper(w: World): void {
  const stored = w.snapshots.items.get(SNAPSHOT_ID) as Snapshot;
  stored.outputs = stored.outputs.map((o) => (o.name === 'decision' ? { ...o, value: 'decline' } : o));
  expect(verifyContentHash(stored)).toBe(false);
}

// ---------------------------------------------------------------------------------------------

describe('replaySnapshot: Strict mode', () => {
  it('succeeds when the executor answers identically, every leaf ExactMatch with score 1', async () => {
    const w = await world(() => IDENTICAL);
    const result = await replay(w, { mode: 'Strict' });
    expect(result).toMatchObject({ mode: 'Strict', tolerance: null, status: 'Success', outputsMatch: true, integrity: 'verified', replayOutputs: IDENTICAL, executor: 'fake executor' });
    expect(result.fieldComparisons.map((f) => [f.path, f.comparator, f.score, f.match])).toEqual([
      ['outputs.decision', 'ExactMatch', 1, true],
      ['outputs.score', 'ExactMatch', 1, true],
      ['outputs.rationale', 'ExactMatch', 1, true],
    ]);
    expect(result.error).toBeUndefined();
    expect(executorCalls(w)).toBe(1);
  });

  it('fails on a slight difference: the reworded rationale and the 0.82 → 0.80 score are mismatches', async () => {
    const w = await world(() => SLIGHTLY_DIFFERENT);
    const result = await replay(w, { mode: 'Strict' });
    expect(result.status).toBe('Failed');
    expect(result.outputsMatch).toBe(false);
    expect(comparison(result, 'outputs.decision')).toMatchObject({ match: true, score: 1 });
    expect(comparison(result, 'outputs.score')).toMatchObject({ comparator: 'ExactMatch', match: false, score: 0, original: 0.82, replayed: 0.8 });
    expect(comparison(result, 'outputs.rationale')).toMatchObject({ comparator: 'ExactMatch', match: false, score: 0 });
  });

  it('fails when the decision flipped', async () => {
    const w = await world(() => VERY_DIFFERENT);
    const result = await replay(w, { mode: 'Strict' });
    expect(result.status).toBe('Failed');
    expect(comparison(result, 'outputs.decision')).toMatchObject({ match: false, original: 'approve', replayed: 'decline' });
    expect(result.diff?.changes).toContainEqual(expect.objectContaining({ path: 'outputs.decision', changeType: 'Modified', oldValue: 'approve', newValue: 'decline' }));
    expect(result.diff?.outputsChanged).toBe(true);
  });
});

describe('replaySnapshot: Tolerant mode', () => {
  it('is the default mode, with tolerance 0.8, and passes identical outputs', async () => {
    const w = await world(() => IDENTICAL);
    const result = await replay(w, {});
    expect(result).toMatchObject({ mode: 'Tolerant', tolerance: 0.8, status: 'Success', outputsMatch: true });
  });

  it('passes a slight difference at the default tolerance, scoring strings by similarity and numbers by closeness', async () => {
    const w = await world(() => SLIGHTLY_DIFFERENT);
    const result = await replay(w, { mode: 'Tolerant' });
    expect(result.status).toBe('Success');
    expect(result.outputsMatch).toBe(true);
    const rationale = comparison(result, 'outputs.rationale');
    expect(rationale).toMatchObject({ comparator: 'SemanticSimilarity', provider: 'lexical', threshold: 0.8, match: true });
    expect(rationale.score).toBeCloseTo(5 / 6, 10);
    const score = comparison(result, 'outputs.score');
    expect(score).toMatchObject({ comparator: 'NumericCloseness', threshold: 0.8, match: true });
    expect(score.score).toBeCloseTo(1 - 0.02 / 0.82, 10);
    // The diff still shows what changed, even when it is within tolerance.
    expect(result.diff?.changes.map((c) => c.path).sort()).toEqual(['executionTimeMs', 'outputs.rationale', 'outputs.score']);
  });

  it('fails a very different answer at the default tolerance', async () => {
    const w = await world(() => VERY_DIFFERENT);
    const result = await replay(w, { mode: 'Tolerant' });
    expect(result.status).toBe('Failed');
    expect(result.outputsMatch).toBe(false);
    expect(comparison(result, 'outputs.decision')).toMatchObject({ match: false });
    expect(comparison(result, 'outputs.score').match).toBe(false);
  });

  it('fails the slight difference at tolerance 0.99', async () => {
    const w = await world(() => SLIGHTLY_DIFFERENT);
    const result = await replay(w, { mode: 'Tolerant', tolerance: 0.99 });
    expect(result).toMatchObject({ tolerance: 0.99, status: 'Failed', outputsMatch: false });
    expect(comparison(result, 'outputs.rationale')).toMatchObject({ threshold: 0.99, match: false });
    expect(comparison(result, 'outputs.score')).toMatchObject({ threshold: 0.99, match: false });
    expect(comparison(result, 'outputs.decision').match).toBe(true);
  });

  it('treats an output the replay dropped, or added, as a mismatch', async () => {
    const w = await world(() => [...IDENTICAL.filter((o) => o.name !== 'rationale'), { name: 'limit', value: 5000 }]);
    const result = await replay(w, { mode: 'Tolerant' });
    expect(result.status).toBe('Failed');
    expect(comparison(result, 'outputs.rationale')).toMatchObject({ comparator: 'Presence', match: false, original: RECORDED.outputs[2]?.value });
    expect(comparison(result, 'outputs.limit')).toMatchObject({ comparator: 'Presence', match: false, replayed: 5000 });
  });
});

describe('replaySnapshot: ValidationOnly mode', () => {
  it.each([
    ['identical', IDENTICAL],
    ['slightly different', SLIGHTLY_DIFFERENT],
    ['very different', VERY_DIFFERENT],
  ])('runs nothing whatever the executor would answer (%s): Success with replayOutputs null', async (_label, answer) => {
    const w = await world(() => answer);
    const result = await replay(w, { mode: 'ValidationOnly' });
    expect(result).toMatchObject({ mode: 'ValidationOnly', tolerance: null, status: 'Success', integrity: 'verified', replayOutputs: null, fieldComparisons: [], diff: null, executor: null, executionTimeMs: 0 });
    expect(w.made).toHaveLength(0);
    expect(executorCalls(w)).toBe(0);
  });

  it('does not need an executor at all', async () => {
    const w = await world();
    w.executors.items.clear();
    const result = await replay(w, { mode: 'ValidationOnly' });
    expect(result.status).toBe('Success');
  });

  it('evaluates the policy on the recorded decision and fails on a violation, still without running anything', async () => {
    const w = await world();
    const result = await replay(w, { mode: 'ValidationOnly', policy: { name: 'score-floor', rules: [{ name: 'floor', field: 'outputs.score', comparator: 'WithinRange', min: 0.9, max: 1 }] } });
    expect(result.status).toBe('Failed');
    expect(result.policy).toMatchObject({ name: 'score-floor', version: null, rules: [{ ruleName: 'floor', status: 'violated' }] });
    expect(result.policyViolations).toEqual([expect.objectContaining({ ruleName: 'floor', field: 'outputs.score' })]);
    expect(executorCalls(w)).toBe(0);
  });
});

describe('replaySnapshot: integrity', () => {
  it.each(['Strict', 'Tolerant', 'ValidationOnly'] as const)('re-reads the snapshot and, in %s mode, fails a tampered one as tampered without calling the executor', async (mode) => {
    const w = await world(() => IDENTICAL);
    tamper(w);
    const readsBefore = w.snapshots.reads;
    const result = await replay(w, { mode });
    expect(w.snapshots.reads).toBe(readsBefore + 1);
    expect(result).toMatchObject({ mode, status: 'Failed', integrity: 'tampered', outputsMatch: false, replayOutputs: null, executor: null, error: { code: 'SNAPSHOT_TAMPERED' } });
    expect(executorCalls(w)).toBe(0);
  });

  it('notices tampering that happened after an earlier verified replay (no cache)', async () => {
    const w = await world(() => IDENTICAL);
    expect((await replay(w, { mode: 'Strict' })).integrity).toBe('verified');
    tamper(w);
    expect((await replay(w, { mode: 'Strict' })).integrity).toBe('tampered');
    expect(executorCalls(w)).toBe(1);
  });

  it('throws 404 for a snapshot that does not exist', async () => {
    const w = await world();
    await expect(replaySnapshot(w.deps, '01JBZ0000000000000000000ZZ', await prepareReplay(w.policies, {}))).rejects.toBeInstanceOf(NotFoundError);
  });
});

/** This world reads no secret headers (none of its executors has any). */
const NO_SECRET_HEADERS = { refuses: () => 'no secret headers here', read: () => Promise.reject(new Error('no secret headers here')) };

describe('PUT /functions/{functionName}/executor: addresses the network guard refuses', () => {
  async function put(body: unknown, allowPrivateNetworks: boolean) {
    const w = await world();
    const route = replayRoutes({ ...w.deps, executors: w.executors, results: new MemoryReplayResultStore(), secretHeaders: NO_SECRET_HEADERS, executorAddresses: executorAddressPolicy(allowPrivateNetworks) })['PUT /functions/{functionName}/executor'];
    if (route === undefined) throw new Error('route missing');
    const rawBody = JSON.stringify(body);
    const req: ApiRequest = { routeKey: 'PUT /functions/{functionName}/executor', method: 'PUT', path: '/functions/score_fn/executor', pathParameters: { functionName: 'score_fn' }, query: {}, headers: {}, rawBody, json: () => JSON.parse(rawBody) as unknown, requestId: 'test' };
    const outcome = await route(req).then(
      (res) => ({ status: res.status, issues: undefined }),
      // A ValidationError is the 400 (INVALID_REQUEST) of the error shape.
      (err: unknown) => {
        if (!(err instanceof ValidationError)) throw err;
        return { status: 400, issues: err.details };
      },
    );
    return { ...outcome, stored: await w.executors.get('score_fn') };
  }

  // Accepted with 200 before, and refused only when a replay called it.
  it.each([
    ['url', 'http://10.0.0.1/decide', '10.0.0.1', 'a private address'],
    ['url', 'http://[::ffff:127.0.0.1]/', '::ffff:7f00:1', 'a loopback address'],
    ['url', 'http://0x7f000001/', '127.0.0.1', 'a loopback address'],
    ['url', 'http://169.254.169.254/latest', '169.254.169.254', 'a link-local address'],
    ['baseUrl', 'http://[fd00::1]:8080/v1', 'fd00::1', 'a private address'],
  ])('refuses %s %s with 400 naming the field and why, storing nothing, where private networks are not allowed', async (field, url, host, why) => {
    const body = field === 'url' ? { type: 'http', url } : { type: 'openai', baseUrl: url };
    const { status, issues, stored } = await put(body, false);
    expect(status).toBe(400);
    expect(issues).toEqual({ issues: [{ path: field, message: `host ${host} is ${why}: executors of this deployment may not call loopback, link-local or private addresses (see allowPrivateNetworkExecutors, EXECUTOR_ALLOW_PRIVATE_NETWORKS)` }] });
    expect(stored).toBeUndefined();
  });

  it('accepts them where private networks are allowed (the local host: the demo model is on 127.0.0.1), and host names anywhere (resolved when called)', async () => {
    expect((await put({ type: 'http', url: 'http://127.0.0.1:3000/demo/credit/v2' }, true)).status).toBe(200);
    expect((await put({ type: 'http', url: 'http://0x7f000001/' }, true)).status).toBe(200);
    expect((await put({ type: 'http', url: 'http://localhost:3000/demo/credit/v2' }, false)).status).toBe(200);
    expect((await put({ type: 'http', url: 'https://8.8.8.8/decide' }, false)).status).toBe(200);
  });

  it('refuses a multicast or broadcast host everywhere', async () => {
    const { status, issues } = await put({ type: 'http', url: 'http://224.0.0.1/' }, true);
    expect(status).toBe(400);
    expect(issues).toEqual({ issues: [{ path: 'url', message: 'host 224.0.0.1 is not a unicast address: no executor can be called there' }] });
  });
});

describe('replaySnapshot: executors', () => {
  it('throws 422 NoExecutorError when the function has no executor, and the route persists nothing', async () => {
    const w = await world();
    w.executors.items.clear();
    await expect(replay(w, { mode: 'Strict' })).rejects.toBeInstanceOf(NoExecutorError);
    expect(w.made).toHaveLength(0);

    const results = new MemoryReplayResultStore();
    const route = replayRoutes({ ...w.deps, executors: w.executors, results, secretHeaders: NO_SECRET_HEADERS, executorAddresses: executorAddressPolicy(false) })['POST /snapshots/{id}/replay'];
    if (route === undefined) throw new Error('route missing');
    await expect(route(apiRequest({ mode: 'Tolerant' }))).rejects.toMatchObject({ code: 'NO_EXECUTOR' });
    expect(results.results).toHaveLength(0);
  });

  it('persists the result through the route when the replay ran', async () => {
    const w = await world(() => IDENTICAL);
    const results = new MemoryReplayResultStore();
    const route = replayRoutes({ ...w.deps, executors: w.executors, results, secretHeaders: NO_SECRET_HEADERS, executorAddresses: executorAddressPolicy(false) })['POST /snapshots/{id}/replay'];
    if (route === undefined) throw new Error('route missing');
    const res = await route(apiRequest({ mode: 'Strict' }));
    expect(res.status).toBe(200);
    expect(results.results).toEqual([res.body]);
  });

  it('throws 422 UnsupportedModelError when the executor serves other models, running nothing', async () => {
    const w = await world();
    await w.executors.put('approve_loan', { type: 'http', url: 'http://executor.example/decide', models: ['other-llm'] });
    const err = await replay(w, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedModelError);
    expect(err).toMatchObject({ code: 'UNSUPPORTED_MODEL', modelName: 'credit-llm' });
    expect(executorCalls(w)).toBe(0);
  });

  it('checks the model after overrides: overriding to a served model runs', async () => {
    const w = await world(() => IDENTICAL);
    await w.executors.put('approve_loan', { type: 'http', url: 'http://executor.example/decide', models: ['credit-llm-2'] });
    const result = await replay(w, { overrides: { modelParameters: { modelName: 'credit-llm-2' } } });
    expect(result.status).toBe('Success');
    expect(w.made[0]?.calls[0]?.modelParameters?.modelName).toBe('credit-llm-2');
  });

  it('merges overrides over the recorded parameters and context, passes them to the executor and records them', async () => {
    const w = await world(() => IDENTICAL);
    const overrides = { modelParameters: { modelVersion: 'v2' }, context: { promptVersion: 'v4', region: 'eu' } };
    const result = await replay(w, { mode: 'Strict', overrides });
    const seen = w.made[0]?.calls[0];
    expect(seen).toEqual({
      functionName: 'approve_loan',
      inputs: RECORDED.inputs,
      modelParameters: { ...RECORDED.modelParameters, modelVersion: 'v2' },
      context: { tenant: 'acme', promptVersion: 'v4', region: 'eu' },
      expectedOutputs: ['decision', 'score', 'rationale'],
    });
    expect(result.overrides).toEqual(overrides);
    expect(result.diff?.modelParamsChanged).toBe(true);
    expect(result.diff?.changes).toContainEqual(expect.objectContaining({ path: 'modelParameters.modelVersion', oldValue: '2026-10', newValue: 'v2' }));
  });

  it('records overrides as null when there are none', async () => {
    const w = await world(() => IDENTICAL);
    expect((await replay(w, {})).overrides).toBeNull();
  });

  it.each([
    ['a timeout', new ExecutorTimeoutError(1000, 'fake executor'), 'EXECUTOR_TIMEOUT'],
    ['a non-2xx status', new ExecutorHttpStatusError(500, 'fake executor answered HTTP 500'), 'EXECUTOR_HTTP_STATUS'],
    ['a malformed answer', new ExecutorMalformedResponseError('fake executor answered with something that is not JSON'), 'EXECUTOR_MALFORMED_RESPONSE'],
  ])('turns %s into status Error with its code, never a success', async (_label, error, code) => {
    const w = await world(() => error);
    const result = await replay(w, { mode: 'Tolerant' });
    expect(result).toMatchObject({ status: 'Error', outputsMatch: false, integrity: 'verified', replayOutputs: null, error: { code, message: error.message }, executor: 'fake executor' });
    expect(result.fieldComparisons).toEqual([]);
  });

  it('lets an error that is not an executor error propagate (a fault, not a result)', async () => {
    const w = await world(() => new TypeError('bug'));
    await expect(replay(w, {})).rejects.toBeInstanceOf(TypeError);
  });

  it('turns a similarity provider that fails into status Error SIMILARITY_FAILED, keeping what the executor answered', async () => {
    const w = await world(() => SLIGHTLY_DIFFERENT);
    w.deps.similarity = { name: 'failing-embeddings', similarity: () => Promise.reject(new SimilarityProviderError('failing-embeddings', 'embeddings endpoint answered 503')) };
    const result = await replay(w, { mode: 'Tolerant' });
    expect(result).toMatchObject({
      status: 'Error',
      outputsMatch: false,
      integrity: 'verified',
      replayOutputs: SLIGHTLY_DIFFERENT,
      error: { code: 'SIMILARITY_FAILED', message: 'embeddings endpoint answered 503' },
      executor: 'fake executor',
      policy: null,
      policyViolations: [],
      fieldComparisons: [],
      diff: null,
    });
    expect(result.executionTimeMs).toBeGreaterThanOrEqual(0);
  });
});

describe('replaySnapshot: policies', () => {
  it('fails on a violated rule even when the outputs match', async () => {
    const w = await world(() => IDENTICAL);
    await w.policies.putNextVersion({ name: 'score-floor', rules: [{ name: 'floor', field: 'outputs.score', comparator: 'WithinRange', min: 0.9, max: 1 }] }, '2026-11-01T00:00:00.000Z');
    const result = await replay(w, { mode: 'Strict', policyName: 'score-floor' });
    expect(result.outputsMatch).toBe(true);
    expect(result.status).toBe('Failed');
    expect(result.policy).toMatchObject({ name: 'score-floor', version: 1 });
    expect(result.policyViolations).toEqual([expect.objectContaining({ ruleName: 'floor', field: 'outputs.score', actual: expect.stringContaining('0.82') })]);
  });

  it('uses the original as baseline: a relative rule compares the replayed decision with it', async () => {
    const w = await world(() => VERY_DIFFERENT);
    const policy = { rules: [{ name: 'same-decision', field: 'outputs.decision', comparator: 'ExactMatch' }, { name: 'no-drop', field: 'outputs.score', comparator: 'MaxDecreasePercent', threshold: 10 }] };
    const result = await replay(w, { mode: 'Tolerant', policy });
    expect(result.policy?.rules.map((r) => [r.ruleName, r.status])).toEqual([
      ['same-decision', 'violated'],
      ['no-drop', 'violated'],
    ]);
  });

  it('succeeds when outputs match and every rule passes', async () => {
    const w = await world(() => SLIGHTLY_DIFFERENT);
    const result = await replay(w, { policy: { rules: [{ field: 'outputs.decision', comparator: 'ExactMatch' }] } });
    expect(result).toMatchObject({ status: 'Success', policyViolations: [], policy: { name: 'inline', version: null, rules: [{ ruleName: 'ExactMatch(outputs.decision)', status: 'passed' }] } });
  });
});

describe('replaySnapshot: a noise profile pinned by a batch', () => {
  /** Profiles of approve_loan, versions 1..n, each with no fields (the version is what is looked at). */
  function profiles(versions: number): { store: NoiseProfileStore; learn(): void } {
    const stored: NoiseProfile[] = [];
    const learn = () => stored.push({ functionName: 'approve_loan', version: stored.length + 1, executor: 'http', modelVersions: [], similarityProvider: 'lexical', sampleSize: 2, pairs: 2, numericSafetyFactor: 3, fields: [], batchId: '01JBZ0000000000000000000B1', createdAt: '2026-11-01T00:00:00.000Z' });
    for (let i = 0; i < versions; i++) learn();
    return {
      store: {
        putNextVersion: () => Promise.reject(new Error('not used')),
        getLatest: (fn) => Promise.resolve(fn === 'approve_loan' ? stored.at(-1) : undefined),
        getVersion: (fn, v) => Promise.resolve(fn === 'approve_loan' ? stored.find((p) => p.version === v) : undefined),
      },
      learn,
    };
  }

  it("compares with the pinned version of 'latest', not a version learned since", async () => {
    const w = await world();
    const { store, learn } = profiles(1);
    const prepared = preparedReplay(parseReplayRequest({ noiseProfile: 'latest' }), undefined, [{ functionName: 'approve_loan', version: 1 }]);
    learn();

    const result = await replaySnapshot({ ...w.deps, noiseProfiles: store }, SNAPSHOT_ID, prepared);

    expect(result.noiseProfile).toEqual({ functionName: 'approve_loan', version: 1 });
    // Without pins, 'latest' is the latest when read.
    const unpinned = await replaySnapshot({ ...w.deps, noiseProfiles: store }, SNAPSHOT_ID, preparedReplay(parseReplayRequest({ noiseProfile: 'latest' }), undefined));
    expect(unpinned.noiseProfile).toEqual({ functionName: 'approve_loan', version: 2 });
  });

  it('refuses (422 NO_NOISE_PROFILE) a function the batch pinned no version of: it had none when the batch started', async () => {
    const w = await world();
    const { store } = profiles(1);
    const prepared = preparedReplay(parseReplayRequest({ noiseProfile: 'latest' }), undefined, [{ functionName: 'other_fn', version: 4 }]);

    await expect(replaySnapshot({ ...w.deps, noiseProfiles: store }, SNAPSHOT_ID, prepared)).rejects.toMatchObject({
      code: 'NO_NOISE_PROFILE',
      message: "no noise profile of function 'approve_loan' was pinned when the batch started (it had none learned then); POST /functions/approve_loan/noise-profile, then run the batch again",
    });
  });
});

describe('pinListedNoiseProfiles', () => {
  const profile = (functionName: string, version: number): NoiseProfile => ({ functionName, version, executor: 'http', modelVersions: [], similarityProvider: 'lexical', sampleSize: 2, pairs: 2, numericSafetyFactor: 3, fields: [], batchId: '01JBZ0000000000000000000B1', createdAt: '2026-11-01T00:00:00.000Z' });
  const store = (latest: Record<string, number>): NoiseProfileStore => ({
    putNextVersion: () => Promise.reject(new Error('not used')),
    getLatest: (fn) => Promise.resolve(Object.hasOwn(latest, fn) ? profile(fn, latest[fn] as number) : undefined),
    getVersion: () => Promise.reject(new Error('not used')),
  });
  const id = (n: number) => `01JBZ0000000000000000${String(n).padStart(5, '0')}`;

  it("pins each listed snapshot's function to its latest version, reading their function names 100 at a time (not the snapshots)", async () => {
    const snapshots = new MemorySnapshotStore();
    // 250 snapshots of two functions, and one listed id that is not stored.
    for (let n = 0; n < 250; n++) await snapshots.putIfAbsent(buildSnapshot({ ...RECORDED, functionName: n % 2 === 0 ? 'approve_loan' : 'score_risk' }, id(n), '2026-11-01T09:00:00.000Z'));
    const ids = [...Array.from({ length: 250 }, (_, n) => id(n)), id(999)];

    expect(await pinListedNoiseProfiles(store({ approve_loan: 3, score_risk: 1 }), snapshots, ids)).toEqual([
      { functionName: 'approve_loan', version: 3 },
      { functionName: 'score_risk', version: 1 },
    ]);
    expect(snapshots.nameReads).toBe(3);
    expect(snapshots.manyReads).toBe(0);
  });

  it('refuses (422 NO_NOISE_PROFILE) listed snapshots of functions with no profile, naming them', async () => {
    const snapshots = new MemorySnapshotStore();
    for (const [n, functionName] of ['approve_loan', 'score_risk', 'constructor'].entries()) await snapshots.putIfAbsent(buildSnapshot({ ...RECORDED, functionName }, id(n), '2026-11-01T09:00:00.000Z'));

    await expect(pinListedNoiseProfiles(store({ approve_loan: 3 }), snapshots, [id(0), id(1), id(2)])).rejects.toMatchObject({
      code: 'NO_NOISE_PROFILE',
      message: "no noise profile has been learned for functions 'constructor', 'score_risk' of the listed snapshots; POST /functions/{fn}/noise-profile first, or leave out noiseProfile",
      details: { functionName: 'constructor', functionNames: ['constructor', 'score_risk'] },
    });
    // A schedule has no one to refuse: those functions are left out (their items record NO_NOISE_PROFILE).
    expect(await pinListedNoiseProfiles(store({ approve_loan: 3 }), snapshots, [id(0), id(1), id(2)], { unprofiled: 'leave' })).toEqual([{ functionName: 'approve_loan', version: 3 }]);
  });
});

describe('prepareReplay', () => {
  it('answers 404 for an unknown policyName', async () => {
    const w = await world();
    await expect(prepareReplay(w.policies, { policyName: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('answers 400 when both policy and policyName are given', async () => {
    const w = await world();
    await w.policies.putNextVersion({ name: 'p', rules: [{ field: 'outputs.decision', comparator: 'ExactMatch' }] }, '2026-11-01T00:00:00.000Z');
    await expect(prepareReplay(w.policies, { policyName: 'p', policy: { rules: [{ field: 'outputs.decision', comparator: 'ExactMatch' }] } })).rejects.toBeInstanceOf(ValidationError);
  });

  it.each(['Strict', 'ValidationOnly'])('answers 400 for a tolerance with mode %s', async (mode) => {
    const w = await world();
    await expect(prepareReplay(w.policies, { mode, tolerance: 0.9 })).rejects.toThrow(/tolerance applies to Tolerant mode only/);
  });

  it.each([
    [{ overrides: { context: { promptVersion: 'v4' } } }, 'overrides applies', ['overrides']],
    [{ dependencyMode: 'live' }, 'dependencyMode applies', ['dependencyMode']],
    [{ overrides: { modelParameters: { temperature: 1 } }, dependencyMode: 'recorded' }, 'overrides and dependencyMode apply', ['overrides', 'dependencyMode']],
  ])('answers 400 for options of an executed replay with ValidationOnly (%j), which executes nothing', async (options, words, paths) => {
    const w = await world();
    const err = await prepareReplay(w.policies, { mode: 'ValidationOnly', ...options }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toBe(`${words} to replays that execute (Strict or Tolerant), not ValidationOnly: it executes nothing and checks the recorded outputs`);
    expect((err as ValidationError).details).toEqual({ issues: paths.map((path) => ({ path, message: 'not with mode ValidationOnly' })) });
    // The same options are what Strict and Tolerant replays use.
    for (const mode of ['Strict', 'Tolerant']) expect((await prepareReplay(w.policies, { mode, ...options })).mode).toBe(mode);
  });

  it('accepts a tolerance without a mode (Tolerant by default)', async () => {
    const w = await world();
    expect(await prepareReplay(w.policies, { tolerance: 0.5 })).toMatchObject({ mode: 'Tolerant', tolerance: 0.5 });
  });

  it.each([
    [{ mode: 'Lenient' }],
    [{ tolerance: 1.5 }],
    [{ tolerance: -0.1 }],
    [{ overrides: { modelParameters: { temperature: 'hot' } } }],
    [{ unknownField: true }],
    [{ policy: { rules: [{ field: 'outputs.a', comparator: 'Fuzzy' }] } }],
  ])('answers 400 for an invalid request %j', async (body) => {
    const w = await world();
    await expect(prepareReplay(w.policies, body)).rejects.toBeInstanceOf(ValidationError);
  });
});

function apiRequest(body: unknown): ApiRequest {
  const rawBody = JSON.stringify(body);
  return {
    routeKey: 'POST /snapshots/{id}/replay',
    method: 'POST',
    path: `/snapshots/${SNAPSHOT_ID}/replay`,
    pathParameters: { id: SNAPSHOT_ID },
    query: {},
    headers: {},
    rawBody,
    json: () => JSON.parse(rawBody) as unknown,
    requestId: 'test',
  };
}
