import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from '../support/host.js';
import { requestWithHeaders } from '../support/http.js';

/**
 * Issue 9, defect 5 and 6 over HTTP: requests that were answered 500 (or a bare 400, or a silent
 * 201) now get a 4xx in the error shape, and a refused request leaves nothing behind.
 */
let t: TestHost;
beforeAll(async () => {
  t = await startTestHost();
});
afterAll(async () => {
  await t?.close();
});

/** One raw request (node:http keeps the method and target exactly as given, unlike fetch). */
function raw(method: string, target: string, body?: string): Promise<{ status: number; text: string; json: { error?: { code: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const req = request(`${t.url}/`, { method, path: target, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, json: text === '' ? {} : (JSON.parse(text) as { error?: { code: string; message: string } }) }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const decision = (extra: Record<string, unknown> = {}) => ({
  functionName: 'hardening_fn',
  inputs: [{ name: 'applicant', value: { income: 52000 } }],
  outputs: [{ name: 'decision', value: 'approve' }],
  ...extra,
});

async function countSnapshots(): Promise<number> {
  const res = await requestWithHeaders<{ items: unknown[] }>(t.url, 'GET', '/snapshots?functionName=hardening_fn&limit=1000');
  expect(res.status).toBe(200);
  return res.body.items.length;
}

describe('HTTP edge', () => {
  it('answers GET // with a 404 in the error shape (was a 500: the path was parsed as a protocol-relative URL)', async () => {
    const res = await raw('GET', '//');
    expect(res.status).toBe(404);
    expect(res.json.error?.code).toBe('ROUTE_NOT_FOUND');
  });

  it("answers an unknown method with a 400 in the error shape (was Node's own empty 400)", async () => {
    const res = await raw('BREW', '/snapshots');
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'BAD_REQUEST', message: 'unknown HTTP method' });
  });
});

describe('numbers beyond what DynamoDB stores', () => {
  it('refuses executionTimeMs 1e300 with a 400 naming the field and writes nothing (was a 500)', async () => {
    const before = await countSnapshots();
    const res = await raw('POST', '/snapshots', JSON.stringify(decision({ executionTimeMs: 1e300 })));
    expect(res.status).toBe(400);
    expect(res.json.error?.message).toContain('executionTimeMs');
    expect(await countSnapshots()).toBe(before);
  });

  it('refuses a policy threshold of 1e300 with a 400 (was a 500)', async () => {
    const res = await requestWithHeaders<{ error: { message: string } }>(t.url, 'PUT', '/policies/huge', { rules: [{ field: 'outputs.score', comparator: 'MaxIncreasePercent', threshold: 1e300 }] });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('threshold');
    expect((await requestWithHeaders(t.url, 'GET', '/policies/huge')).status).toBe(404);
  });
});

describe('special keys', () => {
  it('refuses "__proto__" in a snapshot with a 400 naming where it is (was stored as {} with a 201)', async () => {
    const before = await countSnapshots();
    const body = JSON.stringify(decision()).replace('"outputs"', '"context":{"tenant":"acme","__proto__":{"admin":true}},"outputs"');
    const res = await raw('POST', '/snapshots', body);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'UNSTORABLE_KEY' });
    expect(res.json.error?.message).toContain('context.__proto__');
    expect(await countSnapshots()).toBe(before);
  });

  it('refuses a body that names a key twice (400 DUPLICATE_KEY naming it), storing nothing', async () => {
    const before = await countSnapshots();
    const body = JSON.stringify(decision()).replace('"outputs":[{', '"outputs":[{"value":"deny",');
    const res = await raw('POST', '/snapshots', body);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'DUPLICATE_KEY', details: { issues: [{ path: 'outputs[0].value', message: 'duplicate key' }] } });
    expect(res.json.error?.message).toContain('"value" twice in the object at outputs[0]');
    expect(await countSnapshots()).toBe(before);
  });

  it('round-trips other keys that name Object.prototype members exactly', async () => {
    const context = { constructor: { a: 1 }, toString: 'x', hasOwnProperty: 2, prototype: [] };
    const res = await requestWithHeaders<{ snapshotId: string }>(t.url, 'POST', '/snapshots', decision({ context }));
    expect(res.status).toBe(201);
    const read = await requestWithHeaders<{ context: unknown }>(t.url, 'GET', `/snapshots/${res.body.snapshotId}`);
    expect(read.body.context).toEqual(context);
  });
});

describe('cursors', () => {
  it('refuses a cursor forged with the unkeyed checksum with a 400 (was a 500 from DynamoDB)', async () => {
    const binding = 'snapshots:hardening_fn:::asc';
    const k = JSON.stringify({ pk: 'x' });
    const c = createHash('sha256').update(`decision-replay-cursor\0${binding}\0${k}`).digest('base64url').slice(0, 16);
    for (const forged of [{ v: 1, k, c }, { v: 2, k, t: c }]) {
      const cursor = Buffer.from(JSON.stringify(forged)).toString('base64url');
      const res = await requestWithHeaders<{ error: { code: string } }>(t.url, 'GET', `/snapshots?functionName=hardening_fn&cursor=${cursor}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_CURSOR');
    }
  });

  it('pages with the cursors it issues', async () => {
    for (let i = 0; i < 3; i++) expect((await requestWithHeaders(t.url, 'POST', '/snapshots', decision({ tags: { i: String(i) } }))).status).toBe(201);
    const first = await requestWithHeaders<{ items: unknown[]; nextCursor?: string }>(t.url, 'GET', '/snapshots?functionName=hardening_fn&limit=2');
    expect(first.body.nextCursor).toBeDefined();
    const second = await requestWithHeaders<{ items: unknown[] }>(t.url, 'GET', `/snapshots?functionName=hardening_fn&limit=2&cursor=${first.body.nextCursor ?? ''}`);
    expect(second.status).toBe(200);
    expect(second.body.items.length).toBeGreaterThan(0);
  });
});

describe('Idempotency-Key', () => {
  it('is not used up by a refused request: the corrected retry is recorded (was 409 naming a snapshot that does not exist)', async () => {
    const key = 'fix-and-retry-1';
    const bad = await requestWithHeaders(t.url, 'POST', '/snapshots', decision({ executionTimeMs: 1e300 }), { 'idempotency-key': key });
    expect(bad.status).toBe(400);
    const good = await requestWithHeaders<{ snapshotId: string }>(t.url, 'POST', '/snapshots', decision({ executionTimeMs: 12 }), { 'idempotency-key': key });
    expect(good.status).toBe(201);
    expect((await requestWithHeaders(t.url, 'GET', `/snapshots/${good.body.snapshotId}`)).status).toBe(200);
  });
});
