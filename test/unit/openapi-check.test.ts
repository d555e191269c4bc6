import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../functions/api/openapi.js';
import { OPERATIONS, type Operation } from '../../functions/api/operations.js';
import { buildSnapshot } from '../../functions/core/snapshot.js';
import { checkAnswer, ContractViolation } from '../support/openapi-check.js';

/** Serves one OpenAPI document at /openapi.json, as the host does. */
async function serveDocument(doc: unknown): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/openapi.json' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(doc));
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({ status, headers: new Headers({ 'content-type': 'application/json; charset=utf-8', ...headers }), text: JSON.stringify(body) });
const snapshot = buildSnapshot({ functionName: 'approve_loan', inputs: [{ name: 'applicant', value: { income: 52000, tags: ['a', null] } }], outputs: [{ name: 'decision', value: 'approve' }] }, '01JDQ6Z3M4X5Y6Z7A8B9C0D1E2', '2026-11-20T08:00:00.000Z');
const ID = snapshot.snapshotId;

describe('checkAnswer against the served OpenAPI document', () => {
  let host: { url: string; server: Server };
  beforeAll(async () => {
    host = await serveDocument(buildOpenApiDocument());
  });
  afterAll(() => host.server.close());

  it('accepts answers the document describes: a 201 and the 200 of an idempotent repeat, an error, the catch-all 404', async () => {
    await checkAnswer(host.url, 'POST', '/snapshots', json(201, snapshot, { location: `/snapshots/${ID}` }));
    await checkAnswer(host.url, 'POST', '/snapshots', json(200, snapshot, { 'idempotent-replayed': 'true' }));
    await checkAnswer(host.url, 'GET', `/snapshots/${ID}`, json(200, snapshot, { 'content-integrity': 'tampered' }));
    await checkAnswer(host.url, 'POST', '/snapshots', json(400, { error: { code: 'INVALID_REQUEST', message: 'bad', details: { issues: [] } } }));
    await checkAnswer(host.url, 'GET', '/nope?x=1', json(404, { error: { code: 'ROUTE_NOT_FOUND', message: 'no route for GET /nope' } }));
    await checkAnswer(host.url, 'DELETE', `/snapshots/${ID}`, json(404, { error: { code: 'ROUTE_NOT_FOUND', message: 'no route' } }));
  });

  it('refuses a field the schema does not declare, naming it', async () => {
    await expect(checkAnswer(host.url, 'GET', `/snapshots/${ID}`, json(200, { ...snapshot, surprise: 1 }))).rejects.toThrow(/GET \/snapshots\/\{id\}.*→ 200: the body does not match its schema: .*'surprise'/);
  });

  it('refuses a body missing a required field or with a wrong type deep inside', async () => {
    const { contentHash: _dropped, ...withoutHash } = snapshot;
    await expect(checkAnswer(host.url, 'GET', `/snapshots/${ID}`, json(200, withoutHash))).rejects.toThrow(/contentHash/);
    await expect(checkAnswer(host.url, 'GET', '/snapshots?functionName=f', json(200, { items: [{ ...snapshot, inputs: [{ name: 'a', value: { x: [1, 'two'] } }, { name: 7 }] }] }))).rejects.toThrow(ContractViolation);
  });

  it('refuses a status the route does not declare', async () => {
    await expect(checkAnswer(host.url, 'POST', '/snapshots', json(202, snapshot))).rejects.toThrow(/status 202 is not declared/);
    await expect(checkAnswer(host.url, 'GET', '/openapi.json', json(422, { error: { code: 'X', message: 'y' } }))).rejects.toThrow(/status 422 is not declared/);
  });

  it('refuses an error body that is not the shared error shape', async () => {
    await expect(checkAnswer(host.url, 'GET', `/snapshots/${ID}`, json(404, { message: 'Not Found' }))).rejects.toThrow(ContractViolation);
  });

  it('refuses an answer other than 404 on a path the document does not describe', async () => {
    await expect(checkAnswer(host.url, 'GET', '/nope', json(200, {}))).rejects.toThrow(/no route.*must answer 404/);
  });

  it('refuses a content type the answer does not declare', async () => {
    await expect(checkAnswer(host.url, 'GET', `/snapshots/${ID}`, { status: 200, headers: new Headers({ 'content-type': 'text/html' }), text: '<p>hi</p>' })).rejects.toThrow(/content type 'text\/html' is not declared/);
  });

  it('refuses a declared header whose value its schema does not allow', async () => {
    await expect(checkAnswer(host.url, 'GET', `/snapshots/${ID}`, json(200, snapshot, { 'content-integrity': 'maybe' }))).rejects.toThrow(/header Content-Integrity/);
  });

  it('reads a header whose schema is a number as a number: Retry-After 2 is an integer, "soon" is not', async () => {
    const busy = { error: { code: 'IDEMPOTENT_REQUEST_IN_PROGRESS', message: 'still writing', details: { batchId: ID } } };
    await checkAnswer(host.url, 'POST', '/batches', json(503, busy, { 'retry-after': '2' }));
    await expect(checkAnswer(host.url, 'POST', '/batches', json(503, busy, { 'retry-after': 'soon' }))).rejects.toThrow(/header Retry-After: 'soon' does not match its schema/);
    await expect(checkAnswer(host.url, 'POST', '/batches', json(503, busy))).rejects.toThrow(/required header Retry-After is missing/);
  });

  it('leaves the local-only paths alone', async () => {
    await checkAnswer(host.url, 'GET', '/_local/events', json(200, { anything: true }));
    await checkAnswer(host.url, 'POST', '/demo/credit/v1', json(200, [1, 2]));
  });

  describe('with an HTML answer', () => {
    let html: { url: string; server: Server };
    beforeAll(async () => {
      const operations: Record<string, Operation> = { ...OPERATIONS, 'GET /batches/{id}': { ...OPERATIONS['GET /batches/{id}'], responses: { 200: { description: 'A report', html: true } } } };
      html = await serveDocument(buildOpenApiDocument(operations));
    });
    afterAll(() => html.server.close());

    it('accepts text/html where the route declares it, and refuses JSON there', async () => {
      await checkAnswer(html.url, 'GET', `/batches/${ID}`, { status: 200, headers: new Headers({ 'content-type': 'text/html; charset=utf-8' }), text: '<!doctype html><title>batch</title>' });
      await expect(checkAnswer(html.url, 'GET', `/batches/${ID}`, json(200, { batchId: ID }))).rejects.toThrow(/content type 'application\/json' is not declared/);
    });
  });
});
