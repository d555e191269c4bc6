/**
 * createRecorder: the wrapped function behaves exactly as the unwrapped one (same result, the same
 * promise, the same error), decisions are recorded in the background with one Idempotency-Key
 * each, the queue is bounded (drops are counted), and the counts always add up.
 */
import { describe, expect, it } from 'vitest';
import type { DecisionReplayClient } from '../../client/src/client.js';
import { DecisionReplayError, DecisionReplayNetworkError } from '../../client/src/errors.js';
import { createRecorder } from '../../client/src/recorder.js';
import type { RecordSnapshot } from '../../client/src/schemas.js';

interface Sent {
  body: RecordSnapshot;
  key: string | undefined;
}

/** A stand-in client whose recordSnapshot answers with `answer(call number)`. */
function fakeClient(answer: (n: number, sent: Sent) => Promise<unknown> = async () => ({})) {
  const sent: Sent[] = [];
  const client = {
    recordSnapshot(body: RecordSnapshot, options?: { idempotencyKey?: string }) {
      const entry = { body, key: options?.idempotencyKey };
      sent.push(entry);
      return answer(sent.length, entry);
    },
  } as unknown as DecisionReplayClient;
  return { client, sent };
}

const score = (applicant: { income: number }) => ({ decision: applicant.income > 40000 ? 'approve' : 'review', score: applicant.income / 100000 });
const wrapOptions = {
  functionName: 'approve_loan',
  inputs: (applicant: { income: number }) => ({ applicant }),
  outputs: (r: { decision: string; score: number }) => r,
  modelParameters: { modelName: 'credit', modelVersion: 'v1' },
};

describe('createRecorder', () => {
  it('returns the same result and records the decision with its inputs, outputs and execution time', async () => {
    const { client, sent } = fakeClient();
    const recorder = createRecorder({ client });
    const wrapped = recorder.wrap(score, wrapOptions);
    expect(wrapped({ income: 52000 })).toEqual({ decision: 'approve', score: 0.52 });
    expect(sent).toHaveLength(0); // nothing sent while the caller runs
    await recorder.flush();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.body).toMatchObject({
      functionName: 'approve_loan',
      inputs: [{ name: 'applicant', value: { income: 52000 } }],
      outputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: 0.52 }],
      modelParameters: { modelName: 'credit', modelVersion: 'v1' },
    });
    expect(sent[0]?.body.executionTimeMs).toBeGreaterThanOrEqual(0);
    expect(sent[0]?.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(recorder.stats()).toEqual({ recorded: 1, failed: 0, dropped: 0, pending: 0 });
  });

  it('returns the very promise of an async function and measures until it settles', async () => {
    const { client, sent } = fakeClient();
    const recorder = createRecorder({ client });
    let promise: Promise<{ decision: string; score: number }> | undefined;
    const slow = (a: { income: number }) => (promise = new Promise((r) => setTimeout(() => r(score(a)), 30)));
    const wrapped = recorder.wrap(slow, wrapOptions);
    const returned = wrapped({ income: 10000 });
    expect(returned).toBe(promise);
    expect(await returned).toEqual({ decision: 'review', score: 0.1 });
    await recorder.flush();
    expect(sent[0]?.body.executionTimeMs).toBeGreaterThanOrEqual(25);
  });

  it('rethrows the function’s error unchanged and records it only when asked to', async () => {
    const boom = new RangeError('no model');
    const failing = (_a: { income: number }): { decision: string; score: number } => {
      throw boom;
    };
    const { client, sent } = fakeClient();
    const recorder = createRecorder({ client });
    expect(() => recorder.wrap(failing, wrapOptions)({ income: 1 })).toThrow(boom);
    const rejecting = async (_a: { income: number }): Promise<{ decision: string; score: number }> => Promise.reject(boom);
    await expect(recorder.wrap(rejecting, wrapOptions)({ income: 1 })).rejects.toBe(boom);
    await recorder.flush();
    expect(sent).toHaveLength(0);

    const withErrors = recorder.wrap(failing, { ...wrapOptions, recordErrors: true });
    expect(() => withErrors({ income: 2 })).toThrow(boom);
    await expect(recorder.wrap(rejecting, { ...wrapOptions, recordErrors: true })({ income: 3 })).rejects.toBe(boom);
    await recorder.flush();
    expect(sent.map((s) => s.body.outputs)).toEqual([
      [{ name: 'error', value: { name: 'RangeError', message: 'no model' } }],
      [{ name: 'error', value: { name: 'RangeError', message: 'no model' } }],
    ]);
  });

  it('never throws into the caller when a mapper throws or the decision is not JSON: it counts a failure and tells onError', async () => {
    const { client } = fakeClient();
    const errors: unknown[] = [];
    const recorder = createRecorder({ client, onError: (err) => errors.push(err) });
    const badMapper = recorder.wrap(score, { ...wrapOptions, inputs: () => { throw new Error('mapper bug'); } });
    expect(badMapper({ income: 5 })).toEqual(score({ income: 5 }));
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const notJson = recorder.wrap(score, { ...wrapOptions, context: () => circular as never });
    expect(notJson({ income: 5 })).toEqual(score({ income: 5 }));
    await recorder.flush();
    expect(recorder.stats()).toEqual({ recorded: 0, failed: 2, dropped: 0, pending: 0 });
    expect(errors.map((e) => (e as Error).message)).toEqual(['mapper bug', expect.stringContaining('circular')]);
  });

  it('takes the interfaces and classes applications declare as inputs and outputs, recorded as JSON writes them', async () => {
    // An interface has no index signature: these types are what the README's example uses, and
    // this file is type-checked by `npm test`, so a narrower NamedValues type fails here.
    interface Applicant {
      income: number;
      debt?: number;
    }
    interface Decision {
      decision: 'approve' | 'review';
      decidedAt: Date;
    }
    class Verdict {
      constructor(readonly decision: string) {}
      describe(): string {
        return `decided: ${this.decision}`;
      }
    }
    const decide = (applicant: Applicant): Decision => ({ decision: applicant.income > 40000 ? 'approve' : 'review', decidedAt: new Date('2026-12-01T10:00:00Z') });
    const { client, sent } = fakeClient();
    const errors: unknown[] = [];
    const recorder = createRecorder({ client, onError: (err) => errors.push(err) });
    const byInterface = recorder.wrap(decide, { functionName: 'f', inputs: (applicant) => ({ applicant }), outputs: (result) => result });
    const byClass = recorder.wrap((applicant: Applicant) => new Verdict(applicant.income > 0 ? 'approve' : 'review'), { functionName: 'g', inputs: (applicant) => ({ applicant }), outputs: (verdict) => verdict });
    const notJson = recorder.wrap(decide, { functionName: 'h', inputs: (applicant) => ({ applicant, id: BigInt(applicant.income) }), outputs: (result) => result });
    byInterface({ income: 52000 });
    byClass({ income: 1 });
    expect(notJson({ income: 7 })).toEqual(decide({ income: 7 }));
    await recorder.flush();
    expect(sent.map((s) => [s.body.inputs, s.body.outputs])).toEqual([
      [[{ name: 'applicant', value: { income: 52000 } }], [{ name: 'decision', value: 'approve' }, { name: 'decidedAt', value: '2026-12-01T10:00:00.000Z' }]],
      [[{ name: 'applicant', value: { income: 1 } }], [{ name: 'decision', value: 'approve' }]],
    ]);
    expect(recorder.stats()).toEqual({ recorded: 2, failed: 1, dropped: 0, pending: 0 });
    expect(errors.map((e) => (e as Error).message)).toEqual([expect.stringContaining('BigInt')]);
  });

  it('records what the arguments were at call time, not after the caller mutates them', async () => {
    const { client, sent } = fakeClient();
    const recorder = createRecorder({ client });
    const wrapped = recorder.wrap(score, wrapOptions);
    const applicant = { income: 52000 };
    wrapped(applicant);
    applicant.income = 1;
    await recorder.flush();
    expect(sent[0]?.body.inputs).toEqual([{ name: 'applicant', value: { income: 52000 } }]);
  });

  it('records the arguments as the function received them: not as an async call’s caller or the function itself changed them afterwards', async () => {
    // The inputs were read when the call ended: an async call's caller that reused its object
    // while the call ran, or a function that sorted its own argument, had the changed values
    // recorded — inputs the function never saw, which a replay would then feed it.
    const { client, sent } = fakeClient();
    const recorder = createRecorder({ client });
    const slow = recorder.wrap(async (a: { income: number }) => {
      await new Promise((r) => setTimeout(r, 5));
      return score(a);
    }, wrapOptions);
    const applicant = { income: 52000 };
    const pending = slow(applicant);
    applicant.income = 1;
    await pending;
    const sorting = recorder.wrap((incomes: number[]) => ({ first: incomes.sort((x, y) => x - y)[0] }), {
      functionName: 'lowest_income',
      inputs: (incomes) => ({ incomes }),
      outputs: (r) => r,
      modelParameters: (incomes) => ({ modelName: 'm', modelVersion: String(incomes[0]) }),
      context: (incomes) => ({ firstAsGiven: incomes[0] ?? null }),
    });
    expect(sorting([30, 10, 20])).toEqual({ first: 10 });
    await recorder.flush();
    expect(sent.map((s) => s.body.inputs)).toEqual([[{ name: 'applicant', value: { income: 52000 } }], [{ name: 'incomes', value: [30, 10, 20] }]]);
    expect(sent[1]?.body).toMatchObject({ functionName: 'lowest_income', outputs: [{ name: 'first', value: 10 }], modelParameters: { modelVersion: '30' }, context: { firstAsGiven: 30 } });
    expect(recorder.stats()).toEqual({ recorded: 2, failed: 0, dropped: 0, pending: 0 });
  });

  it('drops and counts beyond maxQueue, and recorded + failed + dropped + pending always equals the calls', async () => {
    const gate: (() => void)[] = [];
    const { client, sent } = fakeClient((n) => (n % 3 === 0 ? Promise.reject(new DecisionReplayError(400, 'VALIDATION_ERROR', 'bad')) : new Promise((r) => gate.push(() => r({})))));
    const recorder = createRecorder({ client, maxQueue: 10, concurrency: 2, flushIntervalMs: 0 });
    const wrapped = recorder.wrap(score, wrapOptions);
    for (let i = 0; i < 100; i++) wrapped({ income: i });
    const s1 = recorder.stats();
    expect(s1.dropped).toBe(90);
    expect(s1.recorded + s1.failed + s1.dropped + s1.pending).toBe(100);
    const flushed = recorder.flush();
    while (recorder.stats().pending > 0) {
      gate.splice(0).forEach((release) => release());
      await new Promise((r) => setImmediate(r));
    }
    await flushed;
    const s2 = recorder.stats();
    expect(s2).toEqual({ recorded: 7, failed: 3, dropped: 90, pending: 0 });
    expect(sent).toHaveLength(10);
  });

  it('keeps one Idempotency-Key per decision across the client’s retries', async () => {
    // The real client retries a network failure with the same key: count the keys it sends.
    const { DecisionReplayClient } = await import('../../client/src/client.js');
    const keys: string[] = [];
    let calls = 0;
    const fakeFetch = (async (_url: URL, init: RequestInit) => {
      keys.push((init.headers as Record<string, string>)['idempotency-key'] as string);
      if (++calls < 3) throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNRESET'), { code: 'ECONNRESET' }) });
      return new Response('{}', { status: 201 });
    }) as unknown as typeof fetch;
    const client = new DecisionReplayClient({ endpoint: 'http://127.0.0.1:1', fetch: fakeFetch, retryBaseDelayMs: 1 });
    const recorder = createRecorder({ client });
    recorder.wrap(score, wrapOptions)({ income: 1 });
    await recorder.flush();
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(recorder.stats()).toEqual({ recorded: 1, failed: 0, dropped: 0, pending: 0 });
  });

  it('after close() new decisions are dropped, and close waits for what was pending', async () => {
    const { client, sent } = fakeClient(() => new Promise((r) => setTimeout(() => r({}), 20)));
    const recorder = createRecorder({ client });
    const wrapped = recorder.wrap(score, wrapOptions);
    wrapped({ income: 1 });
    wrapped({ income: 2 });
    await recorder.close();
    expect(recorder.stats()).toEqual({ recorded: 2, failed: 0, dropped: 0, pending: 0 });
    expect(wrapped({ income: 3 })).toEqual(score({ income: 3 }));
    expect(recorder.stats().dropped).toBe(1);
    expect(sent).toHaveLength(2);
  });

  it('close({timeoutMs}) stops waiting for a service that does not answer: what is sending fails, what is queued is dropped', async () => {
    // Against a server that accepts and never answers, each decision took 4 attempts of 30 s, four
    // at a time: close() of 20 decisions waited over 200 s, longer than any shutdown grace period.
    const { DecisionReplayClient } = await import('../../client/src/client.js');
    let started = 0;
    const silent = ((_url: URL, init: RequestInit) => {
      started++;
      return new Promise<Response>((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error)));
    }) as unknown as typeof fetch;
    const errors: unknown[] = [];
    const recorder = createRecorder({ client: new DecisionReplayClient({ endpoint: 'http://127.0.0.1:1', fetch: silent }), concurrency: 2, onError: (err) => errors.push(err) });
    const wrapped = recorder.wrap(score, wrapOptions);
    for (let income = 1; income <= 5; income++) wrapped({ income });

    await recorder.close({ timeoutMs: 50 });

    expect(started).toBe(2);
    expect(recorder.stats()).toEqual({ recorded: 0, failed: 2, dropped: 3, pending: 0 });
    expect(errors).toHaveLength(2);
    expect((errors[0] as Error).message).toMatch(/close\(\) gave up after 50 ms/);
  });

  it('close({timeoutMs}) keeps its time limit when the client’s fetch does not heed the abort', async () => {
    // close() aborted the requests running and then waited for them to settle: with a fetch that
    // ignores its signal (a wrapper that drops it, a stub) they never did, and close() never returned.
    const { DecisionReplayClient } = await import('../../client/src/client.js');
    const deaf = (() => new Promise<Response>(() => undefined)) as unknown as typeof fetch;
    const errors: unknown[] = [];
    const recorder = createRecorder({ client: new DecisionReplayClient({ endpoint: 'http://127.0.0.1:1', fetch: deaf }), concurrency: 2, onError: (err) => errors.push(err) });
    const wrapped = recorder.wrap(score, wrapOptions);
    for (let income = 1; income <= 3; income++) wrapped({ income });

    await recorder.close({ timeoutMs: 20 });

    expect(recorder.stats()).toEqual({ recorded: 0, failed: 2, dropped: 1, pending: 0 });
    expect(errors.map((e) => (e as Error).message)).toEqual([expect.stringMatching(/close\(\) gave up after 20 ms/), expect.stringMatching(/close\(\) gave up after 20 ms/)]);
  }, 5000);

  it('close({timeoutMs}) refuses a time limit that is not a number of milliseconds', async () => {
    const { client } = fakeClient();
    const recorder = createRecorder({ client });
    await expect(recorder.close({ timeoutMs: -1 })).rejects.toThrow(RangeError);
    await expect(recorder.close({ timeoutMs: Number.NaN })).rejects.toThrow(/timeoutMs/);
  });

  it('leaves out of the record an output property JSON leaves out (undefined, a function, a symbol), as JSON.stringify would', async () => {
    // The real client checks the body against the service's schema before sending it: an entry
    // `{name: 'reason'}` without a value would be refused, so the property must be dropped first.
    const { DecisionReplayClient } = await import('../../client/src/client.js');
    const bodies: unknown[] = [];
    const fakeFetch = (async (_url: URL, init: RequestInit) => {
      bodies.push(JSON.parse(init.body as string));
      return new Response('{}', { status: 201 });
    }) as unknown as typeof fetch;
    const errors: unknown[] = [];
    const recorder = createRecorder({ client: new DecisionReplayClient({ endpoint: 'http://127.0.0.1:1', fetch: fakeFetch }), onError: (err) => errors.push(err) });
    const decide = recorder.wrap((a: { vip?: boolean }) => ({ decision: 'approve', reason: a.vip === true ? 'vip' : undefined, explain: () => 'x', tag: Symbol('t') }), {
      functionName: 'approve_loan_app',
      inputs: (a) => ({ applicant: a, note: undefined }),
      outputs: (r) => r,
    });
    decide({});
    decide({ vip: true });
    await recorder.close();
    expect(errors).toEqual([]);
    expect(recorder.stats()).toEqual({ recorded: 2, failed: 0, dropped: 0, pending: 0 });
    expect(bodies.map((b) => [(b as RecordSnapshot).inputs, (b as RecordSnapshot).outputs])).toEqual([
      [[{ name: 'applicant', value: {} }], [{ name: 'decision', value: 'approve' }]],
      [[{ name: 'applicant', value: { vip: true } }], [{ name: 'decision', value: 'approve' }, { name: 'reason', value: 'vip' }]],
    ]);
  });

  it('counts a decision the client refuses before sending as failed, tells onError, and never throws from its timer', async () => {
    // The client's schema check throws synchronously; before, that escaped the flush timer as an
    // uncaught exception (killing the process), onError was never told, and pending stayed 1.
    const { DecisionReplayClient } = await import('../../client/src/client.js');
    const { DecisionReplayValidationError } = await import('../../client/src/errors.js');
    const fakeFetch = (async () => new Response('{}', { status: 201 })) as unknown as typeof fetch;
    let told: (value: { err: unknown; functionName: string }) => void = () => undefined;
    const reported = new Promise<{ err: unknown; functionName: string }>((resolve) => (told = resolve));
    const recorder = createRecorder({ client: new DecisionReplayClient({ endpoint: 'http://127.0.0.1:1', fetch: fakeFetch }), flushIntervalMs: 1, onError: (err, d) => told({ err, functionName: d.functionName }) });
    // A list entry without a value: as JSON it is {"name":"reason"}, which the schema refuses.
    const decide = recorder.wrap(() => 'approve', { functionName: 'approve_loan_app', inputs: () => ({ a: 1 }), outputs: () => [{ name: 'reason', value: undefined as unknown as string }] });
    expect(decide()).toBe('approve');
    const { err, functionName } = await reported; // sent by the timer, not by flush()
    expect(err).toBeInstanceOf(DecisionReplayValidationError);
    expect((err as Error).message).toContain('outputs[0].value');
    expect(functionName).toBe('approve_loan_app');
    await recorder.close();
    expect(recorder.stats()).toEqual({ recorded: 0, failed: 1, dropped: 0, pending: 0 });
  });

  it('counts a client that throws synchronously as a failure and close() still resolves', async () => {
    const client = {
      recordSnapshot() {
        throw new TypeError('broken client');
      },
    } as unknown as DecisionReplayClient;
    const seen: string[] = [];
    const recorder = createRecorder({ client, onError: (err) => seen.push((err as Error).message) });
    const wrapped = recorder.wrap(score, wrapOptions);
    wrapped({ income: 1 });
    wrapped({ income: 2 });
    await recorder.close();
    expect(recorder.stats()).toEqual({ recorded: 0, failed: 2, dropped: 0, pending: 0 });
    expect(seen).toEqual(['broken client', 'broken client']);
  });

  it('reports a failure that outlasted the client’s retries to onError, with the function name', async () => {
    const { client } = fakeClient(() => Promise.reject(new DecisionReplayNetworkError('unreachable')));
    const seen: string[] = [];
    const recorder = createRecorder({ client, onError: (err, d) => seen.push(`${d.functionName}: ${(err as Error).message}`) });
    recorder.wrap(score, wrapOptions)({ income: 1 });
    await recorder.flush();
    expect(seen).toEqual(['approve_loan: unreachable']);
    expect(recorder.stats().failed).toBe(1);
  });
});
