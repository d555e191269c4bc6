import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../functions/core/json.js';
import { verifyContentHash, type Snapshot } from '../../functions/core/snapshot.js';
import { DEPLOYED_ROUTES, ROUTES } from '../../functions/api/manifest.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { requestWithHeaders } from '../support/http.js';

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: { error?: { code: string; message: string; details?: { issues?: { path: string; message: string }[] } } } & Record<string, unknown>;
}

let host: TestHost;
/** The wall clock the host reads: each test moves it on so snapshots get known, distinct times. */
let now = Date.parse('2026-11-20T08:00:00.000Z');
/** Every response body seen, checked at the end for leaked stack frames. */
const bodies: string[] = [];

beforeAll(async () => {
  host = await startTestHost({ clock: { now: () => now } });
});
afterAll(async () => {
  await host?.close();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await requestWithHeaders<Reply['json'] | undefined>(host.url, method, path, body, headers, { jsonContentType: true });
  bodies.push(res.text);
  return { status: res.status, headers: res.headers, text: res.text, json: res.body ?? {} };
}

function decision(functionName: string, income = 52000): Record<string, unknown> {
  return {
    functionName,
    inputs: [{ name: 'applicant', value: { income, age: 41 }, type: 'object' }],
    outputs: [
      { name: 'decision', value: 'approve', type: 'string' },
      { name: 'score', value: 0.82, type: 'number' },
      { name: 'rationale', value: 'Income is well above the threshold.', type: 'string' },
    ],
    modelParameters: { modelName: 'credit-llm', modelVersion: '2026-10', temperature: 0, maxTokens: 256, topP: 1, seed: 7, extra: {} },
    context: { tenant: 'acme', promptVersion: 'v3' },
    executionTimeMs: 120.5,
    tags: { env: 'prod' },
  };
}

/** Records a decision `minutesLater` minutes after the previous clock reading. */
async function record(body: unknown, minutesLater = 1, headers: Record<string, string> = {}): Promise<Reply> {
  now += minutesLater * 60_000;
  return call('POST', '/snapshots', body, headers);
}

function issuePaths(reply: Reply): string[] {
  return (reply.json.error?.details?.issues ?? []).map((i) => i.path);
}

describe('POST /snapshots', () => {
  it('records a decision: 201, the stored snapshot with verifiable hashes, and a Location header', async () => {
    const body = decision('approve_loan');

    const res = await record(body);

    expect(res.status).toBe(201);
    const snapshot = res.json as unknown as Snapshot;
    expect(snapshot.snapshotId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(snapshot.createdAt).toBe(new Date(now).toISOString());
    expect(res.headers.get('location')).toBe(`/snapshots/${snapshot.snapshotId}`);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    // Recomputed the auditor's way: sha256 over the JCS text.
    const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
    expect(snapshot.inputsHash).toBe(sha(canonicalJson({ functionName: body.functionName, inputs: body.inputs })));
    const { contentHash, ...rest } = snapshot;
    expect(contentHash).toBe(sha(canonicalJson(rest)));
    expect(snapshot).toMatchObject(body);
  });

  it('answers 400 MALFORMED_JSON for a body that is not JSON', async () => {
    const res = await call('POST', '/snapshots', '{"functionName": "f",');
    expect(res.status).toBe(400);
    expect(res.json.error?.code).toBe('MALFORMED_JSON');
  });

  it('answers 400 naming each bad field of a body that breaks the schema', async () => {
    const res = await record({
      functionName: 'has space',
      inputs: [{ name: '', value: 1 }],
      outputs: [{ name: 'd', value: 2 ** 60 }, { name: 'e', value: 1, unit: 'ms' }],
      executionTimeMs: -5,
      modelParameters: { temperature: 0 },
      snapshotId: 'client-chosen',
    });

    expect(res.status).toBe(400);
    expect(res.json.error?.code).toBe('INVALID_REQUEST');
    expect(issuePaths(res).sort()).toEqual(['executionTimeMs', 'functionName', 'inputs[0].name', 'modelParameters.modelName', 'outputs[0].value', 'outputs[1].unit', 'snapshotId'].sort());
    // The message summarises the first five; details list them all.
    for (const path of ['functionName', 'inputs[0].name', 'outputs[0].value']) expect(res.json.error?.message).toContain(path);
    expect(res.json.error?.message).toContain('(and 2 more)');
  });

  it('answers 400 naming the second of two outputs with the same name', async () => {
    const res = await record({ ...decision('dup_fn'), outputs: [{ name: 'd', value: 1 }, { name: 'd', value: 2 }] });
    expect(res.status).toBe(400);
    expect(issuePaths(res)).toEqual(['outputs[1].name']);
  });

  it('answers 400 for a body without outputs, naming outputs', async () => {
    const res = await record({ functionName: 'approve_loan', inputs: [] });
    expect(res.status).toBe(400);
    expect(issuePaths(res)).toEqual(['outputs']);
  });

  it('answers 400 for text that is not valid Unicode (a lone surrogate escape)', async () => {
    const res = await record('{"functionName":"approve_loan","inputs":[],"outputs":[{"name":"d","value":"\\ud800"}]}');
    expect(res.status).toBe(400);
    expect(issuePaths(res)).toEqual(['outputs[0].value']);
  });

  it('answers 400, not 500, for a body nested thousands of levels deep', async () => {
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    const res = await record(`{"functionName":"approve_loan","inputs":[],"outputs":[{"name":"d","value":${deep}}]}`);
    expect(res.status).toBe(400);
  });

  it('returns the first snapshot (200, same id) for a retry with the same Idempotency-Key and body', async () => {
    const body = decision('idem_fn');
    const first = await record(body, 1, { 'Idempotency-Key': 'order-7781' });

    const retry = await record(body, 1, { 'Idempotency-Key': 'order-7781' });

    expect(first.status).toBe(201);
    expect(retry.status).toBe(200);
    expect(retry.json).toEqual(first.json);
    expect(retry.headers.get('location')).toBe(`/snapshots/${String(first.json.snapshotId)}`);
    const list = await call('GET', '/snapshots?functionName=idem_fn');
    expect((list.json.items as Snapshot[]).map((s) => s.snapshotId)).toEqual([first.json.snapshotId]);
  });

  it('answers 409 when an Idempotency-Key is reused with a different body', async () => {
    const first = await record(decision('idem_fn2'), 1, { 'Idempotency-Key': 'order-7782' });

    const reuse = await record(decision('idem_fn2', 10), 1, { 'Idempotency-Key': 'order-7782' });

    expect(reuse.status).toBe(409);
    expect(reuse.json.error?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(reuse.json.error?.details).toEqual({ snapshotId: first.json.snapshotId });
  });

  it('answers 413 for a request body over 1 MiB', async () => {
    const res = await record({ ...decision('big_fn'), outputs: [{ name: 'd', value: 'x'.repeat(1024 * 1024 + 10) }] });
    expect(res.status).toBe(413);
    expect(res.json.error?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers 413 to a body of several megabytes, instead of closing the connection while the client still sends it', async () => {
    // Closing at once made the client's write fail (EPIPE): fetch, the SDK and the CLI saw a
    // network error, retried the whole body, and never learnt that it was too large. The client is
    // another process, as a user's is (in this one, the host reads along with the writes).
    const client = `
      const out = [];
      for (const megabytes of [4, 8, 12, 8, 4]) {
        const body = JSON.stringify({ functionName: 'huge_fn', inputs: [], outputs: [{ name: 'd', value: 'x'.repeat(megabytes * 1024 * 1024) }] });
        try {
          const res = await fetch(process.argv[1] + '/snapshots', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          out.push(megabytes + ' MB: ' + res.status + ' ' + (await res.json()).error.code);
        } catch (err) {
          out.push(megabytes + ' MB: fetch failed, ' + (err.cause?.code ?? err.message));
        }
      }
      console.log(JSON.stringify(out));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', client, host.url]);
    expect(JSON.parse(stdout)).toEqual([4, 8, 12, 8, 4].map((mb) => `${mb} MB: 413 PAYLOAD_TOO_LARGE`));
    const list = await call('GET', '/snapshots?functionName=huge_fn');
    expect(list.json).toEqual({ items: [] });
  });

  it('answers 413 for a snapshot whose item would exceed 400 KB, and stores nothing', async () => {
    const res = await record({ ...decision('big_item_fn'), outputs: [{ name: 'rationale', value: 'x'.repeat(450 * 1024) }] });

    expect(res.status).toBe(413);
    expect(res.json.error?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.json.error?.message).toContain('400 KB');
    const list = await call('GET', '/snapshots?functionName=big_item_fn');
    expect(list.json).toEqual({ items: [] });
  });
});

describe('GET /snapshots/{id}', () => {
  it('reads back exactly the recorded snapshot', async () => {
    const created = await record(decision('read_fn'));

    const res = await call('GET', `/snapshots/${String(created.json.snapshotId)}`);

    expect(res.status).toBe(200);
    expect(res.json).toEqual(created.json);
    expect(verifyContentHash(res.json as unknown as Snapshot)).toBe(true);
  });

  it('answers 404 SNAPSHOT_NOT_FOUND for a well-formed id that does not exist', async () => {
    const res = await call('GET', '/snapshots/01JDQ6Z3M4X5Y6Z7A8B9C0D1E2');
    expect(res.status).toBe(404);
    expect(res.json.error).toEqual({ code: 'SNAPSHOT_NOT_FOUND', message: "snapshot '01JDQ6Z3M4X5Y6Z7A8B9C0D1E2' does not exist" });
  });

  it('answers 404 for a malformed id', async () => {
    const res = await call('GET', '/snapshots/not-a-ulid');
    expect(res.status).toBe(404);
    expect(res.json.error?.message).toContain('26-character ULIDs');
  });
});

describe('GET /snapshots', () => {
  const ids: string[] = [];
  const times: string[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 5; i++) {
      const res = await record(decision('list_fn', 1000 + i), 10);
      ids.push(String(res.json.snapshotId));
      times.push(String(res.json.createdAt));
      await record(decision('list_other_fn'), 1);
    }
  });

  it("lists a function's snapshots oldest first", async () => {
    const res = await call('GET', '/snapshots?functionName=list_fn');
    expect(res.status).toBe(200);
    expect((res.json.items as Snapshot[]).map((s) => s.snapshotId)).toEqual(ids);
    expect(res.json.nextCursor).toBeUndefined();
  });

  it('pages with limit and cursor until nextCursor is absent, without duplicates or omissions', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await call('GET', `/snapshots?functionName=list_fn&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status).toBe(200);
      const items = res.json.items as Snapshot[];
      expect(items.length).toBeLessThanOrEqual(2);
      seen.push(...items.map((s) => s.snapshotId));
      cursor = res.json.nextCursor as string | undefined;
      pages += 1;
    } while (cursor !== undefined && pages < 10);
    expect(seen).toEqual(ids);
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it('ends a page at about 4 MiB of snapshots, however high the limit, and pages on from there without duplicates or omissions', async () => {
    // 16 snapshots of ~300 KB: ~4.8 MB, more than one answer may hold (a Lambda answers at most 6
    // MB; a page of them all failed on AWS as a 500).
    const big: string[] = [];
    for (let i = 0; i < 16; i++) {
      const body = decision('big_list_fn');
      (body.outputs as Array<{ name: string; value: unknown }>)[2] = { name: 'rationale', value: `${i}:${'x'.repeat(300_000)}` };
      const res = await record(body);
      expect(res.status, res.text).toBe(201);
      big.push(res.json.snapshotId as string);
    }
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | undefined;
    do {
      const res = await call('GET', `/snapshots?functionName=big_list_fn&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status).toBe(200);
      sizes.push(Buffer.byteLength(res.text));
      seen.push(...(res.json.items as Snapshot[]).map((s) => s.snapshotId));
      cursor = res.json.nextCursor as string | undefined;
    } while (cursor !== undefined && sizes.length < 10);
    expect(seen).toEqual(big);
    expect(sizes.length).toBe(2);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(4 * 1024 * 1024 + 1024);
  });

  it('lists newest first with order=desc', async () => {
    const res = await call('GET', '/snapshots?functionName=list_fn&order=desc');
    expect((res.json.items as Snapshot[]).map((s) => s.snapshotId)).toEqual([...ids].reverse());
  });

  it('keeps to an inclusive from/to range given in any ISO-8601 offset', async () => {
    const from = times[1] ?? '';
    const toWithOffset = new Date(Date.parse(times[3] ?? '')).toISOString().replace('Z', '+00:00');
    const res = await call('GET', `/snapshots?functionName=list_fn&from=${encodeURIComponent(from)}&to=${encodeURIComponent(toWithOffset)}`);
    expect(res.status).toBe(200);
    expect((res.json.items as Snapshot[]).map((s) => s.snapshotId)).toEqual(ids.slice(1, 4));
  });

  it('answers 400 for a cursor issued for another query', async () => {
    const first = await call('GET', '/snapshots?functionName=list_fn&limit=2');
    const cursor = encodeURIComponent(String(first.json.nextCursor));
    const res = await call('GET', `/snapshots?functionName=list_other_fn&limit=2&cursor=${cursor}`);
    expect(res.status).toBe(400);
    expect(res.json.error?.code).toBe('INVALID_CURSOR');
    expect((await call('GET', '/snapshots?functionName=list_fn&cursor=garbage')).json.error?.code).toBe('INVALID_CURSOR');
  });

  it('answers 400 naming functionName when it is missing or malformed', async () => {
    const missing = await call('GET', '/snapshots');
    expect(missing.status).toBe(400);
    expect(issuePaths(missing)).toEqual(['functionName']);
    expect(issuePaths(await call('GET', '/snapshots?functionName=bad%20name'))).toEqual(['functionName']);
  });

  it.each(['0', '1001', 'abc', '-3'])('answers 400 naming limit for limit=%s', async (limit) => {
    const res = await call('GET', `/snapshots?functionName=list_fn&limit=${limit}`);
    expect(res.status).toBe(400);
    expect(issuePaths(res)).toEqual(['limit']);
  });

  it('answers 400 naming from for a from that is not ISO-8601, and for from after to', async () => {
    const bad = await call('GET', '/snapshots?functionName=list_fn&from=yesterday');
    expect(bad.status).toBe(400);
    expect(issuePaths(bad)).toEqual(['from']);
    const reversed = await call('GET', '/snapshots?functionName=list_fn&from=2026-11-27&to=2026-11-26');
    expect(reversed.status).toBe(400);
  });

  it('answers 400 for an order other than asc or desc', async () => {
    expect((await call('GET', '/snapshots?functionName=list_fn&order=newest')).status).toBe(400);
  });
});

describe('routes', () => {
  it('answers 404 ROUTE_NOT_FOUND as JSON for an unknown route or method', async () => {
    for (const [method, path] of [['GET', '/nope'], ['DELETE', '/snapshots/01JDQ6Z3M4X5Y6Z7A8B9C0D1E2'], ['PATCH', '/snapshots']]) {
      const res = await call(method ?? 'GET', path ?? '/');
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.json.error?.code).toBe('ROUTE_NOT_FOUND');
    }
  });

  it('describes every route of the manifest in GET /openapi.json', async () => {
    const res = await call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.json as unknown as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\.1/);
    const routeKeys = ROUTES.map((r) => r.routeKey).filter((k) => k !== '$default');
    for (const routeKey of routeKeys) {
      const [method = '', path = ''] = routeKey.split(' ');
      expect(doc.paths[path]?.[method.toLowerCase()], routeKey).toBeDefined();
    }
    const described = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(described.sort()).toEqual(DEPLOYED_ROUTES.map((r) => r.routeKey).filter((k) => k !== '$default').sort());
  });
});

describe('responses', () => {
  it('never carry stack frames or internals in any body seen above', () => {
    expect(bodies.length).toBeGreaterThan(30);
    for (const body of bodies) {
      expect(body).not.toMatch(/\n\s+at |\bat [\w.<>]+ \(|node:internal|\.ts:\d+:\d+/);
    }
  });
});
