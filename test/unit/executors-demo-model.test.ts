import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor } from '../../functions/adapters/executors/create-executor.js';
import type { ExecutionRequest } from '../../functions/core/executor.js';
import { namedValuesToObject, type NamedValue } from '../../functions/core/snapshot.js';
import { decideCredit, handleDemoRequest } from '../../functions/local/demo-model.js';

function ask(version: 'v1' | 'v2', applicant: unknown): { status: number; outputs: Record<string, unknown>; body: unknown } {
  const res = handleDemoRequest('POST', `/demo/credit/${version}`, { functionName: 'approve_loan', inputs: [{ name: 'applicant', value: applicant, type: 'object' }] });
  if (res === undefined) throw new Error('demo path not served');
  const outputs = (res.body as { outputs?: NamedValue[] }).outputs;
  return { status: res.status, outputs: outputs ? namedValuesToObject(outputs) : {}, body: res.body };
}

describe('demo credit model', () => {
  it('v1 and v2 disagree on an applicant carrying debt (v2 weighs debt-to-income more)', () => {
    const applicant = { income: 52000, age: 41, debt: 20000 };
    const v1 = ask('v1', applicant);
    const v2 = ask('v2', applicant);
    expect(v1.status).toBe(200);
    expect(v1.outputs.decision).toBe('approve');
    expect(v2.outputs.decision).toBe('review');
    expect(v2.outputs.score).toBeLessThan(v1.outputs.score as number);
    expect(v1.outputs.rationale).toMatch(/^Approved/);
    expect(v2.outputs.rationale).toMatch(/^Referred for manual review/);
  });

  it('v1 and v2 agree on a debt-free applicant: same decision and score, rationale reworded a little', () => {
    const applicant = { income: 52000, age: 41 };
    const v1 = ask('v1', applicant);
    const v2 = ask('v2', applicant);
    expect(v1.outputs.decision).toBe('approve');
    expect(v2.outputs.decision).toBe('approve');
    expect(v2.outputs.score).toBe(v1.outputs.score);
    expect(v1.outputs.rationale).not.toBe(v2.outputs.rationale);
    expect(v1.outputs.rationale).toBe('Approved: an income of 52,000 comfortably covers a debt-to-income ratio of 0%.');
    expect(v2.outputs.rationale).toBe('Approved: an income of 52,000 comfortably supports a debt-to-income ratio of 0%.');
  });

  it('answers the executor shape with typed outputs, scores within 0..1', () => {
    const res = ask('v1', { income: 30000, age: 22, debt: 45000 });
    const body = res.body as { outputs: NamedValue[]; executionTimeMs: number };
    expect(body.outputs.map((o) => [o.name, o.type])).toEqual([['decision', 'string'], ['score', 'number'], ['rationale', 'string']]);
    expect(res.outputs.decision).toBe('decline');
    expect(res.outputs.score).toBeGreaterThanOrEqual(0);
    expect(res.outputs.score).toBeLessThanOrEqual(1);
    expect(body.executionTimeMs).toBeGreaterThanOrEqual(0);
  });

  it('is deterministic', () => {
    const applicant = { income: 41000, age: 30, debt: 9000, employer: 'acme' };
    expect(decideCredit('v2', applicant)).toEqual(decideCredit('v2', applicant));
    expect(ask('v2', applicant).outputs).toEqual(ask('v2', applicant).outputs);
  });

  it('declines minors in both versions', () => {
    expect(ask('v1', { income: 90000, age: 17 }).outputs.decision).toBe('decline');
    expect(ask('v2', { income: 90000, age: 17 }).outputs.decision).toBe('decline');
  });

  it('answers 400 with a message for bad input', () => {
    const missing = handleDemoRequest('POST', '/demo/credit/v1', { inputs: [{ name: 'customer', value: {} }] });
    expect(missing?.status).toBe(400);
    expect(JSON.stringify(missing?.body)).toMatch(/'applicant'/);
    const negative = handleDemoRequest('POST', '/demo/credit/v2', { inputs: [{ name: 'applicant', value: { income: -1, age: 30 } }] });
    expect(negative?.status).toBe(400);
    expect(JSON.stringify(negative?.body)).toMatch(/income must be >= 0/);
    expect(handleDemoRequest('POST', '/demo/credit/v1', 'nonsense')?.status).toBe(400);
  });

  it('describes itself on GET, refuses other methods, and ignores other paths', () => {
    const get = handleDemoRequest('GET', '/demo/credit/v1', undefined);
    expect(get?.status).toBe(200);
    expect(get?.body).toMatchObject({ name: 'demo-credit-v1' });
    expect(handleDemoRequest('DELETE', '/demo/credit/v1', undefined)?.status).toBe(405);
    expect(handleDemoRequest('POST', '/demo/credit/v3', {})).toBeUndefined();
    expect(handleDemoRequest('GET', '/snapshots', undefined)).toBeUndefined();
  });
});

describe('demo model behind a real http server, called by the http executor', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const answer = handleDemoRequest(req.method ?? 'GET', req.url ?? '/', text === '' ? undefined : JSON.parse(text)) ?? { status: 404, body: {} };
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('replaying a v1 decision on v2 changes the decision for the applicant with debt', async () => {
    const request: ExecutionRequest = { functionName: 'approve_loan', inputs: [{ name: 'applicant', value: { income: 52000, age: 41, debt: 20000 }, type: 'object' }] };
    const v1 = createExecutor({ type: 'http', url: `${base}/demo/credit/v1` }, { allowPrivateNetworks: true });
    const v2 = createExecutor({ type: 'http', url: `${base}/demo/credit/v2` }, { allowPrivateNetworks: true });
    const [a, b] = await Promise.all([v1.execute(request, { timeoutMs: 5000 }), v2.execute(request, { timeoutMs: 5000 })]);
    expect(namedValuesToObject(a.outputs).decision).toBe('approve');
    expect(namedValuesToObject(b.outputs).decision).toBe('review');
    expect(v2.description).toBe(`http POST ${base}/demo/credit/v2`);
  });

  it('a bad request to the demo surfaces as EXECUTOR_HTTP_STATUS 400 with the demo\'s message', async () => {
    const v1 = createExecutor({ type: 'http', url: `${base}/demo/credit/v1` }, { allowPrivateNetworks: true });
    await expect(v1.execute({ functionName: 'approve_loan', inputs: [{ name: 'borrower', value: 1 }] }, { timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'EXECUTOR_HTTP_STATUS',
      status: 400,
      message: expect.stringContaining("'applicant'"),
    });
  });
});
