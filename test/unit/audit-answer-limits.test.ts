/**
 * The audit routes' answers stay under what a Lambda may return (6 MB). A manifest of more than
 * ~16,000 records failed on AWS as an opaque 500 and the CLI could not verify that window: one
 * answer now holds at most `answerBytes` (4 MiB) of it, a larger manifest is read in byte ranges,
 * and the SDK does so, checking each Content-Range (the route is served over real HTTP here with a
 * small limit, read by the real client). A verification report of tens of thousands of findings is
 * a 422 with its counts instead.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAuditStore } from '../../functions/adapters/audit/file-audit-store.js';
import { auditRoutes } from '../../functions/api/audit-routes.js';
import type { AuditRecordSource } from '../../functions/core/audit/ports.js';
import { errorResponse, type ApiRequest } from '../../functions/http/api.js';
import { DecisionReplayClient, DecisionReplayError } from '../../client/src/index.js';

const W = '2026-11-30T10:00:00.000Z';
const EMPTY_W = '2026-11-30T11:00:00.000Z';
const LIMIT = 1000;

/** A manifest of `n` lines shaped like real ones (ASCII canonical JSON). */
function manifestOf(n: number): Buffer {
  const lines = Array.from({ length: n }, (_, i) => `{"contentHash":"${createHash('sha256').update(String(i)).digest('hex')}","createdAt":"2026-11-30T10:00:${String(i % 60).padStart(2, '0')}.000Z","functionName":"loan","id":"01J${String(i).padStart(23, '0')}","kind":"snapshot","pk":"SNAP#${i}","sk":"SNAP"}\n`);
  return Buffer.from(lines.join(''), 'utf8');
}

describe('audit manifests in byte ranges', () => {
  const manifest = manifestOf(40); // ~7 KB: seven answers of 1,000 bytes
  let server: Server;
  let endpoint: string;
  const seen: Array<{ range: string | undefined; status: number }> = [];
  const reads: Array<[number, number]> = [];

  beforeAll(async () => {
    const store = new MemoryAuditStore();
    store.objects.set(`manifests/${W}.jsonl`, manifest);
    store.objects.set(`manifests/${EMPTY_W}.jsonl`, Buffer.alloc(0));
    // Every read the route makes of the store, to check it never reads more than one answer holds.
    const ranged = store.getObjectRange.bind(store);
    store.getObjectRange = (objectName, start, end) => {
      reads.push([start, end]);
      return ranged(objectName, start, end);
    };
    const routes = auditRoutes({
      records: {} as AuditRecordSource,
      store,
      signer: { publicKeyPem: async () => '' },
      clock: { now: () => Date.now() },
      intervalMs: 3_600_000,
      answerBytes: LIMIT,
    });
    const route = routes['GET /audit/manifests/{windowStart}'];
    if (!route) throw new Error('no manifest route');
    server = createServer((req, res) => {
      const windowStart = decodeURIComponent((req.url ?? '').split('/').at(-1) ?? '');
      const headers = Object.fromEntries(Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string'));
      const request = { routeKey: 'GET /audit/manifests/{windowStart}', method: 'GET', path: req.url ?? '', pathParameters: { windowStart }, query: {}, headers, rawBody: '', requestId: 't', json: () => undefined } satisfies ApiRequest;
      route(request)
        .catch((err: unknown) => errorResponse(err, { error: () => undefined }, 't'))
        .then((answer) => {
          seen.push({ range: headers.range, status: answer.status });
          const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
          res.writeHead(answer.status, { ...answer.headers, 'content-type': answer.contentType ?? 'application/json' }).end(text);
        }, (err: unknown) => res.writeHead(599).end(String(err)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const get = async (windowStart: string, range?: string) => {
    const res = await fetch(`${endpoint}/audit/manifests/${windowStart}`, { headers: range === undefined ? {} : { range } });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };

  it('refuses a manifest over the limit without a Range: 422 MANIFEST_TOO_LARGE naming its size and how to read it', async () => {
    const res = await get(W);
    expect(res.status).toBe(422);
    const body = JSON.parse(res.text) as { error: { code: string; message: string; details: unknown } };
    expect(body.error.code).toBe('MANIFEST_TOO_LARGE');
    expect(body.error.details).toEqual({ sizeBytes: manifest.length, limitBytes: LIMIT });
    expect(body.error.message).toContain(`Range: bytes=0-${LIMIT - 1}`);
  });

  it('answers a Range with 206 and Content-Range, cut to one answer; the pieces are the manifest', async () => {
    const first = await get(W, 'bytes=0-');
    expect(first.status).toBe(206);
    expect(first.headers.get('content-range')).toBe(`bytes 0-${LIMIT - 1}/${manifest.length}`);
    expect(first.headers.get('accept-ranges')).toBe('bytes');
    expect(first.text).toBe(manifest.subarray(0, LIMIT).toString());
    const middle = await get(W, 'bytes=1500-1599');
    expect(middle.status).toBe(206);
    expect(middle.headers.get('content-range')).toBe(`bytes 1500-1599/${manifest.length}`);
    expect(middle.text).toBe(manifest.subarray(1500, 1600).toString());
    reads.length = 0;
    const tail = await get(W, 'bytes=-10');
    // The size from one byte, then the ten: no read of the whole object (an S3 Range of 0--1 would be one).
    expect(reads).toEqual([
      [0, 0],
      [manifest.length - 10, manifest.length - 10 + LIMIT - 1],
    ]);
    expect(tail.headers.get('content-range')).toBe(`bytes ${manifest.length - 10}-${manifest.length - 1}/${manifest.length}`);
    expect(tail.text).toBe(manifest.subarray(manifest.length - 10).toString());
  });

  it('answers 416 with the size for a Range past the end; ignores forms it does not serve (RFC 9110)', async () => {
    const past = await get(W, `bytes=${manifest.length}-`);
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${manifest.length}`);
    expect((JSON.parse(past.text) as { error: { code: string } }).error.code).toBe('RANGE_NOT_SATISFIABLE');
    // Several ranges, another unit, last < first: ignored, so the whole manifest, which is too large here.
    for (const range of ['bytes=0-9,20-29', 'items=0-9', 'bytes=9-0', 'bytes=x-y']) expect((await get(W, range)).status, range).toBe(422);
    // An empty manifest: whole, whatever the Range.
    const empty = await get(EMPTY_W, 'bytes=0-');
    expect(empty.status).toBe(200);
    expect(empty.text).toBe('');
    expect((await get('2026-11-30T12:00:00.000Z', 'bytes=0-')).status).toBe(404);
  });

  it('the SDK reads a manifest of many answers whole, each piece asked from where the last ended', async () => {
    seen.length = 0;
    const text = await new DecisionReplayClient({ endpoint }).getAuditManifest(W);
    expect(createHash('sha256').update(text).digest('hex')).toBe(createHash('sha256').update(manifest).digest('hex'));
    expect(seen.map((s) => s.range)).toEqual(Array.from({ length: Math.ceil(manifest.length / LIMIT) }, (_, i) => `bytes=${i * LIMIT}-`));
    expect(seen.every((s) => s.status === 206)).toBe(true);
    expect(await new DecisionReplayClient({ endpoint }).getAuditManifest(EMPTY_W)).toBe('');
  });

  it('the SDK refuses a manifest whose whole size is over maxResponseBytes after its first answer', async () => {
    seen.length = 0;
    const err = (await new DecisionReplayClient({ endpoint, maxResponseBytes: 5000 }).getAuditManifest(W).catch((e: unknown) => e)) as DecisionReplayError;
    expect(err).toBeInstanceOf(DecisionReplayError);
    expect(err.code).toBe('RESPONSE_TOO_LARGE');
    expect(err.message).toContain(`the manifest is ${manifest.length} bytes`);
    expect(seen).toHaveLength(1);
  });
});

describe('the SDK checks each Content-Range it is given', () => {
  let server: Server;
  let endpoint: string;
  let answer: (range: string) => { status: number; headers: Record<string, string>; body: string };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const a = answer(String(req.headers.range));
      res.writeHead(a.status, a.headers).end(a.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('takes a whole answer from a service that does not serve ranges', async () => {
    answer = () => ({ status: 200, headers: {}, body: 'line\n' });
    expect(await new DecisionReplayClient({ endpoint }).getAuditManifest(W)).toBe('line\n');
  });

  it.each([
    ['a piece that is not where it was asked', () => ({ status: 206, headers: { 'content-range': 'bytes 5-9/20' }, body: '12345' }), /asked for bytes 0- and got 5 bytes said to be bytes 5-9\/20/],
    ['a length that is not the range', () => ({ status: 206, headers: { 'content-range': 'bytes 0-9/20' }, body: '123' }), /got 3 bytes said to be bytes 0-9\/20/],
    ['a malformed Content-Range', () => ({ status: 206, headers: { 'content-range': 'bytes 0-9/*' }, body: '0123456789' }), /not bytes FIRST-LAST\/SIZE/],
    ['a size that changes', (range: string) => (range === 'bytes=0-' ? { status: 206, headers: { 'content-range': 'bytes 0-4/10' }, body: '01234' } : { status: 206, headers: { 'content-range': 'bytes 5-9/12' }, body: '56789' }), /size changed from 10 to 12 bytes/],
  ])('refuses %s: INVALID_RESPONSE', async (_what, script, message) => {
    answer = script;
    const err = (await new DecisionReplayClient({ endpoint, retries: 0 }).getAuditManifest(W).catch((e: unknown) => e)) as DecisionReplayError;
    expect(err.code).toBe('INVALID_RESPONSE');
    expect(err.message).toMatch(message);
  });
});

describe('GET /audit/verify: a report larger than one answer', () => {
  const MINUTE = 60_000;
  const chainStart = '2026-11-29T00:00:00.000Z';
  /** A chain the digester says it sealed up to 2026-11-30T00:00Z, with every digest gone: one chain break a window. */
  const routes = (answerBytes: number) =>
    auditRoutes({
      records: { forEachIn: async () => 0, keysIn: async () => [], listIn: async () => [], get: async () => undefined, earliestCreatedAt: async () => chainStart, pageIn: async () => ({ items: [] }) } as AuditRecordSource,
      store: new MemoryAuditStore(),
      head: { get: async () => ({ chainStart, windowStart: '2026-11-29T23:59:00.000Z', windowEnd: '2026-11-30T00:00:00.000Z', digestHash: '0'.repeat(64) }) },
      signer: { publicKeyPem: async () => '' },
      clock: { now: () => Date.parse('2026-12-01T00:00:00.000Z') },
      intervalMs: MINUTE,
      answerBytes,
    });
  const verify = (answerBytes: number) => {
    const route = routes(answerBytes)['GET /audit/verify'];
    if (!route) throw new Error('no verify route');
    return route({ query: { from: chainStart, to: '2026-11-29T06:00:00.000Z' }, headers: {}, pathParameters: {} } as unknown as ApiRequest).catch((err: unknown) => errorResponse(err, { error: () => undefined }, 't'));
  };

  it('answers the whole report when it fits', async () => {
    const res = await verify(4 * 1024 * 1024);
    expect(res.status).toBe(200);
    const report = JSON.parse((res.body as { text: string }).text) as { clean: boolean; chainBreaks: unknown[] };
    expect(report.clean).toBe(false);
    expect(report.chainBreaks).toHaveLength(360);
  });

  it('refuses one over the limit with 422 VERIFY_REPORT_TOO_LARGE: the verdict and counts in details, the CLI command in the message', async () => {
    const res = await verify(10_000);
    expect(res.status).toBe(422);
    const { error } = res.body as { error: { code: string; message: string; details: { clean: boolean; counts: { chainBreaks: number }; sizeBytes: number; limitBytes: number } } };
    expect(error.code).toBe('VERIFY_REPORT_TOO_LARGE');
    expect(error.details.clean).toBe(false);
    expect(error.details.counts.chainBreaks).toBe(360);
    expect(error.details.limitBytes).toBe(10_000);
    expect(error.details.sizeBytes).toBeGreaterThan(10_000);
    expect(error.message).toContain(`decision-replay verify --from ${chainStart} --to 2026-11-29T06:00:00.000Z`);
  });
});
