/**
 * `createRecorder`: records the decisions a function makes, from application code, without ever
 * getting in its way.
 *
 * `recorder.wrap(fn, options)` returns a function with the same signature that calls `fn`, measures
 * it, and hands the decision to a bounded queue; a background sender posts it. The caller gets
 * `fn`'s own result (the very same promise for an async `fn`) or `fn`'s own error, unchanged. The
 * recorder never throws into the caller and never waits for the service:
 * - the decision is turned into JSON at call time: its inputs, model parameters and context before
 *   `fn` runs, so they are the arguments as `fn` received them (neither `fn` changing its own
 *   arguments nor an async call's caller changing them while it runs alters what is recorded), and
 *   its outputs when `fn`'s result is there; a property JSON leaves out of an object (`undefined`,
 *   a function, a symbol) is left out of the inputs and outputs as well; a mapper that throws, a
 *   value that is not JSON, or a decision the service's schema refuses (checked by the client
 *   before sending) counts as `failed` and is reported to `onError`;
 * - when `maxQueue` decisions are waiting as a call starts or ends, its decision is dropped and
 *   counted (`dropped`), without mapping its arguments;
 * - each decision gets one Idempotency-Key at call time, and every retry of it (the client's
 *   retries with backoff) sends the same key, so the service records it once;
 * - `recorded + failed + dropped + pending` always equals the number of decisions captured.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { DecisionReplayClient } from './client.js';
import { DecisionReplayNetworkError } from './errors.js';
import { dependency, inReplay, recordingScope, replay, type DependencyCall, type DependencyKind, type ExecutorRequestLike } from './dependencies.js';
import type { JsonObject, JsonValue, ModelParameters, NamedValue, RecordSnapshot } from './schemas.js';

/**
 * Inputs or outputs: a list of `{name, value, type?}` entries, or an object whose own enumerable
 * keys are the names. Any object type is accepted, interfaces and class instances included (an
 * interface has no index signature, so `Record<string, JsonValue>` would refuse the types
 * applications declare); its values are recorded as `JSON.stringify` writes them (a property JSON
 * leaves out — `undefined`, a function, a symbol — is not recorded), and a value JSON cannot hold
 * makes the decision `failed`, reported to `onError`, never thrown.
 */
export type NamedValues = readonly NamedValue[] | object;

export interface WrapOptions<A extends unknown[], R> {
  functionName: string;
  /** The decision's inputs, from the call's arguments. */
  inputs: (...args: A) => NamedValues;
  /** The decision's outputs, from `fn`'s (awaited) result. */
  outputs: (result: Awaited<R>) => NamedValues;
  /** Fixed, or computed from the arguments. */
  modelParameters?: ModelParameters | ((...args: A) => ModelParameters | undefined);
  /** Fixed, or computed from the arguments. */
  context?: JsonObject | ((...args: A) => JsonObject | undefined);
  tags?: Record<string, string>;
  /** Also record calls whose `fn` threw or rejected (default false); their outputs come from `errorOutputs`. */
  recordErrors?: boolean;
  /** Outputs of a failed call (default `{ error: { name, message } }`). */
  errorOutputs?: (error: unknown) => NamedValues;
}

export interface RecorderOptions {
  client: DecisionReplayClient;
  /** Most decisions waiting to be sent (default 1,000); beyond it new ones are dropped and counted. */
  maxQueue?: number;
  /** How long a decision may wait before the sender starts (default 50 ms; flush() sends at once). */
  flushIntervalMs?: number;
  /** Records sent at once (default 4). */
  concurrency?: number;
  /** Told about each decision that could not be recorded (never about dropped ones: see stats). */
  onError?: (error: unknown, decision: { functionName: string }) => void;
}

export interface CloseOptions {
  /** Most milliseconds to wait for what is queued and being sent (default: no limit). */
  timeoutMs?: number;
}

export interface RecorderStats {
  /** Stored by the service. */
  recorded: number;
  /** Given up on: refused by the service, unreachable after every retry, or not serialisable. */
  failed: number;
  /** Not queued because the queue was full (or the recorder closed). */
  dropped: number;
  /** Queued or being sent. */
  pending: number;
}

export interface Recorder {
  /** `fn` with the same signature and result, recording each call's decision in the background. */
  wrap<A extends unknown[], R>(fn: (...args: A) => R, options: WrapOptions<A, R>): (...args: A) => R;
  /** Sends everything queued now and resolves when nothing is pending. */
  flush(): Promise<void>;
  /**
   * Stops accepting decisions (later ones are dropped), then flushes. With `timeoutMs`, it waits at
   * most that long: then the requests still running are aborted (each counts as `failed` and goes
   * to `onError`) and the decisions not sent yet are dropped (`dropped`). Without it, it waits until
   * every decision is recorded or has failed after the client's retries, which against a service
   * that accepts connections and never answers is each request's full `timeoutMs` × (`retries` + 1).
   */
  close(options?: CloseOptions): Promise<void>;
  stats(): RecorderStats;
  /**
   * One call to a tool, retrieval index, http API or model (see dependencies.ts): `liveFn`'s answer,
   * recorded into the current wrapped decision's snapshot; inside {@link Recorder.replay} with a
   * recording, the recorded answer instead.
   */
  dependency<T>(name: string, kind: DependencyKind, request: unknown, liveFn: () => T | Promise<T>): Promise<T>;
  /** Answers an executor request with `fn`: its dependency calls are served as the request asks, and returned for the answer's `dependencies`. */
  replay<R>(executorRequest: ExecutorRequestLike, fn: () => R | Promise<R>): Promise<{ result: Awaited<R>; dependencies: DependencyCall[] }>;
}

/** A decision's JSON taken at call time, or why it could not be. */
type Captured = { json: string } | { error: unknown };

interface Pending {
  functionName: string;
  json: string;
  key: string;
}

/**
 * True for a property value `JSON.stringify` leaves out of an object (`undefined`, a function, a
 * symbol): `{reason: undefined}` is `{}` as JSON, so such a property is not an input or output.
 */
function omittedByJson(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

function toNamed(values: NamedValues): NamedValue[] {
  if (Array.isArray(values)) return values as NamedValue[];
  // Object form: recorded as JSON writes the object, so a property JSON leaves out is left out
  // (an entry without a value would make the service refuse the whole decision). The values are
  // checked where they become JSON (enqueue), not by their static type.
  return Object.entries(values)
    .filter(([, value]) => !omittedByJson(value))
    .map(([name, value]) => ({ name, value: value as JsonValue }));
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

function defaultErrorOutputs(error: unknown): NamedValues {
  return { error: error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) } };
}

export function createRecorder(options: RecorderOptions): Recorder {
  const client = options.client;
  const maxQueue = options.maxQueue ?? 1000;
  const flushIntervalMs = options.flushIntervalMs ?? 50;
  const concurrency = options.concurrency ?? 4;
  if (!(maxQueue >= 1) || !(concurrency >= 1) || !(flushIntervalMs >= 0)) throw new RangeError('maxQueue and concurrency must be ≥ 1, flushIntervalMs ≥ 0');

  // A FIFO on an array with a moving head (no shift(): O(1) per item).
  let queue: Pending[] = [];
  let head = 0;
  let inFlight = 0;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let idleWaiters: (() => void)[] = [];
  const counts = { recorded: 0, failed: 0, dropped: 0 };
  /** Aborts the requests still running when close() gives up waiting. */
  const giveUp = new AbortController();
  /**
   * Fails each send still running, when close() gives up: the abort alone ends only the requests
   * whose fetch heeds its signal, and close() must return on time even when one does not.
   */
  const abandons = new Set<(reason: unknown) => void>();

  const report = (error: unknown, functionName: string) => {
    if (!options.onError) return;
    try {
      options.onError(error, { functionName });
    } catch {
      // the caller's own handler must not break recording either
    }
  };

  const queued = () => queue.length - head;

  const settleIdle = () => {
    if (queued() === 0 && inFlight === 0 && idleWaiters.length > 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  };

  const send = (item: Pending) => {
    inFlight++;
    // Every way a send can fail lands in the one rejection handler: a promise executor turns a
    // synchronous throw (the client refusing the body before sending it, a body that does not parse)
    // into a rejection, so nothing escapes into the timer that runs the sender and `inFlight` always
    // comes back down; so does close() abandoning it.
    let abandon: (reason: unknown) => void = () => undefined;
    new Promise<unknown>((resolve, reject) => {
      abandon = reject;
      abandons.add(abandon);
      new Promise<unknown>((sent) => {
        sent(client.recordSnapshot(JSON.parse(item.json) as RecordSnapshot, { idempotencyKey: item.key, signal: giveUp.signal }));
      }).then(resolve, reject);
    })
      .then(
        () => {
          counts.recorded++;
        },
        (err: unknown) => {
          counts.failed++;
          report(err, item.functionName);
        },
      )
      .finally(() => {
        abandons.delete(abandon);
        inFlight--;
        pump();
      });
  };

  const pump = () => {
    while (inFlight < concurrency && queued() > 0) {
      const item = queue[head] as Pending;
      queue[head] = undefined as unknown as Pending;
      head++;
      if (head > 1024 && head * 2 > queue.length) {
        queue = queue.slice(head);
        head = 0;
      }
      send(item);
    }
    settleIdle();
  };

  const schedule = () => {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      pump();
    }, flushIntervalMs);
    // A waiting decision alone does not keep the process alive; flush()/close() send it at once.
    timer.unref?.();
  };

  const full = () => closed || queued() >= maxQueue;

  /**
   * The part of a decision its arguments give (inputs, model parameters, context), as JSON, taken
   * before `fn` runs: `undefined` when the queue is full (the decision will be dropped), the error
   * when a mapper throws or a value is not JSON (the decision will fail).
   */
  const capture = (build: () => Pick<RecordSnapshot, 'inputs' | 'modelParameters' | 'context'>): Captured | undefined => {
    if (full()) return undefined;
    try {
      return { json: JSON.stringify(build()) };
    } catch (error) {
      return { error };
    }
  };

  /** Queues a decision: what `capture` took, and the rest (`functionName` first, outputs, …) built now. */
  const enqueue = (functionName: string, captured: Captured | undefined, build: () => Omit<RecordSnapshot, 'inputs' | 'modelParameters' | 'context'>) => {
    if (captured === undefined || full()) {
      counts.dropped++;
      return;
    }
    let json: string;
    try {
      if ('error' in captured) throw captured.error;
      // Two JSON objects joined into one: both are non-empty (`inputs`, `functionName`).
      json = `${captured.json.slice(0, -1)},${JSON.stringify(build()).slice(1)}`;
    } catch (err) {
      counts.failed++;
      report(err, functionName);
      return;
    }
    queue.push({ functionName, json, key: randomUUID() });
    schedule();
  };

  return {
    wrap<A extends unknown[], R>(fn: (...args: A) => R, wrapOptions: WrapOptions<A, R>): (...args: A) => R {
      const { functionName, inputs, outputs, modelParameters, context, tags, recordErrors = false, errorOutputs = defaultErrorOutputs } = wrapOptions;
      const fromArgs = (args: A) => () => {
        const mp = typeof modelParameters === 'function' ? modelParameters(...args) : modelParameters;
        const ctx = typeof context === 'function' ? context(...args) : context;
        return { inputs: toNamed(inputs(...args)), ...(mp !== undefined && { modelParameters: mp }), ...(ctx !== undefined && { context: ctx }) };
      };
      const decision = (outs: NamedValues, ms: number, calls: readonly DependencyCall[]) => ({
        functionName,
        outputs: toNamed(outs),
        ...(tags !== undefined && { tags }),
        executionTimeMs: Math.round(ms * 1000) / 1000,
        ...(calls.length > 0 && { dependencies: [...calls] }),
      });
      // Each call's dependency calls are gathered in its own scope (concurrent calls never mix); a
      // call that could not be recorded there fails the decision as a mapper's error would.
      type Made = { calls: readonly DependencyCall[]; problem: unknown };
      const withProblem = (captured: Captured | undefined, made: Made): Captured | undefined => (captured !== undefined && made.problem !== undefined ? { error: made.problem } : captured);
      const onResult = (captured: Captured | undefined, result: unknown, ms: number, made: Made) => enqueue(functionName, withProblem(captured, made), () => decision(outputs(result as Awaited<R>), ms, made.calls));
      const onError = (captured: Captured | undefined, error: unknown, ms: number, made: Made) => {
        if (recordErrors) enqueue(functionName, withProblem(captured, made), () => decision(errorOutputs(error), ms, made.calls));
      };

      return function recorded(this: unknown, ...args: A): R {
        // Answering an executor request is a replay, not a production decision: nothing is recorded.
        if (inReplay()) return fn.apply(this, args);
        const captured = capture(fromArgs(args));
        const start = performance.now();
        const scope = recordingScope();
        let result: R;
        try {
          result = scope.run(() => fn.apply(this, args));
        } catch (err) {
          onError(captured, err, performance.now() - start, scope);
          throw err;
        }
        if (isThenable(result)) {
          // The caller gets `result` itself; recording hangs off a branch of it.
          try {
            result.then(
              (value) => onResult(captured, value, performance.now() - start, scope),
              (err: unknown) => onError(captured, err, performance.now() - start, scope),
            );
          } catch {
            // a thenable whose then() throws: the caller's business, not the recorder's
          }
          return result;
        }
        onResult(captured, result, performance.now() - start, scope);
        return result;
      };
    },

    flush(): Promise<void> {
      if (timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
      }
      pump();
      if (queued() === 0 && inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },

    close(closeOptions?: CloseOptions): Promise<void> {
      const timeoutMs = closeOptions?.timeoutMs;
      if (timeoutMs !== undefined && !(timeoutMs >= 0 && Number.isFinite(timeoutMs))) {
        return Promise.reject(new RangeError(`close(): timeoutMs must be a number of milliseconds, 0 or more, got ${String(timeoutMs)}`));
      }
      closed = true;
      const flushed = this.flush();
      if (timeoutMs === undefined) return flushed;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          // Not sent: dropped, as a decision after close() is. Being sent: aborted, so each fails.
          counts.dropped += queued();
          queue = [];
          head = 0;
          giveUp.abort(new DecisionReplayNetworkError(`close() gave up after ${timeoutMs} ms: the service had not answered; this decision was not recorded`));
          for (const fail of abandons) fail(giveUp.signal.reason);
          settleIdle();
          resolve();
        }, timeoutMs);
      });
      // Either way, resolves once nothing is pending: after the deadline the aborted requests settle at once.
      return Promise.race([flushed, deadline.then(() => flushed)]).finally(() => clearTimeout(timer));
    },

    stats(): RecorderStats {
      return { ...counts, pending: queued() + inFlight };
    },

    dependency,
    replay,
  };
}
