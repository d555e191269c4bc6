/**
 * What the HTTP edge accepts, over HTTP on the local host: the same bad input gets the same 400
 * wherever it is parsed (an impossible calendar date in a query or a body, a version parameter),
 * a body the API cannot read is refused rather than stored altered (invalid UTF-8, a content
 * coding), and ids are read as ULIDs are defined (case-insensitively).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHost, type TestHost } from '../support/host.js';
import { requestJson } from '../support/http.js';

let t: TestHost;
beforeAll(async () => {
  t = await startTestHost();
});
afterAll(async () => {
  await t?.close();
});

type ErrorReply = { error: { code: string; message: string } };

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
