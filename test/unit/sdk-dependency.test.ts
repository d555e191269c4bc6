import { describe, expect, it } from 'vitest';
import type { DecisionReplayClient } from '../../client/src/client.js';
import { createRecorder } from '../../client/src/recorder.js';
import type { RecordSnapshot } from '../../client/src/schemas.js';

/** A client stand-in that keeps what the recorder sends (the recorder only calls recordSnapshot). */
function capturingClient(): { client: DecisionReplayClient; sent: RecordSnapshot[] } {
  const sent: RecordSnapshot[] = [];
  const client = { recordSnapshot: (body: RecordSnapshot) => (sent.push(body), Promise.resolve({})) } as unknown as DecisionReplayClient;
  return { client, sent };
}

describe('recorder.dependency', () => {
  it('outside a replay calls the live tool and records each call into the wrapped decision', async () => {
    const { client, sent } = capturingClient();
    const recorder = createRecorder({ client });
    let quotes = 0;
    const liveRate = () => Promise.resolve({ rate: 0.04 + ++quotes / 1000 });
    const decide = recorder.wrap(
      async (debt: number) => {
        const first = await recorder.dependency('rates', 'tool', { currency: 'USD', amount: debt }, liveRate);
        const second = await recorder.dependency('rates', 'tool', { currency: 'EUR', amount: debt }, liveRate);
        return { decision: first.rate + second.rate < 0.1 ? 'approve' : 'review' };
      },
      { functionName: 'loan', inputs: (debt) => ({ debt }), outputs: (r) => r },
    );

    await expect(decide(20000)).resolves.toEqual({ decision: 'approve' });
    await recorder.flush();

    expect(quotes).toBe(2);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.dependencies?.map(({ latencyMs: _l, ...call }) => call)).toEqual([
      { name: 'rates', kind: 'tool', request: { currency: 'USD', amount: 20000 }, response: { rate: 0.041 } },
      { name: 'rates#2', kind: 'tool', request: { currency: 'EUR', amount: 20000 }, response: { rate: 0.042 } },
    ]);
    expect(sent[0]?.dependencies?.every((d) => d.latencyMs >= 0)).toBe(true);
  });

  it('keeps the calls of concurrent decisions apart', async () => {
    const { client, sent } = capturingClient();
    const recorder = createRecorder({ client });
    const decide = recorder.wrap(
      async (id: number) => {
        await new Promise((r) => setTimeout(r, id === 1 ? 20 : 1));
        return recorder.dependency('lookup', 'retrieval', { id }, () => `doc-${id}`);
      },
      { functionName: 'f', inputs: (id) => ({ id }), outputs: (doc) => ({ doc }) },
    );
    await Promise.all([decide(1), decide(2)]);
    await recorder.flush();
    const byInput = Object.fromEntries(sent.map((s) => [JSON.stringify(s.inputs), s.dependencies]));
    expect(byInput['[{"name":"id","value":1}]']?.map((d) => d.response)).toEqual(['doc-1']);
    expect(byInput['[{"name":"id","value":2}]']?.map((d) => d.response)).toEqual(['doc-2']);
  });

  it('records no dependencies key for a decision that made no call, and just calls live outside any scope', async () => {
    const { client, sent } = capturingClient();
    const recorder = createRecorder({ client });
    const plain = recorder.wrap((x: number) => x * 2, { functionName: 'f', inputs: (x) => ({ x }), outputs: (y) => ({ y }) });
    plain(2);
    await recorder.flush();
    expect(sent[0]).not.toHaveProperty('dependencies');
    await expect(recorder.dependency('rates', 'tool', {}, () => 42)).resolves.toBe(42);
  });

  it('during a recorded-mode replay answers from the recording, does not call the tool, and reports what was asked', async () => {
    const { client, sent } = capturingClient();
    const recorder = createRecorder({ client });
    let liveCalls = 0;
    const decide = recorder.wrap(
      async (debt: number) => {
        const quote = await recorder.dependency('rates', 'tool', { amount: debt }, () => ({ rate: 0.09 + ++liveCalls }));
        const news = await recorder.dependency('news', 'http', { q: 'rates' }, () => 'live headline');
        return { rate: quote.rate, news };
      },
      { functionName: 'loan', inputs: (debt) => ({ debt }), outputs: (r) => r },
    );
    const executorRequest = { dependencyMode: 'recorded' as const, recordedDependencies: [{ name: 'rates', response: { rate: 0.041 } }] };

    const answer = await recorder.replay(executorRequest, () => decide(25000));
    await recorder.flush();

    expect(answer.result).toEqual({ rate: 0.041, news: 'live headline' });
    expect(liveCalls).toBe(0);
    expect(answer.dependencies.map(({ latencyMs: _l, ...c }) => c)).toEqual([
      { name: 'rates', kind: 'tool', request: { amount: 25000 }, response: { rate: 0.041 } },
      // Not in the recording: asked live, and reported (the replay lists it as new).
      { name: 'news', kind: 'http', request: { q: 'rates' }, response: 'live headline' },
    ]);
    expect(sent).toEqual([]);
  });

  it('during a live-mode replay calls the tool and reports the call', async () => {
    const { client } = capturingClient();
    const recorder = createRecorder({ client });
    const answer = await recorder.replay({ dependencyMode: 'live', recordedDependencies: [{ name: 'rates', response: { rate: 0.041 } }] }, () =>
      recorder.dependency('rates', 'tool', { amount: 1 }, () => ({ rate: 0.07 })),
    );
    expect(answer.result).toEqual({ rate: 0.07 });
    expect(answer.dependencies).toMatchObject([{ name: 'rates', response: { rate: 0.07 } }]);
  });

  it('refuses a name that is not a field-path key and a kind it does not know', async () => {
    const { client } = capturingClient();
    const recorder = createRecorder({ client });
    await expect(recorder.dependency('a.b', 'tool', {}, () => 1)).rejects.toThrow(/field path key/);
    await expect(recorder.dependency('a', 'queue' as never, {}, () => 1)).rejects.toThrow(/kind must be one of/);
  });

  it('never fails a wrapped call over a dependency request or answer JSON cannot hold: the call goes on, the decision counts as failed', async () => {
    // A tool answering a BigInt (a database driver's int8) made recorder.dependency throw a
    // TypeError into the decision: the same code ran fine unwrapped, and failed once recorded.
    const { client, sent } = capturingClient();
    const errors: unknown[] = [];
    const recorder = createRecorder({ client, onError: (err) => errors.push(err) });
    let liveCalls = 0;
    const decide = recorder.wrap(
      async (id: number) => {
        const row = await recorder.dependency('accounts', 'retrieval', { id }, () => ({ id, balance: 10n ** 20n, seen: ++liveCalls }));
        const again = await recorder.dependency('audit', 'tool', { id: BigInt(id) }, () => 'ok');
        return { rich: row.balance > 0n, again };
      },
      { functionName: 'bigint_tool', inputs: (id) => ({ id }), outputs: (r) => ({ rich: r.rich, again: r.again }) },
    );
    await expect(decide(7)).resolves.toEqual({ rich: true, again: 'ok' });
    expect(liveCalls).toBe(1);
    await recorder.flush();
    expect(sent).toHaveLength(0);
    expect(recorder.stats()).toEqual({ recorded: 0, failed: 1, dropped: 0, pending: 0 });
    expect(errors).toEqual([expect.objectContaining({ name: 'TypeError', message: expect.stringMatching(/^the response of dependency 'accounts' is not JSON: .*BigInt/) })]);
  });
});
