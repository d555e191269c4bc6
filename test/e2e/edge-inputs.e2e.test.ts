/**
 * What the HTTP edge accepts, over HTTP on the local host: the same bad input gets the same 400
 * wherever it is parsed (an impossible calendar date in a query or a body, a version parameter),
 * a body the API cannot read is refused rather than stored altered (invalid UTF-8, a content
 * coding), and ids are read as ULIDs are defined (case-insensitively).
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from '../support/host.js';
import { requestJson, requestRaw, type RawReply } from '../support/http.js';

let t: TestHost;
beforeAll(async () => {
  t = await startTestHost();
});
afterAll(async () => {
  await t?.close();
});

type ErrorReply = { error: { code: string; message: string } };

/** Sends these exact body bytes (fetch would re-encode a string; HEAD's answer is read as it came), the answer checked against the served document. */
function send(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<RawReply> {
  return requestRaw(t.url, method, path, headers, body);
}

async function sendBytes(method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; body: ErrorReply }> {
  const reply = await send(method, path, headers, body);
  return { status: reply.status, body: JSON.parse(reply.text) as ErrorReply };
}

const decision = (functionName: string, rationale: string) => JSON.stringify({ functionName, inputs: [{ name: 'applicant', value: { income: 52000 } }], outputs: [{ name: 'rationale', value: rationale }] });

describe('a date the calendar does not have', () => {
  const impossible = '2026-02-30T00:00:00Z';

  it.each([
    `/snapshots?functionName=edge_fn&from=${impossible}`,
    `/snapshots?functionName=edge_fn&to=2026-04-31`,
    `/audit/verify?from=${impossible}&to=2026-03-31T00:00:00Z`,
    `/audit/records?from=2026-01-01T00:00:00Z&to=2026-01-01T24:00:00Z`,
    '/audit/manifests/2026-02-30T00:00:00.000Z',
  ])('is a 400 in the query or path of GET %s', async (path) => {
    const res = await requestJson<ErrorReply>(t.url, 'GET', path);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
  });

  it('is a 400 in the selector of POST /batches, and starts nothing', async () => {
    const res = await requestJson<ErrorReply>(t.url, 'POST', '/batches', { selector: { functionName: 'edge_fn', from: impossible, to: '2026-03-31T00:00:00Z' } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/calendar/);
    expect((await requestJson<{ items: unknown[] }>(t.url, 'GET', '/batches')).body.items).toEqual([]);
  });

  it('is a 400 in the selector of POST /functions/{fn}/noise-profile', async () => {
    const res = await requestJson<ErrorReply>(t.url, 'POST', '/functions/edge_fn/noise-profile', { selector: { to: impossible } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/calendar/);
  });
});

describe('a lambda executor', () => {
  it('is refused at PUT with a 400 when its ARN names no AWS region, and nothing is stored', async () => {
    const res = await requestJson<ErrorReply>(t.url, 'PUT', '/functions/edge_lambda_fn/executor', { type: 'lambda', functionArn: 'arn:aws:lambda:not-a-region:123456789012:function:score' });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/functionArn must be a Lambda function name/);
    expect((await requestJson(t.url, 'GET', '/functions/edge_lambda_fn/executor')).status).toBe(404);
  });

  it('is stored when functionArn is a plain function name, a form Lambda accepts (resolved in the caller’s region)', async () => {
    const res = await requestJson(t.url, 'PUT', '/functions/edge_lambda_fn/executor', { type: 'lambda', functionArn: 'not-an-arn' });
    expect(res.status).toBe(200);
  });
});

describe('a body the API cannot read as it came', () => {
  it('is a 400 MALFORMED_JSON when it is not valid UTF-8, and nothing is stored with U+FFFD in its place', async () => {
    const [head, tail] = decision('edge_utf8_fn', 'XX').split('XX') as [string, string];
    const body = Buffer.concat([Buffer.from(head), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(tail)]);
    const res = await sendBytes('POST', '/snapshots', { 'content-type': 'application/json' }, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'MALFORMED_JSON', message: expect.stringMatching(/UTF-8/) });
    expect((await requestJson<{ items: unknown[] }>(t.url, 'GET', '/snapshots?functionName=edge_utf8_fn')).body.items).toEqual([]);
  });

  it('is stored when it is UTF-8, multi-byte characters included', async () => {
    const res = await sendBytes('POST', '/snapshots', { 'content-type': 'application/json' }, Buffer.from(decision('edge_utf8_fn', 'approuvé ✓ 😀')));
    expect(res.status).toBe(201);
    expect((res.body as unknown as { outputs: { value: string }[] }).outputs[0]?.value).toBe('approuvé ✓ 😀');
  });

  it.each(['gzip', 'br'])('is a 415 UNSUPPORTED_MEDIA_TYPE naming the coding when it has Content-Encoding %s', async (coding) => {
    const res = await sendBytes('POST', '/snapshots', { 'content-type': 'application/json', 'content-encoding': coding }, gzipSync(decision('edge_gzip_fn', 'compressed')));
    expect(res.status).toBe(415);
    expect(res.body.error).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.stringContaining(coding) });
    expect((await requestJson<{ items: unknown[] }>(t.url, 'GET', '/snapshots?functionName=edge_gzip_fn')).body.items).toEqual([]);
  });

  it('is a 415 on PUT routes too (an executor configuration)', async () => {
    const res = await sendBytes('PUT', '/functions/edge_gzip_fn/executor', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipSync(JSON.stringify({ type: 'http', url: 'http://127.0.0.1:1/' })));
    expect(res.status).toBe(415);
  });
});

describe('HEAD', () => {
  it('answers wherever GET does, with the headers GET sends and no body', async () => {
    const created = await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', JSON.parse(decision('edge_head_fn', 'head')) as unknown);
    expect(created.status).toBe(201);
    for (const path of [`/snapshots/${created.body.snapshotId}`, '/snapshots?functionName=edge_head_fn', '/openapi.json', '/functions/edge_head_fn/noise-profile?version=1']) {
      const get = await send('GET', path);
      const head = await send('HEAD', path);
      expect(head.status, path).toBe(get.status);
      expect(head.text, path).toBe('');
      expect(head.headers.get('content-type'), path).toBe(get.headers.get('content-type'));
      expect(head.headers.get('content-length'), path).toBe(String(Buffer.byteLength(get.text)));
    }
  });

  it('answers 404 in the error shape’s headers for what does not exist, as GET does', async () => {
    const head = await send('HEAD', '/snapshots/01M8T5HJ6AM2YXZ7Q0FVAWQ9A0');
    expect(head.status).toBe(404);
    expect(head.text).toBe('');
    expect(head.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('is still refused where there is no GET (POST-only routes)', async () => {
    expect((await send('HEAD', '/snapshots/01M8T5HJ6AM2YXZ7Q0FVAWQ9A0/replay')).status).toBe(404);
  });
});

describe('the version parameter', () => {
  it.each(['1.5', '0', '-1', 'x'])('version=%s is the same 400 on every route that takes one', async (version) => {
    const policy = await requestJson<ErrorReply>(t.url, 'GET', `/policies/edge-policy?version=${version}`);
    const noise = await requestJson<ErrorReply>(t.url, 'GET', `/functions/edge_fn/noise-profile?version=${version}`);
    expect(policy.status).toBe(400);
    expect(noise.status).toBe(400);
    expect(policy.body).toEqual(noise.body);
    expect(policy.body.error.message).toContain(`got '${version}'`);
  });

  it('a well-formed version that was never stored is a 404 on both', async () => {
    const stored = await requestJson(t.url, 'PUT', '/policies/edge-policy', { rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0, max: 1 }] });
    expect(stored.status).toBe(200);
    expect((await requestJson(t.url, 'GET', '/policies/edge-policy?version=1')).status).toBe(200);
    expect((await requestJson<ErrorReply>(t.url, 'GET', '/policies/edge-policy?version=2')).body.error.code).toBe('POLICY_NOT_FOUND');
    expect((await requestJson<ErrorReply>(t.url, 'GET', '/functions/edge_fn/noise-profile?version=2')).body.error.code).toBe('NOISE_PROFILE_NOT_FOUND');
  });
});

describe('ids in lower case (ULIDs are case-insensitive)', () => {
  it('name the same snapshot in a path, answered with its stored upper-case id', async () => {
    const created = await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', JSON.parse(decision('edge_case_fn', 'lower')) as unknown);
    const id = created.body.snapshotId;
    const lower = id.toLowerCase();
    const res = await requestJson<{ snapshotId: string }>(t.url, 'GET', `/snapshots/${lower}`);
    expect(res.status).toBe(200);
    expect(res.body.snapshotId).toBe(id);
    expect((await requestJson(t.url, 'GET', `/snapshots/${lower}/diff/${id}`)).status).toBe(200);
    // A later decision validated against this one, both named in lower case (a snapshot is not its
    // own baseline: that is a 400 naming baselineId, whatever the case of the ids).
    const later = (await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', JSON.parse(decision('edge_case_fn', 'lower')) as unknown)).body.snapshotId;
    const validated = await requestJson<{ snapshotId: string; baselineId: string | null }>(t.url, 'POST', `/snapshots/${later.toLowerCase()}/validate`, { policy: { rules: [{ field: 'outputs.rationale', comparator: 'ExactMatch' }] }, baselineId: lower });
    expect(validated.status, JSON.stringify(validated.body)).toBe(200);
    expect(validated.body).toMatchObject({ snapshotId: later, baselineId: id });
    const itself = await requestJson<ErrorReply>(t.url, 'POST', `/snapshots/${lower}/validate`, { policy: { rules: [{ field: 'outputs.rationale', comparator: 'ExactMatch' }] }, baselineId: id });
    expect(itself.status).toBe(400);
  });

  it('name the same snapshots in POST /batches, where an id and its lower-case twin are one id listed twice', async () => {
    const created = await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', JSON.parse(decision('edge_case_fn', 'batch')) as unknown);
    const id = created.body.snapshotId;
    expect((await requestJson(t.url, 'PUT', '/functions/edge_case_fn/executor', { type: 'http', url: `${t.url}/demo/credit/v1` })).status).toBe(200);
    const twice = await requestJson<ErrorReply>(t.url, 'POST', '/batches', { snapshotIds: [id, id.toLowerCase()] });
    expect(twice.status).toBe(400);
    expect(twice.body.error.message).toMatch(/listed twice/);
    const started = await requestJson<{ batchId: string; total: number }>(t.url, 'POST', '/batches', { snapshotIds: [id.toLowerCase()] }, { 'idempotency-key': 'edge-lower-1' });
    expect(started.status).toBe(202);
    expect(started.body.total).toBe(1);
    // The same request with the id in upper case is the same request for its Idempotency-Key.
    const repeat = await requestJson<{ batchId: string }>(t.url, 'POST', '/batches', { snapshotIds: [id] }, { 'idempotency-key': 'edge-lower-1' });
    expect(repeat.body.batchId).toBe(started.body.batchId);
    expect((await requestJson<{ batchId: string }>(t.url, 'GET', `/batches/${started.body.batchId.toLowerCase()}`)).body.batchId).toBe(started.body.batchId);
  });
});
