/**
 * DecisionReplayClient against a stand-in fetch: what it sends (exactly the body it was given,
 * never a rewritten copy), what it refuses before sending (empty path segments), and what it reads
 * from the answer besides the body (the snapshot's `content-integrity`).
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { DecisionReplayClient } from '../../client/src/client.js';
import { DecisionReplayValidationError } from '../../client/src/errors.js';
import { repeatedCursorGuard } from '../../client/src/paging.js';
import type { RecordSnapshot } from '../../client/src/schemas.js';

interface Call {
  method: string;
  url: URL;
  body: string | undefined;
}

/** A client whose fetch records each call and answers `answer(call)`. */
function clientWith(answer: (call: Call) => Response = () => new Response('{}', { status: 200 })) {
  const calls: Call[] = [];
  const fetch = (async (url: URL, init: RequestInit) => {
    const call = { method: init.method as string, url: new URL(url), body: init.body as string | undefined };
    calls.push(call);
    return answer(call);
  }) as unknown as typeof globalThis.fetch;
  return { client: new DecisionReplayClient({ endpoint: 'http://127.0.0.1:1', fetch, retries: 0 }), calls };
}

describe('repeatedCursorGuard (the SDK iterators and the audit record source)', () => {
  it('lets new cursors and the last page through, and refuses a cursor the walk already followed, naming who answered it', () => {
    const guard = repeatedCursorGuard();
    guard('c1', 'page 1 of the list');
    guard('c2', 'page 2 of the list');
    expect(() => guard('c1', 'page 3 of the list')).toThrow(expect.objectContaining({ code: 'INVALID_RESPONSE', message: expect.stringMatching(/^page 3 of the list answered a nextCursor an earlier page had answered/) }));
    expect(() => guard(undefined, 'page 4 of the list')).not.toThrow();
    // Each walk has its own: another walk may follow the same cursors.
    expect(() => repeatedCursorGuard()('c1', 'page 1 of the list')).not.toThrow();
  });
});

describe('DecisionReplayClient', () => {
  it('retries a policy PUT the service answered 503 (nothing stored, s12 D14), but not an API Gateway 503 or a 409', async () => {
    const busy = JSON.stringify({ error: { code: 'POLICY_BUSY', message: "policy 'race' is being changed by many writers at once" } });
    const stored = JSON.stringify({ name: 'race', version: 7, functionNames: [], rules: [{ field: 'outputs.a', comparator: 'ExactMatch' }], createdAt: '2026-12-02T05:00:00.000Z' });
    const answers = [new Response(busy, { status: 503, headers: { 'retry-after': '0' } }), new Response(stored, { status: 200 })];
    const calls: string[] = [];
    const fetch = (async (_url: URL, init: RequestInit) => {
      calls.push(init.method as string);
      return answers.shift() ?? new Response('{}', { status: 500 });
    }) as unknown as typeof globalThis.fetch;
    const client = new DecisionReplayClient({ endpoint: 'http://127.0.0.1:1', fetch, retries: 2, retryBaseDelayMs: 1 });
    await expect(client.putPolicy('race', { rules: [{ field: 'outputs.a', comparator: 'ExactMatch' }] })).resolves.toMatchObject({ version: 7 });
    expect(calls).toEqual(['PUT', 'PUT']);

    // API Gateway's own 503 ({message}) and a 409 say nothing about what was stored: not retried.
    for (const [status, body] of [[503, '{"message":"Service Unavailable"}'], [409, JSON.stringify({ error: { code: 'CONFLICT', message: 'x' } })]] as const) {
      const seen: string[] = [];
      const once = (async (_url: URL, init: RequestInit) => {
        seen.push(init.method as string);
        return new Response(body, { status });
      }) as unknown as typeof globalThis.fetch;
      const c = new DecisionReplayClient({ endpoint: 'http://127.0.0.1:1', fetch: once, retries: 2, retryBaseDelayMs: 1 });
      await expect(c.putPolicy('race', { rules: [{ field: 'outputs.a', comparator: 'ExactMatch' }] })).rejects.toMatchObject({ status });
      expect(seen).toEqual(['PUT']);
    }
  });

  it('sends a "__proto__" key as it was given, so the service can refuse it, instead of silently dropping it', async () => {
    const { client, calls } = clientWith(() => new Response(JSON.stringify({ error: { code: 'UNSTORABLE_KEY', message: 'request body holds the key "__proto__" at context.__proto__' } }), { status: 400 }));
    const body = JSON.parse('{"functionName":"f","inputs":[{"name":"a","value":1}],"outputs":[{"name":"b","value":2}],"context":{"__proto__":{"a":1}}}') as RecordSnapshot;
    await expect(client.recordSnapshot(body)).rejects.toMatchObject({ status: 400, code: 'UNSTORABLE_KEY' });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toContain('"context":{"__proto__":{"a":1}}');
  });

  it('refuses an empty or missing id before sending anything, with a rejection that names it', async () => {
    const { client, calls } = clientWith();
    const empty = client.getSnapshot('');
    await expect(empty).rejects.toBeInstanceOf(DecisionReplayValidationError);
    await expect(empty).rejects.toThrow('invalid snapshotId: must not be empty');
    await expect(client.diffSnapshots('01JZZZZZZZZZZZZZZZZZZZZZZZ', '')).rejects.toThrow('invalid otherId: must not be empty');
    await expect(client.getBatch(undefined as unknown as string)).rejects.toThrow('invalid batchId: must be a string, got undefined');
    await expect(client.getPolicy('')).rejects.toThrow('invalid name: must not be empty');
    expect(calls).toEqual([]);
  });

  it('rejects (never throws synchronously) when a request body fails the schema', async () => {
    const { client, calls } = clientWith();
    let returned: Promise<unknown> | undefined;
    expect(() => {
      returned = client.recordSnapshot({ functionName: 'f', inputs: [], outputs: [] } as unknown as RecordSnapshot);
    }).not.toThrow();
    await expect(returned).rejects.toBeInstanceOf(DecisionReplayValidationError);
    expect(calls).toEqual([]);
  });

  it('follows an empty page that has a nextCursor, and rejects a nextCursor it already followed instead of paging forever', async () => {
    const snap = (n: number) => ({ snapshotId: `01JZZZZZZZZZZZZZZZZZZZZZ${String(n).padStart(2, '0')}` });
    const pageOf = (items: unknown[], nextCursor?: string) => new Response(JSON.stringify({ items, ...(nextCursor !== undefined && { nextCursor }) }), { status: 200 });
    // An empty page in the middle (a page cut short by DynamoDB's filter) loses nothing.
    const pages: Record<string, Response> = { '': pageOf([snap(1)], 'c1'), c1: pageOf([], 'c2'), c2: pageOf([snap(2)]) };
    const { client: lister } = clientWith((call) => pages[call.url.searchParams.get('cursor') ?? ''] as Response);
    const ids: string[] = [];
    for await (const s of lister.iterateSnapshots({ functionName: 'f' })) ids.push(s.snapshotId);
    expect(ids).toEqual([snap(1).snapshotId, snap(2).snapshotId]);

    // Probe s19: a cache that ignores the query answers every page with the first one, whose
    // nextCursor is always 'c1'; the iterator fetched and yielded it again without end.
    for (const cycle of [{ '': 'c1', c1: 'c1' }, { '': 'c1', c1: 'c2', c2: 'c1' }] as Array<Record<string, string>>) {
      const { client, calls } = clientWith((call) => pageOf([snap(calls.length)], cycle[call.url.searchParams.get('cursor') ?? '']));
      const seen: string[] = [];
      const walk = (async () => {
        for await (const s of client.iterateSnapshots({ functionName: 'f' })) {
          seen.push(s.snapshotId);
          if (seen.length > 50) throw new Error('still paging after 50 items');
        }
      })();
      await expect(walk).rejects.toMatchObject({ code: 'INVALID_RESPONSE', message: expect.stringContaining('answered a nextCursor an earlier page had answered') });
      expect(seen).toHaveLength(Object.keys(cycle).length);
    }
  });

  it('iterates snapshots with each one’s integrity: tampered as the page names them, verified the rest, unknown without the page’s header', async () => {
    const snap = (n: number) => ({ snapshotId: `01JZZZZZZZZZZZZZZZZZZZZZ${String(n).padStart(2, '0')}` });
    const page = (body: Record<string, unknown>, header?: string) => new Response(JSON.stringify(body), { status: 200, headers: header === undefined ? {} : { 'content-integrity': header } });
    const pages: Record<string, Response> = {
      '': page({ items: [snap(1), snap(2)], tampered: [{ index: 1, snapshotId: snap(2).snapshotId }], nextCursor: 'c1' }, 'tampered'),
      c1: page({ items: [snap(3)], nextCursor: 'c2' }, 'verified'),
      // A service from before listings said: nothing can be told of its items.
      c2: page({ items: [snap(4)], nextCursor: 'c3' }),
      // A verdict without the list of which: none of them is told apart.
      c3: page({ items: [snap(5)] }, 'tampered'),
    };
    const { client } = clientWith((call) => pages[call.url.searchParams.get('cursor') ?? ''] as Response);
    const seen: [string, string][] = [];
    for await (const r of client.iterateSnapshotsWithIntegrity({ functionName: 'f' })) seen.push([r.snapshot.snapshotId, r.integrity]);
    expect(seen).toEqual([
      [snap(1).snapshotId, 'verified'],
      [snap(2).snapshotId, 'tampered'],
      [snap(3).snapshotId, 'verified'],
      [snap(4).snapshotId, 'unknown'],
      [snap(5).snapshotId, 'unknown'],
    ]);
  });

  it('reads the snapshot’s content-integrity header: tampered, verified, or unknown when absent', async () => {
    const stored = { snapshotId: '01JZZZZZZZZZZZZZZZZZZZZZZZ', functionName: 'f', inputs: [] };
    for (const [header, integrity] of [['tampered', 'tampered'], ['verified', 'verified'], [undefined, 'unknown']] as const) {
      const { client } = clientWith(() => new Response(JSON.stringify(stored), { status: 200, headers: header === undefined ? {} : { 'content-integrity': header } }));
      await expect(client.getSnapshotWithIntegrity(stored.snapshotId)).resolves.toEqual({ snapshot: stored, integrity });
      await expect(client.getSnapshot(stored.snapshotId)).resolves.toEqual(stored);
    }
  });

  it('asks for one version of a policy with ?version=N, and the latest without it', async () => {
    const { client, calls } = clientWith(() => new Response('{"name":"p","version":2}', { status: 200 }));
    await client.getPolicy('p', { version: 2 });
    await client.getPolicy('p');
    expect(calls.map((c) => `${c.url.pathname}${c.url.search}`)).toEqual(['/policies/p?version=2', '/policies/p']);
  });

  it('leaves no abort listener behind on the caller’s signal after a retry’s backoff (a recorder’s one signal serves every request)', async () => {
    // Each backoff listened for the signal's abort and never stopped: a recorder against a service
    // answering 503 piled up one listener per retry on its one signal, without end (Node warned of
    // a leak after 10), each holding its request until the recorder closed.
    let n = 0;
    const fetch = (async () => (++n % 2 === 1 ? new Response('{}', { status: 503 }) : new Response('{}', { status: 200 }))) as unknown as typeof globalThis.fetch;
    const client = new DecisionReplayClient({ endpoint: 'http://127.0.0.1:1', fetch, retries: 1, retryBaseDelayMs: 1 });
    const signal = new AbortController().signal;
    for (let i = 0; i < 20; i++) await client.getOpenApi({ signal });
    expect(n).toBe(40);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('says a request could not be signed (no AWS credentials) as CREDENTIALS_ERROR, at once, not as a network failure after every retry', async () => {
    // Missing credentials were caught as a failed fetch: retried 3 times, then NETWORK_ERROR "…:
    // Could not load credentials from any providers (after 4 attempts)" — the CLI said the
    // service could not be reached.
    let asked = 0;
    let fetched = 0;
    const fetch = (async () => {
      fetched += 1;
      return new Response('{}', { status: 200 });
    }) as unknown as typeof globalThis.fetch;
    const credentials = async () => {
      asked += 1;
      throw new Error('Could not load credentials from any providers');
    };
    const client = new DecisionReplayClient({ endpoint: 'https://abc123def4.execute-api.eu-west-1.amazonaws.com', fetch, credentials, retryBaseDelayMs: 1 });
    const err = await client.getOpenApi().then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ name: 'DecisionReplayError', status: 0, code: 'CREDENTIALS_ERROR', message: expect.stringMatching(/^GET https:\/\/abc123def4\.execute-api\.eu-west-1\.amazonaws\.com\/openapi\.json: could not sign the request \(SigV4\): Could not load credentials from any providers; /) });
    expect(asked).toBe(1);
    expect(fetched).toBe(0);
  });

  it('refuses a body nested thousands of levels deep as INVALID_REQUEST naming where, not with a stack overflow', async () => {
    // The schema check walks values recursively: 5,000 nested arrays overflowed the stack, so the
    // SDK rejected with a bare RangeError and the CLI's `record` exited 3 ("Maximum call stack size
    // exceeded") where a body the schema refuses is a usage error (exit 2).
    const { client, calls } = clientWith();
    let deep: unknown = 1;
    for (let i = 0; i < 5000; i++) deep = [deep];
    const err = await client.recordSnapshot({ functionName: 'f', inputs: [{ name: 'x', value: deep as never }], outputs: [{ name: 'y', value: 1 }] }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DecisionReplayValidationError);
    expect(err).toMatchObject({ status: 0, code: 'INVALID_REQUEST', message: expect.stringMatching(/^invalid snapshot: inputs\[0\]\.value(\[0\])+: nested deeper than 64 levels/) });
    expect(calls).toHaveLength(0);
  });
});
