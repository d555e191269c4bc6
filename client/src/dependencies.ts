/**
 * Recorded dependencies in the SDK: `recorder.dependency(name, kind, request, liveFn)`.
 *
 * A decision that calls tools, a retrieval index, an http API or another model wraps each such call
 * in `recorder.dependency(...)`. What happens depends on the scope the call runs in (an
 * AsyncLocalStorage scope, so concurrent decisions never mix their calls):
 *
 * - **Inside a wrapped call** (`recorder.wrap(fn)`): `liveFn()` runs and its answer is returned
 *   unchanged; the call `{name, kind, request, response, latencyMs}` is recorded into that
 *   decision's snapshot (`dependencies`).
 * - **Inside a replay** (`recorder.replay(executorRequest, fn)` in the service that answers the
 *   http/lambda executor): when the executor request carries `recordedDependencies` (dependency
 *   mode `recorded`), the recorded response of the call of the same name is returned and `liveFn`
 *   is not called; otherwise (mode `live`, or a call the recording lacks) `liveFn()` runs. Either
 *   way the call is noted, and `replay` answers the calls beside the result so the service can
 *   report them (`dependencies` in its answer), which the replay lists as unchanged / changed /
 *   new / missing against the recording. A wrapped function called inside a replay records no new
 *   snapshot: a replay is not a production decision.
 * - **Anywhere else**: `liveFn()` runs; nothing is recorded.
 *
 * Repeated calls to the same name are numbered in call order — `rates`, `rates#2`, `rates#3` — both
 * when recording and when replaying, so the n-th call is answered with the n-th recorded one.
 * Requests and responses are recorded as JSON (taken at call time); a recorded response comes back
 * as that JSON (a `Date` comes back as its ISO string). Inside a wrapped call, a request or answer
 * JSON cannot hold (a BigInt, a cycle) never fails the call: it goes on, its answer returned
 * unchanged, and the decision counts as failed (to `onError`, the TypeError naming the call); in a
 * replay it is refused with that TypeError. The service refuses a snapshot with more than 50 calls
 * or a call larger than 32 KiB (the recorder then counts the decision as failed).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import type { JsonValue } from './schemas.js';

export type DependencyKind = 'tool' | 'retrieval' | 'http' | 'model';
export const DEPENDENCY_KINDS: readonly DependencyKind[] = ['tool', 'retrieval', 'http', 'model'];

/** One dependency call, as recorded with a snapshot and as reported by an executor. */
export interface DependencyCall {
  name: string;
  kind: DependencyKind;
  request: JsonValue;
  response: JsonValue;
  latencyMs: number;
}

/** The parts of an executor request a replay reads (the service sends `{functionName, inputs, …, dependencyMode?, recordedDependencies?}`). */
export interface ExecutorRequestLike {
  dependencyMode?: 'recorded' | 'live';
  recordedDependencies?: readonly { name: string; response: JsonValue }[];
}

interface Scope {
  /** record: a wrapped production call; replay: answering an executor request. */
  readonly kind: 'record' | 'replay';
  readonly calls: DependencyCall[];
  readonly seen: Map<string, number>;
  /** In a recorded-mode replay: the recorded responses by (numbered) name. */
  readonly recorded?: ReadonlyMap<string, JsonValue>;
  /** In a wrapped call: the first call that could not be recorded (the decision then fails). */
  problem?: unknown;
}

const scopes = new AsyncLocalStorage<Scope>();

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_:/-]*$/;

/** A JSON copy taken now; a value JSON cannot hold is refused with a TypeError naming the call. */
function toJson(value: unknown, what: string): JsonValue {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new TypeError(`${what} is not JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  // undefined, a function or a symbol: JSON has no form for them; record null as JSON.stringify of an array would.
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}

/** The name of the next call to `name` in this scope: `name`, then `name#2`, `name#3`, … */
function nextName(scope: Scope, name: string): string {
  const n = (scope.seen.get(name) ?? 0) + 1;
  scope.seen.set(name, n);
  return n === 1 ? name : `${name}#${n}`;
}

/**
 * Makes one dependency call (see the module comment): returns `liveFn`'s answer, or in a
 * recorded-mode replay the recorded one, and notes the call in the current scope.
 */
export async function dependency<T>(name: string, kind: DependencyKind, request: unknown, liveFn: () => T | Promise<T>): Promise<T> {
  if (!NAME.test(name) || name.length > 120) throw new TypeError(`dependency name '${name}' must be 1-120 letters, digits, _ - : / (it becomes a field path key; '#n' is added for repeated calls)`);
  if (!DEPENDENCY_KINDS.includes(kind)) throw new TypeError(`dependency kind must be one of ${DEPENDENCY_KINDS.join(', ')}`);
  const scope = scopes.getStore();
  if (scope === undefined) return liveFn();
  const callName = nextName(scope, name);
  if (scope.kind === 'record') {
    // Recording never fails the caller's call: what cannot be recorded fails the decision instead.
    let asked: JsonValue = null;
    try {
      asked = toJson(request, `the request of dependency '${callName}'`);
    } catch (err) {
      scope.problem ??= err;
    }
    const started = performance.now();
    const answer = await liveFn();
    const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
    try {
      if (scope.problem === undefined) scope.calls.push({ name: callName, kind, request: asked, response: toJson(answer, `the response of dependency '${callName}'`), latencyMs });
    } catch (err) {
      scope.problem ??= err;
    }
    return answer;
  }
  const asked = toJson(request, `the request of dependency '${callName}'`);
  if (scope.recorded?.has(callName)) {
    const response = scope.recorded.get(callName) as JsonValue;
    scope.calls.push({ name: callName, kind, request: asked, response, latencyMs: 0 });
    return response as T;
  }
  const started = performance.now();
  const answer = await liveFn();
  const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
  scope.calls.push({ name: callName, kind, request: asked, response: toJson(answer, `the response of dependency '${callName}'`), latencyMs });
  return answer;
}

/** True inside `replay(...)`: wrapped calls then record no snapshot. */
export function inReplay(): boolean {
  return scopes.getStore()?.kind === 'replay';
}

/**
 * A fresh recording scope: `calls` fills as what `run` runs (and what it awaits) makes dependency
 * calls; `problem` is the first call that could not be recorded (a request or answer not JSON).
 */
export function recordingScope(): { calls: DependencyCall[]; readonly problem: unknown; run<R>(fn: () => R): R } {
  const scope: Scope = { kind: 'record', calls: [], seen: new Map() };
  return {
    calls: scope.calls,
    get problem() {
      return scope.problem;
    },
    run: (fn) => scopes.run(scope, fn),
  };
}

/**
 * Runs `fn` to answer an executor request: dependency calls inside it are served from the request's
 * `recordedDependencies` in recorded mode (else live), and returned beside `fn`'s result for the
 * executor's answer: `{outputs, dependencies}`.
 */
export async function replay<R>(executorRequest: ExecutorRequestLike, fn: () => R | Promise<R>): Promise<{ result: Awaited<R>; dependencies: DependencyCall[] }> {
  const recordedMode = executorRequest.dependencyMode === 'recorded' || (executorRequest.dependencyMode === undefined && executorRequest.recordedDependencies !== undefined);
  const recorded = recordedMode ? new Map((executorRequest.recordedDependencies ?? []).map((d) => [d.name, d.response] as const)) : undefined;
  const scope: Scope = { kind: 'replay', calls: [], seen: new Map(), ...(recorded !== undefined && { recorded }) };
  const result = await scopes.run(scope, fn);
  return { result, dependencies: scope.calls };
}
