/**
 * Executor secrets over HTTP on the one-machine host: `secretHeaders` read from the host's
 * environment at call time (`env:NAME`), every plain header value masked on read, credentials in a
 * URL's query refused at PUT, and no URL query on any replay result, error or batch result.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleDemoRequest } from '../../functions/local/demo-model.js';
import type { BatchResult } from '../../functions/core/batch.js';
import type { ReplayResult } from '../../functions/core/replay.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { requestJson, type Reply } from '../support/http.js';

const MODEL_KEY = 'sk-live-7f3a9c';
const PLAIN_VALUES = ['plain-auth-1', 'apim-sub-2', 'api-auth-3'];

interface ErrorBody {
  error: { code: string; message: string; details?: { issues?: Array<{ path: string; message: string }> } };
}

describe('executor secrets (local host)', () => {
  let t: TestHost;
  let model: Server;
  let modelUrl: string;
  const received: IncomingHttpHeaders[] = [];

  function call<T = unknown>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
    return requestJson<T>(t.url, method, path, body);
  }

  async function record(functionName: string): Promise<Snapshot> {
    const res = await call<Snapshot>('POST', '/snapshots', demoV1Decision(functionName, { income: 52000, age: 41 }));
    expect(res.status).toBe(201);
    return res.body;
  }

  beforeAll(async () => {
    // Secret values live in the host's environment; the configuration only names them.
    t = await startTestHost({ env: { ...process.env, DECISION_REPLAY_SECRET_E2E_MODEL_KEY: MODEL_KEY } });
    // The demo model v1 behind an API key check.
    model = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(req.headers);
        if (req.headers['x-api-key'] !== MODEL_KEY) {
          res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"bad key"}');
          return;
        }
        const answer = handleDemoRequest('POST', '/demo/credit/v1', JSON.parse(body));
        res.writeHead(answer?.status ?? 500, { 'content-type': 'application/json' }).end(JSON.stringify(answer?.body));
      });
    });
    await new Promise<void>((resolve) => model.listen(0, '127.0.0.1', resolve));
    modelUrl = `http://127.0.0.1:${(model.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    model.closeAllConnections();
    await new Promise<void>((resolve) => model.close(() => resolve()));
    await t.close();
  });

  it('stores secretHeaders as references, masks every plain header value on PUT and GET, and never answers a value', async () => {
    const config = {
      type: 'http',
      url: `${modelUrl}/decide?version=2`,
      headers: { 'X-Auth': PLAIN_VALUES[0], 'Ocp-Apim-Subscription-Key': PLAIN_VALUES[1], 'X-Api-Auth': PLAIN_VALUES[2] },
      secretHeaders: { 'X-Api-Key': 'env:DECISION_REPLAY_SECRET_E2E_MODEL_KEY' },
    };
    const put = await call<{ executor: Record<string, unknown> }>('PUT', '/functions/secret_fn/executor', config);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const expected = { ...config, headers: { 'X-Auth': '***', 'Ocp-Apim-Subscription-Key': '***', 'X-Api-Auth': '***' } };
    expect(put.body.executor).toEqual(expected);
    const get = await call<{ executor: Record<string, unknown> }>('GET', '/functions/secret_fn/executor');
    expect(get.body.executor).toEqual(expected);
    for (const value of [...PLAIN_VALUES, MODEL_KEY]) {
      expect(JSON.stringify(put.body)).not.toContain(value);
      expect(JSON.stringify(get.body)).not.toContain(value);
    }
  });

  it('sends the secret header read from the environment at call time, and keeps the URL query off the result', async () => {
    const snapshot = await record('secret_fn');
    received.length = 0;
    const res = await call<ReplayResult>('POST', `/snapshots/${snapshot.snapshotId}/replay`, { mode: 'Strict' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'Success', executor: `http POST ${modelUrl}/decide` });
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ 'x-api-key': MODEL_KEY, 'x-auth': PLAIN_VALUES[0], 'ocp-apim-subscription-key': PLAIN_VALUES[1] });
    const history = await call<{ items: ReplayResult[] }>('GET', `/snapshots/${snapshot.snapshotId}/replays`);
    for (const text of [JSON.stringify(res.body), JSON.stringify(history.body)]) {
      for (const value of ['version=2', MODEL_KEY, ...PLAIN_VALUES]) expect(text).not.toContain(value);
    }
  });

  it('a secret that cannot be read at call time is an Error result naming the header and the reference; nothing is sent', async () => {
    const put = await call('PUT', '/functions/missing_secret_fn/executor', { type: 'http', url: `${modelUrl}/decide`, secretHeaders: { 'X-Api-Key': 'env:DECISION_REPLAY_SECRET_E2E_NOT_SET' } });
    expect(put.status).toBe(200);
    const snapshot = await record('missing_secret_fn');
    received.length = 0;
    const res = await call<ReplayResult>('POST', `/snapshots/${snapshot.snapshotId}/replay`, {});
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('Error');
    expect(res.body.error?.code).toBe('EXECUTOR_SECRET_UNAVAILABLE');
    expect(res.body.error?.message).toMatch(/secret header 'X-Api-Key' could not be read from env:DECISION_REPLAY_SECRET_E2E_NOT_SET: the environment variable DECISION_REPLAY_SECRET_E2E_NOT_SET is not set/);
    expect(received).toHaveLength(0);
  });

  it.each([
    ['?token=', 'token'],
    ['?api_key=', 'api_key'],
    ['?key=', 'key'],
    ['?sig=', 'sig'],
    ['?code=', 'code'],
    ['?Subscription-Key=', 'Subscription-Key'],
    ['?X-Amz-Signature=', 'X-Amz-Signature'],
    ['?access_token=', 'access_token'],
  ])('refuses a URL with %s… in its query with a 400 pointing to secretHeaders, storing nothing', async (query, name) => {
    const res = await call<ErrorBody>('PUT', '/functions/query_cred_fn/executor', { type: 'http', url: `${modelUrl}/decide${query}abc123` });
    expect(res.status).toBe(400);
    expect(res.body.error.details?.issues?.[0]?.path).toBe('url');
    expect(res.body.error.message).toContain(`'${name}'`);
    expect(res.body.error.message).toMatch(/secretHeaders/);
    expect(res.body.error.message).not.toContain('abc123');
    expect((await call('GET', '/functions/query_cred_fn/executor')).status).toBe(404);
  });

  it('refuses credentials in the URL (user:password@) and in an openai baseUrl query, pointing to secretHeaders', async () => {
    const userinfo = await call<ErrorBody>('PUT', '/functions/query_cred_fn/executor', { type: 'http', url: 'http://user:pw@127.0.0.1/x' });
    expect(userinfo.status).toBe(400);
    expect(userinfo.body.error.message).toMatch(/user:password@.*secretHeaders/);
    const openai = await call<ErrorBody>('PUT', '/functions/query_cred_fn/executor', { type: 'openai', baseUrl: 'https://llm.example/v1?api-key=abc' });
    expect(openai.status).toBe(400);
    expect(openai.body.error.details?.issues?.[0]?.path).toBe('baseUrl');
  });

  it.each([
    ['a Secrets Manager ARN (the local host has none)', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:decision-replay/executors/model-AbCdEf', /local host has no Secrets Manager/],
    ['a reference of no known kind', 'vault:kv/model', /Secrets Manager secret ARN .* or env:NAME/],
    ['a malformed env reference', 'env:1BAD-NAME', /Secrets Manager secret ARN .* or env:NAME/],
    ['a variable of the host without the secret prefix (HOME)', 'env:HOME', /sends only environment variables whose name starts with DECISION_REPLAY_SECRET_/],
    ['AWS credentials in the host environment', 'env:AWS_SECRET_ACCESS_KEY', /sends only environment variables whose name starts with DECISION_REPLAY_SECRET_/],
  ])('refuses %s with a 400 naming the header, storing nothing', async (_label, ref, message) => {
    const res = await call<ErrorBody>('PUT', '/functions/bad_ref_fn/executor', { type: 'http', url: `${modelUrl}/decide`, secretHeaders: { 'X-Model-Key': ref } });
    expect(res.status).toBe(400);
    expect(res.body.error.details?.issues?.map((i) => i.path)).toEqual(['secretHeaders.X-Model-Key']);
    expect(res.body.error.message).toMatch(message);
    expect((await call('GET', '/functions/bad_ref_fn/executor')).status).toBe(404);
  });

  it('refuses the mask as a header value and a header named both plain and secret', async () => {
    const masked = await call<ErrorBody>('PUT', '/functions/bad_ref_fn/executor', { type: 'http', url: `${modelUrl}/decide`, headers: { 'X-Auth': '***' } });
    expect(masked.status).toBe(400);
    expect(masked.body.error.details?.issues?.map((i) => i.path)).toEqual(['headers.X-Auth']);
    const both = await call<ErrorBody>('PUT', '/functions/bad_ref_fn/executor', { type: 'http', url: `${modelUrl}/decide`, headers: { 'x-api-key': 'k' }, secretHeaders: { 'X-Api-Key': 'env:DECISION_REPLAY_SECRET_E2E_MODEL_KEY' } });
    expect(both.status).toBe(400);
    expect(both.body.error.details?.issues?.map((i) => i.path)).toEqual(['secretHeaders.X-Api-Key']);
  });

  it('batch results and error results carry no URL query either', async () => {
    // An unreachable executor with a harmless query: the error and the result keep origin and path only.
    const put = await call('PUT', '/functions/batch_query_fn/executor', { type: 'http', url: 'http://127.0.0.1:1/decide?region=eu&variant=b', timeoutMs: 2000 });
    expect(put.status).toBe(200);
    const snapshot = await record('batch_query_fn');
    const started = await call<{ batchId: string }>('POST', '/batches', { snapshotIds: [snapshot.snapshotId] });
    expect(started.status).toBe(202);
    const until = Date.now() + 30_000;
    while ((await call<{ status: string }>('GET', `/batches/${started.body.batchId}`)).body.status === 'RUNNING') {
      if (Date.now() > until) throw new Error('batch still RUNNING');
      await new Promise((r) => setTimeout(r, 50));
    }
    const results = await call<{ items: BatchResult[] }>('GET', `/batches/${started.body.batchId}/results`);
    expect(results.body.items).toHaveLength(1);
    const single = await call<ReplayResult>('POST', `/snapshots/${snapshot.snapshotId}/replay`, {});
    expect(single.body).toMatchObject({ status: 'Error', executor: 'http POST http://127.0.0.1:1/decide', error: { code: 'EXECUTOR_UNREACHABLE' } });
    for (const text of [JSON.stringify(results.body), JSON.stringify(single.body)]) expect(text).not.toMatch(/region=eu|variant=b/);
  });
});
