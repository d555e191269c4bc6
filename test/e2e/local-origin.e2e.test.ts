/**
 * The local host serves only its own names and its own origin: a request whose `Host` is another
 * name (DNS rebinding) or that comes from a web page of another origin is refused with 403 in the
 * error shape, before anything runs; curl's default form-urlencoded POST, the SDK on Node's fetch
 * (no Origin, `text/plain` for string bodies) and same-origin browser requests still work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from '../support/host.js';
import { requestJson, requestRaw } from '../support/http.js';

let t: TestHost;
let port: number;
beforeAll(async () => {
  t = await startTestHost();
  port = t.host.port;
});
afterAll(async () => {
  await t?.close();
});

interface OriginReply {
  status: number;
  text: string;
  json: { error?: { code: string; message: string } } & Record<string, unknown>;
}

/** One request with exactly these headers (node:http lets a test set Host), its answer checked against the served document. */
async function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<OriginReply> {
  const { status, text } = await requestRaw(t.url, method, path, headers, body);
  return { status, text, json: text === '' ? {} : (JSON.parse(text) as OriginReply['json']) };
}

const decision = (functionName: string) =>
  JSON.stringify({ functionName, inputs: [{ name: 'applicant', value: { income: 52000 } }], outputs: [{ name: 'decision', value: 'approve' }] });

async function stored(functionName: string): Promise<number> {
  const res = await requestJson<{ items: unknown[] }>(t.url, 'GET', `/snapshots?functionName=${functionName}`);
  expect(res.status).toBe(200);
  return res.body.items.length;
}

describe('a request naming another host (DNS rebinding)', () => {
  it('is refused with 403 HOST_NOT_ALLOWED for a read', async () => {
    const res = await send('GET', '/functions/approve_loan/executor', { host: 'attacker.example' });
    expect(res.status).toBe(403);
    expect(res.json.error?.code).toBe('HOST_NOT_ALLOWED');
    expect(res.json.error?.message).toContain(`127.0.0.1:${port}`);
  });

  it('is refused for a write, which leaves nothing behind', async () => {
    const res = await send('PUT', '/functions/rebind_fn/executor', { host: `attacker.example:${port}`, 'content-type': 'text/plain' }, JSON.stringify({ type: 'http', url: 'http://169.254.169.254/latest/meta-data/' }));
    expect(res.status).toBe(403);
    expect(res.json.error?.code).toBe('HOST_NOT_ALLOWED');
    expect((await requestJson(t.url, 'GET', '/functions/rebind_fn/executor')).status).toBe(404);
  });

  it('is refused on the local-only paths too (the demo model, /_local/digest)', async () => {
    expect((await send('POST', '/_local/digest', { host: 'attacker.example' })).status).toBe(403);
    expect((await send('POST', '/demo/credit/v1', { host: 'attacker.example', 'content-type': 'application/json' }, '{}')).status).toBe(403);
  });

  it('is refused with the right port on another name, or the right name on another port', async () => {
    expect((await send('GET', '/openapi.json', { host: `127.0.0.2:${port}` })).status).toBe(403);
    expect((await send('GET', '/openapi.json', { host: `127.0.0.1:${port + 1}` })).status).toBe(403);
    expect((await send('GET', '/openapi.json', { host: 'localhost' })).status).toBe(403);
  });
});

describe('the names the host serves', () => {
  it('answers 127.0.0.1, localhost and [::1] with its port, in any letter case', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`, `[::1]:${port}`]) {
      const res = await send('GET', '/functions/approve_loan/executor', { host });
      expect(res.status, host).toBe(404);
      expect(res.json.error?.code, host).toBe('EXECUTOR_NOT_FOUND');
    }
  });
});

describe('a request from a web page of another origin', () => {
  it('is refused with 403 CROSS_ORIGIN_REQUEST, whatever its content type, and stores nothing', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json']) {
      const res = await send('POST', '/snapshots', { host: `127.0.0.1:${port}`, origin: 'http://evil.example', 'content-type': type }, decision('cross_origin_fn'));
      expect(res.status, type).toBe(403);
      expect(res.json.error?.code, type).toBe('CROSS_ORIGIN_REQUEST');
    }
    expect(await stored('cross_origin_fn')).toBe(0);
  });

  it('is refused from another port of the same machine, from an opaque origin and over https', async () => {
    for (const origin of [`http://127.0.0.1:${port + 1}`, 'null', `https://127.0.0.1:${port}`, `http://127.0.0.1:${port}.evil.example`]) {
      const res = await send('POST', '/batches', { host: `127.0.0.1:${port}`, origin, 'content-type': 'text/plain' }, JSON.stringify({ snapshotIds: ['01M8T5HJ6AM2YXZ7Q0FVAWQ9A0'] }));
      expect(res.status, origin).toBe(403);
      expect(res.json.error?.code, origin).toBe('CROSS_ORIGIN_REQUEST');
    }
  });
});

describe('requests the host keeps serving', () => {
  it("accepts curl's default POST (form-urlencoded, no Origin)", async () => {
    const res = await send('POST', '/snapshots', { host: `127.0.0.1:${port}`, 'content-type': 'application/x-www-form-urlencoded' }, decision('curl_fn'));
    expect(res.status).toBe(201);
  });

  it('accepts a same-origin browser request (Origin is the host itself, under any name it serves)', async () => {
    for (const name of ['127.0.0.1', 'localhost']) {
      const res = await send('POST', '/snapshots', { host: `${name}:${port}`, origin: `http://${name}:${port}`, 'content-type': 'application/json' }, decision('same_origin_fn'));
      expect(res.status, name).toBe(201);
    }
    expect(await stored('same_origin_fn')).toBe(2);
  });
});
